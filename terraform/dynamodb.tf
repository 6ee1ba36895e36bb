# DynamoDB tables: the design in shared/store/src/dynamodb/schema.rs (README "Storage
# backends"). tests/infra checks these against the code's table specs.
locals {
  tables = {
    users       = { range_key = null, indexes = {}, ttl = null }
    clients     = { range_key = null, indexes = {}, ttl = null }
    refresh     = { range_key = null, indexes = { by_user = "user_id" }, ttl = "expires_at" }
    attempts    = { range_key = null, indexes = {}, ttl = "expires_at" }
    grants      = { range_key = null, indexes = {}, ttl = "expires_at" }
    profiles    = { range_key = null, indexes = {}, ttl = null }
    titles      = { range_key = null, indexes = {}, ttl = null }
    title_index = { range_key = "sk", indexes = {}, ttl = null }
  }
}

resource "aws_dynamodb_table" "this" {
  for_each = local.tables

  name                        = "${local.prefix}-${each.key}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = each.value.range_key
  deletion_protection_enabled = true

  attribute {
    name = "pk"
    type = "S"
  }

  dynamic "attribute" {
    for_each = each.value.range_key == null ? [] : [each.value.range_key]
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "attribute" {
    for_each = each.value.indexes
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.indexes
    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value
      projection_type = "ALL"
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl == null ? [] : [each.value.ttl]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }
}
