//! 100 refreshes of one refresh token sent at once, on DynamoDB: in AWS each concurrent request
//! is its own Lambda instance, and they meet only in the table's conditional writes.

use std::collections::BTreeSet;
use std::sync::Arc;

use oasis_auth::password::PasswordHasher;
use oasis_integration_tests::*;
use oasis_testkit::World;
use oasis_token::{App, Settings};

const CALLERS: usize = 100;

/// The store as [`dynamo`] makes it, but with a minute for each operation instead of the
/// production 5 s: moto serves one request at a time, so 100 callers' ~600 requests queue for
/// seconds there, which is moto's queue, not what the test measures.
async fn patient_dynamo(tag: &str) -> Arc<oasis_store::dynamodb::DynamoStore> {
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    let sdk = oasis_lambda::config::sdk_config(Some(&endpoint())).await;
    let timeouts = TimeoutConfig::builder().operation_timeout(std::time::Duration::from_secs(60)).build();
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk).timeout_config(timeouts).build();
    let store = oasis_store::dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), &unique_prefix(tag));
    store.create_tables().await.expect("tables");
    Arc::new(store)
}

/// (statuses, refresh tokens answered, status of refreshing the first answered token after).
async fn race(tag: &str, grace: u64) -> (Vec<u16>, Vec<String>, u16) {
    let store = patient_dynamo(tag).await;
    let w = World::on(store, 0).await;
    // The widest window there is: moto answers one request at a time, so the burst takes
    // seconds here where DynamoDB takes milliseconds.
    let settings = Settings { refresh_grace: grace, ..token_settings() };
    let app = App::new(w.store.clone(), &w.keys, PasswordHasher::default_params().unwrap(), settings).unwrap();
    let app = Arc::new(oasis_lambda::shell::Lambda::new(app));
    let first = login(&app, &w).await.json()["refresh_token"].as_str().unwrap().to_owned();
    let calls: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (app, token) = (app.clone(), first.clone());
            tokio::spawn(async move { refresh(&app, &token).await })
        })
        .collect();
    let mut replies = vec![];
    for c in calls {
        replies.push(c.await.unwrap());
    }
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    let tokens: Vec<String> = replies
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.json()["refresh_token"].as_str().unwrap_or_default().to_owned())
        .collect();
    let after = match tokens.first() {
        Some(t) => refresh(&app, t).await.status,
        None => 0,
    };
    (statuses, tokens, after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_refreshes_of_one_token_within_the_window_all_get_the_one_successor_on_dynamodb() {
    let (statuses, tokens, after) = race("grace", oasis_token::config::MAX_REFRESH_GRACE).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let distinct: BTreeSet<_> = tokens.iter().collect();
    assert_eq!(distinct.len(), 1, "one successor for all: {distinct:?}");
    assert_eq!(after, 200, "the successor is live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_refreshes_of_one_token_without_the_window_have_one_winner_on_dynamodb() {
    let (statuses, _, after) = race("nograce", 0).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), CALLERS - 1, "{statuses:?}");
    assert_eq!(after, 400, "the winner's token died with the family");
}
