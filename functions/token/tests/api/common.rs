//! Test fixtures: a real token App on a real SQLite store seeded with the demo data the
//! local run uses, and API Gateway REST events parsed by lambda_http like in production.
#![allow(dead_code)]

use std::sync::Arc;

use oasis_admin::demo::DemoCredentials;
use oasis_auth::keys::KeySet;
use oasis_auth::password::PasswordHasher;
use oasis_lambda::Cors;
use oasis_store::sqlite::SqliteStore;
use oasis_token::{App, LockoutPolicy, Settings};
use serde_json::Value;

pub(crate) use oasis_testkit::{AUDIENCE, ISSUER};

pub(crate) struct Fixture {
    pub app: oasis_lambda::shell::Lambda<App>,
    pub store: Arc<SqliteStore>,
    pub creds: DemoCredentials,
    pub keys: KeySet,
}

pub(crate) fn settings() -> Settings {
    Settings {
        issuer_url: ISSUER.into(),
        audience: AUDIENCE.into(),
        access_ttl: 900,
        refresh_idle_ttl: 3600,
        refresh_absolute_ttl: 86_400,
        // Off: these fixtures show reuse detection itself (the grace window has its own tests).
        refresh_grace: 0,
        account_lockout: LockoutPolicy::ACCOUNT,
        ip_lockout: LockoutPolicy::SOURCE_IP,
        cors: Cors::new(vec![oasis_admin::demo::WEB_ORIGIN.into()]),
    }
}

pub(crate) async fn fixture() -> Fixture {
    fixture_with(settings()).await
}

pub(crate) async fn fixture_with(settings: Settings) -> Fixture {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let hasher = PasswordHasher::default_params().unwrap();
    let creds = oasis_admin::demo::seed(store.as_ref(), &hasher).await.unwrap();
    let keys = KeySet::generate(oasis_auth::now()).unwrap();
    let app = build_app(store.clone(), &keys, settings, hasher);
    Fixture { app, store, creds, keys }
}

pub(crate) fn build_app(
    store: Arc<SqliteStore>,
    keys: &KeySet,
    settings: Settings,
    hasher: PasswordHasher,
) -> oasis_lambda::shell::Lambda<App> {
    oasis_lambda::shell::Lambda::new(App::new(store, keys, hasher, settings).unwrap())
}

pub(crate) use oasis_testkit::{FORM, Reply, event, form, reply, request};

pub(crate) async fn send(app: &oasis_lambda::shell::Lambda<App>, event: &Value) -> Reply {
    reply(app.handle(request(event)).await)
}

pub(crate) async fn post_form(
    app: &oasis_lambda::shell::Lambda<App>,
    path: &str,
    pairs: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Reply {
    let mut headers = vec![FORM];
    headers.extend_from_slice(extra);
    send(app, &event("POST", path, &headers, Some(&form(pairs)))).await
}

pub(crate) async fn password_login(app: &oasis_lambda::shell::Lambda<App>, user: &str, password: &str) -> Reply {
    post_form(
        app,
        "/token",
        &[("grant_type", "password"), ("client_id", "oasis-demo"), ("username", user), ("password", password)],
        &[],
    )
    .await
}

/// A password login with the demo client asking for `scope`.
pub(crate) async fn scoped_login(
    app: &oasis_lambda::shell::Lambda<App>,
    user: &str,
    password: &str,
    scope: &str,
) -> Reply {
    post_form(
        app,
        "/token",
        &[
            ("grant_type", "password"),
            ("client_id", "oasis-demo"),
            ("username", user),
            ("password", password),
            ("scope", scope),
        ],
        &[],
    )
    .await
}

pub(crate) async fn refresh(app: &oasis_lambda::shell::Lambda<App>, token: &str, scope: Option<&str>) -> Reply {
    let mut pairs = vec![("grant_type", "refresh_token"), ("client_id", "oasis-demo"), ("refresh_token", token)];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    post_form(app, "/token", &pairs, &[]).await
}

pub(crate) fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}
