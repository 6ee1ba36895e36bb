//! [`ThrottleStore`]: failed-attempt counters and lock-outs, by conditional writes.

use super::*;

pub(super) fn attempts_from(i: &Item) -> StoreResult<Attempts> {
    Ok(Attempts {
        failures: small(get_n(i, "failures")?, "failures")?,
        locked_until: opt_n(i, "locked_until").unwrap_or(0),
        expires_at: get_n(i, "expires_at")?,
    })
}

#[async_trait]
impl ThrottleStore for DynamoStore {
    async fn attempts(&self, key: &str, now: u64) -> StoreResult<Option<Attempts>> {
        // TTL deletes lazily (hours later), so an expired counter may still be there.
        let item = self.get_pk(&self.t.attempts, key.to_owned()).await?;
        Ok(item.map(|i| attempts_from(&i)).transpose()?.filter(|a| a.expires_at > now))
    }

    async fn record_failure(&self, key: &str, now: u64, expires_at: u64) -> StoreResult<Attempts> {
        for _ in 0..3 {
            let added = self
                .client
                .update_item()
                .table_name(&self.t.attempts)
                .key("pk", s(key))
                .update_expression("ADD failures :one SET expires_at = :exp")
                .condition_expression("attribute_not_exists(pk) OR expires_at > :now")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":exp", n(expires_at))
                .expression_attribute_values(":now", n(now))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match added {
                Ok(out) => return attempts_from(&out.attributes.unwrap_or_default()),
                Err(e) if is_code(&e, "ConditionalCheckFailedException") => {
                    // The counter expired but TTL has not removed it yet: start again at one.
                    let fresh = HashMap::from([
                        ("pk".into(), s(key)),
                        ("failures".into(), n(1)),
                        ("locked_until".into(), n(0)),
                        ("expires_at".into(), n(expires_at)),
                    ]);
                    let r = self
                        .client
                        .put_item()
                        .table_name(&self.t.attempts)
                        .set_item(Some(fresh))
                        .condition_expression("expires_at <= :now")
                        .expression_attribute_values(":now", n(now))
                        .send()
                        .await;
                    match r {
                        Ok(_) => {
                            return Ok(Attempts { failures: 1, locked_until: 0, expires_at });
                        }
                        // Someone else restarted it first; count on top of theirs.
                        Err(e) if is_code(&e, "ConditionalCheckFailedException") => continue,
                        Err(e) => return Err(classify(e)),
                    }
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Err(StoreError::Unavailable(Box::new(Malformed("counter contention"))))
    }

    async fn try_lock(&self, key: &str, now: u64, locked_until: u64, expires_at: u64) -> StoreResult<bool> {
        let r = self
            .client
            .update_item()
            .table_name(&self.t.attempts)
            .key("pk", s(key))
            .update_expression("SET locked_until = :l, expires_at = :e")
            .condition_expression(
                "attribute_exists(pk) AND expires_at > :now AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
            )
            .expression_attribute_values(":l", n(locked_until))
            .expression_attribute_values(":e", n(expires_at))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if is_code(&e, "ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }

    async fn clear_attempts(&self, key: &str) -> StoreResult<()> {
        self.client.delete_item().table_name(&self.t.attempts).key("pk", s(key)).send().await.map_err(classify)?;
        Ok(())
    }

    async fn release_lock(&self, key: &str, locked_until: u64) -> StoreResult<()> {
        let r = self
            .client
            .update_item()
            .table_name(&self.t.attempts)
            .key("pk", s(key))
            .update_expression("SET locked_until = :zero")
            .condition_expression("locked_until = :mine")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":mine", n(locked_until))
            .send()
            .await;
        missing_is_fine(r)
    }

    async fn forgive_failure(&self, key: &str, now: u64) -> StoreResult<()> {
        let r = self
            .client
            .update_item()
            .table_name(&self.t.attempts)
            .key("pk", s(key))
            .update_expression("ADD failures :minus_one")
            .condition_expression("failures > :zero AND expires_at > :now")
            .expression_attribute_values(":minus_one", AttributeValue::N("-1".into()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        missing_is_fine(r)
    }
}
