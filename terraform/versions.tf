terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Keep state remote and locked in a real deployment, for example:
  #
  # backend "s3" {
  #   bucket         = "my-terraform-state"
  #   key            = "oasis/prod.tfstate"
  #   region         = "eu-west-1"
  #   dynamodb_table = "terraform-locks"
  #   encrypt        = true
  # }
  #
  # No secret ever reaches the state: key material is written by oasis-admin after apply.
}
