//! [`AuthCodeStore`] and [`SessionStore`] in the `grants` table: a code is used by one
//! conditional update, which also records the refresh family its use starts.

use super::*;

fn code_key(hash: &str) -> String {
    format!("c#{hash}")
}

fn session_key(hash: &str) -> String {
    format!("s#{hash}")
}

fn code_from(i: &Item) -> StoreResult<AuthCode> {
    Ok(AuthCode {
        code_hash: get_s(i, "code_hash")?,
        client_id: get_parsed(i, "client_id", ClientId::parse)?,
        redirect_uri: get_s(i, "redirect_uri")?,
        code_challenge: get_s(i, "code_challenge")?,
        scope: get_parsed(i, "scope", ScopeSet::parse)?,
        user_id: get_parsed(i, "user_id", UserId::parse)?,
        created_at: get_n(i, "created_at")?,
        valid_until: get_n(i, "valid_until")?,
        expires_at: get_n(i, "expires_at")?,
    })
}

fn session_from(i: &Item) -> StoreResult<SignInSession> {
    Ok(SignInSession {
        session_hash: get_s(i, "session_hash")?,
        user_id: get_parsed(i, "user_id", UserId::parse)?,
        created_at: get_n(i, "created_at")?,
        idle_expires_at: get_n(i, "idle_expires_at")?,
        expires_at: get_n(i, "expires_at")?,
    })
}

#[async_trait]
impl AuthCodeStore for DynamoStore {
    async fn create_code(&self, c: &AuthCode) -> StoreResult<()> {
        let item = HashMap::from([
            ("pk".into(), s(code_key(&c.code_hash))),
            ("code_hash".into(), s(&c.code_hash)),
            ("client_id".into(), s(&c.client_id)),
            ("redirect_uri".into(), s(&c.redirect_uri)),
            ("code_challenge".into(), s(&c.code_challenge)),
            ("scope".into(), s(c.scope.to_string())),
            ("user_id".into(), s(&c.user_id)),
            ("created_at".into(), n(c.created_at)),
            ("valid_until".into(), n(c.valid_until)),
            ("expires_at".into(), n(c.expires_at)),
        ]);
        let r = self
            .client
            .put_item()
            .table_name(&self.t.grants)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, "ConditionalCheckFailedException") => {
                Err(StoreError::AlreadyExists("authorization code"))
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn redeem_code(&self, hash: &str, family_id: &str, now: u64) -> StoreResult<CodeRedemption> {
        if hash.is_empty() {
            return Ok(CodeRedemption::Unknown);
        }
        let r = self
            .client
            .update_item()
            .table_name(&self.t.grants)
            .key("pk", s(code_key(hash)))
            .update_expression("SET used_at = :now, family_id = :family")
            .condition_expression(
                "attribute_exists(code_hash) AND attribute_not_exists(used_at) AND valid_until > :now",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":family", s(family_id))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match r {
            Ok(out) => Ok(CodeRedemption::Redeemed(code_from(&out.attributes.unwrap_or_default())?)),
            Err(e) if is_code(&e, "ConditionalCheckFailedException") => {
                // The item as it was tells a replay from an unknown or expired code.
                let old = self.get_pk(&self.t.grants, code_key(hash)).await?;
                Ok(match old {
                    Some(i) if i.contains_key("used_at") && get_n(&i, "expires_at")? > now => {
                        CodeRedemption::Replayed {
                            family_id: opt_s(&i, "family_id"),
                            client_id: get_parsed(&i, "client_id", ClientId::parse)?,
                        }
                    }
                    _ => CodeRedemption::Unknown,
                })
            }
            Err(e) => Err(classify(e)),
        }
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn create_session(&self, c: &SignInSession) -> StoreResult<()> {
        let item = HashMap::from([
            ("pk".into(), s(session_key(&c.session_hash))),
            ("session_hash".into(), s(&c.session_hash)),
            ("user_id".into(), s(&c.user_id)),
            ("created_at".into(), n(c.created_at)),
            ("idle_expires_at".into(), n(c.idle_expires_at)),
            ("expires_at".into(), n(c.expires_at)),
        ]);
        let r = self
            .client
            .put_item()
            .table_name(&self.t.grants)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, "ConditionalCheckFailedException") => {
                Err(StoreError::AlreadyExists("sign-in session"))
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn touch_session(&self, hash: &str, now: u64, idle_until: u64) -> StoreResult<Option<SignInSession>> {
        if hash.is_empty() {
            return Ok(None);
        }
        let r = self
            .client
            .update_item()
            .table_name(&self.t.grants)
            .key("pk", s(session_key(hash)))
            .update_expression("SET idle_expires_at = :idle")
            .condition_expression("attribute_exists(session_hash) AND idle_expires_at > :now AND expires_at > :now")
            .expression_attribute_values(":idle", n(idle_until))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match r {
            Ok(out) => Ok(Some(session_from(&out.attributes.unwrap_or_default())?)),
            Err(e) if is_code(&e, "ConditionalCheckFailedException") => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn delete_session(&self, hash: &str) -> StoreResult<()> {
        if hash.is_empty() {
            return Ok(());
        }
        self.client
            .delete_item()
            .table_name(&self.t.grants)
            .key("pk", s(session_key(hash)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
