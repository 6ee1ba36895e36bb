//! [`RefreshStore`]: refresh tokens and their families, rotated in transactions.

use super::*;

pub(super) fn token_item(t: &RefreshToken) -> Item {
    let mut item = HashMap::from([
        ("pk".into(), s(format!("t#{}", t.token_hash))),
        ("family_id".into(), s(&t.family_id)),
        ("issued_at".into(), n(t.issued_at)),
        ("idle_expires_at".into(), n(t.idle_expires_at)),
        ("expires_at".into(), n(t.expires_at)),
    ]);
    if let Some(r) = t.rotated_at {
        item.insert("rotated_at".into(), n(r));
    }
    if let Some(next) = &t.successor {
        item.insert("successor_hash".into(), s(&next.token_hash));
        item.insert("sealed_successor".into(), s(&next.sealed));
    }
    if t.reissued {
        item.insert("reissued".into(), AttributeValue::Bool(true));
    }
    item
}

pub(super) fn family_from(i: &Item) -> StoreResult<RefreshFamily> {
    Ok(RefreshFamily {
        family_id: get_s(i, "family_id")?,
        user_id: get_parsed(i, "user_id", UserId::parse)?,
        client_id: get_parsed(i, "client_id", ClientId::parse)?,
        scope: get_s(i, "scope")?,
        // Families from before the counter: generation 0.
        user_generation: n_or(i, "user_generation", 0)?,
        created_at: get_n(i, "created_at")?,
        expires_at: get_n(i, "expires_at")?,
        revoked: get_b(i, "revoked")?,
    })
}

#[async_trait]
impl RefreshStore for DynamoStore {
    async fn create_family(&self, f: &RefreshFamily, first: &RefreshToken) -> StoreResult<()> {
        let family = HashMap::from([
            ("pk".into(), s(format!("f#{}", f.family_id))),
            ("family_id".into(), s(&f.family_id)),
            ("user_id".into(), s(&f.user_id)),
            ("client_id".into(), s(&f.client_id)),
            ("scope".into(), s(&f.scope)),
            ("user_generation".into(), n(f.user_generation)),
            ("created_at".into(), n(f.created_at)),
            ("expires_at".into(), n(f.expires_at)),
            ("revoked".into(), AttributeValue::Bool(f.revoked)),
        ]);
        let items = vec![
            put(&self.t.refresh, family, Some("attribute_not_exists(pk)"))?,
            put(&self.t.refresh, token_item(first), Some("attribute_not_exists(pk)"))?,
        ];
        if self.transact(items).await? { Ok(()) } else { Err(StoreError::AlreadyExists("refresh family")) }
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
        let Some(t) = self.get_pk(&self.t.refresh, format!("t#{token_hash}")).await? else {
            return Ok(None);
        };
        let family_id = get_s(&t, "family_id")?;
        let Some(f) = self.get_pk(&self.t.refresh, format!("f#{family_id}")).await? else {
            return Ok(None);
        };
        let token = RefreshToken {
            token_hash: token_hash.to_owned(),
            family_id,
            issued_at: get_n(&t, "issued_at")?,
            idle_expires_at: get_n(&t, "idle_expires_at")?,
            rotated_at: opt_n(&t, "rotated_at"),
            expires_at: get_n(&t, "expires_at")?,
            // Tokens rotated before the grace window have no successor recorded.
            successor: match (opt_s(&t, "successor_hash"), opt_s(&t, "sealed_successor")) {
                (Some(token_hash), Some(sealed)) => Some(Successor { token_hash, sealed }),
                _ => None,
            },
            reissued: matches!(t.get("reissued"), Some(AttributeValue::Bool(true))),
        };
        Ok(Some((token, family_from(&f)?)))
    }

    async fn rotate(&self, old_hash: &str, new: &RefreshToken, sealed: &str, now: u64) -> StoreResult<Rotation> {
        // One transaction: the old token is marked only if not yet rotated, the family must not
        // be revoked, and the new token is written — all or nothing.
        let mark = Update::builder()
            .table_name(&self.t.refresh)
            .key("pk", s(format!("t#{old_hash}")))
            .update_expression("SET rotated_at = :now, successor_hash = :next, sealed_successor = :sealed")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(rotated_at) AND family_id = :f")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":next", s(&new.token_hash))
            .expression_attribute_values(":sealed", s(sealed))
            .expression_attribute_values(":f", s(&new.family_id))
            .build()
            .map_err(backend)?;
        let family_ok = ConditionCheck::builder()
            .table_name(&self.t.refresh)
            .key("pk", s(format!("f#{}", new.family_id)))
            .condition_expression("revoked = :no")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .build()
            .map_err(backend)?;
        let items = vec![
            TransactWriteItem::builder().update(mark).build(),
            TransactWriteItem::builder().condition_check(family_ok).build(),
            put(&self.t.refresh, token_item(new), Some("attribute_not_exists(pk)"))?,
        ];
        Ok(if self.transact(items).await? { Rotation::Rotated } else { Rotation::AlreadyUsed })
    }

    async fn mark_reissued(&self, token_hash: &str) -> StoreResult<()> {
        if token_hash.is_empty() {
            return Ok(());
        }
        let yes = HashMap::from([(":yes".to_owned(), AttributeValue::Bool(true))]);
        self.update_existing(&self.t.refresh, format!("t#{token_hash}"), "SET reissued = :yes", yes).await
    }

    async fn revoke_family(&self, family_id: &str) -> StoreResult<()> {
        // A rotation in flight on this family makes the update fail with a conflict, which the
        // SDK does not retry; a revocation (reuse detected, /revoke) must not be lost to that.
        let mut backoff = Backoff::conflict();
        loop {
            let r = self
                .client
                .update_item()
                .table_name(&self.t.refresh)
                .key("pk", s(format!("f#{family_id}")))
                // A missing family gets a tombstone (no user, so outside the `by_user` index),
                // expired at once: the TTL sweep removes it hours later.
                .update_expression("SET revoked = :yes, expires_at = if_not_exists(expires_at, :zero)")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":zero", n(0))
                .send()
                .await;
            match r {
                Err(e) if is_code(&e, "TransactionConflictException") && backoff.retry().await => {}
                r => return r.map(|_| ()).map_err(classify),
            }
        }
    }

    async fn revoke_user_families(&self, user_id: &UserId) -> StoreResult<u32> {
        let mut count = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.t.refresh)
                .index_name("by_user")
                .key_condition_expression("user_id = :u")
                .expression_attribute_values(":u", s(user_id))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in out.items() {
                if !get_b(item, "revoked")? {
                    self.revoke_family(&get_s(item, "family_id")?).await?;
                    count += 1;
                }
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        Ok(count)
    }
}
