//! The DynamoDB backend. Every user value reaches DynamoDB as an expression attribute value
//! (never inside an expression string); correctness-critical updates are conditional writes
//! or transactions; throttling, timeouts and outages map to [`StoreError::Unavailable`].

pub mod meter;
pub mod schema;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
pub use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, DeleteRequest, KeysAndAttributes, Put, PutRequest, ReturnValue, TransactWriteItem,
    Update, WriteRequest,
};

use crate::*;
pub use schema::TableNames;

type Item = HashMap<String, AttributeValue>;

/// Per-attempt and total time limits, below a function's own timeout so a slow store is
/// answered with 503 rather than a Lambda timeout.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const MAX_ATTEMPTS: u32 = 3;

/// Where the tables are: a name prefix and, for local servers, an endpoint.
#[derive(Debug, Clone)]
pub struct DynamoConfig {
    pub table_prefix: String,
    pub endpoint: Option<String>,
}

pub struct DynamoStore {
    client: Client,
    t: TableNames,
}

/// Builds an SDK config with Oasis's retry and timeout policy.
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    if let Some(e) = endpoint {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}

impl DynamoStore {
    pub fn new(client: Client, table_prefix: &str) -> Self {
        Self { client, t: TableNames::with_prefix(table_prefix) }
    }

    pub async fn connect(cfg: &DynamoConfig) -> Self {
        let sdk = sdk_config(cfg.endpoint.as_deref()).await;
        Self::new(Client::new(&sdk), &cfg.table_prefix)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn tables(&self) -> &TableNames {
        &self.t
    }

    /// Creates the tables as Terraform does (for local servers and tests); existing ones are kept.
    pub async fn create_tables(&self) -> StoreResult<()> {
        use aws_sdk_dynamodb::types::*;
        for spec in schema::ALL {
            let prefix = self.t.users.strip_suffix("-users").unwrap_or(&self.t.users);
            let name = format!("{prefix}-{}", spec.suffix);
            let mut attrs = vec![spec.hash_key];
            attrs.extend(spec.range_key);
            attrs.extend(spec.indexes.iter().map(|(_, k)| *k));
            let mut req = self.client.create_table().table_name(&name).billing_mode(BillingMode::PayPerRequest);
            for a in attrs {
                req = req.attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(a)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(backend)?,
                );
            }
            req = req.key_schema(
                KeySchemaElement::builder()
                    .attribute_name(spec.hash_key)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(backend)?,
            );
            if let Some(r) = spec.range_key {
                req = req.key_schema(
                    KeySchemaElement::builder().attribute_name(r).key_type(KeyType::Range).build().map_err(backend)?,
                );
            }
            for (index, key) in spec.indexes {
                req = req.global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(*index)
                        .key_schema(
                            KeySchemaElement::builder()
                                .attribute_name(*key)
                                .key_type(KeyType::Hash)
                                .build()
                                .map_err(backend)?,
                        )
                        .projection(Projection::builder().projection_type(ProjectionType::All).build())
                        .build()
                        .map_err(backend)?,
                );
            }
            match req.send().await {
                Ok(_) => {}
                // Already there (a second local run, or tables made by Terraform): leave it.
                Err(e) if is_code(&e, "ResourceInUseException") => continue,
                Err(e) => return Err(classify(e)),
            }
            if let Some(ttl) = spec.ttl_attribute {
                self.client
                    .update_time_to_live()
                    .table_name(&name)
                    .time_to_live_specification(
                        TimeToLiveSpecification::builder()
                            .attribute_name(ttl)
                            .enabled(true)
                            .build()
                            .map_err(backend)?,
                    )
                    .send()
                    .await
                    .map_err(classify)?;
            }
        }
        Ok(())
    }
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

#[derive(Debug, thiserror::Error)]
#[error("malformed item: {0}")]
struct Malformed(&'static str);

/// Throttling, timeouts, dispatch failures and 5xx are transient; everything else is ours.
fn classify<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let transient = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(se) => matches!(
            se.err().code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "TransactionConflictException"
                    | "TransactionInProgressException"
            )
        ),
        _ => false,
    };
    if transient { StoreError::Unavailable(Box::new(e)) } else { StoreError::Backend(Box::new(e)) }
}

fn is_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>, code: &str) -> bool {
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some(code))
}

