//! DynamoDB-backed worlds for the cross-function tests in `tests/aws`, against the server that
//! `scripts/with-moto.sh` starts (fails loudly without one).

use std::sync::Arc;

use oasis_auth::password::PasswordHasher;
use oasis_lambda::Cors;
use oasis_store::dynamodb::DynamoStore;
use oasis_testkit::World;
use oasis_testkit::{FORM, Reply, event, form, reply, request};
use oasis_token::{App, LockoutPolicy, Settings};

pub fn endpoint() -> String {
    std::env::var("OASIS_TEST_AWS_ENDPOINT").expect(
        "OASIS_TEST_AWS_ENDPOINT is not set: these tests need a DynamoDB-API server. \
         Run them with `make test` or `scripts/with-moto.sh cargo test`.",
    )
}

pub fn unique_prefix(tag: &str) -> String {
    format!(
        "{tag}{}-{}",
        std::process::id(),
        oasis_auth::secret::random_token(4).to_lowercase().replace(['-', '_'], "x")
    )
}

/// A DynamoDB store through `endpoint`, with an optional interceptor, tables created.
pub async fn dynamo(
    endpoint: &str,
    prefix: &str,
    intercept: Option<aws_sdk_dynamodb::config::SharedInterceptor>,
) -> Arc<DynamoStore> {
    let sdk = oasis_lambda::config::sdk_config(Some(endpoint)).await;
    let mut conf = aws_sdk_dynamodb::config::Builder::from(&sdk);
    if let Some(i) = intercept {
        conf = conf.interceptor(i);
    }
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf.build()), prefix);
    store.create_tables().await.expect("tables");
    Arc::new(store)
}

pub fn token_settings() -> Settings {
    Settings {
        issuer_url: oasis_testkit::ISSUER.into(),
        audience: oasis_testkit::AUDIENCE.into(),
        access_ttl: 900,
        refresh_idle_ttl: 3600,
        refresh_absolute_ttl: 86_400,
        // Off: these fixtures show reuse detection itself (the grace window has its own tests).
        refresh_grace: 0,
        account_lockout: LockoutPolicy::ACCOUNT,
        ip_lockout: LockoutPolicy::SOURCE_IP,
        cors: Cors::default(),
    }
}

pub fn token_app(w: &World) -> oasis_lambda::shell::Lambda<App> {
    let hasher = PasswordHasher::default_params().unwrap();
    oasis_lambda::shell::Lambda::new(App::new(w.store.clone(), &w.keys, hasher, token_settings()).unwrap())
}

pub async fn post_token(app: &oasis_lambda::shell::Lambda<App>, pairs: &[(&str, &str)]) -> Reply {
    reply(app.handle(request(&event("POST", "/token", &[FORM], Some(&form(pairs))))).await)
}

pub async fn login(app: &oasis_lambda::shell::Lambda<App>, w: &World) -> Reply {
    post_token(
        app,
        &[
            ("grant_type", "password"),
            ("client_id", "oasis-demo"),
            ("username", "demo"),
            ("password", &w.creds.demo_password),
        ],
    )
    .await
}

pub async fn refresh(app: &oasis_lambda::shell::Lambda<App>, token: &str) -> Reply {
    post_token(app, &[("grant_type", "refresh_token"), ("client_id", "oasis-demo"), ("refresh_token", token)]).await
}
