//! Least privilege, checked against behaviour: each function's handler runs its scenarios
//! (every DynamoDB code path it has) on moto while an SDK interceptor records every
//! (table, action) it performs — transactions and batches unpacked into their item actions.
//! The DynamoDB grants in `terraform/iam.tf` must equal what was recorded: no missing grant
//! (the function would fail in AWS) and no extra one (least privilege).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_sdk_dynamodb::error::BoxError;
use oasis_auth::password::PasswordHasher;
use oasis_integration_tests::*;
use oasis_lambda::Cors;
use oasis_testkit::{AUDIENCE, ISSUER, World};
use oasis_testkit::{FORM, event, form, reply, request};
use oasis_token::LockoutPolicy;
use serde_json::Value;

type Grants = BTreeMap<String, BTreeSet<String>>;

#[derive(Debug, Clone, Default)]
struct Recorder {
    prefix: String,
    seen: Arc<Mutex<Grants>>,
}

impl Recorder {
    fn note(&self, table: &str, action: &str) {
        let table = table.strip_prefix(&format!("{}-", self.prefix)).unwrap_or(table).to_owned();
        self.seen.lock().unwrap().entry(table).or_default().insert(format!("dynamodb:{action}"));
    }

    fn take(&self) -> Grants {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "iam-recorder"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request();
        let op = req.headers().get("x-amz-target").and_then(|t| t.rsplit('.').next()).unwrap_or("?").to_owned();
        let body: Value = req.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        match op.as_str() {
            "TransactWriteItems" => {
                for item in body["TransactItems"].as_array().into_iter().flatten() {
                    for (kind, action) in [
                        ("Put", "PutItem"),
                        ("Update", "UpdateItem"),
                        ("Delete", "DeleteItem"),
                        ("ConditionCheck", "ConditionCheckItem"),
                    ] {
                        if let Some(t) = item[kind]["TableName"].as_str() {
                            self.note(t, action);
                        }
                    }
                }
            }
            "BatchWriteItem" | "BatchGetItem" => {
                for (table, reqs) in body["RequestItems"].as_object().into_iter().flatten() {
                    if op == "BatchGetItem" {
                        self.note(table, "GetItem");
                    }
                    for r in reqs.as_array().into_iter().flatten() {
                        if r.get("PutRequest").is_some() {
                            self.note(table, "PutItem");
                        }
                        if r.get("DeleteRequest").is_some() {
                            self.note(table, "DeleteItem");
                        }
                    }
                }
            }
            _ => {
                if let Some(t) = body["TableName"].as_str() {
                    self.note(t, &op);
                }
            }
        }
        Ok(())
    }
}

/// `local.dynamodb_grants` from terraform/iam.tf: function -> table -> actions.
fn terraform_grants() -> BTreeMap<String, Grants> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../terraform/iam.tf");
    let body: Value = hcl::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let grants = &body["locals"]["dynamodb_grants"];
    serde_json::from_value(grants.clone()).unwrap_or_else(|e| panic!("dynamodb_grants in iam.tf: {e}: {grants}"))
}

async fn post(app: &oasis_lambda::shell::Lambda<oasis_token::App>, path: &str, pairs: &[(&str, &str)]) -> u16 {
    reply(app.handle(request(&event("POST", path, &[FORM], Some(&form(pairs))))).await).status
}

