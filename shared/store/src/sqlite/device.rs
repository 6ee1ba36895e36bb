//! [`DeviceGrantStore`]: each transition is one conditional `UPDATE`, or one immediate
//! transaction where the answer depends on what was there.

use super::*;

const COLUMNS: &str = "device_code_hash, user_code, client_id, scope, created_at, expires_at, poll_interval,
    last_polled_at, state, user_id, granted_scope, user_generation";

fn grant_from_row(r: &Row<'_>) -> rusqlite::Result<DeviceGrant> {
    let state: String = r.get(8)?;
    let state = match state.as_str() {
        "pending" => DeviceGrantState::Pending,
        "approved" => DeviceGrantState::Approved {
            user_id: r.get(9)?,
            scope: scope_column(r, 10)?,
            user_generation: r.get::<_, Option<i64>>(11)?.unwrap_or(0) as u64,
        },
        "denied" => DeviceGrantState::Denied,
        "redeemed" => DeviceGrantState::Redeemed,
        _ => return Err(rusqlite::Error::InvalidColumnType(8, "state".into(), rusqlite::types::Type::Text)),
    };
    Ok(DeviceGrant {
        device_code_hash: r.get(0)?,
        user_code: r.get(1)?,
        client_id: r.get(2)?,
        scope: scope_column(r, 3)?,
        created_at: r.get::<_, i64>(4)? as u64,
        expires_at: r.get::<_, i64>(5)? as u64,
        interval: r.get::<_, i64>(6)? as u64,
        last_polled_at: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
        state,
    })
}

#[async_trait]
impl DeviceGrantStore for SqliteStore {
    async fn create_device_grant(&self, g: &DeviceGrant, now: u64) -> StoreResult<()> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        // An expired grant no longer holds its user code.
        tx.execute(
            "DELETE FROM device_grants WHERE user_code = ?1 AND expires_at <= ?2",
            params![g.user_code, int(now)],
        )
        .map_err(classify)?;
        tx.execute(
            &format!(
                "INSERT INTO device_grants ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', NULL, NULL, NULL)"
            ),
            params![
                g.device_code_hash,
                g.user_code,
                g.client_id,
                g.scope.to_string(),
                int(g.created_at),
                int(g.expires_at),
                int(g.interval),
                g.last_polled_at.map(int),
            ],
        )
        .map_err(|e| unique_or(e, "device grant"))?;
        tx.commit().map_err(classify)
    }

    async fn device_grant_by_user_code(&self, user_code: &UserCode, now: u64) -> StoreResult<Option<DeviceGrant>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM device_grants WHERE user_code = ?1 AND expires_at > ?2"),
                params![user_code, int(now)],
                grant_from_row,
            )
            .optional()
            .map_err(classify)
    }

    async fn decide_device_grant(&self, user_code: &UserCode, d: &DeviceDecision, now: u64) -> StoreResult<bool> {
        let (state, user_id, scope, generation) = match d {
            DeviceDecision::Approve { user_id, scope, user_generation } => {
                ("approved", Some(user_id), Some(scope.to_string()), Some(int(*user_generation)))
            }
            DeviceDecision::Deny => ("denied", None, None, None),
        };
        let changed = self
            .conn()
            .execute(
                "UPDATE device_grants SET state = ?2, user_id = ?3, granted_scope = ?4, user_generation = ?6
                 WHERE user_code = ?1 AND state = 'pending' AND expires_at > ?5",
                params![user_code, state, user_id, scope, int(now), generation],
            )
            .map_err(classify)?;
        Ok(changed == 1)
    }

    async fn poll_device_grant(
        &self,
        hash: &str,
        client: &ClientId,
        now: u64,
        step: u64,
    ) -> StoreResult<Option<DevicePoll>> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        let found = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM device_grants WHERE device_code_hash = ?1 AND client_id = ?2"),
                params![hash, client],
                grant_from_row,
            )
            .optional()
            .map_err(classify)?;
        let Some(mut grant) = found else { return Ok(None) };
        let slow_down = grant.polled_too_soon(now);
        if slow_down {
            grant.interval = grant.interval.saturating_add(step);
        }
        tx.execute(
            "UPDATE device_grants SET last_polled_at = ?2, poll_interval = ?3 WHERE device_code_hash = ?1",
            params![hash, int(now), int(grant.interval)],
        )
        .map_err(classify)?;
        tx.commit().map_err(classify)?;
        Ok(Some(DevicePoll { grant, slow_down }))
    }

    async fn redeem_device_grant(&self, hash: &str, now: u64) -> StoreResult<bool> {
        let changed = self
            .conn()
            .execute(
                "UPDATE device_grants SET state = 'redeemed'
                 WHERE device_code_hash = ?1 AND state = 'approved' AND expires_at > ?2",
                params![hash, int(now)],
            )
            .map_err(classify)?;
        Ok(changed == 1)
    }
}
