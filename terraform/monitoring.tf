# Alarms and a dashboard over the functions' EMF metrics (namespace var.metrics_namespace,
# dimensions service/function/route, and service/function[/reason] for reasoned signals) and
# AWS's own metrics. README "Alarms and what to do first" is the runbook for each.

locals {
  emf_routes = {
    token       = ["/token", "/revoke", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server", "/device_authorization"]
    secure-data = ["/secure-data", "/secure-data/{user_id}"]
    search      = ["/search"]
    signin      = ["/authorize", "/device", "/device/qr", "/signout", "/assets/signin.css"]
  }
  latency_alarms = merge([for fn, routes in local.emf_routes : { for r in routes : "${fn} ${r}" => { function = fn, route = r } }]...)
  alarm_actions  = [aws_sns_topic.alarms.arn]
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.prefix}-alarms"
  kms_master_key_id = aws_kms_key.main.arn
}

# The topic's policy replaces SNS's default one (the account may do everything): the account
# still administers and publishes, the stack's CloudWatch alarms publish, and so does the
# key-write rule (key_guard.tf), which EventBridge needs said here.
resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarm_topic.json
}

data "aws_iam_policy_document" "alarm_topic" {
  statement {
    sid = "AccountAdministers"
    actions = [
      "sns:AddPermission", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic",
      "sns:Publish", "sns:RemovePermission", "sns:SetTopicAttributes", "sns:Subscribe",
    ]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "StackAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.prefix}-*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "KeyWriteRulePublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.key_writes.arn]
    }
  }
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "brute_force_logins" {
  alarm_name          = "${local.prefix}-brute-force-logins"
  alarm_description   = "Failed logins spike: password guessing or credential stuffing. Runbook: README, brute-force-logins."
  namespace           = var.metrics_namespace
  metric_name         = "LoginFailed"
  dimensions          = { service = local.prefix, function = "token", route = "/token" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.login_failed_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "accounts_locked" {
  alarm_name          = "${local.prefix}-accounts-locked"
  alarm_description   = "Several accounts locked out in 5 minutes: a targeted guessing campaign. Runbook: README, accounts-locked."
  namespace           = var.metrics_namespace
  metric_name         = "AccountLocked"
  dimensions          = { service = local.prefix, function = "token", route = "/token" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 5
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# The sign-in pages check passwords too, on the same lock-out (oasis-login): the same alarms
# per page that takes a password.
resource "aws_cloudwatch_metric_alarm" "signin_brute_force_logins" {
  for_each = toset(["/authorize", "/device"])

  alarm_name          = "${local.prefix}-brute-force-logins-${trimprefix(each.key, "/")}"
  alarm_description   = "Failed logins on the ${each.key} sign-in page spike: password guessing or credential stuffing. Runbook: README, brute-force-logins."
  namespace           = var.metrics_namespace
  metric_name         = "LoginFailed"
  dimensions          = { service = local.prefix, function = "signin", route = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.login_failed_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "signin_accounts_locked" {
  for_each = toset(["/authorize", "/device"])

  alarm_name          = "${local.prefix}-accounts-locked-${trimprefix(each.key, "/")}"
  alarm_description   = "Several accounts locked out in 5 minutes on the ${each.key} sign-in page: a targeted guessing campaign. Runbook: README, accounts-locked."
  namespace           = var.metrics_namespace
  metric_name         = "AccountLocked"
  dimensions          = { service = local.prefix, function = "signin", route = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 5
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "refresh_reuse" {
  alarm_name          = "${local.prefix}-refresh-reuse"
  alarm_description   = "A rotated refresh token was presented again: a stolen token (the family is already revoked). Runbook: README, refresh-reuse."
  namespace           = var.metrics_namespace
  metric_name         = "RefreshReuseDetected"
  dimensions          = { service = local.prefix, function = "token", route = "/token" }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# User codes typed wrong (or typed while the address's code entry is locked), on every
# address together: each address locks after a few wrong codes (RFC 8628 §5.1), so a steady
# stream means guessing spread over many addresses.
resource "aws_cloudwatch_metric_alarm" "device_code_guessing" {
  alarm_name          = "${local.prefix}-device-code-guessing"
  alarm_description   = "Wrong device user codes spike: someone guessing codes to approve a device they do not hold. Runbook: README, device-code-guessing."
  namespace           = var.metrics_namespace
  metric_name         = "DeviceCodeGuessing"
  dimensions          = { service = local.prefix, function = "signin" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.device_code_guessing_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# An authorization code presented after it was used: intercepted, or a client that retries a
# redemption (RFC 6749 §4.1.2: the tokens it issued are already revoked).
resource "aws_cloudwatch_metric_alarm" "code_replay" {
  alarm_name          = "${local.prefix}-code-replay"
  alarm_description   = "A used authorization code was presented again: a stolen code (what it issued is revoked) or a client retrying. Runbook: README, code-replay."
  namespace           = var.metrics_namespace
  metric_name         = "CodeRefused"
  dimensions          = { service = local.prefix, function = "token", reason = "replayed" }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# Form posts refused as forged: the sign-in pages' forms (by reason, origin or token) and the
# token endpoint's refresh cookie (a cross-site request, by route). A few are forms left open
# past their cookie's hour; many are a page elsewhere posting to ours.
locals {
  csrf_alarms = {
    signin = { function = "signin" }
    token  = { function = "token", route = "/token" }
  }
}

resource "aws_cloudwatch_metric_alarm" "csrf_refused" {
  for_each = local.csrf_alarms

  alarm_name          = "${local.prefix}-${each.key}-csrf-refused"
  alarm_description   = "Requests refused as cross-site forgeries on ${each.key} in bulk: another site posting to ours. Runbook: README, csrf-refused."
  namespace           = var.metrics_namespace
  metric_name         = "CsrfRefused"
  dimensions          = merge({ service = local.prefix }, each.value)
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.csrf_refused_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "token_rejected" {
  for_each = toset(["secure-data", "search"])

  alarm_name          = "${local.prefix}-${each.key}-tokens-rejected"
  alarm_description   = "Access tokens refused in bulk (forged, expired, wrong audience). Runbook: README, tokens-rejected."
  namespace           = var.metrics_namespace
  metric_name         = "TokenRejected"
  dimensions          = { service = local.prefix, function = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.token_rejected_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "server_errors" {
  alarm_name          = "${local.prefix}-5xx-rate"
  alarm_description   = "More than 1% of API requests answered 5xx. Runbook: README, 5xx-rate."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = { ApiName = aws_api_gateway_rest_api.api.name, Stage = aws_api_gateway_stage.api.stage_name }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  threshold           = 0.01
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "latency_p99" {
  for_each = local.latency_alarms

  alarm_name          = "${local.prefix}-p99-${replace(replace(each.key, "/", "_"), " ", "")}"
  alarm_description   = "p99 latency of ${each.value.route} above the 200 ms objective for 15 minutes. Runbook: README, p99-latency."
  namespace           = var.metrics_namespace
  metric_name         = "Latency"
  dimensions          = { service = local.prefix, function = each.value.function, route = each.value.route }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  threshold           = 200
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "lambda" {
  for_each = { for pair in setproduct(tolist(local.functions), ["Throttles", "Errors"]) : "${pair[0]}-${pair[1]}" => { function = pair[0], metric = pair[1] } }

  alarm_name          = "${local.prefix}-${each.key}"
  alarm_description   = "Lambda ${each.value.metric} on ${each.value.function}. Runbook: README, lambda-${lower(each.value.metric)}."
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = aws_lambda_function.this[each.value.function].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "waf_blocked" {
  alarm_name          = "${local.prefix}-waf-blocked"
  alarm_description   = "WAF blocking many requests: an attack, or a rule blocking real users. Runbook: README, waf-blocked."
  namespace           = "AWS/WAFV2"
  metric_name         = "BlockedRequests"
  dimensions          = { WebACL = aws_wafv2_web_acl.api.name, Region = local.region, Rule = "ALL" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.waf_blocked_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  for_each = aws_dynamodb_table.this

  alarm_name          = "${local.prefix}-dynamodb-throttles-${each.key}"
  alarm_description   = "DynamoDB throttled requests on ${each.value.name}; callers got 503. Runbook: README, dynamodb-throttles."
  namespace           = "AWS/DynamoDB"
  metric_name         = "ThrottledRequests"
  dimensions          = { TableName = each.value.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# Signals whose normal level follows traffic (a busy evening has more wrong passwords than a
# quiet night): an alarm when a value leaves CloudWatch's learned band, beside the static
# thresholds above, which catch the floods. A band needs some days of data to be useful.
locals {
  anomaly_alarms = {
    "login-failures"              = { metric = "LoginFailed", dimensions = { function = "token", route = "/token" }, what = "Failed logins" }
    "secure-data-tokens-rejected" = { metric = "TokenRejected", dimensions = { function = "secure-data" }, what = "Rejected access tokens on secure-data" }
    "search-tokens-rejected"      = { metric = "TokenRejected", dimensions = { function = "search" }, what = "Rejected access tokens on search" }
    "token-client-errors"         = { metric = "Status4xx", dimensions = { function = "token", route = "/token" }, what = "4xx answers on /token" }
    "secure-data-client-errors"   = { metric = "Status4xx", dimensions = { function = "secure-data", route = "/secure-data" }, what = "4xx answers on /secure-data" }
    "search-client-errors"        = { metric = "Status4xx", dimensions = { function = "search", route = "/search" }, what = "4xx answers on /search" }
  }
}

resource "aws_cloudwatch_metric_alarm" "anomaly" {
  for_each = local.anomaly_alarms

  alarm_name          = "${local.prefix}-anomalous-${each.key}"
  alarm_description   = "${each.value.what} above the expected band for 15 minutes. Runbook: README, anomalous-${replace(each.key, "/^(secure-data|search|token)-/", "")}."
  comparison_operator = "GreaterThanUpperThreshold"
  evaluation_periods  = 3
  threshold_metric_id = "band"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions

  metric_query {
    id          = "m1"
    return_data = true
    metric {
      namespace   = var.metrics_namespace
      metric_name = each.value.metric
      dimensions  = merge({ service = local.prefix }, each.value.dimensions)
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id          = "band"
    expression  = "ANOMALY_DETECTION_BAND(m1, ${var.anomaly_band_width})"
    label       = "${each.value.metric} (expected)"
    return_data = true
  }
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = local.prefix
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title   = "Requests by function", region = local.region, stat = "Sum", period = 60
          metrics = [for fn in local.functions : [{ expression = "SEARCH('{${var.metrics_namespace},service,function,route} service=\"${local.prefix}\" function=\"${fn}\" MetricName=\"Requests\"', 'Sum', 60)", label = fn }]]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title       = "p99 latency (ms) by route — objective 200 ms", region = local.region, stat = "p99", period = 60
          metrics     = [for k, a in local.latency_alarms : [var.metrics_namespace, "Latency", "service", local.prefix, "function", a.function, "route", a.route]]
          annotations = { horizontal = [{ label = "objective", value = 200 }] }
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title   = "Logins and lock-outs", region = local.region, stat = "Sum", period = 60
          metrics = [for m in ["LoginSucceeded", "LoginFailed", "AccountLocked", "SourceLocked"] : [var.metrics_namespace, m, "service", local.prefix, "function", "token", "route", "/token"]]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title   = "Refresh tokens", region = local.region, stat = "Sum", period = 60
          metrics = [for m in ["RefreshRotated", "RefreshGraceUsed", "RefreshReuseDetected"] : [var.metrics_namespace, m, "service", local.prefix, "function", "token", "route", "/token"]]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title   = "Tokens and inputs rejected, by reason", region = local.region, stat = "Sum", period = 60
          metrics = [[{ expression = "SEARCH('{${var.metrics_namespace},service,function,reason} service=\"${local.prefix}\"', 'Sum', 60)" }]]
        }
      },
      {
        type = "metric", x = 0, y = 18, width = 12, height = 6
        properties = {
          title = "Sign-in pages: codes, devices, consent", region = local.region, stat = "Sum", period = 60
          metrics = [for m in [
            ["CodeIssued", "signin", "/authorize"], ["ConsentDenied", "signin", "/authorize"], ["CodeRedeemed", "token", "/token"],
            ["DeviceCodeIssued", "token", "/device_authorization"], ["DeviceCodeApproved", "signin", "/device"],
            ["DeviceCodeDenied", "signin", "/device"], ["DeviceCodeRedeemed", "token", "/token"],
          ] : [var.metrics_namespace, m[0], "service", local.prefix, "function", m[1], "route", m[2]]]
        }
      },
      {
        type = "metric", x = 12, y = 18, width = 12, height = 6
        properties = {
          title = "Sign-in pages: guessing and forgery", region = local.region, stat = "Sum", period = 60
          metrics = [
            [var.metrics_namespace, "DeviceCodeGuessing", "service", local.prefix, "function", "signin"],
            [var.metrics_namespace, "CsrfRefused", "service", local.prefix, "function", "signin"],
            [var.metrics_namespace, "CsrfRefused", "service", local.prefix, "function", "token", "route", "/token"],
            [var.metrics_namespace, "CodeRefused", "service", local.prefix, "function", "token", "reason", "replayed"],
            [var.metrics_namespace, "LoginFailed", "service", local.prefix, "function", "signin", "route", "/authorize"],
            [var.metrics_namespace, "LoginFailed", "service", local.prefix, "function", "signin", "route", "/device"],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title = "5xx, throttles, WAF blocks", region = local.region, stat = "Sum", period = 60
          metrics = [
            ["AWS/ApiGateway", "5XXError", "ApiName", aws_api_gateway_rest_api.api.name, "Stage", aws_api_gateway_stage.api.stage_name],
            ["AWS/WAFV2", "BlockedRequests", "WebACL", aws_wafv2_web_acl.api.name, "Region", local.region, "Rule", "ALL"],
            [var.metrics_namespace, "Unavailable", "service", local.prefix, "function", "token", "route", "/token"],
          ]
        }
      },
    ]
  })
}
