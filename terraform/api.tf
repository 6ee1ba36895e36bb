# The REST API is created from openapi.yaml, the single definition of the routes.
locals {
  openapi = templatefile("${path.module}/openapi.yaml", {
    token_invoke_arn       = aws_lambda_function.this["token"].invoke_arn
    secure_data_invoke_arn = aws_lambda_function.this["secure-data"].invoke_arn
    search_invoke_arn      = aws_lambda_function.this["search"].invoke_arn
    signin_invoke_arn      = aws_lambda_function.this["signin"].invoke_arn
    search_security        = jsonencode(var.enable_partner_api_keys ? [{ bearer = [], partner_key = [] }] : [{ bearer = [] }])
  })
  stage_name = "v1"

  # The methods that check a password or a code, or start a device sign-in, each get a
  # stricter throttle of their own instead of the stage-wide one (method -> requests per
  # second). POST /token also carries the devices' polls (RFC 8628 §3.4), which check nothing
  # guessable: it has a rate of its own, sized for them on top of the logins.
  strict_throttle = {
    "token/POST"                = var.token_endpoint_throttle_rate_limit
    "device_authorization/POST" = var.token_throttle_rate_limit
    "device/POST"               = var.token_throttle_rate_limit
    "authorize/POST"            = var.token_throttle_rate_limit
  }
}

resource "aws_api_gateway_rest_api" "api" {
  name              = local.prefix
  description       = "Oasis secure API"
  body              = local.openapi
  put_rest_api_mode = "overwrite"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_deployment" "api" {
  rest_api_id = aws_api_gateway_rest_api.api.id

  triggers = {
    redeployment = sha1(local.openapi)
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${local.prefix}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_api_gateway_stage" "api" {
  #checkov:skip=CKV_AWS_120:Responses are private per caller (no-store); an API Gateway cache keyed without the caller would serve one user's data to another.
  #checkov:skip=CKV2_AWS_51:A public API for browsers and apps: clients authenticate with OAuth2, not TLS client certificates.
  rest_api_id          = aws_api_gateway_rest_api.api.id
  deployment_id        = aws_api_gateway_deployment.api.id
  stage_name           = local.stage_name
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      resourcePath       = "$context.resourcePath"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      integrationLatency = "$context.integrationLatency"
      latency            = "$context.responseLatency"
      wafStatus          = "$context.waf.status"
      errorMessage       = "$context.error.message"
    })
  }

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching stays off: responses are private per caller and marked no-store.
  rest_api_id = aws_api_gateway_rest_api.api.id
  stage_name  = aws_api_gateway_stage.api.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false # full request logging would write tokens and passwords to logs
    caching_enabled        = false
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
  }
}

resource "aws_api_gateway_method_settings" "strict" {
  for_each = local.strict_throttle
  #checkov:skip=CKV_AWS_225:Token, device-code and sign-in responses must never be cached: they carry credentials (RFC 6749 §5.1), per-caller codes, authorization codes and CSRF cookies.
  rest_api_id = aws_api_gateway_rest_api.api.id
  stage_name  = aws_api_gateway_stage.api.stage_name
  method_path = each.key

  settings {
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false
    caching_enabled        = false
    throttling_rate_limit  = each.value
    throttling_burst_limit = each.value * 2
  }
}

# Formerly the one stricter setting, for POST /token.
moved {
  from = aws_api_gateway_method_settings.token
  to   = aws_api_gateway_method_settings.strict["token/POST"]
}

resource "aws_lambda_permission" "api" {
  for_each = local.functions

  statement_id  = "AllowThisApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.api.execution_arn}/*/*/*"
}

# Account-wide: lets API Gateway write access logs to CloudWatch (once per account and region).
data "aws_iam_policy_document" "assume_apigateway" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "apigateway_logs" {
  count              = var.manage_api_gateway_account ? 1 : 0
  name               = "${local.prefix}-apigateway-logs"
  assume_role_policy = data.aws_iam_policy_document.assume_apigateway.json
}

resource "aws_iam_role_policy_attachment" "apigateway_logs" {
  count      = var.manage_api_gateway_account ? 1 : 0
  role       = aws_iam_role.apigateway_logs[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count               = var.manage_api_gateway_account ? 1 : 0
  cloudwatch_role_arn = aws_iam_role.apigateway_logs[0].arn
}

# Partner clients: a usage plan whose keys are created outside Terraform (README "Deploy"),
# so their values never enter the state.
resource "aws_api_gateway_usage_plan" "partners" {
  count = var.enable_partner_api_keys ? 1 : 0
  name  = "${local.prefix}-partners"

  api_stages {
    api_id = aws_api_gateway_rest_api.api.id
    stage  = aws_api_gateway_stage.api.stage_name
  }

  quota_settings {
    limit  = var.partner_quota_per_day
    period = "DAY"
  }

  throttle_settings {
    rate_limit  = var.throttle_rate_limit / 4
    burst_limit = var.throttle_burst_limit / 4
  }
}

resource "aws_api_gateway_domain_name" "api" {
  count                    = var.domain_name == "" ? 0 : 1
  domain_name              = var.domain_name
  regional_certificate_arn = var.certificate_arn
  security_policy          = "TLS_1_2"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    precondition {
      condition     = var.certificate_arn != ""
      error_message = "certificate_arn is required when domain_name is set."
    }
  }
}

# The stage at the domain's root, so the issuer has no path and its RFC 8414 metadata is where
# §3.1 puts it (https://<domain>/.well-known/oauth-authorization-server). An issuer with a path
# would need /.well-known/oauth-authorization-server/<path> at the host's root, which no
# API Gateway path can serve.
resource "aws_api_gateway_base_path_mapping" "api" {
  count       = var.domain_name == "" ? 0 : 1
  api_id      = aws_api_gateway_rest_api.api.id
  stage_name  = aws_api_gateway_stage.api.stage_name
  domain_name = aws_api_gateway_domain_name.api[0].domain_name

  lifecycle {
    precondition {
      condition     = var.issuer_url == "https://${var.domain_name}"
      error_message = "With domain_name set, issuer_url must be https://<domain_name> (no path): RFC 8414 §3.1 puts the metadata of an issuer with a path where API Gateway cannot serve it."
    }
  }
}
