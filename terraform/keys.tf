# Secrets are created empty: oasis-admin writes their values after apply (README "Deploy"),
# so no key material ever passes through Terraform or its state.

resource "aws_secretsmanager_secret" "signing_keys" {
  #checkov:skip=CKV2_AWS_57:Signing keys rotate in phases with oasis-admin (stage, promote, prune) so verifiers learn a key before it signs; a Secrets Manager rotation Lambda cannot coordinate that.
  name        = "${local.prefix}-signing-keys"
  description = "Oasis private signing key set (ES256 JWKs). Read only by the token function."
  kms_key_id  = aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret" "cursor_key" {
  #checkov:skip=CKV2_AWS_57:The cursor key only seals pagination cursors; rotating it is an operator action (oasis-admin) that invalidates open cursors, not something to do on a timer.
  name        = "${local.prefix}-cursor-key"
  description = "Oasis search cursor HMAC key. Read only by the search function."
  kms_key_id  = aws_kms_key.main.arn
}

# The keys are public (also served at /.well-known/jwks.json), but whoever can put a key here
# can mint tokens every verifier accepts: a SecureString under the JWKS key (key_guard.tf), with
# which only the operators may encrypt and under which alone verifiers decrypt parameters.
resource "aws_ssm_parameter" "jwks" {
  name        = "/${local.prefix}/jwks"
  description = "Oasis public verification keys (JWKS). Written by oasis-admin (operators only)."
  type        = "SecureString"
  key_id      = aws_kms_key.jwks.arn
  # A placeholder until oasis-admin publishes the first key; Terraform leaves later values alone.
  value = jsonencode({ keys = [] })

  lifecycle {
    ignore_changes = [value]
  }
}
