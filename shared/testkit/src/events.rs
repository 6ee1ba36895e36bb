//! Building API Gateway REST (v1 proxy) events and reading responses, for handler tests and
//! the in-process benchmark. Events go through lambda_http's own parser, as in production.

use lambda_http::http::HeaderMap;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

/// An API Gateway REST event. `path` may carry a query string (`/search?q=x`).
pub fn event(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Value {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut h = serde_json::Map::new();
    let mut mh = serde_json::Map::new();
    for (k, v) in headers {
        h.insert((*k).into(), json!(v));
        mh.insert((*k).into(), json!([v]));
    }
    let (qs, mqs) = match query {
        Some(q) => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap_or_default();
            let mut single = serde_json::Map::new();
            let mut multi = serde_json::Map::new();
            for (k, v) in pairs {
                single.insert(k.clone(), json!(v));
                if let Some(a) = multi.entry(k).or_insert_with(|| json!([])).as_array_mut() {
                    a.push(json!(v));
                }
            }
            (Value::Object(single), Value::Object(multi))
        }
        None => (Value::Null, Value::Null),
    };
    json!({
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": h,
        "multiValueHeaders": mh,
        "queryStringParameters": qs,
        "multiValueQueryStringParameters": mqs,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc123",
            "stage": "prod",
            "requestId": format!("req-{}", std::process::id()),
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

/// Parses an event as the shell does for a real invocation (lambda_http's conversion behind
/// the shell's check, `oasis_lambda::event`).
pub fn request(event: &Value) -> Request {
    oasis_lambda::event::from_str(&event.to_string()).expect("test event must parse")
}

/// A response, read.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
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
    Reply { status, headers, text }
}

pub const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

pub fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Checks a handler against its declared routes: every declared (method, path) is served
/// (not 404 or 405), every other method on those paths gets 405, and an undeclared path 404.
/// Returns the mismatches. `{param}` segments are filled with `usr_x`.
pub async fn route_mismatches<F, Fut>(routes: &[(&str, &str)], mut call: F) -> Vec<String>
where
    F: FnMut(Request) -> Fut,
    Fut: std::future::Future<Output = Response<Body>>,
{
    const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let fill =
        |p: &str| p.split('/').map(|s| if s.starts_with('{') { "usr_x" } else { s }).collect::<Vec<_>>().join("/");
    let mut paths: Vec<&str> = routes.iter().map(|(_, p)| *p).collect();
    paths.dedup();
    let mut bad = vec![];
    for path in paths {
        for method in METHODS {
            let declared = routes.contains(&(method, path));
            let status = call(request(&event(method, &fill(path), &[], None))).await.status().as_u16();
            match (declared, status) {
                (true, 404 | 405) => bad.push(format!("{method} {path} is declared but answers {status}")),
                (false, s) if s != 405 => bad.push(format!("{method} {path} is not declared but answers {s}")),
                _ => {}
            }
        }
    }
    let status = call(request(&event("GET", "/no-such-route", &[], None))).await.status().as_u16();
    if status != 404 {
        bad.push(format!("an unknown path answers {status}"));
    }
    bad
}