/// For updates guarded by `attribute_exists`: a missing item changes nothing and is no error.
fn missing_is_fine<T, E, R>(r: Result<T, SdkError<E, R>>) -> StoreResult<()>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, "ConditionalCheckFailedException") => Ok(()),
        Err(e) => Err(classify(e)),
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn list(v: &[String]) -> AttributeValue {
    AttributeValue::L(v.iter().map(|x| s(x.clone())).collect())
}

fn get_s(item: &Item, k: &'static str) -> StoreResult<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned().ok_or_else(|| backend(Malformed(k)))
}
fn opt_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}
fn get_n(item: &Item, k: &'static str) -> StoreResult<u64> {
    item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).ok_or_else(|| backend(Malformed(k)))
}
fn opt_n(item: &Item, k: &str) -> Option<u64> {
    item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}
fn get_b(item: &Item, k: &'static str) -> StoreResult<bool> {
    item.get(k).and_then(|v| v.as_bool().ok()).copied().ok_or_else(|| backend(Malformed(k)))
}
fn get_l(item: &Item, k: &'static str) -> StoreResult<Vec<String>> {
    let l = item.get(k).and_then(|v| v.as_l().ok()).ok_or_else(|| backend(Malformed(k)))?;
    l.iter().map(|v| v.as_s().cloned().map_err(|_| backend(Malformed(k)))).collect()
}
fn small<T: TryFrom<u64>>(v: u64, k: &'static str) -> StoreResult<T> {
    T::try_from(v).map_err(|_| backend(Malformed(k)))
}

fn user_item(u: &User) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("u#{}", u.id))),
        ("id".into(), s(&u.id)),
        ("username".into(), s(&u.username)),
        ("password_hash".into(), s(&u.password_hash)),
        ("disabled".into(), AttributeValue::Bool(u.disabled)),
        ("scopes".into(), list(&u.scopes)),
        ("maturity".into(), n(u64::from(u.maturity))),
        ("tokens_valid_after".into(), n(u.tokens_valid_after)),
        ("created_at".into(), n(u.created_at)),
    ])
}

fn user_from(item: &Item) -> StoreResult<User> {
    Ok(User {
        id: get_s(item, "id")?,
        username: get_s(item, "username")?,
        password_hash: get_s(item, "password_hash")?,
        disabled: get_b(item, "disabled")?,
        scopes: get_l(item, "scopes")?,
        maturity: small(get_n(item, "maturity")?, "maturity")?,
        tokens_valid_after: get_n(item, "tokens_valid_after")?,
        created_at: get_n(item, "created_at")?,
    })
}

fn put(table: &str, item: Item, condition: Option<&str>) -> StoreResult<TransactWriteItem> {
    let p =
        Put::builder().table_name(table).set_item(Some(item)).set_condition_expression(condition.map(str::to_owned));
    Ok(TransactWriteItem::builder().put(p.build().map_err(backend)?).build())
}

/// Why DynamoDB cancelled a transaction, from its per-item cancellation reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancelled {
    /// A condition did not hold: the answer the caller asked for.
    ConditionFailed,
    /// Another transaction on the same items, or throttling: worth trying again.
    Transient,
    /// Anything else (validation, size): our fault.
    Other,
}

