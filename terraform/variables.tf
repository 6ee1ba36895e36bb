variable "name_prefix" {
  description = "Prefix of every resource name (tables, functions, roles, secrets). Also OASIS_TABLE_PREFIX."
  type        = string
  default     = "oasis-prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix must be 3-31 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

variable "aws_region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like eu-west-1."
  }
}

variable "tags" {
  description = "Tags applied to every resource (merged over the defaults)."
  type        = map(string)
  default     = {}
}

variable "issuer_url" {
  description = "The OAuth2 issuer: the public https base URL of the API, which tokens carry as iss. With domain_name set it must be https://<domain_name> (the stage is mapped at the root, so the RFC 8414 metadata is at https://<domain_name>/.well-known/oauth-authorization-server); without one, the stage invoke URL, whose path (/v1) puts RFC 8414 section 3.1's metadata location out of reach: clients then need the metadata URL given explicitly (<issuer>/.well-known/oauth-authorization-server)."
  type        = string

  validation {
    condition     = can(regex("^https://[^/?#]+(/[^?#]*[^/?#])?$", var.issuer_url))
    error_message = "issuer_url must be an https URL without a trailing slash, query or fragment."
  }
}

variable "audience" {
  description = "The aud claim of access tokens."
  type        = string
  default     = "oasis-api"

  validation {
    condition     = length(var.audience) > 0
    error_message = "audience must not be empty."
  }
}

variable "lambda_artifacts_dir" {
  description = "Where `cargo lambda build --release --arm64 --output-format zip` left the zips (<dir>/<function>/bootstrap.zip)."
  type        = string
  default     = "../target/lambda"
}

variable "log_retention_days" {
  description = "Retention of function, API access and WAF logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch retention of at least one year (365, 400, 545, 731, ...)."
  }
}

variable "access_token_ttl_seconds" {
  description = "Lifetime of access tokens."
  type        = number
  default     = 900

  validation {
    condition     = var.access_token_ttl_seconds >= 60 && var.access_token_ttl_seconds <= 3600
    error_message = "access_token_ttl_seconds must be between 60 and 3600."
  }
}

variable "refresh_grace_seconds" {
  description = "Seconds after a refresh-token rotation in which the rotated token, presented again by its client, gets the same successor back instead of revoking the family (a lost response or racing tabs); 0 turns it off."
  type        = number
  default     = 30

  validation {
    condition     = var.refresh_grace_seconds >= 0 && var.refresh_grace_seconds <= 60 && floor(var.refresh_grace_seconds) == var.refresh_grace_seconds
    error_message = "refresh_grace_seconds must be a whole number from 0 to 60."
  }
}

variable "function_memory_mb" {
  description = "Memory per function. token and signin verify passwords: they need room for argon2id (19 MiB per concurrent hash) and get proportionally more CPU, which shortens the hash."
  type        = map(number)
  default = {
    token       = 512
    secure-data = 128
    search      = 128
    signin      = 512
  }

  validation {
    condition     = alltrue([for k in ["token", "secure-data", "search", "signin"] : contains(keys(var.function_memory_mb), k)]) && alltrue([for k, v in var.function_memory_mb : contains(["token", "secure-data", "search", "signin"], k) && v >= 128 && v <= 10240])
    error_message = "function_memory_mb needs exactly the keys token, secure-data, search, signin; values 128-10240."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency per function: caps cost and protects the account's pool from one route."
  type        = map(number)
  default = {
    token       = 20
    secure-data = 50
    search      = 50
    signin      = 10
  }

  validation {
    condition     = alltrue([for k in ["token", "secure-data", "search", "signin"] : contains(keys(var.reserved_concurrency), k)]) && alltrue([for k, v in var.reserved_concurrency : contains(["token", "secure-data", "search", "signin"], k) && v >= 1])
    error_message = "reserved_concurrency needs exactly the keys token, secure-data, search, signin; values at least 1."
  }
}

variable "throttle_rate_limit" {
  description = "Stage-wide steady request rate (requests per second)."
  type        = number
  default     = 200

  validation {
    condition     = var.throttle_rate_limit > 0
    error_message = "throttle_rate_limit must be positive."
  }
}

variable "throttle_burst_limit" {
  description = "Stage-wide burst."
  type        = number
  default     = 400

  validation {
    condition     = var.throttle_burst_limit > 0
    error_message = "throttle_burst_limit must be positive."
  }
}

variable "token_throttle_rate_limit" {
  description = "Stricter steady rate (requests per second, all callers together) for each of POST /device_authorization, POST /device and POST /authorize (credential and code guessing are the main abuse)."
  type        = number
  default     = 20

  validation {
    condition     = var.token_throttle_rate_limit > 0
    error_message = "token_throttle_rate_limit must be positive."
  }
}

variable "token_endpoint_throttle_rate_limit" {
  description = "Steady rate (requests per second, all callers together) of POST /token. Besides logins and refreshes it carries every device's polls while its user signs in (RFC 8628 §3.4: one every 5 s, more slowly after slow_down), and polls check nothing guessable (a device code is 256 random bits). Size it as token_throttle_rate_limit plus the device sign-ins in progress at peak divided by 5: the default, 50, leaves 20 for logins beside 150 devices signing in at once. The token function's reserved concurrency bounds the password hashes whatever this allows."
  type        = number
  default     = 50

  validation {
    condition     = var.token_endpoint_throttle_rate_limit > 0
    error_message = "token_endpoint_throttle_rate_limit must be positive."
  }
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes from one IP before WAF blocks it."
  type        = number
  default     = 1000

  validation {
    condition     = var.waf_rate_limit >= 100
    error_message = "waf_rate_limit must be at least 100 (the WAF minimum)."
  }
}

variable "waf_token_rate_limit" {
  description = "Requests per 5 minutes from one IP to /token, /revoke, /device_authorization, /device and /authorize together before WAF blocks it (lower than waf_rate_limit). Devices' polls of /token (grant_type device_code) are not counted here but under waf_device_poll_rate_limit: a TV polls every 5 s, 60 times in 5 minutes, so two signing in behind one home router would otherwise spend this budget between them."
  type        = number
  default     = 100

  validation {
    condition     = var.waf_token_rate_limit >= 100
    error_message = "waf_token_rate_limit must be at least 100 (the WAF minimum)."
  }
}

variable "waf_device_poll_rate_limit" {
  description = "Device polls of POST /token (grant_type urn:ietf:params:oauth:grant-type:device_code) per 5 minutes from one IP before WAF blocks it. A device polls at most every 5 s while its user signs in (60 in 5 minutes), so the default, 600, lets ten devices behind one address sign in at once. Must stay below waf_rate_limit, which counts the same requests."
  type        = number
  default     = 600

  validation {
    condition     = var.waf_device_poll_rate_limit >= 100
    error_message = "waf_device_poll_rate_limit must be at least 100 (the WAF minimum)."
  }
}

variable "block_anonymous_ips" {
  description = "Block (instead of only count) requests from VPN, hosting-provider and Tor addresses."
  type        = bool
  default     = false
}

variable "enable_partner_api_keys" {
  description = "Require an API key (usage plan) on /search, for partner clients."
  type        = bool
  default     = false
}

variable "partner_quota_per_day" {
  description = "Daily request quota of the partner usage plan."
  type        = number
  default     = 100000

  validation {
    condition     = var.partner_quota_per_day >= 1 && floor(var.partner_quota_per_day) == var.partner_quota_per_day
    error_message = "partner_quota_per_day must be a whole number of at least 1."
  }
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to call the API (https only)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.cors_allowed_origins : can(regex("^https://[^/]+$", o))])
    error_message = "cors_allowed_origins must be https origins without a path."
  }
}

