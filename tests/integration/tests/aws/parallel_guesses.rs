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

/// User-code guesses all at once from one address, on DynamoDB: each is counted before its
/// lookup, so no more than the lock-out's ten are looked up, and the right code sent in the
/// same burst after them waits for the lock too (RFC 8628 §5.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_user_code_guesses_get_no_more_lookups_than_the_lockout_allows() {
    use oasis_store::{DeviceGrant, DeviceGrantState};
    let store = dynamo(&endpoint(), &unique_prefix("codes"), None).await;
    let w = World::on(store, 0).await;
    let now = oasis_auth::now();
    let grant = DeviceGrant {
        device_code_hash: "burst".into(),
        user_code: oasis_domain::UserCode::parse("BCDF-GHJK").unwrap(),
        client_id: oasis_domain::ClientId::parse(oasis_admin::demo::TV_CLIENT).unwrap(),
        scope: oasis_domain::ScopeSet::parse("search").unwrap(),
        created_at: now,
        expires_at: now + 900,
        interval: 5,
        last_polled_at: None,
        state: DeviceGrantState::Pending,
    };
    w.store.create_device_grant(&grant, now).await.unwrap();
    let hasher = oasis_auth::password::PasswordHasher::default_params().unwrap();
    let signin = Arc::new(
        oasis_lambda::shell::Lambda::new(oasis_signin::App::new(
            w.store.clone(),
            hasher,
            oasis_signin::Settings::new(oasis_testkit::ISSUER),
        ))
        .with_metrics(Metrics::capture("signin")),
    );
    let csrf = "A".repeat(43);
    let post = |code: String| {
        let signin = signin.clone();
        let csrf = csrf.clone();
        async move {
            let cookie = format!("__Host-oasis_csrf={csrf}");
            let body = oasis_testkit::form(&[("csrf", &csrf), ("action", "lookup"), ("user_code", &code)]);
            let headers = [oasis_testkit::FORM, ("Cookie", cookie.as_str()), ("Origin", oasis_testkit::ISSUER)];
            let req = oasis_testkit::request(&oasis_testkit::event("POST", "/device", &headers, Some(&body)));
            oasis_testkit::reply(signin.handle(req).await).status
        }
    };
    let letters = "BCDFGHJKLMNPQRSTVWXZ".as_bytes();
    let guesses: Vec<_> = (0..24)
        .map(|i| tokio::spawn(post(format!("ZZZZ-ZZ{}{}", letters[i / 20] as char, letters[i % 20] as char))))
        .collect();
    let mut statuses = vec![];
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let docs = signin.metrics().take();
    let looked_up = total(&docs, "DeviceCodeGuessing") - statuses.iter().filter(|s| **s == 429).count() as f64;
    assert!(statuses.iter().all(|s| *s == 400 || *s == 429), "{statuses:?}");
    assert!(looked_up <= 10.0, "at most the threshold's ten lookups, then the one lock: {looked_up} ({statuses:?})");
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 14, "{statuses:?}");
    assert_eq!(post("BCDF-GHJK".into()).await, 429, "the right code waits for the lock too");
}
