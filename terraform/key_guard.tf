# Who may change the keys every token depends on. IAM alone cannot say it: any principal of
# the account whose own policy allows secretsmanager:* or ssm:PutParameter (a CI role, an
# administrator) could read the signing keys or add a key of its own to the JWKS every verifier
# trusts. So:
#
# - each secret has a resource policy that denies everyone but its function's role (which may
#   only read it) and the operators (var.operator_principal_arns);
# - the JWKS parameter, to which SSM attaches no resource policy, is a SecureString under a key
#   of its own whose policy lets only the operators encrypt (or change the key), while the
#   verifiers decrypt parameters under no other key (iam.tf) and refuse a JWKS that is not a
#   SecureString (shared/auth/src/aws.rs): a JWKS anyone else writes is refused, never trusted;
# - every write to any of them, allowed or refused, raises the key-write alarm.
#
# README "Keys in AWS" says what this stops and what it cannot.

locals {
  # Each secret and the one function that reads it (iam.tf's secret_grants grants it the read;
  # tests/infra holds the two together).
  guarded_secrets = {
    signing_keys = { name = aws_secretsmanager_secret.signing_keys.name, arn = aws_secretsmanager_secret.signing_keys.arn, reader = "token" }
    cursor_key   = { name = aws_secretsmanager_secret.cursor_key.name, arn = aws_secretsmanager_secret.cursor_key.arn, reader = "search" }
  }

  # What anyone the account's IAM allows may still see: that the secret or key exists, and
  # whom it admits (security tooling reads these). Never a value, never a change.
  secret_metadata_reads = ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds"]
  key_metadata_reads    = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations", "kms:ListResourceTags"]

  secret_arn_prefix = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:"
  # The JWKS parameter as CloudTrail's requestParameters name it.
  jwks_parameter_ids = [aws_ssm_parameter.jwks.name, { prefix = aws_ssm_parameter.jwks.arn }]
  # Changes to the JWKS key that would let someone else encrypt with it, or break it.
  jwks_key_changes = ["PutKeyPolicy", "CreateGrant", "DisableKey", "ScheduleKeyDeletion", "DisableKeyRotation"]
}

data "aws_iam_policy_document" "secret_guard" {
  for_each = local.guarded_secrets

  # Everyone else (the other functions, CI, the account's administrators, the root user): neither
  # the value nor any change, whatever their own IAM policies allow.
  statement {
    sid         = "OnlyItsFunctionAndTheOperators"
    effect      = "Deny"
    not_actions = local.secret_metadata_reads
    resources   = ["*"] # In a secret's resource policy "*" means this secret.
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = concat([aws_iam_role.function[each.value.reader].arn], var.operator_principal_arns)
    }
  }

  # Its function reads it and changes nothing, even if its role's policy grows.
  statement {
    sid         = "ItsFunctionOnlyReads"
    effect      = "Deny"
    not_actions = concat(["secretsmanager:GetSecretValue"], local.secret_metadata_reads)
    resources   = ["*"] # In a secret's resource policy "*" means this secret.
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      values   = [aws_iam_role.function[each.value.reader].arn]
    }
  }
}

resource "aws_secretsmanager_secret_policy" "guard" {
  for_each = local.guarded_secrets

  secret_arn          = each.value.arn
  policy              = data.aws_iam_policy_document.secret_guard[each.key].json
  block_public_policy = true
}

# The JWKS key: encrypting with it is what writing the JWKS takes (SSM encrypts a SecureString
# as its caller), so only the operators may; the verifiers may decrypt.
resource "aws_kms_key" "jwks" {
  description             = "${local.prefix} JWKS parameter: only the operators encrypt with it"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.jwks_key.json
}

resource "aws_kms_alias" "jwks" {
  name          = "alias/${local.prefix}-jwks"
  target_key_id = aws_kms_key.jwks.key_id
}

data "aws_iam_policy_document" "jwks_key" {
  # IAM policies apply to the key (the default key policy's first statement): the operators'
  # and the verifiers' grants are in IAM; the statements below take away what the account's
  # other principals would otherwise get from theirs.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # In a key policy "*" means this key.
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # Encrypt, GenerateDataKey, ReEncrypt, grants, the policy, disabling or deleting the key:
  # the operators' alone.
  statement {
    sid         = "OnlyOperatorsEncryptOrChangeIt"
    effect      = "Deny"
    not_actions = concat(["kms:Decrypt"], local.key_metadata_reads)
    resources   = ["*"] # In a key policy "*" means this key.
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = var.operator_principal_arns
    }
  }

  statement {
    sid       = "OnlyVerifiersAndOperatorsDecrypt"
    effect    = "Deny"
    actions   = ["kms:Decrypt"]
    resources = ["*"] # In a key policy "*" means this key.
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = concat([for fn in local.jwks_readers : aws_iam_role.function[fn].arn], var.operator_principal_arns)
    }
  }
}

# Any write to the guarded resources, allowed or refused (a refused one carries its errorCode):
# CloudTrail's management events on the default bus. The rule's state is ENABLED, which
# delivers only mutating calls: the verifiers' and the token function's reads raise nothing.
locals {
  key_write_pattern = {
    source        = ["aws.secretsmanager", "aws.ssm", "aws.kms"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      "$or" = [
        # A secret by name, full ARN or partial ARN (the name without its random suffix).
        { eventSource = ["secretsmanager.amazonaws.com"], requestParameters = { secretId = [
          aws_secretsmanager_secret.signing_keys.name, { prefix = "${local.secret_arn_prefix}${aws_secretsmanager_secret.signing_keys.name}" },
          aws_secretsmanager_secret.cursor_key.name, { prefix = "${local.secret_arn_prefix}${aws_secretsmanager_secret.cursor_key.name}" },
        ] } },
        # CreateSecret names it (a deleted secret created again).
        { eventSource = ["secretsmanager.amazonaws.com"], requestParameters = { name = [aws_secretsmanager_secret.signing_keys.name, aws_secretsmanager_secret.cursor_key.name] } },
        # PutParameter, DeleteParameter, LabelParameterVersion, ... and DeleteParameters.
        { eventSource = ["ssm.amazonaws.com"], requestParameters = { name = local.jwks_parameter_ids } },
        { eventSource = ["ssm.amazonaws.com"], requestParameters = { names = local.jwks_parameter_ids } },
        { eventSource = ["kms.amazonaws.com"], eventName = local.jwks_key_changes, requestParameters = { keyId = [aws_kms_key.jwks.key_id, aws_kms_key.jwks.arn] } },
      ]
    }
  }
}

resource "aws_cloudwatch_event_rule" "key_writes" {
  name          = "${local.prefix}-key-write"
  description   = "Any write, allowed or refused, to the signing-key or cursor secret, the JWKS parameter or the JWKS key. Needs a CloudTrail trail logging management events in this region. Runbook: README, key-write."
  state         = "ENABLED"
  event_pattern = jsonencode(local.key_write_pattern)
}

resource "aws_cloudwatch_event_target" "key_writes" {
  rule      = aws_cloudwatch_event_rule.key_writes.name
  target_id = "alarm-topic"
  arn       = aws_sns_topic.alarms.arn

  # The CloudTrail record says who (userIdentity), what (eventName, requestParameters) and
  # whether it was refused (errorCode); Secrets Manager never logs a value, SSM hides a
  # SecureString's.
  input_transformer {
    input_paths    = { call = "$.detail" }
    input_template = <<-EOT
      {"alarm": "${local.prefix}-key-write", "runbook": "README, key-write", "call": <call>}
    EOT
  }
}
