//! `basic`: an `Authorization` line, then a form body, through
//! [`oasis_token::client::presented`]; and any id and secret round-trip through HTTP Basic.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oasis_lambda::error::ApiError;
use oasis_lambda::form::{self, Form};
use oasis_lambda::lambda_http::http::{self, HeaderValue, header};
use oasis_lambda::lambda_http::{Body, Request};
use oasis_token::client::{Presented, presented};
use oasis_token::{MAX_BODY_BYTES, TokenError};

use crate::seeds::Event;

pub fn run(data: &[u8]) {
    let (authorization, body) = crate::split_line(data);
    let req = request(authorization, body);
    check(&req, &form::read(&req, MAX_BODY_BYTES).unwrap_or_default());

    // RFC 6749 §2.3.1: whatever the id and secret, form-encoded and then base64, they come
    // back exactly (a colon or a `%` in either included).
    let Ok(text) = std::str::from_utf8(authorization) else { return };
    let (id, secret) = text.split_once(':').unwrap_or((text, ""));
    let header = basic_header(id, secret);
    match presented(&request(header.as_bytes(), b""), &Form::default()) {
        Ok(Presented::Basic { id: got_id, secret: got_secret }) => {
            assert_eq!(got_id, id);
            assert_eq!(got_secret.expose(), secret);
        }
        Ok(_) => panic!("Basic credentials read as another method"),
        Err(e) => panic!("Basic credentials for {id:?} refused: {e:?}"),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
pub fn basic_header(id: &str, secret: &str) -> String {
    let encode = |s: &str| serde_urlencoded::to_string([("v", s)]).unwrap_or_default()[2..].to_owned();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(id), encode(secret))))
}

fn request(authorization: &[u8], body: &[u8]) -> Request {
    let mut req = http::Request::builder()
        .method("POST")
        .uri("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Ok(v) = HeaderValue::from_bytes(authorization) {
        req = req.header(header::AUTHORIZATION, v);
    }
    req.body(Body::Binary(body.to_vec())).expect("a request from valid parts")
}

/// Whatever a request presents, a refusal is `invalid_client` (401) or `invalid_request`
/// (400), and an id from Basic agrees with the form's `client_id`.
pub fn check(req: &Request, form: &Form) {
    match presented(req, form) {
        Ok(Presented::Basic { id, .. }) => {
            if let Some(form_id) = form.get("client_id") {
                assert_eq!(form_id, id, "Basic id and form client_id differ");
            }
            assert!(!form.has("client_secret"), "two authentication methods accepted");
        }
        Ok(Presented::Post { id, .. } | Presented::Public { id }) => {
            assert_eq!(form.get("client_id"), Some(id.as_str()));
        }
        Err(e) => {
            assert!(
                matches!((e.status().as_u16(), e.code()), (401, "invalid_client") | (400, "invalid_request")),
                "{e:?}: {} {}",
                e.status(),
                e.code()
            );
            assert!(matches!(e, TokenError::InvalidClient { .. } | TokenError::InvalidRequest(_)));
        }
    }
}

pub fn seeds(events: &[Event]) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for e in events.iter().filter(|e| e.header("content-type").is_some_and(|c| c.contains("form"))) {
        let body = e.body().unwrap_or_default();
        if let Some(auth) = e.header("authorization") {
            seeds.push(crate::join_line(auth.as_bytes(), &body));
        }
        // The form's credentials, sent as Basic instead.
        let params = e.parameters();
        let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        if let Some(id) = get("client_id") {
            let header = basic_header(id, get("client_secret").unwrap_or("s3cr3t:with%colon"));
            seeds.push(crate::join_line(header.as_bytes(), &body));
        }
    }
    seeds.push(crate::join_line(b"Basic b2FzaXM6c2VjcmV0", b"grant_type=client_credentials&client_id=oasis"));
    seeds
}
