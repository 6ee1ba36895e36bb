# tflint, run by .github/workflows/terraform.yml in this directory (no tflint or plugin can be
# fetched on this repository's own machines). `tflint --init` installs the pinned AWS ruleset;
# tests/infra/test_workflows.py holds the pins.

# The Terraform language rules (bundled with tflint): the recommended preset.
plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

# The AWS provider's rules. 0.40.0 is generated from the 5.x provider that versions.tf
# requires (later releases follow the 6.x provider).
plugin "aws" {
  enabled = true
  version = "0.40.0"
  source  = "github.com/terraform-linters/tflint-ruleset-aws"
}