fn cancelled<'a>(codes: impl IntoIterator<Item = Option<&'a str>> + Clone) -> Cancelled {
    if codes.clone().into_iter().any(|c| c == Some("ConditionalCheckFailed")) {
        Cancelled::ConditionFailed
    } else if codes
        .into_iter()
        .any(|c| matches!(c, Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")))
    {
        Cancelled::Transient
    } else {
        Cancelled::Other
    }
}

fn cancellation<R>(
    e: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> Option<Cancelled> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match e {
        SdkError::ServiceError(se) => match se.err() {
            TransactWriteItemsError::TransactionCanceledException(c) => {
                Some(cancelled(c.cancellation_reasons().iter().map(|r| r.code())))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Exponential backoff for what the SDK does not retry itself (transaction conflicts,
/// unprocessed batch items): `retry()` waits before the next attempt, or says there is none.
struct Backoff {
    delay: Duration,
    retries_left: u32,
}

impl Backoff {
    /// Conflicting transactions clear in milliseconds: 4 retries from 20 ms.
    fn conflict() -> Self {
        Self { delay: Duration::from_millis(20), retries_left: 4 }
    }

    /// Unprocessed batch items mean throttling: 8 retries from 50 ms, at most 2 s apart.
    fn throttled() -> Self {
        Self { delay: Duration::from_millis(50), retries_left: 8 }
    }

    async fn retry(&mut self) -> bool {
        if self.retries_left == 0 {
            return false;
        }
        self.retries_left -= 1;
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Duration::from_secs(2));
        true
    }
}

impl DynamoStore {
    /// Runs a transaction; `Ok(false)` when one of its conditions failed. A cancellation by a
    /// concurrent transaction on the same items (or by throttling) is tried again, which the SDK
    /// does not do: the loser of a race then sees the winner's write as a failed condition,
    /// the answer it would have had a moment later, instead of an error.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> StoreResult<bool> {
        let mut backoff = Backoff::conflict();
        loop {
            match self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await {
                Ok(_) => return Ok(true),
                Err(e) => match cancellation(&e) {
                    Some(Cancelled::ConditionFailed) => return Ok(false),
                    Some(Cancelled::Transient) => {
                        if !backoff.retry().await {
                            return Err(StoreError::Unavailable(Box::new(e)));
                        }
                    }
                    Some(Cancelled::Other) | None => return Err(classify(e)),
                },
            }
        }
    }

    async fn get(&self, table: &str, key: Item) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    async fn get_pk(&self, table: &str, pk: String) -> StoreResult<Option<Item>> {
        // DynamoDB refuses an empty key value outright; as in SQL, no item has one.
        if pk.is_empty() {
            return Ok(None);
        }
        self.get(table, HashMap::from([("pk".into(), s(pk))])).await
    }

    async fn update_user(&self, id: &str, expr: &str, values: Item) -> StoreResult<()> {
        let r = self
            .client
            .update_item()
            .table_name(&self.t.users)
            .key("pk", s(format!("u#{id}")))
            .update_expression(expr)
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        // Updating a user that does not exist changes nothing, as in SQL.
        missing_is_fine(r)
    }

    /// BatchWriteItem in chunks of 25, retrying unprocessed items with backoff.
    /// Writes in batches of 25, up to [`PARALLEL_BATCHES`] at once; each batch retries its
    /// unprocessed items with backoff, so a load slows to what the table's capacity allows.
    async fn batch_write(&self, table: &str, requests: Vec<WriteRequest>) -> StoreResult<()> {
        let mut running = tokio::task::JoinSet::new();
        for chunk in requests.chunks(25) {
            if running.len() >= PARALLEL_BATCHES {
                joined(running.join_next().await)?;
            }
            running.spawn(write_batch(self.client.clone(), table.to_owned(), chunk.to_vec()));
        }
        while let Some(done) = running.join_next().await {
            joined(Some(done))?;
        }
        Ok(())
    }
}

/// Batch writes in flight at once during a catalog load.
pub const PARALLEL_BATCHES: usize = 8;

fn joined(done: Option<Result<StoreResult<()>, tokio::task::JoinError>>) -> StoreResult<()> {
    match done {
        None => Ok(()),
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(StoreError::Backend(Box::new(e))),
    }
}

async fn write_batch(client: Client, table: String, mut pending: Vec<WriteRequest>) -> StoreResult<()> {
    let mut backoff = Backoff::throttled();
    loop {
        let out = client.batch_write_item().request_items(&table, pending.clone()).send().await.map_err(classify)?;
        pending = out.unprocessed_items.and_then(|mut m| m.remove(&table)).unwrap_or_default();
        if pending.is_empty() {
            return Ok(());
        }
        if !backoff.retry().await {
            return Err(StoreError::Unavailable(Box::new(Malformed("unprocessed items after retries"))));
        }
    }
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

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let Some(name) = self.get_pk(&self.t.users, format!("n#{username}")).await? else {
            return Ok(None);
        };
        self.user_by_id(&get_s(&name, "user_id")?).await
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        self.get_pk(&self.t.users, format!("u#{id}")).await?.map(|i| user_from(&i)).transpose()
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> StoreResult<()> {
        self.update_user(id, "SET password_hash = :h", HashMap::from([(":h".into(), s(hash))])).await
    }

    async fn set_disabled(&self, id: &str, disabled: bool) -> StoreResult<()> {
        self.update_user(id, "SET disabled = :d", HashMap::from([(":d".into(), AttributeValue::Bool(disabled))])).await
    }

    async fn set_tokens_valid_after(&self, id: &str, at: u64) -> StoreResult<()> {
        self.update_user(id, "SET tokens_valid_after = :t", HashMap::from([(":t".into(), n(at))])).await
    }
}

#[async_trait]
impl ClientStore for DynamoStore {
    async fn create_client(&self, c: &Client_) -> StoreResult<()> {
        let mut item = HashMap::from([
            ("pk".into(), s(&c.client_id)),
            ("name".into(), s(&c.name)),
            ("first_party".into(), AttributeValue::Bool(c.first_party)),
            ("grant_types".into(), list(&c.grant_types)),
            ("scopes".into(), list(&c.scopes)),
            ("refresh_in_cookie".into(), AttributeValue::Bool(c.refresh_in_cookie)),
            ("allowed_origins".into(), list(&c.allowed_origins)),
            ("disabled".into(), AttributeValue::Bool(c.disabled)),
            ("created_at".into(), n(c.created_at)),
        ]);
        if let Some(h) = &c.secret_hash {
            item.insert("secret_hash".into(), s(h));
        }
        let r = self
            .client
            .put_item()
            .table_name(&self.t.clients)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, "ConditionalCheckFailedException") => Err(StoreError::AlreadyExists("client")),
            Err(e) => Err(classify(e)),
        }
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<Client_>> {
        let Some(i) = self.get_pk(&self.t.clients, client_id.to_owned()).await? else {
            return Ok(None);
        };
        Ok(Some(Client_ {
            client_id: get_s(&i, "pk")?,
            secret_hash: opt_s(&i, "secret_hash"),
            name: get_s(&i, "name")?,
            first_party: get_b(&i, "first_party")?,
            grant_types: get_l(&i, "grant_types")?,
            scopes: get_l(&i, "scopes")?,
            refresh_in_cookie: get_b(&i, "refresh_in_cookie")?,
            allowed_origins: get_l(&i, "allowed_origins")?,
            disabled: get_b(&i, "disabled")?,
            created_at: get_n(&i, "created_at")?,
        }))
    }
}

fn token_item(t: &RefreshToken) -> Item {
    let mut item = HashMap::from([
        ("pk".into(), s(format!("t#{}", t.token_hash))),
        ("family_id".into(), s(&t.family_id)),
        ("issued_at".into(), n(t.issued_at)),
        ("idle_expires_at".into(), n(t.idle_expires_at)),
        ("expires_at".into(), n(t.expires_at)),
    ]);
    if let Some(r) = t.rotated_at {
        item.insert("rotated_at".into(), n(r));
    }
    item
}

fn family_from(i: &Item) -> StoreResult<RefreshFamily> {
    Ok(RefreshFamily {
        family_id: get_s(i, "family_id")?,
        user_id: get_s(i, "user_id")?,
        client_id: get_s(i, "client_id")?,
        scope: get_s(i, "scope")?,
        created_at: get_n(i, "created_at")?,
        expires_at: get_n(i, "expires_at")?,
        revoked: get_b(i, "revoked")?,
    })
}

#[async_trait]
impl RefreshStore for DynamoStore {
    async fn create_family(&self, f: &RefreshFamily, first: &RefreshToken) -> StoreResult<()> {
        let family = HashMap::from([
            ("pk".into(), s(format!("f#{}", f.family_id))),
            ("family_id".into(), s(&f.family_id)),
            ("user_id".into(), s(&f.user_id)),
            ("client_id".into(), s(&f.client_id)),
            ("scope".into(), s(&f.scope)),
            ("created_at".into(), n(f.created_at)),
            ("expires_at".into(), n(f.expires_at)),
            ("revoked".into(), AttributeValue::Bool(f.revoked)),
        ]);
        let items = vec![
            put(&self.t.refresh, family, Some("attribute_not_exists(pk)"))?,
            put(&self.t.refresh, token_item(first), Some("attribute_not_exists(pk)"))?,
        ];
        if self.transact(items).await? { Ok(()) } else { Err(StoreError::AlreadyExists("refresh family")) }
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
        let Some(t) = self.get_pk(&self.t.refresh, format!("t#{token_hash}")).await? else {
            return Ok(None);
        };
        let family_id = get_s(&t, "family_id")?;
        let Some(f) = self.get_pk(&self.t.refresh, format!("f#{family_id}")).await? else {
            return Ok(None);
        };
        let token = RefreshToken {
            token_hash: token_hash.to_owned(),
            family_id,
            issued_at: get_n(&t, "issued_at")?,
            idle_expires_at: get_n(&t, "idle_expires_at")?,
            rotated_at: opt_n(&t, "rotated_at"),
            expires_at: get_n(&t, "expires_at")?,
        };
        Ok(Some((token, family_from(&f)?)))
    }

    async fn rotate(&self, old_hash: &str, new: &RefreshToken, now: u64) -> StoreResult<Rotation> {
        // One transaction: the old token is marked only if not yet rotated, the family must not
        // be revoked, and the new token is written — all or nothing.
        let mark = Update::builder()
            .table_name(&self.t.refresh)
            .key("pk", s(format!("t#{old_hash}")))
            .update_expression("SET rotated_at = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(rotated_at) AND family_id = :f")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":f", s(&new.family_id))
            .build()
            .map_err(backend)?;
        let family_ok = ConditionCheck::builder()
            .table_name(&self.t.refresh)
            .key("pk", s(format!("f#{}", new.family_id)))
            .condition_expression("revoked = :no")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .build()
            .map_err(backend)?;
        let items = vec![
            TransactWriteItem::builder().update(mark).build(),
            TransactWriteItem::builder().condition_check(family_ok).build(),
            put(&self.t.refresh, token_item(new), Some("attribute_not_exists(pk)"))?,
        ];
        Ok(if self.transact(items).await? { Rotation::Rotated } else { Rotation::AlreadyUsed })
    }

    async fn revoke_family(&self, family_id: &str) -> StoreResult<()> {
        // A rotation in flight on this family makes the update fail with a conflict, which the
        // SDK does not retry; a revocation (reuse detected, /revoke) must not be lost to that.
        let mut backoff = Backoff::conflict();
        loop {
            let r = self
                .client
                .update_item()
                .table_name(&self.t.refresh)
                .key("pk", s(format!("f#{family_id}")))
                .update_expression("SET revoked = :yes")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .send()
                .await;
            match r {
                Err(e) if is_code(&e, "TransactionConflictException") && backoff.retry().await => {}
                r => return missing_is_fine(r),
            }
        }
    }

    async fn revoke_user_families(&self, user_id: &str) -> StoreResult<u32> {
        let mut count = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.t.refresh)
                .index_name("by_user")
                .key_condition_expression("user_id = :u")
                .expression_attribute_values(":u", s(user_id))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in out.items() {
                if !get_b(item, "revoked")? {
                    self.revoke_family(&get_s(item, "family_id")?).await?;
                    count += 1;
                }
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        Ok(count)
    }
}

fn attempts_from(i: &Item) -> StoreResult<Attempts> {
    Ok(Attempts {
        failures: small(get_n(i, "failures")?, "failures")?,
        locked_until: opt_n(i, "locked_until").unwrap_or(0),
        expires_at: get_n(i, "expires_at")?,
    })
}

#[async_trait]
impl ThrottleStore for DynamoStore {
    async fn attempts(&self, key: &str, now: u64) -> StoreResult<Option<Attempts>> {
        // TTL deletes lazily (hours later), so an expired counter may still be there.
        let item = self.get_pk(&self.t.attempts, key.to_owned()).await?;
        Ok(item.map(|i| attempts_from(&i)).transpose()?.filter(|a| a.expires_at > now))
    }

    async fn record_failure(&self, key: &str, now: u64, expires_at: u64) -> StoreResult<Attempts> {
        for _ in 0..3 {
            let added = self
                .client
                .update_item()
                .table_name(&self.t.attempts)
                .key("pk", s(key))
                .update_expression("ADD failures :one SET expires_at = :exp")
                .condition_expression("attribute_not_exists(pk) OR expires_at > :now")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":exp", n(expires_at))
                .expression_attribute_values(":now", n(now))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match added {
                Ok(out) => return attempts_from(&out.attributes.unwrap_or_default()),
                Err(e) if is_code(&e, "ConditionalCheckFailedException") => {
                    // The counter expired but TTL has not removed it yet: start again at one.
                    let fresh = HashMap::from([
                        ("pk".into(), s(key)),
                        ("failures".into(), n(1)),
                        ("locked_until".into(), n(0)),
                        ("expires_at".into(), n(expires_at)),
                    ]);
                    let r = self
                        .client
                        .put_item()
                        .table_name(&self.t.attempts)
                        .set_item(Some(fresh))
                        .condition_expression("expires_at <= :now")
                        .expression_attribute_values(":now", n(now))
                        .send()
                        .await;
                    match r {
                        Ok(_) => {
                            return Ok(Attempts { failures: 1, locked_until: 0, expires_at });
                        }
                        // Someone else restarted it first; count on top of theirs.
                        Err(e) if is_code(&e, "ConditionalCheckFailedException") => continue,
                        Err(e) => return Err(classify(e)),
                    }
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Err(StoreError::Unavailable(Box::new(Malformed("counter contention"))))
    }

    async fn try_lock(&self, key: &str, now: u64, locked_until: u64, expires_at: u64) -> StoreResult<bool> {
        let r = self
            .client
            .update_item()
            .table_name(&self.t.attempts)
            .key("pk", s(key))
            .update_expression("SET locked_until = :l, expires_at = :e")
            .condition_expression(
                "attribute_exists(pk) AND expires_at > :now AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
            )
            .expression_attribute_values(":l", n(locked_until))
            .expression_attribute_values(":e", n(expires_at))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if is_code(&e, "ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }

    async fn clear_attempts(&self, key: &str) -> StoreResult<()> {
        self.client.delete_item().table_name(&self.t.attempts).key("pk", s(key)).send().await.map_err(classify)?;
        Ok(())
    }
}

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

    async fn profile(&self, user_id: &str) -> StoreResult<Option<Profile>> {
        let Some(i) = self.get_pk(&self.t.profiles, user_id.to_owned()).await? else {
            return Ok(None);
        };
        Ok(Some(Profile {
            user_id: get_s(&i, "pk")?,
            display_name: get_s(&i, "display_name")?,
            entitlements: get_l(&i, "entitlements")?,
            watchlist: get_l(&i, "watchlist")?,
        }))
    }
}

/// Separates the sort key from the id in an index item's `sk`. Below every character a title can
/// hold (controls are refused), so `sk` order is exactly `(sort_key, id)` order.
const POSITION_SEPARATOR: char = '\u{1}';

fn position(sort_key: &str, id: &str) -> String {
    format!("{sort_key}{POSITION_SEPARATOR}{id}")
}

/// The key of a title's index item under one word prefix.
fn index_key(prefix: &str, t: &Title) -> Item {
    HashMap::from([("pk".into(), s(prefix)), ("sk".into(), s(position(&t.sort_key(), &t.id)))])
}

fn title_fields(t: &Title) -> Item {
    HashMap::from([
        ("id".into(), s(&t.id)),
        ("title".into(), s(&t.title)),
        ("genre".into(), s(&t.genre)),
        ("year".into(), n(u64::from(t.year))),
        ("maturity".into(), n(u64::from(t.maturity))),
    ])
}

fn title_from(i: &Item) -> StoreResult<Title> {
    Ok(Title {
        id: get_s(i, "id")?,
        title: get_s(i, "title")?,
        genre: get_s(i, "genre")?,
        year: small(get_n(i, "year")?, "year")?,
        maturity: small(get_n(i, "maturity")?, "maturity")?,
    })
}

#[async_trait]
impl CatalogStore for DynamoStore {
    async fn put_titles(&self, titles: &[Title]) -> StoreResult<()> {
        check_titles(titles)?;
        let titles = last_copies(titles);
        let titles = titles.as_slice();
        // Index items of a title being replaced must go: read what is stored first.
        let mut old: HashMap<String, Title> = HashMap::new();
        for chunk in titles.chunks(100) {
            let keys: Vec<Item> = chunk.iter().map(|t| HashMap::from([("pk".into(), s(&t.id))])).collect();
            let mut request =
                Some(KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build().map_err(backend)?);
            let (mut backoff, mut first) = (Backoff::throttled(), true);
            while let Some(req) = request.take() {
                if !std::mem::take(&mut first) && !backoff.retry().await {
                    return Err(StoreError::Unavailable(Box::new(Malformed("unprocessed keys after retries"))));
                }
                let out =
                    self.client.batch_get_item().request_items(&self.t.titles, req).send().await.map_err(classify)?;
                for item in out.responses.and_then(|mut r| r.remove(&self.t.titles)).unwrap_or_default() {
                    let t = title_from(&item)?;
                    old.insert(t.id.clone(), t);
                }
                request =
                    out.unprocessed_keys.and_then(|mut u| u.remove(&self.t.titles)).filter(|k| !k.keys().is_empty());
            }
        }
        let mut deletes = vec![];
        let mut index_puts = vec![];
        let mut title_puts = vec![];
        for t in titles {
            if let Some(o) = old.get(&t.id) {
                for prefix in index_prefixes(&o.title) {
                    deletes.push(
                        WriteRequest::builder()
                            .delete_request(
                                DeleteRequest::builder()
                                    .set_key(Some(index_key(&prefix, o)))
                                    .build()
                                    .map_err(backend)?,
                            )
                            .build(),
                    );
                }
            }
            let mut item = title_fields(t);
            item.insert("pk".into(), s(&t.id));
            title_puts.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(backend)?)
                    .build(),
            );
            for prefix in index_prefixes(&t.title) {
                let mut item = title_fields(t);
                item.extend(index_key(&prefix, t));
                index_puts.push(
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(backend)?)
                        .build(),
                );
            }
        }
        self.batch_write(&self.t.title_index, deletes).await?;
        self.batch_write(&self.t.title_index, index_puts).await?;
        self.batch_write(&self.t.titles, title_puts).await
    }

    async fn title_count(&self) -> StoreResult<u64> {
        let mut count = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.t.titles)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            count += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(count),
            }
        }
    }

    async fn search(&self, q: &CatalogQuery) -> StoreResult<SearchPage> {
        search::search(self, q).await
    }
}

