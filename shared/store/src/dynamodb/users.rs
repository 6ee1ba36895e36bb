//! [`UserStore`]: users keyed `u#{id}`, with a username index.

use super::*;

pub(super) fn user_item(u: &User) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("u#{}", u.id))),
        ("id".into(), s(&u.id)),
        ("username".into(), s(&u.username)),
        ("password_hash".into(), s(&u.password_hash)),
        ("disabled".into(), AttributeValue::Bool(u.disabled)),
        ("scopes".into(), list(&u.scopes.iter().collect::<Vec<_>>())),
        ("maturity".into(), n(u64::from(u.maturity.age()))),
        ("token_generation".into(), n(u.token_generation)),
        // Read only by binaries from before the counter, should one be rolled back to.
        ("tokens_valid_after".into(), n(0)),
        ("created_at".into(), n(u.created_at)),
    ])
}

pub(super) fn user_from(item: &Item) -> StoreResult<User> {
    Ok(User {
        id: get_parsed(item, "id", UserId::parse)?,
        username: get_parsed(item, "username", Username::parse)?,
        password_hash: get_s(item, "password_hash")?,
        disabled: get_b(item, "disabled")?,
        scopes: ScopeSet::from_tokens(get_l(item, "scopes")?).map_err(|_| backend(Malformed("scopes")))?,
        maturity: get_maturity(item, "maturity")?,
        // Items written before the counter kept a cut-off time instead: one that had been cut
        // off reads as generation 1, so what it cut off stays cut off.
        token_generation: n_or(item, "token_generation", u64::from(n_or(item, "tokens_valid_after", 0)? > 0))?,
        created_at: get_n(item, "created_at")?,
    })
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, u: &User) -> StoreResult<()> {
        let name = HashMap::from([("pk".into(), s(format!("n#{}", u.username))), ("user_id".into(), s(&u.id))]);
        let items = vec![
            put(&self.t.users, user_item(u), Some("attribute_not_exists(pk)"))?,
            put(&self.t.users, name, Some("attribute_not_exists(pk)"))?,
        ];
        if self.transact(items).await? { Ok(()) } else { Err(StoreError::AlreadyExists("user")) }
    }

    async fn user_by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        let Some(name) = self.get_pk(&self.t.users, format!("n#{username}")).await? else {
            // The same second read for a name that does not exist (a key no user id can
            // have): one round trip fewer would time an unknown username apart from a known
            // one, beside the dummy hash that keeps the password check equal.
            self.get_pk(&self.t.users, "u#-".to_owned()).await?;
            return Ok(None);
        };
        self.user_by_id(&get_parsed(&name, "user_id", UserId::parse)?).await
    }

    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.get_pk(&self.t.users, format!("u#{id}")).await?.map(|i| user_from(&i)).transpose()
    }

    async fn set_password_hash(&self, id: &UserId, hash: &str) -> StoreResult<()> {
        self.update_user(id.as_str(), "SET password_hash = :h", HashMap::from([(":h".into(), s(hash))])).await
    }

    async fn set_disabled(&self, id: &UserId, disabled: bool) -> StoreResult<()> {
        self.update_user(
            id.as_str(),
            "SET disabled = :d",
            HashMap::from([(":d".into(), AttributeValue::Bool(disabled))]),
        )
        .await
    }

    async fn cut_off_tokens(&self, id: &UserId) -> StoreResult<()> {
        // An item from before the counter starts from 1, above the 0 or 1 it reads as. The
        // cut-off time is for a binary from before the counter, should one be rolled back to
        // (its only use of a clock).
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let values = HashMap::from([(":one".into(), n(1)), (":legacy".into(), n(now + 1))]);
        let expr = "SET token_generation = if_not_exists(token_generation, :one) + :one, tokens_valid_after = :legacy";
        self.update_user(id.as_str(), expr, values).await
    }
}
