//! [`ThrottleStore`].

use super::*;

pub(super) fn attempts_from_row(r: &Row<'_>) -> rusqlite::Result<Attempts> {
    Ok(Attempts {
        failures: r.get(0)?,
        locked_until: r.get::<_, i64>(1)? as u64,
        expires_at: r.get::<_, i64>(2)? as u64,
    })
}

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn attempts(&self, key: &str, now: u64) -> StoreResult<Option<Attempts>> {
        self.conn()
            .query_row(
                "SELECT failures, locked_until, expires_at FROM login_attempts WHERE key = ?1 AND expires_at > ?2",
                params![key, int(now)],
                attempts_from_row,
            )
            .optional()
            .map_err(classify)
    }

    async fn record_failure(&self, key: &str, now: u64, expires_at: u64) -> StoreResult<Attempts> {
        // An expired counter starts again from one, as a DynamoDB TTL deletion would.
        self.conn()
            .query_row(
                "INSERT INTO login_attempts (key, failures, locked_until, expires_at) VALUES (?1, 1, 0, ?3)
                 ON CONFLICT(key) DO UPDATE SET
                    failures = CASE WHEN login_attempts.expires_at <= ?2 THEN 1 ELSE login_attempts.failures + 1 END,
                    locked_until = CASE WHEN login_attempts.expires_at <= ?2 THEN 0 ELSE login_attempts.locked_until END,
                    expires_at = ?3
                 RETURNING failures, locked_until, expires_at",
                params![key, int(now), int(expires_at)],
                attempts_from_row,
            )
            .map_err(classify)
    }

    async fn try_lock(&self, key: &str, now: u64, locked_until: u64, expires_at: u64) -> StoreResult<bool> {
        let changed = self
            .conn()
            .execute(
                "UPDATE login_attempts SET locked_until = ?2, expires_at = MAX(expires_at, ?3)
                 WHERE key = ?1 AND locked_until <= ?4 AND expires_at > ?4",
                params![key, int(locked_until), int(expires_at), int(now)],
            )
            .map_err(classify)?;
        Ok(changed == 1)
    }

    async fn clear_attempts(&self, key: &str) -> StoreResult<()> {
        self.conn().execute("DELETE FROM login_attempts WHERE key = ?1", [key]).map_err(classify)?;
        Ok(())
    }

    async fn release_lock(&self, key: &str, locked_until: u64) -> StoreResult<()> {
        self.conn()
            .execute(
                "UPDATE login_attempts SET locked_until = 0 WHERE key = ?1 AND locked_until = ?2",
                params![key, int(locked_until)],
            )
            .map_err(classify)?;
        Ok(())
    }

    async fn forgive_failure(&self, key: &str, now: u64) -> StoreResult<()> {
        self.conn()
            .execute(
                "UPDATE login_attempts SET failures = failures - 1 WHERE key = ?1 AND failures > 0 AND expires_at > ?2",
                params![key, int(now)],
            )
            .map_err(classify)?;
        Ok(())
    }
}
