data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  prefix = var.name_prefix
  tags = merge({
    Project   = "oasis"
    ManagedBy = "terraform"
    Stack     = local.prefix
  }, var.tags)

  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  functions = toset(["token", "secure-data", "search", "signin"])
}
