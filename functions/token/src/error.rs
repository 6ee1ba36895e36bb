//! The token function's one error type; the shell maps it to the response
//! ([`oasis_lambda::error::response`]). Client faults carry RFC 6749 §5.2 codes with fixed
//! descriptions; our faults say nothing internal (the cause is logged, not sent).

use std::borrow::Cow;

use lambda_http::http::{HeaderMap, HeaderValue, StatusCode, header};
use oasis_lambda::error::{ApiError, RouteError};
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
    /// RFC 8628 §3.5: the device's user has not decided yet.
    #[error("authorization_pending")]
    AuthorizationPending,
    /// RFC 8628 §3.5: polled too soon; the interval grew by five seconds.
    #[error("slow_down")]
    SlowDown,
    #[error("access_denied")]
    AccessDenied,
    #[error("expired_token")]
    ExpiredToken,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("cross-site request refused")]
    CrossSiteRefused,
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<oasis_login::LoginError> for TokenError {
    fn from(e: oasis_login::LoginError) -> Self {
        match e {
            oasis_login::LoginError::Refused => TokenError::InvalidGrant,
            oasis_login::LoginError::Store(e) => TokenError::Store(e),
        }
    }
}

impl From<oasis_lambda::form::FormError> for TokenError {
    fn from(e: oasis_lambda::form::FormError) -> Self {
        use oasis_lambda::form::FormError::{Malformed, Repeated, TooLarge, UnsupportedMediaType};
        match e {
            // RFC 6749 §5.2: every malformed token request is a 400 invalid_request, a body in
            // another content type included (a 415 would be a code no OAuth client expects).
            UnsupportedMediaType => {
                TokenError::InvalidRequest("content type must be application/x-www-form-urlencoded")
            }
            TooLarge => TokenError::PayloadTooLarge,
            Malformed => TokenError::InvalidRequest("malformed request body"),
            Repeated => TokenError::InvalidRequest("repeated parameter"),
        }
    }
}

impl ApiError for TokenError {
    fn inner(&self) -> Option<&dyn ApiError> {
        match self {
            TokenError::Route(e) => Some(e),
            TokenError::Store(e) => Some(e),
            _ => None,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            TokenError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            TokenError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            TokenError::CrossSiteRefused => StatusCode::FORBIDDEN,
            TokenError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            other => other.inner().map_or(StatusCode::BAD_REQUEST, |e| e.status()),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidClient { .. } => "invalid_client",
            TokenError::InvalidGrant => "invalid_grant",
            TokenError::UnauthorizedClient => "unauthorized_client",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::InvalidScope => "invalid_scope",
            TokenError::AuthorizationPending => "authorization_pending",
            TokenError::SlowDown => "slow_down",
            TokenError::AccessDenied => "access_denied",
            TokenError::ExpiredToken => "expired_token",
            TokenError::Internal(_) => "server_error",
            other => other.inner().map_or("invalid_request", |e| e.code()),
        }
    }

    fn error_description(&self) -> Option<Cow<'_, str>> {
        let d = match self {
            TokenError::InvalidRequest(d) => d,
            TokenError::InvalidClient { .. } => "client authentication failed",
            TokenError::InvalidGrant => "the credentials or grant are invalid, expired or revoked",
            TokenError::UnauthorizedClient => "this client may not use this grant type",
            TokenError::InvalidScope => "the requested scope is invalid, unknown or exceeds the grant",
            TokenError::AuthorizationPending => "the user has not yet approved this device",
            TokenError::SlowDown => "polling too often: wait five seconds more between polls",
            TokenError::AccessDenied => "the user denied this device",
            TokenError::ExpiredToken => "the device code has expired: start again",
            TokenError::PayloadTooLarge => "request body too large",
            TokenError::CrossSiteRefused => "cross-site request refused",
            TokenError::Store(StoreError::Unavailable(_)) => "the service is temporarily unavailable; retry later",
            _ => return None,
        };
        Some(Cow::Borrowed(d))
    }

    fn headers(&self, h: &mut HeaderMap) {
        // RFC 6749 §5.1/§5.2: token responses, errors included, are never cached.
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match self {
            TokenError::InvalidClient { basic: true } => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"oasis\", charset=\"UTF-8\""),
                );
            }
            other => {
                if let Some(e) = other.inner() {
                    e.headers(h);
                }
            }
        }
    }
}
