//! [`ProfileStore`]: display names, entitlements, watchlists.

use super::*;

#[async_trait]
impl ProfileStore for DynamoStore {
    async fn put_profile(&self, p: &Profile) -> StoreResult<()> {
        let item = HashMap::from([
            ("pk".into(), s(&p.user_id)),
            ("display_name".into(), s(&p.display_name)),
            ("entitlements".into(), list(&p.entitlements)),
            ("watchlist".into(), list(&p.watchlist)),
        ]);
        self.client.put_item().table_name(&self.t.profiles).set_item(Some(item)).send().await.map_err(classify)?;
        Ok(())
    }

    async fn profile(&self, user_id: &UserId) -> StoreResult<Option<Profile>> {
        let Some(i) = self.get_pk(&self.t.profiles, user_id.to_string()).await? else {
            return Ok(None);
        };
        Ok(Some(Profile {
            user_id: get_parsed(&i, "pk", UserId::parse)?,
            display_name: get_s(&i, "display_name")?,
            entitlements: get_l(&i, "entitlements")?,
            watchlist: get_l(&i, "watchlist")?,
        }))
    }
}
