locals {
  # What every function reads (shared/lambda/src/config.rs StoreConfig, the issuer, metrics),
  # in AWS terms.
  common_env = {
    OASIS_STORE                          = "dynamodb"
    OASIS_TABLE_PREFIX                   = local.prefix
    OASIS_ISSUER                         = var.issuer_url
    OASIS_METRICS_NAMESPACE              = var.metrics_namespace
    OASIS_SERVICE_NAME                   = local.prefix
    AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH = "true"
  }

  # What the functions that issue or verify access tokens and answer browsers' CORS read; the
  # sign-in pages do neither (no token audience, no cross-origin caller).
  api_env = {
    OASIS_AUDIENCE             = var.audience
    OASIS_CORS_ALLOWED_ORIGINS = join(",", var.cors_allowed_origins)
  }

  # The argon2id cost (shared/lambda/src/config.rs ARGON2_VARS): the token function and the
  # sign-in pages verify the same password hashes, so they must agree on it.
  argon2_env = {
    OASIS_ARGON2_M_KIB = "19456"
    OASIS_ARGON2_T     = "2"
    OASIS_ARGON2_P     = "1"
  }

  function_env = {
    token = merge(local.common_env, local.api_env, local.argon2_env, {
      OASIS_KEYS_SECRET_ID        = aws_secretsmanager_secret.signing_keys.name
      OASIS_KEYS_CACHE_SECONDS    = "300"
      OASIS_ACCESS_TOKEN_TTL      = tostring(var.access_token_ttl_seconds)
      OASIS_REFRESH_IDLE_TTL      = tostring(14 * 86400)
      OASIS_REFRESH_ABSOLUTE_TTL  = tostring(30 * 86400)
      OASIS_REFRESH_GRACE_SECONDS = tostring(var.refresh_grace_seconds)
    })
    secure-data = merge(local.common_env, local.api_env, {
      OASIS_JWKS_PARAMETER = aws_ssm_parameter.jwks.name
    })
    search = merge(local.common_env, local.api_env, {
      OASIS_JWKS_PARAMETER   = aws_ssm_parameter.jwks.name
      OASIS_CURSOR_SECRET_ID = aws_secretsmanager_secret.cursor_key.name
    })
    signin = merge(local.common_env, local.argon2_env)
  }

  # Below API Gateway's 29 s integration timeout, above the SDK's 5 s operation timeout.
  function_timeout = {
    token       = 10
    secure-data = 6
    search      = 6
    signin      = 10
  }
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${local.prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_lambda_function" "this" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway only; a dead-letter queue applies to asynchronous invocations and would never receive anything.
  #checkov:skip=CKV_AWS_117:The functions reach only AWS APIs (DynamoDB, Secrets Manager, SSM) over TLS with IAM auth; a VPC would add NAT or endpoints and cold-start cost with nothing to protect inside it.
  #checkov:skip=CKV_AWS_272:Artifacts are built from this repository by CI with cargo lambda; AWS Signer code signing is a deployment-pipeline choice left to the operator.

  function_name = "${local.prefix}-${each.key}"
  role          = aws_iam_role.function[each.key].arn
  filename      = "${var.lambda_artifacts_dir}/${each.key}/bootstrap.zip"
  handler       = "bootstrap"
  runtime       = "provided.al2023"
  architectures = ["arm64"]

  source_code_hash               = filebase64sha256("${var.lambda_artifacts_dir}/${each.key}/bootstrap.zip")
  memory_size                    = var.function_memory_mb[each.key]
  timeout                        = local.function_timeout[each.key]
  reserved_concurrent_executions = var.reserved_concurrency[each.key]
  kms_key_arn                    = aws_kms_key.main.arn

  environment {
    variables = local.function_env[each.key]
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.function[each.key].name
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_iam_role_policy.function]
}
