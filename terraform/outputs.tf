output "api_url" {
  description = "Invoke URL of the API stage."
  value       = aws_api_gateway_stage.api.invoke_url
}

output "custom_domain_target" {
  description = "Regional domain name to point the custom domain's DNS record at (empty without a custom domain)."
  value       = one(aws_api_gateway_domain_name.api[*].regional_domain_name)
}

output "function_names" {
  description = "Lambda function names by function."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "table_prefix" {
  description = "OASIS_TABLE_PREFIX for oasis-admin."
  value       = local.prefix
}

output "table_names" {
  description = "DynamoDB table names."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

output "signing_keys_secret_id" {
  description = "OASIS_KEYS_SECRET_ID for oasis-admin keys commands."
  value       = aws_secretsmanager_secret.signing_keys.name
}

output "cursor_key_secret_id" {
  description = "Secret to fill with 32 random bytes (base64url) for search cursors."
  value       = aws_secretsmanager_secret.cursor_key.name
}

output "jwks_parameter" {
  description = "OASIS_JWKS_PARAMETER for oasis-admin keys commands."
  value       = aws_ssm_parameter.jwks.name
}

output "jwks_key_arn" {
  description = "The KMS key of the JWKS parameter: oasis-admin keys needs kms:Encrypt on it (and ssm:DescribeParameters, ssm:PutParameter), which its policy leaves to operator_principal_arns."
  value       = aws_kms_key.jwks.arn
}

output "partner_usage_plan_id" {
  description = "Usage plan to attach partner API keys to (empty when disabled)."
  value       = one(aws_api_gateway_usage_plan.partners[*].id)
}

output "dashboard_url" {
  description = "The CloudWatch dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards:name=${aws_cloudwatch_dashboard.main.dashboard_name}"
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms publish to."
  value       = aws_sns_topic.alarms.arn
}
