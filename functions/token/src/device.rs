//! The device authorization grant (RFC 8628): `POST /device_authorization` starts one, and
//! the token endpoint's `urn:ietf:params:oauth:grant-type:device_code` grant redeems it once
//! its user approved it on the sign-in pages (`/device`).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use oasis_auth::secret::{TOKEN_BYTES, random_bytes, random_token, token_hash};
use oasis_domain::{GrantType, UserCode};
use oasis_lambda::form::{self, Form};
use oasis_store::{Client, DeviceGrant, DeviceGrantState, DevicePoll, StoreError};
use serde::Serialize;

use crate::client::authenticate;
use crate::grants::{requested_scope, start_session};
use crate::{App, MAX_BODY_BYTES, TokenError};

/// How long a device code lives (RFC 8628 §3.2 `expires_in`).
pub(crate) const DEVICE_CODE_TTL: u64 = 900;
/// The polling interval a device starts with, and what each `slow_down` adds (§3.5).
pub(crate) const POLL_INTERVAL: u64 = 5;
pub(crate) const SLOW_DOWN_STEP: u64 = 5;

#[derive(Serialize)]
struct DeviceAuthorization<'a> {
    device_code: &'a str,
    user_code: &'a str,
    verification_uri: &'a str,
    verification_uri_complete: &'a str,
    expires_in: u64,
    interval: u64,
}

pub(crate) async fn authorize_device(app: &App, req: &Request) -> Result<Response<Body>, TokenError> {
    let form = form::read(req, MAX_BODY_BYTES)?;
    let client = authenticate(app, req, &form).await?;
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(TokenError::UnauthorizedClient);
    }
    let scope = match requested_scope(&form)? {
        Some(r) if r.is_subset(&client.scopes) => r,
        Some(_) => return Err(TokenError::InvalidScope),
        None if client.scopes.is_empty() => return Err(TokenError::InvalidScope),
        None => client.scopes.clone(),
    };
    let now = oasis_auth::now();
    // A clash of user codes with a live grant is possible (20^8 codes); draw again.
    for _ in 0..5 {
        let device_code = random_token(TOKEN_BYTES);
        let Some(user_code) = UserCode::from_random(&random_bytes(32)) else { continue };
        let grant = DeviceGrant {
            device_code_hash: token_hash(&device_code),
            user_code: user_code.clone(),
            client_id: client.client_id.clone(),
            scope: scope.clone(),
            created_at: now,
            expires_at: now + DEVICE_CODE_TTL,
            interval: POLL_INTERVAL,
            last_polled_at: None,
            state: DeviceGrantState::Pending,
        };
        match app.store.create_device_grant(&grant, now).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => continue,
            Err(e) => return Err(e.into()),
        }
        oasis_lambda::metrics::signal("DeviceCodeIssued", None);
        tracing::info!(signal = "device_code_issued", "device authorization started");
        let shown = user_code.display();
        let complete = format!("{}?user_code={shown}", app.verification_uri);
        let body = DeviceAuthorization {
            device_code: &device_code,
            user_code: &shown,
            verification_uri: &app.verification_uri,
            verification_uri_complete: &complete,
            expires_in: DEVICE_CODE_TTL,
            interval: POLL_INTERVAL,
        };
        return Ok(oasis_lambda::json(StatusCode::OK, &body));
    }
    Err(TokenError::Internal("no free user code after five draws".into()))
}

/// The device's poll at the token endpoint.
pub(crate) async fn redeem(app: &App, client: &Client, form: &Form, now: u64) -> Result<Response<Body>, TokenError> {
    let code = form.get("device_code").ok_or(TokenError::InvalidRequest("device_code is required"))?;
    if code.len() > 256 {
        return Err(refused("unknown", TokenError::InvalidGrant));
    }
    let hash = token_hash(code);
    // A device code of another client is unknown to this one (and its poll records nothing,
    // so a thief's polls cannot slow the rightful device down).
    let polled = app.store.poll_device_grant(&hash, &client.client_id, now, SLOW_DOWN_STEP).await?;
    let Some(DevicePoll { grant, slow_down }) = polled else {
        return Err(refused("unknown", TokenError::InvalidGrant));
    };
    if grant.expires_at <= now {
        return Err(refused("expired", TokenError::ExpiredToken));
    }
    if slow_down {
        oasis_lambda::metrics::signal("DeviceSlowDown", None);
        return Err(TokenError::SlowDown);
    }
    let (user_id, scope, approved_at_generation) = match grant.state {
        DeviceGrantState::Pending => return Err(TokenError::AuthorizationPending),
        DeviceGrantState::Denied => return Err(refused("denied", TokenError::AccessDenied)),
        DeviceGrantState::Redeemed => return Err(refused("redeemed", TokenError::InvalidGrant)),
        DeviceGrantState::Approved { user_id, scope, user_generation } => (user_id, scope, user_generation),
    };
    // Of concurrent polls of an approved grant, exactly one gets tokens.
    if !app.store.redeem_device_grant(&hash, now).await? {
        return Err(refused("redeemed", TokenError::InvalidGrant));
    }
    // The user may have been disabled or cut off, or the client's scopes narrowed, since the
    // approval.
    let user = app.store.user_by_id(&user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled && u.token_generation == approved_at_generation) else {
        return Err(refused("user_cut_off", TokenError::InvalidGrant));
    };
    let scope = scope.intersection(&client.scopes).intersection(&user.scopes);
    if scope.is_empty() {
        return Err(refused("no_scope", TokenError::InvalidGrant));
    }
    oasis_lambda::metrics::signal("DeviceCodeRedeemed", None);
    tracing::info!(signal = "device_code_redeemed", "device signed in");
    start_session(app, client, &user, &scope, now).await
}

fn refused(reason: &'static str, e: TokenError) -> TokenError {
    oasis_lambda::metrics::signal("DeviceCodeRefused", Some(reason));
    tracing::warn!(signal = "device_code_refused", reason, "device code refused");
    e
}
