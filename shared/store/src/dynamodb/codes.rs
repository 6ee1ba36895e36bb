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
        user_generation: n_or(i, "user_generation", 0)?,
        created_at: get_n(i, "created_at")?,
        valid_until: get_n(i, "valid_until")?,
        expires_at: get_n(i, "expires_at")?,
    })
}

fn session_from(i: &Item) -> StoreResult<SignInSession> {
    Ok(SignInSession {
        session_hash: get_s(i, "session_hash")?,
        user_id: get_parsed(i, "user_id", UserId::parse)?,
        user_generation: n_or(i, "user_generation", 0)?,
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
            ("user_generation".into(), n(c.user_generation)),
            ("created_at".into(), n(c.created_at)),
            ("valid_until".into(), n(c.valid_until)),
            ("expires_at".into(), n(c.expires_at)),
        ]);
        self.put_new(&self.t.grants, item, "authorization code").await
    }

    async fn redeem_code(&self, hash: &str, family_id: &str, now: u64) -> StoreResult<CodeRedemption> {
        if hash.is_empty() {
            return Ok(CodeRedemption::Unknown);
        }
        let values = HashMap::from([(":now".into(), n(now)), (":family".into(), s(family_id))]);
        let used = self
            .update_if(
                &self.t.grants,
                code_key(hash),
                "SET used_at = :now, family_id = :family",
                "attribute_exists(code_hash) AND attribute_not_exists(used_at) AND valid_until > :now",
                values,
            )
            .await?;
        match used {
            Some(item) => Ok(CodeRedemption::Redeemed(code_from(&item)?)),
            None => {
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
            ("user_generation".into(), n(c.user_generation)),
            ("created_at".into(), n(c.created_at)),
            ("idle_expires_at".into(), n(c.idle_expires_at)),
            ("expires_at".into(), n(c.expires_at)),
        ]);
        self.put_new(&self.t.grants, item, "sign-in session").await
    }

    async fn touch_session(&self, hash: &str, now: u64, idle_until: u64) -> StoreResult<Option<SignInSession>> {
        if hash.is_empty() {
            return Ok(None);
        }
        let values = HashMap::from([(":idle".into(), n(idle_until)), (":now".into(), n(now))]);
        let touched = self
            .update_if(
                &self.t.grants,
                session_key(hash),
                "SET idle_expires_at = :idle",
                "attribute_exists(session_hash) AND idle_expires_at > :now AND expires_at > :now",
                values,
            )
            .await?;
        touched.map(|item| session_from(&item)).transpose()
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
