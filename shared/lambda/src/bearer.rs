//! Bearer tokens on resource routes (RFC 6750): extraction, verification, scope, and the
//! check that the token's user or client has not been cut off since it was issued.

use std::borrow::Cow;

use lambda_http::http::{HeaderMap, HeaderValue, StatusCode, header};
use lambda_http::{Request, RequestExt};
use oasis_auth::keyring::KeyRing;
use oasis_auth::token::VerifiedClaims;
use oasis_domain::{ClientId, UserId};
use oasis_store::{Client, PrincipalStore, StoreError, User};

use crate::error::{ApiError, Refusal};

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
}

impl ApiError for BearerError {
    fn status(&self) -> StatusCode {
        match self {
            BearerError::Missing | BearerError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            BearerError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            BearerError::InsufficientScope(_) => StatusCode::FORBIDDEN,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            // RFC 6750 §3.1: no error code when the request carried no credentials.
            BearerError::Missing => "unauthorized",
            BearerError::InvalidRequest(_) => "invalid_request",
            BearerError::InvalidToken(_) => "invalid_token",
            BearerError::InsufficientScope(_) => "insufficient_scope",
        }
    }

    fn error_description(&self) -> Option<Cow<'_, str>> {
        match self {
            BearerError::InvalidRequest(d) => Some(Cow::Borrowed(d)),
            _ => None,
        }
    }

    fn extra_member(&self) -> Option<(&'static str, &'static str)> {
        match self {
            BearerError::InsufficientScope(scope) => Some(("scope", scope)),
            _ => None,
        }
    }

    fn headers(&self, headers: &mut HeaderMap) {
        let challenge = match self {
            BearerError::Missing => r#"Bearer realm="oasis""#.to_owned(),
            BearerError::InsufficientScope(scope) => {
                format!(r#"Bearer realm="oasis", error="insufficient_scope", scope="{scope}""#)
            }
            other => format!(r#"Bearer realm="oasis", error="{}""#, other.code()),
        };
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            headers.insert(header::WWW_AUTHENTICATE, v);
        }
    }

    fn refusal(&self) -> Option<Refusal> {
        Some(Refusal { metric: "TokenRejected", signal: "token_rejected", reason: self.reason() })
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
async fn authorize(keys: &KeyRing, req: &Request, scope: &'static str) -> Result<VerifiedClaims, BearerError> {
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
        client_id: ClientId,
    },
}

/// Looks the token's subject up: `None` when the user or client is gone, disabled, or had
/// its tokens cut off after this one was issued. This is what makes revocation immediate.
async fn principal(store: &dyn PrincipalStore, claims: &VerifiedClaims) -> Result<Option<Principal>, StoreError> {
    // A client id or subject that does not parse names nobody (the token was signed by us, so
    // this would be a bug or a retired id format, never a lookup of attacker-chosen text).
    let Ok(client_id) = ClientId::parse(claims.client_id()) else { return Ok(None) };
    let live = |c: Option<Client>| c.is_some_and(|c| !c.disabled);
    if claims.subject() == claims.client_id() {
        return Ok(live(store.client(&client_id).await?).then_some(Principal::Client { client_id }));
    }
    let Ok(user_id) = UserId::parse(claims.subject()) else { return Ok(None) };
    // A user's token dies with its client too (disabled for a leak, say): both are read at
    // once, so the second lookup adds no round trip.
    let (user, client) = tokio::join!(store.user_by_id(&user_id), store.client(&client_id));
    let (user, client_live) = (user?, live(client?));
    Ok(user.filter(|u| client_live && !u.disabled && claims.generation() == u.token_generation).map(Principal::User))
}

/// A request's verified token and the live principal it speaks for: only [`authenticate`]
/// makes one, so holding it proves both checks happened.
#[derive(Debug)]
pub struct Caller {
    pub claims: VerifiedClaims,
    pub principal: Principal,
}

/// Verifies the request's access token, requires `scope`, and looks its subject up: a user or
/// client gone, disabled or cut off since the token was issued is refused as `revoked`.
pub async fn authenticate<E>(
    keys: &KeyRing,
    store: &dyn PrincipalStore,
    req: &Request,
    scope: &'static str,
) -> Result<Caller, E>
where
    E: From<BearerError> + From<StoreError>,
{
    let claims = authorize(keys, req, scope).await?;
    match principal(store, &claims).await? {
        Some(principal) => Ok(Caller { claims, principal }),
        None => Err(BearerError::InvalidToken("revoked").into()),
    }
}
