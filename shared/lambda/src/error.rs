//! One error trait for every function, and the one place an error becomes a response
//! ([`response`]). The shell calls it and logs the error once; handlers only return errors.

use std::borrow::Cow;

use lambda_http::http::{HeaderMap, HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use oasis_store::StoreError;

/// A refused request worth counting: the EMF metric, the log's `signal` field and a
/// low-cardinality reason label (never user input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub metric: &'static str,
    pub signal: &'static str,
    pub reason: &'static str,
}

/// What a function's error type tells the shell. Client faults carry a stable code and a
/// fixed description; server faults (5xx) carry no description, and their cause chain goes
/// to the log only.
///
/// A function's error wraps the shared ones (bearer, routing, storage): it returns them from
/// [`ApiError::inner`] and every answer it does not give itself comes from there.
pub trait ApiError: std::error::Error + Send + Sync + 'static {
    /// The wrapped error that answers for this one, if any.
    fn inner(&self) -> Option<&dyn ApiError> {
        None
    }

    fn status(&self) -> StatusCode {
        self.inner().map_or(StatusCode::INTERNAL_SERVER_ERROR, |e| e.status())
    }

    /// The `error` member: an RFC 6749 §5.2 or RFC 6750 §3.1 code, or one of ours.
    fn code(&self) -> &'static str {
        self.inner().map_or("server_error", |e| e.code())
    }

    /// The `error_description` member, if any. Never anything internal.
    fn error_description(&self) -> Option<Cow<'_, str>> {
        self.inner().and_then(|e| e.error_description())
    }

    /// One further body member (RFC 6750's `scope` on `insufficient_scope`).
    fn extra_member(&self) -> Option<(&'static str, &'static str)> {
        self.inner().and_then(|e| e.extra_member())
    }

    /// Headers the answer needs (`WWW-Authenticate`, `Allow`, `Retry-After`, …).
    fn headers(&self, headers: &mut HeaderMap) {
        if let Some(e) = self.inner() {
            e.headers(headers);
        }
    }

    /// Ours rather than the client's: logged as an error with its cause chain.
    fn is_server_fault(&self) -> bool {
        self.status().is_server_error()
    }

    /// The security signal this refusal raises, if any.
    fn refusal(&self) -> Option<Refusal> {
        self.inner().and_then(|e| e.refusal())
    }
}

/// The JSON answer for an error: `{"error": code, "error_description"?: …, extra?}` with the
/// error's headers.
pub fn response(e: &dyn ApiError) -> Response<Body> {
    let mut body = serde_json::Map::new();
    body.insert("error".into(), e.code().into());
    if let Some(d) = e.error_description() {
        body.insert("error_description".into(), d.into_owned().into());
    }
    if let Some((name, value)) = e.extra_member() {
        body.insert(name.into(), value.into());
    }
    let mut resp = crate::json(e.status(), &body);
    e.headers(resp.headers_mut());
    resp
}

pub use oasis_domain::cause_chain;

/// A request the shell's router refused before any handler ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("not found")]
    NotFound,
    /// The path exists; `allow` lists its methods (RFC 9110 §15.5.6).
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    /// The event was no request lambda_http can make (see [`crate::event`]).
    #[error("malformed event ({reason})")]
    Malformed { reason: &'static str },
}

impl ApiError for RouteError {
    fn status(&self) -> StatusCode {
        match self {
            RouteError::NotFound => StatusCode::NOT_FOUND,
            RouteError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            RouteError::Malformed { .. } => StatusCode::BAD_REQUEST,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            RouteError::NotFound => "not_found",
            RouteError::MethodNotAllowed { .. } => "method_not_allowed",
            RouteError::Malformed { .. } => "invalid_request",
        }
    }

    fn error_description(&self) -> Option<Cow<'_, str>> {
        match self {
            RouteError::Malformed { .. } => Some("the request's host, path or query is not a valid URI".into()),
            _ => None,
        }
    }

    fn refusal(&self) -> Option<Refusal> {
        match self {
            RouteError::Malformed { reason } => {
                Some(Refusal { metric: "InputRejected", signal: "input_rejected", reason })
            }
            _ => None,
        }
    }

    fn headers(&self, headers: &mut HeaderMap) {
        if let RouteError::MethodNotAllowed { allow } = self
            && let Ok(v) = HeaderValue::from_str(allow)
        {
            headers.insert(header::ALLOW, v);
        }
    }
}

/// Storage faults are always ours: 503 with `Retry-After` when the store is throttled or
/// unreachable (the client may retry), 500 otherwise.
impl ApiError for StoreError {
    fn status(&self) -> StatusCode {
        match self {
            StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => "temporarily_unavailable",
            _ => "server_error",
        }
    }

    fn headers(&self, headers: &mut HeaderMap) {
        if let StoreError::Unavailable(_) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
    }

    fn is_server_fault(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_store_is_a_503_with_retry_after_and_nothing_internal() {
        let e = StoreError::Unavailable("connection reset by 10.0.0.7".into());
        let resp = response(&e);
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        let Body::Text(text) = resp.body() else { panic!("a JSON body") };
        assert_eq!(text, r#"{"error":"temporarily_unavailable"}"#);
    }

    #[test]
    fn a_wrong_method_lists_the_allowed_ones() {
        let resp = response(&RouteError::MethodNotAllowed { allow: "GET, OPTIONS".into() });
        assert_eq!((resp.status().as_u16(), resp.headers()[header::ALLOW].to_str().ok()), (405, Some("GET, OPTIONS")));
    }
}
