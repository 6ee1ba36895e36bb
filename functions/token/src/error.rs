//! The token function's one error type, mapped to an HTTP response in one place
//! ([`TokenError::into_response`]). Client faults carry RFC 6749 §5.2 codes with fixed
//! descriptions; our faults say nothing internal (the cause is logged, not sent).

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use oasis_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// Client authentication failed. `basic` says the client tried HTTP Basic, which makes
    /// the 401 carry `WWW-Authenticate` (RFC 6749 §5.2).
    #[error("invalid_client")]
    InvalidClient { basic: bool },
    /// One answer for every bad credential or grant: unknown user, wrong password, disabled
    /// or locked account, unknown/expired/reused/revoked refresh token.
    #[error("invalid_grant")]
    InvalidGrant,
    #[error("unauthorized_client")]
    UnauthorizedClient,
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("invalid_scope")]
    InvalidScope,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("cross-site request refused")]
    CrossSiteRefused,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    #[error("storage unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => TokenError::Unavailable(e),
            other => TokenError::Internal(Box::new(other)),
        }
    }
}

impl From<oasis_http::form::FormError> for TokenError {
    fn from(e: oasis_http::form::FormError) -> Self {
        use oasis_http::form::FormError::*;
        match e {
            UnsupportedMediaType => TokenError::UnsupportedMediaType,
            TooLarge => TokenError::PayloadTooLarge,
            Malformed => TokenError::InvalidRequest("malformed request body"),
            Repeated => TokenError::InvalidRequest("repeated parameter"),
        }
    }
}

impl TokenError {
    /// True for our faults (5xx); the handler logs these with their cause chain.
    pub fn is_server_fault(&self) -> bool {
        matches!(self, TokenError::Unavailable(_) | TokenError::Internal(_))
    }

    pub fn into_response(self) -> Response<Body> {
        let (status, code, description): (StatusCode, &str, Option<&str>) = match &self {
            TokenError::InvalidRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", Some(d)),
            TokenError::InvalidClient { .. } => {
                (StatusCode::UNAUTHORIZED, "invalid_client", Some("client authentication failed"))
            }
            TokenError::InvalidGrant => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                Some("the credentials or grant are invalid, expired or revoked"),
            ),
            TokenError::UnauthorizedClient => {
                (StatusCode::BAD_REQUEST, "unauthorized_client", Some("this client may not use this grant type"))
            }
            TokenError::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type", None),
            TokenError::InvalidScope => (
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                Some("the requested scope is invalid, unknown or exceeds the grant"),
            ),
            TokenError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                Some("content type must be application/x-www-form-urlencoded"),
            ),
            TokenError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", Some("request body too large"))
            }
            TokenError::CrossSiteRefused => {
                (StatusCode::FORBIDDEN, "invalid_request", Some("cross-site request refused"))
            }
            TokenError::NotFound => (StatusCode::NOT_FOUND, "not_found", None),
            TokenError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None),
            TokenError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                Some("the service is temporarily unavailable; retry later"),
            ),
            TokenError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error", None),
        };
        let body = match description {
            Some(d) => serde_json::json!({ "error": code, "error_description": d }),
            None => serde_json::json!({ "error": code }),
        };
        let mut resp = oasis_http::json(status, &body);
        let h = resp.headers_mut();
        // RFC 6749 §5.1/§5.2: token responses, errors included, are never cached.
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match &self {
            TokenError::InvalidClient { basic: true } => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"oasis\", charset=\"UTF-8\""),
                );
            }
            TokenError::MethodNotAllowed(allow) => {
                h.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            TokenError::Unavailable(_) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}
