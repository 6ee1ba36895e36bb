//! [`AuthCodeStore`] and [`SessionStore`]: single use by a conditional `UPDATE`.

use super::*;

#[async_trait]
impl AuthCodeStore for SqliteStore {
    async fn create_code(&self, c: &AuthCode) -> StoreResult<()> {
        self.conn()
            .execute(
                "INSERT INTO auth_codes (code_hash, client_id, redirect_uri, code_challenge, scope, user_id,
                     created_at, valid_until, expires_at, user_generation)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    c.code_hash,
                    c.client_id,
                    c.redirect_uri,
                    c.code_challenge,
                    c.scope.to_string(),
                    c.user_id,
                    int(c.created_at),
                    int(c.valid_until),
                    int(c.expires_at),
                    int(c.user_generation)
                ],
            )
            .map_err(|e| unique_or(e, "authorization code"))?;
        Ok(())
    }

    async fn redeem_code(&self, hash: &str, family_id: &str, now: u64) -> StoreResult<CodeRedemption> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        let found = tx
            .query_row(
                "SELECT code_hash, client_id, redirect_uri, code_challenge, scope, user_id, created_at, valid_until,
                        expires_at, used_at, family_id, user_generation
                 FROM auth_codes WHERE code_hash = ?1 AND expires_at > ?2",
                params![hash, int(now)],
                |r| {
                    let code = AuthCode {
                        code_hash: r.get(0)?,
                        client_id: r.get(1)?,
                        redirect_uri: r.get(2)?,
                        code_challenge: r.get(3)?,
                        scope: scope_column(r, 4)?,
                        user_id: r.get(5)?,
                        user_generation: r.get::<_, i64>(11)? as u64,
                        created_at: r.get::<_, i64>(6)? as u64,
                        valid_until: r.get::<_, i64>(7)? as u64,
                        expires_at: r.get::<_, i64>(8)? as u64,
                    };
                    Ok((code, r.get::<_, Option<i64>>(9)?, r.get::<_, Option<String>>(10)?))
                },
            )
            .optional()
            .map_err(classify)?;
        let answer = match found {
            None => CodeRedemption::Unknown,
            Some((code, Some(_), family)) => CodeRedemption::Replayed { family_id: family, client_id: code.client_id },
            Some((code, None, _)) if code.valid_until <= now => CodeRedemption::Unknown,
            Some((code, None, _)) => {
                tx.execute(
                    "UPDATE auth_codes SET used_at = ?2, family_id = ?3 WHERE code_hash = ?1 AND used_at IS NULL",
                    params![hash, int(now), family_id],
                )
                .map_err(classify)?;
                CodeRedemption::Redeemed(code)
            }
        };
        tx.commit().map_err(classify)?;
        Ok(answer)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &SignInSession) -> StoreResult<()> {
        self.conn()
            .execute(
                "INSERT INTO signin_sessions (session_hash, user_id, created_at, idle_expires_at, expires_at,
                     user_generation)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    s.session_hash,
                    s.user_id,
                    int(s.created_at),
                    int(s.idle_expires_at),
                    int(s.expires_at),
                    int(s.user_generation)
                ],
            )
            .map_err(|e| unique_or(e, "sign-in session"))?;
        Ok(())
    }

    async fn touch_session(&self, hash: &str, now: u64, idle_until: u64) -> StoreResult<Option<SignInSession>> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        let changed = tx
            .execute(
                "UPDATE signin_sessions SET idle_expires_at = ?3
                 WHERE session_hash = ?1 AND idle_expires_at > ?2 AND expires_at > ?2",
                params![hash, int(now), int(idle_until)],
            )
            .map_err(classify)?;
        if changed == 0 {
            return Ok(None);
        }
        let session = tx
            .query_row(
                "SELECT session_hash, user_id, created_at, idle_expires_at, expires_at, user_generation
                 FROM signin_sessions
                 WHERE session_hash = ?1",
                [hash],
                |r| {
                    Ok(SignInSession {
                        session_hash: r.get(0)?,
                        user_id: r.get(1)?,
                        created_at: r.get::<_, i64>(2)? as u64,
                        idle_expires_at: r.get::<_, i64>(3)? as u64,
                        expires_at: r.get::<_, i64>(4)? as u64,
                        user_generation: r.get::<_, i64>(5)? as u64,
                    })
                },
            )
            .map_err(classify)?;
        tx.commit().map_err(classify)?;
        Ok(Some(session))
    }

    async fn delete_session(&self, hash: &str) -> StoreResult<()> {
        self.conn().execute("DELETE FROM signin_sessions WHERE session_hash = ?1", [hash]).map_err(classify)?;
        Ok(())
    }
}
