# One role per function, with exactly the actions its code calls on exactly the resources it
# touches. tests/infra holds these statements against the DynamoDB requests each function
# makes under test, so a new call (or a forgotten grant) fails the build.

locals {
  table_arn = { for k, t in aws_dynamodb_table.this : k => t.arn }

  dynamodb_grants = {
    token = {
      users    = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      clients  = ["dynamodb:GetItem"]
      refresh  = ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
      attempts = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
      grants   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    }
    secure-data = {
      users    = ["dynamodb:GetItem"]
      clients  = ["dynamodb:GetItem"]
      profiles = ["dynamodb:GetItem"]
    }
    search = {
      users       = ["dynamodb:GetItem"]
      clients     = ["dynamodb:GetItem"]
      title_index = ["dynamodb:Query"]
    }
    signin = {
      users    = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      clients  = ["dynamodb:GetItem"]
      attempts = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
      grants   = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    }
  }

  secret_grants = {
    token       = [aws_secretsmanager_secret.signing_keys.arn]
    secure-data = []
    search      = [aws_secretsmanager_secret.cursor_key.arn]
    signin      = []
  }

  jwks_readers = toset(["secure-data", "search"])
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = "${local.prefix}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  statement {
    sid = "Tracing"
    # X-Ray accepts no resource-level permissions for these actions: "*" is required by AWS.
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = local.dynamodb_grants[each.key]
    content {
      sid       = "Table${replace(title(replace(statement.key, "_", " ")), " ", "")}"
      actions   = statement.value
      resources = [local.table_arn[statement.key]]
    }
  }

  dynamic "statement" {
    for_each = length(local.secret_grants[each.key]) > 0 ? [1] : []
    content {
      sid       = "ReadOwnSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.secret_grants[each.key]
    }
  }

  dynamic "statement" {
    for_each = contains(local.jwks_readers, each.key) ? [1] : []
    content {
      sid       = "ReadPublicKeys"
      actions   = ["ssm:GetParameter"]
      resources = [aws_ssm_parameter.jwks.arn]
    }
  }

  # The JWKS is a SecureString under its own key (key_guard.tf), with which only the operators
  # encrypt: decrypt it through SSM, and no parameter under any other key, so a JWKS rewritten
  # under a key its writer may use (aws/ssm admits the whole account) is refused, not trusted.
  dynamic "statement" {
    for_each = contains(local.jwks_readers, each.key) ? [1] : []
    content {
      sid       = "DecryptPublicKeys"
      actions   = ["kms:Decrypt"]
      resources = [aws_kms_key.jwks.arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:PARAMETER_ARN"
        values   = [aws_ssm_parameter.jwks.arn]
      }
    }
  }

  dynamic "statement" {
    for_each = contains(local.jwks_readers, each.key) ? [1] : []
    content {
      sid           = "NoParameterUnderAnotherKey"
      effect        = "Deny"
      actions       = ["kms:Decrypt"]
      not_resources = [aws_kms_key.jwks.arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
    }
  }

  # Secrets Manager and DynamoDB decrypt with the stack key on the function's behalf.
  statement {
    sid       = "DecryptViaServices"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com", "dynamodb.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "${local.prefix}-${each.key}"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}
