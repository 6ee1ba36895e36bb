//! `event`: an API Gateway event (REST v1 proxy, or HTTP API v2) through lambda_http's own
//! conversion, as the Lambda runtime does it, then everything the shell and the functions read
//! from the request: its meta (request id, path, source address, origin), the route, the
//! bearer token, the refresh cookie, the form body, the client credentials and the search.

use oasis_lambda::error::ApiError;
use oasis_lambda::form;
use oasis_lambda::lambda_http::{Body, Request};
use oasis_lambda::{RequestMeta, bearer, shell};
use serde_json::{Value, json};

use crate::seeds::Event;

/// Every function's routes.
const ROUTES: [&[(&str, &str)]; 4] =
    [oasis_token::ROUTES, oasis_secure_data::ROUTES, oasis_search::ROUTES, oasis_signin::ROUTES];

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(req) = convert(text) else { return };
    check(&req);
}

/// The request the shell serves for an event, as its runtime loop makes it
/// ([`oasis_lambda::event`]): lambda_http's conversion behind the shell's check. lambda_http 1.3
/// panics on some events (a `Host` or `X-Forwarded-Proto` that makes no URL, an HTTP API
/// `rawQueryString` no URI holds; `fuzz/regressions/event/` keeps one of each); the check must
/// catch every one of them, so any panic here is a crash.
pub fn convert(text: &str) -> Option<Request> {
    oasis_lambda::event::from_str(text).ok()
}

pub fn check(req: &Request) {
    // The request id goes into every log line and the `x-request-id` header.
    let meta = RequestMeta::from_request(req);
    let id = &meta.request_id;
    assert!(id == "unknown" || (id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())), "request id {id:?}");

    for routes in ROUTES {
        if let Some(template) = shell::route_of(routes, &meta.path) {
            assert!(routes.iter().any(|(_, p)| *p == template));
            let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), meta.path.split('/').collect());
            assert_eq!(t.len(), p.len(), "{template} for {:?}", meta.path);
            for (t, p) in t.iter().zip(&p) {
                assert!(t == p || (t.starts_with('{') && !p.is_empty()), "{template} for {:?}", meta.path);
            }
        }
    }

    match bearer::bearer_token(req) {
        Ok(token) => assert!(!token.is_empty() && token == token.trim(), "bearer token {token:?}"),
        Err(e) => assert!(matches!(e.status().as_u16(), 400 | 401), "{e:?}"),
    }
    let _ = oasis_lambda::cookie(req.headers(), oasis_token::REFRESH_COOKIE);

    let body: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    crate::form::check(req, body);
    crate::basic::check(req, &form::read(req, oasis_token::MAX_BODY_BYTES).unwrap_or_default());
    crate::search::check(req);
}

/// Each event as it is (compact), and as an HTTP API (v2) event of the same request.
pub fn seeds(events: &[Event]) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for e in events {
        seeds.push(e.json.to_string().into_bytes());
        seeds.push(http_api(e).to_string().into_bytes());
    }
    seeds
}

fn http_api(e: &Event) -> Value {
    let path = e.json["path"].as_str().unwrap_or("/");
    let headers: serde_json::Map<String, Value> =
        e.json["headers"].as_object().into_iter().flatten().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
    let ctx = &e.json["requestContext"];
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": e.query_string().unwrap_or_default(),
        "headers": headers,
        "requestContext": {
            "accountId": ctx["accountId"],
            "apiId": ctx["apiId"],
            "domainName": "api.example.com",
            "http": {
                "method": e.method(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": ctx["identity"]["sourceIp"],
                "userAgent": ctx["identity"]["userAgent"],
            },
            "requestId": ctx["requestId"],
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000",
            "timeEpoch": 1795900000000u64,
        },
        "body": e.json["body"],
        "isBase64Encoded": e.json["isBase64Encoded"],
    })
}
