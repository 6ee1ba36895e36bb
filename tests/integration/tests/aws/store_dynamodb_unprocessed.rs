//! BatchWriteItem may store only part of a batch and hand the rest back as `UnprocessedItems`
//! (DynamoDB does so under throttling or when a partition is busy). moto never does, so an SDK
//! interceptor plays that part: it takes items out of the request before it is sent and returns
//! them as unprocessed in the response, as the real service would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::types::WriteRequest;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use oasis_store::dynamodb::DynamoStore;
use oasis_store::{CatalogQuery, CatalogStore, StoreError, Title};

/// Withholds part of every BatchWriteItem for the first `rounds` calls, or all of it forever.
#[derive(Debug, Clone)]
struct PartialBatches {
    rounds: Option<u32>,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    calls: u32,
    withheld_total: usize,
}

/// The items one call withheld, per table, kept in that call's own config bag: batches are
/// written several at a time, so each response must get back its own request's items.
#[derive(Debug, Clone)]
struct Withheld(HashMap<String, Vec<WriteRequest>>);

impl Storable for Withheld {
    type Storer = StoreReplace<Self>;
}

impl PartialBatches {
    fn new(rounds: Option<u32>) -> Self {
        Self { rounds, state: Arc::default() }
    }

    fn withheld_total(&self) -> usize {
        self.state.lock().unwrap().withheld_total
    }
}

impl Intercept for PartialBatches {
    fn name(&self) -> &'static str {
        "partial-batches"
    }

    fn modify_before_serialization(
        &self,
        ctx: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(input) = ctx.input_mut().downcast_mut::<BatchWriteItemInput>() else { return Ok(()) };
        let mut st = self.state.lock().unwrap();
        st.calls += 1;
        if self.rounds.is_some_and(|r| st.calls > r) {
            return Ok(());
        }
        let mut withheld = HashMap::new();
        for (table, items) in input.request_items.iter_mut().flatten() {
            let rest: Vec<WriteRequest> = match self.rounds {
                // Send only the first item, so each call makes some progress.
                Some(_) => items.drain(1.min(items.len())..).collect(),
                // Never done: everything sent is also reported back as unprocessed.
                None => items.clone(),
            };
            st.withheld_total += rest.len();
            withheld.insert(table.clone(), rest);
        }
        cfg.interceptor_state().store_put(Withheld(withheld));
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        ctx: &mut FinalizerInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Ok(output)) = ctx.output_or_error_mut() else { return Ok(()) };
        let Some(output) = output.downcast_mut::<BatchWriteItemOutput>() else { return Ok(()) };
        if let Some(Withheld(items)) = cfg.load::<Withheld>() {
            output.unprocessed_items = Some(items.clone());
        }
        Ok(())
    }
}

async fn store_with(interceptor: PartialBatches) -> std::sync::Arc<DynamoStore> {
    oasis_integration_tests::dynamo(
        &oasis_integration_tests::endpoint(),
        &oasis_integration_tests::unique_prefix("u"),
        Some(SharedInterceptor::new(interceptor)),
    )
    .await
}

fn titles(n: usize) -> Vec<Title> {
    (0..n)
        .map(|i| Title {
            id: format!("t{i:03}"),
            title: format!("Partial Batch {i}"),
            genre: oasis_store::Genre::parse("drama").unwrap(),
            year: 2000,
            maturity: oasis_store::Maturity::ALL_AGES,
        })
        .collect()
}

fn all_of(word: &str) -> CatalogQuery {
    CatalogQuery {
        terms: vec![word.into()],
        genre: None,
        year_from: None,
        year_to: None,
        max_maturity: oasis_store::Maturity::ADULT,
        after: None,
        limit: 1000,
    }
}

#[tokio::test]
async fn unprocessed_batch_items_are_retried_until_every_title_and_index_entry_is_stored() {
    let interceptor = PartialBatches::new(Some(6));
    let store = store_with(interceptor.clone()).await;
    let wanted = titles(60);

    store.put_titles(&wanted).await.expect("a partly processed batch is finished by retries");

    assert!(interceptor.withheld_total() > 50, "the interceptor withheld items: {}", interceptor.withheld_total());
    assert_eq!(store.title_count().await.unwrap(), 60);
    // Each title's index entries were written through the same retried path: every word finds all.
    for word in ["partial", "batch"] {
        let found = store.search(&all_of(word)).await.unwrap().titles;
        assert_eq!(found.len(), 60, "index entries for {word:?}");
    }
    let found = store.search(&all_of("59")).await.unwrap().titles;
    assert_eq!(found.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["t059"]);
}

#[tokio::test]
async fn a_batch_that_stays_unprocessed_ends_as_unavailable_instead_of_retrying_forever() {
    let store = store_with(PartialBatches::new(None)).await;

    let err = store.put_titles(&titles(3)).await.expect_err("nothing was ever stored");

    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(format!("{err:?}").contains("unprocessed items after retries"), "{err:?}");
}
