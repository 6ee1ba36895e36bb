//! Password guesses sent all at once, on DynamoDB: in AWS each concurrent request is its own
//! Lambda instance, and they meet only in the store. The lock-out check must not be raced.

use std::sync::Arc;

use oasis_integration_tests::*;
use oasis_lambda::metrics::Metrics;
use oasis_testkit::World;
use serde_json::Value;

fn total(docs: &[String], metric: &str) -> f64 {
    docs.iter().filter_map(|d| serde_json::from_str::<Value>(d).ok()?.get(metric)?.as_f64()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_password_guesses_get_no_more_password_checks_than_the_lockout_allows() {
    let store = dynamo(&endpoint(), &unique_prefix("guess"), None).await;
    let w = World::on(store, 0).await;
    let app = Arc::new(token_app(&w).with_metrics(Metrics::capture("token")));

    let guesses: Vec<_> = (0..16)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let guess = format!("guess number {i}");
                let pairs = [
                    ("grant_type", "password"),
                    ("client_id", "oasis-demo"),
                    ("username", "demo"),
                    ("password", &guess),
                ];
                post_token(&app, &pairs).await.status
            })
        })
        .collect();
    for g in guesses {
        assert_eq!(g.await.unwrap(), 400);
    }

    let docs = app.metrics().take();
    assert_eq!(total(&docs, "LoginFailed"), 16.0);
    // Four guesses below the threshold, then the one that took the lock: five password checks,
    // and so exactly one lock. Racing the lock check would have checked (and locked on) more.
    assert_eq!(total(&docs, "AccountLocked"), 1.0, "one lock, not one per guess that raced past the check");
    let counter = w.store.attempts("acct:demo", oasis_auth::now()).await.unwrap().unwrap();
    assert!(counter.locked_until > oasis_auth::now());
    // Even the right password waits for the lock.
    assert_eq!(login(&app, &w).await.status, 400);
}
