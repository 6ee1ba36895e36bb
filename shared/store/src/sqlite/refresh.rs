//! [`RefreshStore`]: rotation and reuse detection in one immediate transaction.

use super::*;

pub(super) fn insert_token(c: &Connection, t: &RefreshToken) -> rusqlite::Result<usize> {
    c.execute(
        "INSERT INTO refresh_tokens
             (token_hash, family_id, issued_at, idle_expires_at, rotated_at, expires_at, successor_hash, sealed_successor,
              reissued)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            t.token_hash,
            t.family_id,
            int(t.issued_at),
            int(t.idle_expires_at),
            t.rotated_at.map(int),
            int(t.expires_at),
            t.successor.as_ref().map(|s| &s.token_hash),
            t.successor.as_ref().map(|s| &s.sealed),
            t.reissued
        ],
    )
}

/// Marks a token rotated if it is not yet and its family is not revoked. The family is looked up
/// by its key (a correlated `EXISTS`): `family_id IN (SELECT .. WHERE revoked = 0)` made SQLite
/// list every live family on each rotation, so a refresh cost grew with the number of sessions.
const ROTATE: &str = "UPDATE refresh_tokens SET rotated_at = ?2, successor_hash = ?3, sealed_successor = ?4
     WHERE token_hash = ?1 AND rotated_at IS NULL
       AND EXISTS (SELECT 1 FROM refresh_families f WHERE f.family_id = refresh_tokens.family_id AND f.revoked = 0)";

#[async_trait]
impl RefreshStore for SqliteStore {
    async fn create_family(&self, f: &RefreshFamily, first: &RefreshToken) -> StoreResult<()> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        tx.execute(
            "INSERT INTO refresh_families
                 (family_id, user_id, client_id, scope, user_generation, created_at, expires_at, revoked)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                f.family_id,
                f.user_id,
                f.client_id,
                f.scope,
                int(f.user_generation),
                int(f.created_at),
                int(f.expires_at),
                f.revoked
            ],
        )
        .map_err(|e| unique_or(e, "refresh family"))?;
        insert_token(&tx, first).map_err(|e| unique_or(e, "refresh token"))?;
        tx.commit().map_err(classify)
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
        self.conn()
            .query_row(
                "SELECT t.token_hash, t.family_id, t.issued_at, t.idle_expires_at, t.rotated_at, t.expires_at,
                        f.user_id, f.client_id, f.scope, f.created_at, f.expires_at, f.revoked, f.user_generation,
                        t.successor_hash, t.sealed_successor, t.reissued
                 FROM refresh_tokens t JOIN refresh_families f ON f.family_id = t.family_id
                 WHERE t.token_hash = ?1",
                [token_hash],
                |r| {
                    let token = RefreshToken {
                        token_hash: r.get(0)?,
                        family_id: r.get(1)?,
                        issued_at: r.get::<_, i64>(2)? as u64,
                        idle_expires_at: r.get::<_, i64>(3)? as u64,
                        rotated_at: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                        expires_at: r.get::<_, i64>(5)? as u64,
                        successor: match (r.get::<_, Option<String>>(13)?, r.get::<_, Option<String>>(14)?) {
                            (Some(token_hash), Some(sealed)) => Some(Successor { token_hash, sealed }),
                            _ => None,
                        },
                        reissued: r.get(15)?,
                    };
                    let family = RefreshFamily {
                        family_id: token.family_id.clone(),
                        user_id: r.get(6)?,
                        client_id: r.get(7)?,
                        scope: r.get(8)?,
                        created_at: r.get::<_, i64>(9)? as u64,
                        expires_at: r.get::<_, i64>(10)? as u64,
                        revoked: r.get(11)?,
                        user_generation: r.get::<_, i64>(12)? as u64,
                    };
                    Ok((token, family))
                },
            )
            .optional()
            .map_err(classify)
    }

    async fn rotate(&self, old_hash: &str, new: &RefreshToken, sealed: &str, now: u64) -> StoreResult<Rotation> {
        let mut c = self.conn();
        // IMMEDIATE takes the write lock up front, so two processes cannot both read
        // "not rotated" and both win.
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        let changed = tx.execute(ROTATE, params![old_hash, int(now), new.token_hash, sealed]).map_err(classify)?;
        if changed == 0 {
            return Ok(Rotation::AlreadyUsed);
        }
        insert_token(&tx, new).map_err(|e| unique_or(e, "refresh token"))?;
        tx.commit().map_err(classify)?;
        Ok(Rotation::Rotated)
    }

    async fn mark_reissued(&self, token_hash: &str) -> StoreResult<()> {
        self.conn()
            .execute("UPDATE refresh_tokens SET reissued = 1 WHERE token_hash = ?1", [token_hash])
            .map_err(classify)?;
        Ok(())
    }

    async fn revoke_family(&self, family_id: &str) -> StoreResult<()> {
        if family_id.is_empty() {
            return Ok(());
        }
        // A missing family gets a tombstone: no user, no client, expired at once (purged).
        self.conn()
            .execute(
                "INSERT INTO refresh_families (family_id, user_id, client_id, scope, created_at, expires_at, revoked)
                 VALUES (?1, '', '', '', 0, 0, 1)
                 ON CONFLICT (family_id) DO UPDATE SET revoked = 1",
                [family_id],
            )
            .map_err(classify)?;
        Ok(())
    }

    async fn revoke_user_families(&self, user_id: &UserId) -> StoreResult<u32> {
        let n = self
            .conn()
            .execute("UPDATE refresh_families SET revoked = 1 WHERE user_id = ?1 AND revoked = 0", [user_id])
            .map_err(classify)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_reads_its_own_family_by_key_never_every_family() {
        let store = SqliteStore::open_in_memory().unwrap();
        let c = store.conn();
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {ROTATE}"))
            .unwrap()
            .query_map(params!["h", 1, "n", "s"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().all(|step| !step.starts_with("SCAN")), "{plan:?}");
        assert!(plan.iter().any(|step| step.contains("refresh_families") && step.starts_with("SEARCH")), "{plan:?}");
    }
}
