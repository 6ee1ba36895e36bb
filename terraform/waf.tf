locals {
  # A label of this web ACL (WAF prefixes it with the ACL's namespace).
  device_poll_label = "oasis:device-poll"
  # The token endpoint's path: the whole path with a custom domain, after the stage (/v1/token) otherwise.
  waf_token_path_regex = "/token$"
  # The form parameter grant_type=urn:ietf:params:oauth:grant-type:device_code, whole.
  waf_device_poll_body_regex = "(^|&)grant_type=urn(:|%3[Aa])ietf(:|%3[Aa])params(:|%3[Aa])oauth(:|%3[Aa])grant-type(:|%3[Aa])device_code(&|$)"
}

resource "aws_wafv2_web_acl" "api" {
  name        = local.prefix
  description = "Oasis API: AWS managed rules, a per-IP rate limit, a lower one on the token and sign-in routes, one of their own for device polls"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 0
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit
        aggregate_key_type = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.prefix}-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  # A device's poll of the token endpoint (RFC 8628 §3.4): POST /token whose form has the
  # device_code grant type. Labelled here (counted, never blocked) so the token-route limit
  # below leaves polls out and the device-poll limit counts only them: a TV polls every 5 s,
  # 60 times in 5 minutes, and two signing in behind one home router would otherwise spend
  # the token routes' budget between them.
  #
  # The body is matched as sent, with no transformation, as the parameter `grant_type` with
  # exactly that value between `&`s (the colons raw or %3A-encoded). Decoding first would let
  # `password=x%26grant_type%3D...` pose as a poll, and lower-casing would let a parameter
  # `GRANT_TYPE=`, which the token function does not read, do the same. A body that has the
  # parameter but is no poll has it twice, and the token function refuses any form with a
  # repeated parameter before looking at a password. Over the inspected size: no match, so
  # it stays under the token-route limit.
  rule {
    name     = "label-device-polls"
    priority = 6
    action {
      count {}
    }
    rule_label {
      name = local.device_poll_label
    }
    statement {
      and_statement {
        statement {
          regex_match_statement {
            regex_string = local.waf_token_path_regex
            field_to_match {
              uri_path {}
            }
            text_transformation {
              priority = 0
              type     = "LOWERCASE"
            }
          }
        }
        statement {
          regex_match_statement {
            regex_string = local.waf_device_poll_body_regex
            field_to_match {
              body {
                oversize_handling = "NO_MATCH"
              }
            }
            text_transformation {
              priority = 0
              type     = "NONE"
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.prefix}-device-polls"
      sampled_requests_enabled   = true
    }
  }

  # The token routes get their own, lower per-IP limit: the stage's method throttle on
  # POST /token is shared by every caller, so a few addresses each under the general limit
  # could otherwise spend every user's logins and refreshes. The sign-in routes share it:
  # /device_authorization starts device grants, /device checks user codes and passwords,
  # /authorize passwords (both on POST; their GETs share the path). /device/qr,
  # /assets/signin.css and /signout stay under the general limit only, and so do device polls
  # (labelled above), which have their own.
  rule {
    name     = "rate-limit-token-routes-per-ip"
    priority = 7
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.waf_token_rate_limit
        aggregate_key_type = "IP"
        scope_down_statement {
          and_statement {
            statement {
              # The path ends in one of the routes: with a custom domain that is the whole
              # path, on the execute-api URL it follows the stage (/v1/token).
              regex_match_statement {
                regex_string = "/(token|revoke|device_authorization|device|authorize)$"
                field_to_match {
                  uri_path {}
                }
                text_transformation {
                  priority = 0
                  type     = "LOWERCASE"
                }
              }
            }
            statement {
              not_statement {
                statement {
                  label_match_statement {
                    scope = "LABEL"
                    key   = local.device_poll_label
                  }
                }
              }
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.prefix}-rate-limit-token"
      sampled_requests_enabled   = true
    }
  }

  # Device polls: a limit of their own, above the token routes' (ten devices signing in at
  # once behind one address) and below the general one, which counts them too.
  rule {
    name     = "rate-limit-device-polls-per-ip"
    priority = 8
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.waf_device_poll_rate_limit
        aggregate_key_type = "IP"
        scope_down_statement {
          label_match_statement {
            scope = "LABEL"
            key   = local.device_poll_label
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.prefix}-rate-limit-device-polls"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "AWSManagedRulesAmazonIpReputationList"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesAmazonIpReputationList"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.prefix}-AWSManagedRulesAmazonIpReputationList"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "AWSManagedRulesCommonRuleSet"
    priority = 2
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesCommonRuleSet"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.prefix}-AWSManagedRulesCommonRuleSet"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "AWSManagedRulesKnownBadInputsRuleSet"
    priority = 3
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.prefix}-AWSManagedRulesKnownBadInputsRuleSet"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "AWSManagedRulesSQLiRuleSet"
    priority = 4
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesSQLiRuleSet"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.prefix}-AWSManagedRulesSQLiRuleSet"
      sampled_requests_enabled   = true
    }
  }

  # VPN, hosting-provider and Tor addresses: counted by default (many honest viewers use a
  # VPN), blocked when block_anonymous_ips is set (e.g. to enforce streaming rights by region).
  rule {
    name     = "AWSManagedRulesAnonymousIpList"
    priority = 5
    override_action {
      dynamic "none" {
        for_each = var.block_anonymous_ips ? [1] : []
        content {}
      }
      dynamic "count" {
        for_each = var.block_anonymous_ips ? [] : [1]
        content {}
      }
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesAnonymousIpList"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.prefix}-AWSManagedRulesAnonymousIpList"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = local.prefix
    sampled_requests_enabled   = true
  }

  lifecycle {
    precondition {
      condition     = var.waf_device_poll_rate_limit < var.waf_rate_limit
      error_message = "waf_device_poll_rate_limit must be below waf_rate_limit: the general limit counts device polls too and would block them first."
    }
  }
}

resource "aws_wafv2_web_acl_association" "api" {
  resource_arn = aws_api_gateway_stage.api.arn
  web_acl_arn  = aws_wafv2_web_acl.api.arn
}

# WAF requires log groups named aws-waf-logs-*.
resource "aws_cloudwatch_log_group" "waf" {
  name              = "aws-waf-logs-${local.prefix}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_wafv2_web_acl_logging_configuration" "api" {
  resource_arn            = aws_wafv2_web_acl.api.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  redacted_fields {
    single_header {
      name = "authorization"
    }
  }

  redacted_fields {
    single_header {
      name = "cookie"
    }
  }

  # Partner API keys (usage plans) are credentials too.
  redacted_fields {
    single_header {
      name = "x-api-key"
    }
  }
}