#[tokio::test]
async fn each_functions_dynamodb_grants_equal_the_calls_its_code_makes() {
    let prefix = unique_prefix("iam");
    let recorder = Recorder { prefix: prefix.clone(), ..Recorder::default() };
    let store = dynamo(&endpoint(), &prefix, Some(SharedInterceptor::new(recorder.clone()))).await;
    let w = World::on(store, 50).await;
    let mut observed: BTreeMap<String, Grants> = BTreeMap::new();

    // token: every grant, refresh rotation, reuse, revocation, lock-out, expired counters, rehash.
    recorder.take();
    let mut settings = token_settings();
    settings.account_lockout = LockoutPolicy { threshold: 2, base_seconds: 1, cap_seconds: 1, window_seconds: 1 };
    let stronger = PasswordHasher::new(19_456, 3, 1).unwrap();
    let token =
        oasis_lambda::shell::Lambda::new(oasis_token::App::new(w.store.clone(), &w.keys, stronger, settings).unwrap());
    let login = [
        ("grant_type", "password"),
        ("client_id", "oasis-demo"),
        ("username", "demo"),
        ("password", &w.creds.demo_password),
    ];
    let wrong = [("grant_type", "password"), ("client_id", "oasis-demo"), ("username", "demo"), ("password", "wrong")];
    assert_eq!(post(&token, "/token", &wrong).await, 400);
    tokio::time::sleep(Duration::from_millis(2100)).await; // the counter expires; TTL has not deleted it
    assert_eq!(post(&token, "/token", &wrong).await, 400);
    assert_eq!(post(&token, "/token", &wrong).await, 400); // second failure in the window: locked
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = reply(token.handle(request(&event("POST", "/token", &[FORM], Some(&form(&login))))).await);
    assert_eq!(r.status, 200, "{}", r.text);
    let first = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        post(
            &token,
            "/token",
            &[("grant_type", "refresh_token"), ("client_id", "oasis-demo"), ("refresh_token", &first)]
        )
        .await,
        200
    );
    assert_eq!(
        post(
            &token,
            "/token",
            &[("grant_type", "refresh_token"), ("client_id", "oasis-demo"), ("refresh_token", &first)]
        )
        .await,
        400
    );
    assert_eq!(post(&token, "/revoke", &[("client_id", "oasis-demo"), ("token", &first)]).await, 200);
    let cc = [
        ("grant_type", "client_credentials"),
        ("client_id", "oasis-demo-service"),
        ("client_secret", &w.creds.service_secret),
    ];
    assert_eq!(post(&token, "/token", &cc).await, 200);
    observed.insert("token".into(), recorder.take());

    // secure-data: own data, an admin reading another user, a client acting for itself.
    let data =
        oasis_lambda::shell::Lambda::new(oasis_secure_data::App::new(w.store.clone(), w.verifier(), Cors::default()));
    let get = |path: String, token: String| {
        let data = &data;
        async move {
            let auth = format!("Bearer {token}");
            reply(data.handle(request(&event("GET", &path, &[("Authorization", &auth)], None))).await).status
        }
    };
    assert_eq!(get("/secure-data".into(), w.token(&w.demo, "data:read")).await, 200);
    assert_eq!(get(format!("/secure-data/{}", w.demo.id), w.token(&w.admin, "data:read admin")).await, 200);
    let client = w.token_with(ISSUER, AUDIENCE, "oasis-demo-service", "oasis-demo-service", "data:read", None);
    assert_eq!(get("/secure-data".into(), client).await, 404);
    observed.insert("secure-data".into(), recorder.take());

    // search: a user and a partner client.
    let key = oasis_search::CursorKey::new(&[5u8; 32]).unwrap();
    let search =
        oasis_lambda::shell::Lambda::new(oasis_search::App::new(w.store.clone(), w.verifier(), key, Cors::default()));
    for t in [
        w.token(&w.demo, "search"),
        w.token_with(ISSUER, AUDIENCE, "oasis-demo-service", "oasis-demo-service", "search", None),
    ] {
        let auth = format!("Bearer {t}");
        let r = reply(search.handle(request(&event("GET", "/search?q=the", &[("Authorization", &auth)], None))).await);
        assert_eq!(r.status, 200, "{}", r.text);
    }
    observed.insert("search".into(), recorder.take());

    assert_eq!(observed, terraform_grants(), "observed DynamoDB calls (left) vs terraform/iam.tf grants (right)");
}
