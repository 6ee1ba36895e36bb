//! [`UserStore`].

use super::*;

pub(super) const USER_COLUMNS: &str =
    "id, username, password_hash, disabled, scopes, maturity, token_generation, created_at";

pub(super) fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        disabled: r.get(3)?,
        scopes: from_json_list(r, 4)?,
        maturity: r.get(5)?,
        token_generation: r.get::<_, i64>(6)? as u64,
        created_at: r.get::<_, i64>(7)? as u64,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, u: &User) -> StoreResult<()> {
        self.conn()
            .execute(
                &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    u.id,
                    u.username,
                    u.password_hash,
                    u.disabled,
                    json_list(&u.scopes.iter().collect::<Vec<_>>()),
                    u.maturity,
                    int(u.token_generation),
                    int(u.created_at)
                ],
            )
            .map_err(|e| unique_or(e, "user"))?;
        Ok(())
    }

    async fn user_by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        self.conn()
            .query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"), [username], user_from_row)
            .optional()
            .map_err(classify)
    }

    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.conn()
            .query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"), [id], user_from_row)
            .optional()
            .map_err(classify)
    }

    async fn set_password_hash(&self, id: &UserId, hash: &str) -> StoreResult<()> {
        self.conn()
            .execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![id, hash])
            .map_err(classify)?;
        Ok(())
    }

    async fn set_disabled(&self, id: &UserId, disabled: bool) -> StoreResult<()> {
        self.conn().execute("UPDATE users SET disabled = ?2 WHERE id = ?1", params![id, disabled]).map_err(classify)?;
        Ok(())
    }

    async fn cut_off_tokens(&self, id: &UserId) -> StoreResult<()> {
        self.conn()
            .execute("UPDATE users SET token_generation = token_generation + 1 WHERE id = ?1", [id])
            .map_err(classify)?;
        Ok(())
    }
}
