//! [`ProfileStore`].

use super::*;

#[async_trait]
impl ProfileStore for SqliteStore {
    async fn put_profile(&self, p: &Profile) -> StoreResult<()> {
        self.conn()
            .execute(
                "INSERT INTO profiles (user_id, display_name, entitlements, watchlist) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(user_id) DO UPDATE SET display_name = ?2, entitlements = ?3, watchlist = ?4",
                params![p.user_id, p.display_name, json_list(&p.entitlements), json_list(&p.watchlist)],
            )
            .map_err(classify)?;
        Ok(())
    }

    async fn profile(&self, user_id: &UserId) -> StoreResult<Option<Profile>> {
        self.conn()
            .query_row(
                "SELECT user_id, display_name, entitlements, watchlist FROM profiles WHERE user_id = ?1",
                [user_id],
                |r| {
                    Ok(Profile {
                        user_id: r.get(0)?,
                        display_name: r.get(1)?,
                        entitlements: from_json_list(r, 2)?,
                        watchlist: from_json_list(r, 3)?,
                    })
                },
            )
            .optional()
            .map_err(classify)
    }
}
