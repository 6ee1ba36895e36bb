//! Test fixtures: a real token App on a real SQLite store seeded with the demo data the
//! local run uses, and API Gateway REST events parsed by lambda_http like in production.
#![allow(dead_code)]

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use oasis_admin::demo::DemoCredentials;
use oasis_auth::keys::KeySet;
use oasis_auth::password::PasswordHasher;
use oasis_http::Cors;
use oasis_store::sqlite::SqliteStore;
use oasis_token::{App, LockoutPolicy, Settings};
use serde_json::{Value, json};

pub const ISSUER: &str = "http://localhost:9000";
pub const AUDIENCE: &str = "oasis-api";

pub struct Fixture {
    pub app: App,
    pub store: Arc<SqliteStore>,
    pub creds: DemoCredentials,
    pub keys: KeySet,
}

pub fn settings() -> Settings {
    Settings {
        issuer_url: ISSUER.into(),
        refresh_idle_ttl: 3600,
        refresh_absolute_ttl: 86_400,
        account_lockout: LockoutPolicy::ACCOUNT,
        ip_lockout: LockoutPolicy::SOURCE_IP,
    }
}

pub async fn fixture() -> Fixture {
    fixture_with(settings()).await
}

pub async fn fixture_with(settings: Settings) -> Fixture {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let hasher = PasswordHasher::default_params().unwrap();
    let creds = oasis_admin::demo::seed(store.as_ref(), &hasher)
        .await
        .unwrap();
    let keys = KeySet::generate(oasis_auth::now()).unwrap();
    let app = build_app(store.clone(), &keys, settings, hasher);
    Fixture {
        app,
        store,
        creds,
        keys,
    }
}

pub fn build_app(
    store: Arc<SqliteStore>,
    keys: &KeySet,
    settings: Settings,
    hasher: PasswordHasher,
) -> App {
    let cors = Cors::new(vec![oasis_admin::demo::WEB_ORIGIN.into()]);
    App::new(store, keys, AUDIENCE, 900, hasher, cors, settings).unwrap()
}

/// An API Gateway REST (v1 proxy) event, as API Gateway would send it.
pub fn event(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Value {
    let mut h = serde_json::Map::new();
    let mut mh = serde_json::Map::new();
    for (k, v) in headers {
        h.insert((*k).into(), json!(v));
        mh.insert((*k).into(), json!([v]));
    }
    json!({
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": h,
        "multiValueHeaders": mh,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc123",
            "stage": "prod",
            "requestId": format!("req-{}", oasis_auth::secret::random_token(6)),
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "test"},
            "resourcePath": path,
            "httpMethod": method,
            "path": format!("/prod{path}"),
            "apiId": "api123",
            "protocol": "HTTP/1.1"
        },
        "body": body,
        "isBase64Encoded": false
    })
}

pub fn request(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).expect("event parses")
}

pub struct Reply {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn error(&self) -> Option<String> {
        self.json()["error"].as_str().map(str::to_owned)
    }
}

pub fn reply(resp: Response<Body>) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = match resp.into_body() {
        Body::Text(t) => t,
        Body::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    Reply {
        status,
        headers,
        text,
    }
}

pub async fn send(app: &App, event: &Value) -> Reply {
    reply(oasis_token::handle(app, request(event)).await)
}

pub const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

pub fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

pub async fn post_form(
    app: &App,
    path: &str,
    pairs: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Reply {
    let mut headers = vec![FORM];
    headers.extend_from_slice(extra);
    send(app, &event("POST", path, &headers, Some(&form(pairs)))).await
}

pub async fn password_login(app: &App, user: &str, password: &str) -> Reply {
    post_form(
        app,
        "/token",
        &[
            ("grant_type", "password"),
            ("client_id", "oasis-demo"),
            ("username", user),
            ("password", password),
        ],
        &[],
    )
    .await
}

pub async fn refresh(app: &App, token: &str, scope: Option<&str>) -> Reply {
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("client_id", "oasis-demo"),
        ("refresh_token", token),
    ];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    post_form(app, "/token", &pairs, &[]).await
}

pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}
