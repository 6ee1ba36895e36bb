//! `application/x-www-form-urlencoded` bodies (RFC 6749 §4.3.2, Appendix B), size-capped.

use std::collections::BTreeMap;

use lambda_http::http::header;
use lambda_http::{Body, Request};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("content type must be application/x-www-form-urlencoded")]
    UnsupportedMediaType,
    #[error("request body too large")]
    TooLarge,
    #[error("request body is not a valid form")]
    Malformed,
    #[error("a parameter was given more than once")]
    Repeated,
}

/// Parameters of a form body. Empty values count as absent (RFC 6749 §3.1).
#[derive(Debug, Default)]
pub struct Form(BTreeMap<String, String>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// Reads the body as a form: the content type must be form-urlencoded (a charset parameter
/// is allowed), the body no larger than `max_bytes`, every parameter present at most once.
pub fn read(req: &Request, max_bytes: usize) -> Result<Form, FormError> {
    let ctype =
        crate::header_str(req.headers(), header::CONTENT_TYPE.as_str()).ok_or(FormError::UnsupportedMediaType)?;
    let essence = ctype.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(FormError::UnsupportedMediaType);
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => return Err(FormError::Malformed),
    };
    if bytes.len() > max_bytes {
        return Err(FormError::TooLarge);
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(FormError::Malformed);
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|_| FormError::Malformed)?;
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        if v.is_empty() {
            continue;
        }
        if v.contains('\0') || k.contains('\0') {
            return Err(FormError::Malformed);
        }
        if map.insert(k, v).is_some() {
            return Err(FormError::Repeated);
        }
    }
    Ok(Form(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ctype: Option<&str>, body: &str) -> Request {
        let mut b = lambda_http::http::Request::builder().method("POST").uri("/token");
        if let Some(c) = ctype {
            b = b.header("content-type", c);
        }
        b.body(Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn form_bodies_parse_and_empty_values_are_absent() {
        let f = read(&req(Some("application/x-www-form-urlencoded; charset=UTF-8"), "a=1&b=&c=x%20y"), 100).unwrap();
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.get("b"), None);
        assert_eq!(f.get("c"), Some("x y"));
    }

    #[test]
    fn bad_form_bodies_get_a_precise_error() {
        let form = Some("application/x-www-form-urlencoded");
        let cases = [
            (req(Some("application/json"), "{\"a\":1}"), FormError::UnsupportedMediaType),
            (req(None, "a=1"), FormError::UnsupportedMediaType),
            (req(Some("text/plain"), "a=1"), FormError::UnsupportedMediaType),
            (req(form, &"a=1&".repeat(40)), FormError::TooLarge),
            (req(form, "a=1&a=2"), FormError::Repeated),
            (req(form, "a=%00"), FormError::Malformed),
        ];
        for (r, want) in cases {
            assert_eq!(read(&r, 100).unwrap_err(), want);
        }
    }
}
