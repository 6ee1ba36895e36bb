//! Bearer tokens on resource routes (RFC 6750): extraction, verification, scope, and the
//! check that the token's user or client has not been cut off since it was issued.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use oasis_auth::keyring::KeyRing;
use oasis_auth::token::VerifiedClaims;
use oasis_store::{Store, StoreError, User};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// No credentials at all: a bare challenge, no error code (RFC 6750 §3.1).
    #[error("no access token")]
    Missing,
    #[error("malformed request: {0}")]
    InvalidRequest(&'static str),
    /// The token was refused; the reason is logged and counted, never sent.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    #[error("insufficient scope: {0} required")]
    InsufficientScope(&'static str),
}

impl BearerError {
    /// Label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            BearerError::Missing => "missing",
            BearerError::InvalidRequest(_) => "invalid_request",
            BearerError::InvalidToken(r) => r,
            BearerError::InsufficientScope(_) => "insufficient_scope",
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let (status, challenge, body) = match &self {
            BearerError::Missing => (StatusCode::UNAUTHORIZED, r#"Bearer realm="oasis""#.to_owned(), None),
            BearerError::InvalidRequest(d) => (
                StatusCode::BAD_REQUEST,
                r#"Bearer realm="oasis", error="invalid_request""#.to_owned(),
                Some(serde_json::json!({"error": "invalid_request", "error_description": d})),
            ),
            BearerError::InvalidToken(_) => (
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="oasis", error="invalid_token""#.to_owned(),
                Some(serde_json::json!({"error": "invalid_token"})),
            ),
            BearerError::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                format!(r#"Bearer realm="oasis", error="insufficient_scope", scope="{scope}""#),
                Some(serde_json::json!({"error": "insufficient_scope", "scope": scope})),
            ),
        };
        let mut resp = match body {
            Some(b) => crate::json(status, &b),
            None => crate::json(status, &serde_json::json!({"error": "unauthorized"})),
        };
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

/// The token from `Authorization: Bearer …`. Tokens in the query string are refused, not
/// ignored: URLs end up in logs, histories and Referer headers (RFC 6750 §2.3, §5.3).
pub fn bearer_token(req: &Request) -> Result<&str, BearerError> {
    if req.query_string_parameters_ref().is_some_and(|q| q.first("access_token").is_some()) {
        return Err(BearerError::InvalidRequest("access tokens are not accepted in the URL"));
    }
    let headers = req.headers();
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Err(BearerError::InvalidRequest("more than one Authorization header"));
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(BearerError::Missing);
    };
    let value = value.to_str().map_err(|_| BearerError::InvalidRequest("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("bearer") => {
            Err(BearerError::InvalidRequest("empty bearer token"))
        }
        _ => Err(BearerError::Missing),
    }
}

/// Verifies the request's access token and requires `scope`.
pub async fn authorize(keys: &KeyRing, req: &Request, scope: &'static str) -> Result<VerifiedClaims, BearerError> {
    let token = bearer_token(req)?;
    let claims = keys.verify(token).await.map_err(|r| BearerError::InvalidToken(r.reason()))?;
    if !claims.has_scope(scope) {
        return Err(BearerError::InsufficientScope(scope));
    }
    Ok(claims)
}

/// Who a verified token speaks for, as the store knows them now.
#[derive(Debug, Clone)]
pub enum Principal {
    User(User),
    /// A client acting for itself (client_credentials): `sub` is its client id.
    Client {
        client_id: String,
    },
}

/// Looks the token's subject up: `None` when the user or client is gone, disabled, or had
/// its tokens cut off after this one was issued. This is what makes revocation immediate.
pub async fn principal(store: &dyn Store, claims: &VerifiedClaims) -> Result<Option<Principal>, StoreError> {
    if claims.subject() == claims.client_id() {
        let client = store.client(claims.client_id()).await?;
        return Ok(client.filter(|c| !c.disabled).map(|c| Principal::Client { client_id: c.client_id }));
    }
    let user = store.user_by_id(claims.subject()).await?;
    Ok(user.filter(|u| !u.disabled && claims.issued_at() >= u.tokens_valid_after).map(Principal::User))
}