variable "domain_name" {
  description = "Optional custom domain for the API (TLS 1.2+). Empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.domain_name == "" || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name (api.example.com) or empty."
  }
}

variable "certificate_arn" {
  description = "ACM certificate (same region) for domain_name. Required when domain_name is set."
  type        = string
  default     = ""

  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "manage_api_gateway_account" {
  description = "Set the account-wide API Gateway CloudWatch role (needed once per account and region for access logs)."
  type        = bool
  default     = true
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the functions' EMF metrics."
  type        = string
  default     = "Oasis"

  validation {
    condition     = can(regex("^[A-Za-z0-9./#:_-]{1,255}$", var.metrics_namespace))
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . / # : _ -."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (empty for none; confirm the subscription mail)."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address or empty."
  }
}

variable "login_failed_threshold" {
  description = "Failed logins in 5 minutes that raise the brute-force alarm."
  type        = number
  default     = 50

  validation {
    condition     = var.login_failed_threshold >= 1
    error_message = "login_failed_threshold must be at least 1."
  }
}

variable "token_rejected_threshold" {
  description = "Rejected access tokens per function in 5 minutes that raise an alarm."
  type        = number
  default     = 100

  validation {
    condition     = var.token_rejected_threshold >= 1
    error_message = "token_rejected_threshold must be at least 1."
  }
}

variable "device_code_guessing_threshold" {
  description = "Wrong device user codes (all addresses together, locked ones included) in 5 minutes that raise the device-code-guessing alarm."
  type        = number
  default     = 50

  validation {
    condition     = var.device_code_guessing_threshold >= 1
    error_message = "device_code_guessing_threshold must be at least 1."
  }
}

variable "csrf_refused_threshold" {
  description = "Requests refused as cross-site forgeries in 5 minutes, per function (signin's forms, the token endpoint's refresh cookie), that raise an alarm."
  type        = number
  default     = 20

  validation {
    condition     = var.csrf_refused_threshold >= 1
    error_message = "csrf_refused_threshold must be at least 1."
  }
}

variable "waf_blocked_threshold" {
  description = "WAF-blocked requests in 5 minutes that raise an alarm."
  type        = number
  default     = 500

  validation {
    condition     = var.waf_blocked_threshold >= 1
    error_message = "waf_blocked_threshold must be at least 1."
  }
}

variable "anomaly_band_width" {
  description = "Width, in standard deviations, of the anomaly detection band (ANOMALY_DETECTION_BAND) the traffic-dependent alarms compare with: lower alarms sooner and more often."
  type        = number
  default     = 3

  validation {
    condition     = var.anomaly_band_width >= 1 && var.anomaly_band_width <= 10
    error_message = "anomaly_band_width must be between 1 and 10 standard deviations."
  }
}

variable "operator_principal_arns" {
  description = "IAM principals (role or user ARNs; ArnLike wildcards allowed within a name, e.g. an IAM Identity Center role arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*) that operate the keys: they run oasis-admin keys and write the cursor key, and the only ones besides each secret's function role that the secrets' resource policies and the JWKS key's policy admit. Must include the principal that runs terraform apply (it manages those policies, and KMS refuses a key policy that would lock its caller out) and a break-glass role; the account root is not admitted unless listed. No default: an empty list would lock everyone out."
  type        = list(string)

  validation {
    condition     = length(var.operator_principal_arns) > 0 && alltrue([for a in var.operator_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|(role|user)/[A-Za-z0-9+=,.@_/*-]*[A-Za-z0-9+=,.@_-][A-Za-z0-9+=,.@_/*-]*)$", a))])
    error_message = "operator_principal_arns needs at least one IAM role or user ARN in one account (12 digits), with a name that is not only wildcards."
  }
}
