//! [`ClientStore`]: OAuth2 clients.

use super::*;

#[async_trait]
impl ClientStore for DynamoStore {
    async fn create_client(&self, c: &Client_) -> StoreResult<()> {
        let mut item = HashMap::from([
            ("pk".into(), s(&c.client_id)),
            ("name".into(), s(&c.name)),
            ("first_party".into(), AttributeValue::Bool(c.first_party)),
            ("grant_types".into(), list(&c.grant_types)),
            ("scopes".into(), list(&c.scopes.iter().collect::<Vec<_>>())),
            ("refresh_in_cookie".into(), AttributeValue::Bool(c.refresh_in_cookie)),
            ("allowed_origins".into(), list(&c.allowed_origins)),
            ("redirect_uris".into(), list(&c.redirect_uris)),
            ("disabled".into(), AttributeValue::Bool(c.disabled)),
            ("created_at".into(), n(c.created_at)),
        ]);
        if let Some(h) = &c.secret_hash {
            item.insert("secret_hash".into(), s(h));
        }
        self.put_new(&self.t.clients, item, "client").await
    }

    async fn client(&self, client_id: &ClientId) -> StoreResult<Option<Client_>> {
        let Some(i) = self.get_pk(&self.t.clients, client_id.to_string()).await? else {
            return Ok(None);
        };
        Ok(Some(Client_ {
            client_id: get_parsed(&i, "pk", ClientId::parse)?,
            secret_hash: opt_s(&i, "secret_hash"),
            name: get_s(&i, "name")?,
            first_party: get_b(&i, "first_party")?,
            grant_types: get_l_parsed(&i, "grant_types", GrantType::parse)?,
            scopes: ScopeSet::from_tokens(get_l(&i, "scopes")?).map_err(|_| backend(Malformed("scopes")))?,
            refresh_in_cookie: get_b(&i, "refresh_in_cookie")?,
            allowed_origins: get_l(&i, "allowed_origins")?,
            // Clients made before the code flow have none.
            redirect_uris: match i.contains_key("redirect_uris") {
                true => get_l_parsed(&i, "redirect_uris", RedirectUri::parse)?,
                false => vec![],
            },
            disabled: get_b(&i, "disabled")?,
            created_at: get_n(&i, "created_at")?,
        }))
    }

    async fn set_client_disabled(&self, client_id: &ClientId, disabled: bool) -> StoreResult<()> {
        let values = HashMap::from([(":d".into(), AttributeValue::Bool(disabled))]);
        self.update_existing(&self.t.clients, client_id.to_string(), "SET disabled = :d", values).await
    }
}
