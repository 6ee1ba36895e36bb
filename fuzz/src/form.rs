//! `form`: a content type line, then a body, through [`oasis_lambda::form::read`].

use oasis_lambda::error::ApiError;
use oasis_lambda::form::{self, FormError};
use oasis_lambda::lambda_http::http::{self, HeaderValue, header};
use oasis_lambda::lambda_http::{Body, Request};
use oasis_token::{MAX_BODY_BYTES, TokenError};

use crate::seeds::Event;

pub fn run(data: &[u8]) {
    let (content_type, body) = crate::split_line(data);
    check(&request(content_type, body), body);
}

/// A POST with that content type (when it is a valid header value) and body: text when it is
/// UTF-8, as lambda_http makes it from an event, else binary, as from a base64 event body.
pub fn request(content_type: &[u8], body: &[u8]) -> Request {
    let mut req = http::Request::builder().method("POST").uri("/token");
    if let Ok(v) = HeaderValue::from_bytes(content_type) {
        req = req.header(header::CONTENT_TYPE, v);
    }
    let body = match std::str::from_utf8(body) {
        Ok(text) => Body::Text(text.to_owned()),
        Err(_) => Body::Binary(body.to_vec()),
    };
    req.body(body).expect("a request from valid parts")
}

/// The form read from `req` holds every parameter of `body` that has a value, with that value;
/// a refusal is the token endpoint's 400 or 413 and never a server fault.
pub fn check(req: &Request, body: &[u8]) {
    match form::read(req, MAX_BODY_BYTES) {
        Ok(f) => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(body).expect("a body read as a form parses as one");
            for (name, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
                assert_eq!(f.get(name), Some(value.as_str()), "parameter {name:?}");
                assert!(!value.contains('\0') && !name.contains('\0'), "NUL in {name:?}");
            }
            for (name, value) in pairs.iter().filter(|(_, v)| v.is_empty()) {
                if !pairs.iter().any(|(n, v)| n == name && !v.is_empty()) {
                    assert!(!f.has(name), "an empty value counts as absent: {name:?} = {value:?}");
                }
            }
        }
        Err(e) => {
            if body.len() > MAX_BODY_BYTES {
                assert!(matches!(e, FormError::TooLarge | FormError::UnsupportedMediaType), "{e:?}");
            }
            let e = TokenError::from(e);
            assert!(matches!(e.status().as_u16(), 400 | 413), "{e:?} is {}", e.status());
            assert!(!e.is_server_fault());
        }
    }
}

pub fn seeds(events: &[Event]) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = events
        .iter()
        .filter_map(|e| Some(crate::join_line(e.header("content-type")?.as_bytes(), &e.body()?)))
        .collect();
    seeds.push(crate::join_line(b"application/x-www-form-urlencoded; charset=UTF-8", b"a=1&b=&c=x%20y+z"));
    seeds
}