impl search::IndexReader for DynamoStore {
    /// One exact-key `Query` in result order from the position on, `n` items at most.
    async fn read(&self, key: &str, from: search::From<'_>, n: usize) -> StoreResult<Vec<search::Entry>> {
        let mut entries = Vec::with_capacity(n);
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.t.title_index)
                .expression_attribute_values(":prefix", s(key))
                .limit(i32::try_from(n - entries.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            query = match from {
                search::From::Start => query.key_condition_expression("pk = :prefix"),
                search::From::After(k, id) => query
                    .key_condition_expression("pk = :prefix AND sk > :at")
                    .expression_attribute_values(":at", s(position(k, id))),
                search::From::AtOrAfter(k, id) => query
                    .key_condition_expression("pk = :prefix AND sk >= :at")
                    .expression_attribute_values(":at", s(position(k, id))),
            };
            let out = query.send().await.map_err(classify)?;
            for item in out.items.unwrap_or_default() {
                let sk = get_s(&item, "sk")?;
                let Some((sort_key, _)) = sk.split_once(POSITION_SEPARATOR) else {
                    return Err(StoreError::Backend(Box::new(Malformed("index item without a position"))));
                };
                entries.push((sort_key.to_owned(), title_from(&item)?));
            }
            // A response stops early at 1 MB; read on until `n` or the end of the range.
            match out.last_evaluated_key {
                Some(k) if entries.len() < n => start = Some(k),
                _ => return Ok(entries),
            }
        }
    }
}

use crate::Client as Client_;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_transaction_is_a_failed_condition_a_transient_conflict_or_our_fault() {
        let cases: [(&[Option<&str>], Cancelled); 7] = [
            (&[Some("None"), Some("ConditionalCheckFailed"), Some("None")], Cancelled::ConditionFailed),
            // A definite answer from one item outweighs a conflict on another.
            (&[Some("ConditionalCheckFailed"), Some("TransactionConflict")], Cancelled::ConditionFailed),
            (&[Some("None"), Some("TransactionConflict")], Cancelled::Transient),
            (&[Some("ThrottlingError")], Cancelled::Transient),
            (&[Some("ProvisionedThroughputExceeded")], Cancelled::Transient),
            (&[Some("ValidationError")], Cancelled::Other),
            (&[None, None], Cancelled::Other),
        ];
        for (codes, want) in cases {
            assert_eq!(cancelled(codes.iter().copied()), want, "{codes:?}");
        }
    }
}
