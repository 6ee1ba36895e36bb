# Every resource is tagged with local.tags (main.tf) through default_tags; resources set no tags of their own.
provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}
