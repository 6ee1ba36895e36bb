//! DynamoDB requests per route, counted at the SDK (every HTTP attempt, by operation).
//! The expected tables here are the README's cost figures: if the code's access pattern
//! changes, this fails until the README is updated with it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_sdk_dynamodb::error::BoxError;
use oasis_integration_tests::*;
use oasis_lambda::Cors;
use oasis_testkit::World;
use oasis_testkit::{FORM, event, form, reply, request};

#[derive(Debug, Clone, Default)]
struct Counter(Arc<Mutex<BTreeMap<String, u32>>>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "request-counter"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op =
            ctx.request().headers().get("x-amz-target").and_then(|t| t.rsplit('.').next()).unwrap_or("?").to_owned();
        *self.0.lock().unwrap().entry(op).or_default() += 1;
        Ok(())
    }
}

impl Counter {
    fn take(&self) -> BTreeMap<String, u32> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn ops(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn dynamodb_requests_per_route_are_what_the_readme_says() {
    let counter = Counter::default();
    let store = dynamo(&endpoint(), &unique_prefix("cost"), Some(SharedInterceptor::new(counter.clone()))).await;
    let w = World::on(store, 200).await;
    let token = token_app(&w);
    let data =
        oasis_lambda::shell::Lambda::new(oasis_secure_data::App::new(w.store.clone(), w.verifier(), Cors::default()));
    let key = oasis_search::CursorKey::new(&[3u8; 32]).unwrap();
    let search =
        oasis_lambda::shell::Lambda::new(oasis_search::App::new(w.store.clone(), w.verifier(), key, Cors::default()));
    counter.take();

    let mut measured: Vec<(&str, BTreeMap<String, u32>)> = vec![];
    let r = login(&token, &w).await;
    assert_eq!(r.status, 200);
    measured.push(("POST /token password", counter.take()));
    let rt = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh(&token, &rt).await.status, 200);
    measured.push(("POST /token refresh_token", counter.take()));
    let cc = post_token(
        &token,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "oasis-demo-service"),
            ("client_secret", &w.creds.service_secret),
        ],
    )
    .await;
    assert_eq!(cc.status, 200);
    measured.push(("POST /token client_credentials", counter.take()));
    let bad = post_token(
        &token,
        &[("grant_type", "password"), ("client_id", "oasis-demo"), ("username", "demo"), ("password", "wrong")],
    )
    .await;
    assert_eq!(bad.status, 400);
    measured.push(("POST /token password, wrong", counter.take()));
    // User enumeration by timing: an unknown name costs the very requests a known one does.
    let unknown = post_token(
        &token,
        &[("grant_type", "password"), ("client_id", "oasis-demo"), ("username", "nobody-here"), ("password", "wrong")],
    )
    .await;
    assert_eq!(unknown.status, 400);
    measured.push(("POST /token password, unknown user", counter.take()));
    let rv = reply(
        token
            .handle(request(&event(
                "POST",
                "/revoke",
                &[FORM],
                Some(&form(&[("client_id", "oasis-demo"), ("token", &rt)])),
            )))
            .await,
    );
    assert_eq!(rv.status, 200);
    measured.push(("POST /revoke", counter.take()));
    let auth = format!("Bearer {}", w.token(&w.demo, "data:read search"));
    let sd = reply(data.handle(request(&event("GET", "/secure-data", &[("Authorization", &auth)], None))).await);
    assert_eq!(sd.status, 200);
    measured.push(("GET /secure-data", counter.take()));
    let s = reply(search.handle(request(&event("GET", "/search?q=matrix", &[("Authorization", &auth)], None))).await);
    assert_eq!(s.status, 200, "{}", s.text);
    measured.push(("GET /search?q=matrix", counter.take()));

    for (route, got) in &measured {
        println!("{route}: {got:?}");
    }
    let want: Vec<(&str, BTreeMap<String, u32>)> = vec![
        (
            "POST /token password",
            ops(&[("DeleteItem", 1), ("GetItem", 5), ("TransactWriteItems", 1), ("UpdateItem", 3)]),
        ),
        ("POST /token refresh_token", ops(&[("GetItem", 4), ("TransactWriteItems", 1)])),
        ("POST /token client_credentials", ops(&[("GetItem", 1)])),
        ("POST /token password, wrong", ops(&[("GetItem", 5), ("UpdateItem", 2)])),
        ("POST /token password, unknown user", ops(&[("GetItem", 5), ("UpdateItem", 2)])),
        ("POST /revoke", ops(&[("GetItem", 3), ("UpdateItem", 1)])),
        // The user and the token's client, read at once (a token dies with its client).
        ("GET /secure-data", ops(&[("GetItem", 3)])),
        ("GET /search?q=matrix", ops(&[("GetItem", 2), ("Query", 1)])),
    ];
    assert_eq!(measured, want);
}
