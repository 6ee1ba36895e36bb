//! The request shapes the trait impls share: transactions, consistent reads, batches.

use super::*;

impl DynamoStore {
    /// Runs a transaction; `Ok(false)` when one of its conditions failed. A cancellation by a
    /// concurrent transaction on the same items (or by throttling) is tried again, which the SDK
    /// does not do: the loser of a race then sees the winner's write as a failed condition,
    /// the answer it would have had a moment later, instead of an error.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> StoreResult<bool> {
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

    pub(super) async fn get(&self, table: &str, key: Item) -> StoreResult<Option<Item>> {
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

    pub(super) async fn get_pk(&self, table: &str, pk: String) -> StoreResult<Option<Item>> {
        // DynamoDB refuses an empty key value outright; as in SQL, no item has one.
        if pk.is_empty() {
            return Ok(None);
        }
        self.get(table, HashMap::from([("pk".into(), s(pk))])).await
    }

    pub(super) async fn update_user(&self, id: &str, expr: &str, values: Item) -> StoreResult<()> {
        self.update_existing(&self.t.users, format!("u#{id}"), expr, values).await
    }

    /// Updates the item `pk` of `table` if it exists; updating one that does not changes
    /// nothing, as in SQL.
    pub(super) async fn update_existing(&self, table: &str, pk: String, expr: &str, values: Item) -> StoreResult<()> {
        let r = self
            .client
            .update_item()
            .table_name(table)
            .key("pk", s(pk))
            .update_expression(expr)
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        missing_is_fine(r)
    }

    /// Puts an item whose `pk` must be new; [`StoreError::AlreadyExists`] (naming `what`)
    /// when it is not.
    pub(super) async fn put_new(&self, table: &str, item: Item, what: &'static str) -> StoreResult<()> {
        let r = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, "ConditionalCheckFailedException") => Err(StoreError::AlreadyExists(what)),
            Err(e) => Err(classify(e)),
        }
    }

    /// Updates the item `pk` of `table` with `expr` if `condition` holds: the item as the
    /// update left it, or `None` when the condition failed.
    pub(super) async fn update_if(
        &self,
        table: &str,
        pk: String,
        expr: &str,
        condition: &str,
        values: Item,
    ) -> StoreResult<Option<Item>> {
        let r = self
            .client
            .update_item()
            .table_name(table)
            .key("pk", s(pk))
            .update_expression(expr)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match r {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if is_code(&e, "ConditionalCheckFailedException") => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// BatchWriteItem in chunks of 25, retrying unprocessed items with backoff.
    /// Writes in batches of 25, up to [`PARALLEL_BATCHES`] at once; each batch retries its
    /// unprocessed items with backoff, so a load slows to what the table's capacity allows.
    pub(super) async fn batch_write(&self, table: &str, requests: Vec<WriteRequest>) -> StoreResult<()> {
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

pub(super) fn joined(done: Option<Result<StoreResult<()>, tokio::task::JoinError>>) -> StoreResult<()> {
    match done {
        None => Ok(()),
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(StoreError::Backend(Box::new(e))),
    }
}

pub(super) async fn write_batch(client: Client, table: String, mut pending: Vec<WriteRequest>) -> StoreResult<()> {
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
