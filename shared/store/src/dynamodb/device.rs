//! [`DeviceGrantStore`]: a grant item keyed by its device code's hash and a user-code item
//! pointing at it, written together; every transition is a conditional update of the grant.
//! (`grant_state` and `poll_interval`: `state` and `interval` are DynamoDB reserved words.)

use super::*;

fn grant_from(i: &Item) -> StoreResult<DeviceGrant> {
    let scope = |k: &'static str| get_parsed(i, k, ScopeSet::parse);
    let state = match get_s(i, "grant_state")?.as_str() {
        "pending" => DeviceGrantState::Pending,
        "approved" => DeviceGrantState::Approved {
            user_id: get_parsed(i, "user_id", UserId::parse)?,
            scope: scope("granted_scope")?,
            user_generation: n_or(i, "user_generation", 0)?,
        },
        "denied" => DeviceGrantState::Denied,
        "redeemed" => DeviceGrantState::Redeemed,
        _ => return Err(backend(Malformed("grant_state"))),
    };
    Ok(DeviceGrant {
        device_code_hash: get_s(i, "device_code_hash")?,
        user_code: get_parsed(i, "user_code", UserCode::parse)?,
        client_id: get_parsed(i, "client_id", ClientId::parse)?,
        scope: scope("scope")?,
        created_at: get_n(i, "created_at")?,
        expires_at: get_n(i, "expires_at")?,
        interval: get_n(i, "poll_interval")?,
        last_polled_at: opt_n(i, "last_polled_at"),
        state,
    })
}

fn grant_key(hash: &str) -> String {
    format!("d#{hash}")
}

fn code_key(code: &UserCode) -> String {
    format!("u#{code}")
}

impl DynamoStore {
    /// Updates the grant item under `condition`; false when the condition failed.
    async fn update_grant(&self, hash: &str, expr: &str, condition: &str, values: Item) -> StoreResult<bool> {
        Ok(self.update_if(&self.t.grants, grant_key(hash), expr, condition, values).await?.is_some())
    }

    /// The device-code hash a live user code points at.
    async fn grant_of_code(&self, code: &UserCode, now: u64) -> StoreResult<Option<String>> {
        let Some(item) = self.get_pk(&self.t.grants, code_key(code)).await? else { return Ok(None) };
        // TTL deletes lazily: an expired pointer may still be there.
        if get_n(&item, "expires_at")? <= now {
            return Ok(None);
        }
        get_s(&item, "device_code_hash").map(Some)
    }
}

#[async_trait]
impl DeviceGrantStore for DynamoStore {
    async fn create_device_grant(&self, g: &DeviceGrant, now: u64) -> StoreResult<()> {
        let mut grant = HashMap::from([
            ("pk".into(), s(grant_key(&g.device_code_hash))),
            ("device_code_hash".into(), s(&g.device_code_hash)),
            ("user_code".into(), s(&g.user_code)),
            ("client_id".into(), s(&g.client_id)),
            ("scope".into(), s(g.scope.to_string())),
            ("created_at".into(), n(g.created_at)),
            ("expires_at".into(), n(g.expires_at)),
            ("poll_interval".into(), n(g.interval)),
            ("grant_state".into(), s("pending")),
        ]);
        if let Some(t) = g.last_polled_at {
            grant.insert("last_polled_at".into(), n(t));
        }
        let pointer = HashMap::from([
            ("pk".into(), s(code_key(&g.user_code))),
            ("device_code_hash".into(), s(&g.device_code_hash)),
            ("expires_at".into(), n(g.expires_at)),
        ]);
        let code_free = Put::builder()
            .table_name(&self.t.grants)
            .set_item(Some(pointer))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(backend)?;
        let items = vec![
            TransactWriteItem::builder().put(code_free).build(),
            put(&self.t.grants, grant, Some("attribute_not_exists(pk)"))?,
        ];
        if self.transact(items).await? { Ok(()) } else { Err(StoreError::AlreadyExists("device grant")) }
    }

    async fn device_grant_by_user_code(&self, code: &UserCode, now: u64) -> StoreResult<Option<DeviceGrant>> {
        let Some(hash) = self.grant_of_code(code, now).await? else { return Ok(None) };
        let Some(item) = self.get_pk(&self.t.grants, grant_key(&hash)).await? else { return Ok(None) };
        Ok(Some(grant_from(&item)?).filter(|g| g.expires_at > now && g.user_code == *code))
    }

    async fn decide_device_grant(&self, code: &UserCode, d: &DeviceDecision, now: u64) -> StoreResult<bool> {
        let Some(hash) = self.grant_of_code(code, now).await? else { return Ok(false) };
        let mut values =
            HashMap::from([(":pending".into(), s("pending")), (":now".into(), n(now)), (":code".into(), s(code))]);
        let expr = match d {
            DeviceDecision::Approve { user_id, scope, user_generation } => {
                values.insert(":state".into(), s("approved"));
                values.insert(":user".into(), s(user_id));
                values.insert(":scope".into(), s(scope.to_string()));
                values.insert(":generation".into(), n(*user_generation));
                "SET grant_state = :state, user_id = :user, granted_scope = :scope, user_generation = :generation"
            }
            DeviceDecision::Deny => {
                values.insert(":state".into(), s("denied"));
                "SET grant_state = :state"
            }
        };
        self.update_grant(&hash, expr, "grant_state = :pending AND expires_at > :now AND user_code = :code", values)
            .await
    }

    async fn poll_device_grant(
        &self,
        hash: &str,
        client: &ClientId,
        now: u64,
        step: u64,
    ) -> StoreResult<Option<DevicePoll>> {
        if hash.is_empty() {
            return Ok(None);
        }
        let r = self
            .client
            .update_item()
            .table_name(&self.t.grants)
            .key("pk", s(grant_key(hash)))
            .update_expression("SET last_polled_at = :now")
            .condition_expression("attribute_exists(device_code_hash) AND client_id = :client")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":client", s(client))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let old = match r {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) if is_code(&e, "ConditionalCheckFailedException") => return Ok(None),
            Err(e) => return Err(classify(e)),
        };
        let mut grant = grant_from(&old)?;
        if !grant.polled_too_soon(now) {
            return Ok(Some(DevicePoll { grant, slow_down: false }));
        }
        let values = HashMap::from([(":step".into(), n(step))]);
        let raised = self
            .update_if(
                &self.t.grants,
                grant_key(hash),
                "ADD poll_interval :step",
                "attribute_exists(device_code_hash)",
                values,
            )
            .await?;
        let Some(raised) = raised else { return Ok(None) };
        grant.interval = get_n(&raised, "poll_interval")?;
        Ok(Some(DevicePoll { grant, slow_down: true }))
    }

    async fn redeem_device_grant(&self, hash: &str, now: u64) -> StoreResult<bool> {
        if hash.is_empty() {
            return Ok(false);
        }
        let values = HashMap::from([
            (":approved".into(), s("approved")),
            (":redeemed".into(), s("redeemed")),
            (":now".into(), n(now)),
        ]);
        self.update_grant(hash, "SET grant_state = :redeemed", "grant_state = :approved AND expires_at > :now", values)
            .await
    }
}
