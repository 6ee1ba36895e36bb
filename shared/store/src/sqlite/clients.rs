//! [`ClientStore`].

use super::*;

#[async_trait]
impl ClientStore for SqliteStore {
    async fn create_client(&self, c: &Client) -> StoreResult<()> {
        self.conn()
            .execute(
                "INSERT INTO clients (client_id, secret_hash, name, first_party, grant_types, scopes,
                     refresh_in_cookie, allowed_origins, disabled, created_at, redirect_uris)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    c.client_id,
                    c.secret_hash,
                    c.name,
                    c.first_party,
                    json_list(&c.grant_types),
                    json_list(&c.scopes.iter().collect::<Vec<_>>()),
                    c.refresh_in_cookie,
                    json_list(&c.allowed_origins),
                    c.disabled,
                    int(c.created_at),
                    json_list(&c.redirect_uris),
                ],
            )
            .map_err(|e| unique_or(e, "client"))?;
        Ok(())
    }

    async fn client(&self, client_id: &ClientId) -> StoreResult<Option<Client>> {
        self.conn()
            .query_row(
                "SELECT client_id, secret_hash, name, first_party, grant_types, scopes, refresh_in_cookie,
                        allowed_origins, disabled, created_at, redirect_uris
                 FROM clients WHERE client_id = ?1",
                [client_id],
                |r| {
                    Ok(Client {
                        client_id: r.get(0)?,
                        secret_hash: r.get(1)?,
                        name: r.get(2)?,
                        first_party: r.get(3)?,
                        grant_types: from_json_list(r, 4)?,
                        scopes: from_json_list(r, 5)?,
                        refresh_in_cookie: r.get(6)?,
                        allowed_origins: from_json_list(r, 7)?,
                        disabled: r.get(8)?,
                        created_at: r.get::<_, i64>(9)? as u64,
                        redirect_uris: from_json_list(r, 10)?,
                    })
                },
            )
            .optional()
            .map_err(classify)
    }

    async fn set_client_disabled(&self, client_id: &ClientId, disabled: bool) -> StoreResult<()> {
        self.conn()
            .execute("UPDATE clients SET disabled = ?2 WHERE client_id = ?1", params![client_id, disabled])
            .map_err(classify)?;
        Ok(())
    }
}
