//! `POST /token`: the password, refresh_token and client_credentials grants.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use oasis_auth::password::MAX_PASSWORD_BYTES;
use oasis_auth::secret::{TOKEN_BYTES, open_under, random_token, seal_under, token_hash, verify_token_hash};
use oasis_auth::token::Grant;
use oasis_domain::GrantType;
use oasis_domain::scope::ScopeSet;
use oasis_domain::username::Username;
use oasis_lambda::RequestMeta;
use oasis_lambda::form::{self, Form};
use oasis_login::SignedIn;
use oasis_store::{Client, RefreshFamily, RefreshToken, Rotation, User};
use serde::Serialize;

use crate::client::{authenticate, check_same_site};
use crate::{App, MAX_BODY_BYTES, REFRESH_COOKIE, TokenError};

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    scope: String,
}

pub(crate) async fn token(app: &App, meta: &RequestMeta, req: &Request) -> Result<Response<Body>, TokenError> {
    let form = form::read(req, MAX_BODY_BYTES)?;
    let grant_type = form.get("grant_type").ok_or(TokenError::InvalidRequest("grant_type is required"))?;
    let grant_type = GrantType::parse(grant_type).map_err(|_| TokenError::UnsupportedGrantType)?;
    let client = authenticate(app, req, &form).await?;
    if !client.allows_grant(grant_type) {
        return Err(TokenError::UnauthorizedClient);
    }
    if client.refresh_in_cookie {
        check_same_site(&client, meta, req)?;
    }
    let now = oasis_auth::now();
    match grant_type {
        GrantType::Password => password(app, meta, &client, &form, now).await,
        GrantType::RefreshToken => refresh(app, &client, &form, req, now).await,
        GrantType::ClientCredentials => client_credentials(app, &client, &form, now).await,
        GrantType::DeviceCode => crate::device::redeem(app, &client, &form, now).await,
        GrantType::AuthorizationCode => crate::code::redeem(app, &client, &form, now).await,
    }
}

/// The `scope` parameter, refused early when malformed or naming a scope that does not exist.
pub(crate) fn requested_scope(form: &Form) -> Result<Option<ScopeSet>, TokenError> {
    let Some(raw) = form.get("scope") else {
        return Ok(None);
    };
    let scope = ScopeSet::parse(raw).map_err(|_| TokenError::InvalidScope)?;
    if scope.iter().all(|s| oasis_domain::scope::KNOWN.contains(&s)) {
        Ok(Some(scope))
    } else {
        Err(TokenError::InvalidScope)
    }
}

/// The scope to grant: what was asked for if it is within `allowed`, else all of `allowed`.
fn grant_scope(requested: Option<ScopeSet>, allowed: &ScopeSet) -> Result<ScopeSet, TokenError> {
    match requested {
        Some(r) if r.is_subset(allowed) => Ok(r),
        Some(_) => {
            oasis_lambda::metrics::signal("ScopeRefused", None);
            tracing::warn!(signal = "scope_refused", "requested scope exceeds the grant");
            Err(TokenError::InvalidScope)
        }
        None if allowed.is_empty() => Err(TokenError::InvalidScope),
        None => Ok(allowed.clone()),
    }
}

async fn password(
    app: &App,
    meta: &RequestMeta,
    client: &Client,
    form: &Form,
    now: u64,
) -> Result<Response<Body>, TokenError> {
    // RFC 9700 §2.4: the password grant is for first-party clients only.
    if !client.first_party {
        return Err(TokenError::UnauthorizedClient);
    }
    let raw_username = form.get("username").ok_or(TokenError::InvalidRequest("username is required"))?;
    let password = form.get("password").ok_or(TokenError::InvalidRequest("password is required"))?;
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(TokenError::InvalidRequest("password too long"));
    }
    let username = Username::parse(raw_username).map_err(|_| TokenError::InvalidRequest("malformed username"))?;
    let requested = requested_scope(form)?;
    // A scope beyond the client's is the client's mistake, refused before any password is
    // looked at: refusing it after the check would tell a right password from a wrong one.
    if let Some(r) = &requested
        && !r.is_subset(&client.scopes)
    {
        oasis_lambda::metrics::signal("ScopeRefused", None);
        tracing::warn!(signal = "scope_refused", "requested scope exceeds the client's");
        return Err(TokenError::InvalidScope);
    }

    let ceiling = requested.unwrap_or_else(|| client.scopes.clone());
    let SignedIn { user, scope } =
        app.login().sign_in(&username, password, meta.source_ip.as_deref(), &ceiling, now).await?;
    start_session(app, client, &user, &scope, now).await
}

/// Tokens for a user who just signed in: an access token, and a new refresh family when the
/// client may refresh.
pub(crate) async fn start_session(
    app: &App,
    client: &Client,
    user: &User,
    scope: &ScopeSet,
    now: u64,
) -> Result<Response<Body>, TokenError> {
    start_session_in(app, client, user, scope, random_token(16), now).await
}

/// [`start_session`] with the refresh family's id chosen by the caller (a code records it
/// before the family exists).
pub(crate) async fn start_session_in(
    app: &App,
    client: &Client,
    user: &User,
    scope: &ScopeSet,
    family_id: String,
    now: u64,
) -> Result<Response<Body>, TokenError> {
    if !client.allows_grant(GrantType::RefreshToken) {
        return issue(app, client, user, scope, None, now).await;
    }
    let refresh = random_token(TOKEN_BYTES);
    let family = RefreshFamily {
        family_id,
        user_id: user.id.clone(),
        client_id: client.client_id.clone(),
        scope: scope.to_string(),
        user_generation: user.token_generation,
        created_at: now,
        expires_at: now + app.settings.refresh_absolute_ttl,
        revoked: false,
    };
    let first = new_refresh_token(app, &refresh, &family, now);
    app.store.create_family(&family, &first).await?;
    issue(app, client, user, scope, Some((&refresh, &family)), now).await
}

fn new_refresh_token(app: &App, token: &str, family: &RefreshFamily, now: u64) -> RefreshToken {
    RefreshToken {
        token_hash: token_hash(token),
        family_id: family.family_id.clone(),
        issued_at: now,
        idle_expires_at: (now + app.settings.refresh_idle_ttl).min(family.expires_at),
        rotated_at: None,
        expires_at: family.expires_at,
        successor: None,
        reissued: false,
    }
}

async fn refresh(
    app: &App,
    client: &Client,
    form: &Form,
    req: &Request,
    now: u64,
) -> Result<Response<Body>, TokenError> {
    let presented = if client.refresh_in_cookie {
        if form.has("refresh_token") {
            return Err(TokenError::InvalidRequest("this client's refresh token travels in its cookie"));
        }
        oasis_lambda::cookie(req.headers(), REFRESH_COOKIE)
            .ok_or(TokenError::InvalidRequest("refresh_token is required"))?
    } else {
        form.get("refresh_token").ok_or(TokenError::InvalidRequest("refresh_token is required"))?.to_owned()
    };
    let requested = requested_scope(form)?;
    if presented.len() > 256 {
        return Err(TokenError::InvalidGrant);
    }
    let Some((token, family)) = app.store.refresh_token(&token_hash(&presented)).await? else {
        oasis_lambda::metrics::signal("RefreshFailed", Some("unknown"));
        tracing::warn!(signal = "refresh_failed", reason = "unknown", "unknown refresh token");
        return Err(TokenError::InvalidGrant);
    };
    if family.client_id != client.client_id {
        // A token presented by another client is stolen or confused; it proves nothing.
        oasis_lambda::metrics::signal("RefreshFailed", Some("wrong_client"));
        tracing::warn!(signal = "refresh_failed", reason = "wrong_client", "refresh token of another client");
        return Err(TokenError::InvalidGrant);
    }
    if family.revoked {
        oasis_lambda::metrics::signal("RefreshFailed", Some("revoked"));
        tracing::warn!(signal = "refresh_failed", reason = "revoked", "refresh token family revoked");
        return Err(TokenError::InvalidGrant);
    }
    if token.rotated_at.is_some() {
        return retried(app, client, &presented, &token, &family, requested, now).await;
    }
    if token.idle_expires_at <= now || family.expires_at <= now {
        oasis_lambda::metrics::signal("RefreshFailed", Some("expired"));
        tracing::warn!(signal = "refresh_failed", reason = "expired", "refresh token expired");
        return Err(TokenError::InvalidGrant);
    }
    let Some(user) = live_user(app, &family).await? else { return Err(TokenError::InvalidGrant) };
    let scope = refresh_scope(requested.clone(), &family, client, &user)?;
    let next = random_token(TOKEN_BYTES);
    // The successor, sealed under the token it replaces and the server's secret: what a retry
    // within the grace window gets back (only with `presented` and the keys does it open; a
    // copy of the store, even with an old token, opens nothing).
    let signing = app.signing().await.map_err(|e| TokenError::Internal(Box::new(e)))?;
    let sealed = signing
        .sealing
        .first()
        .and_then(|secret| seal_under(secret, &presented, &next))
        .ok_or_else(|| TokenError::Internal("sealing the successor failed".into()))?;
    match app.store.rotate(&token.token_hash, &new_refresh_token(app, &next, &family, now), &sealed, now).await? {
        Rotation::Rotated => {
            oasis_lambda::metrics::signal("RefreshRotated", None);
            tracing::info!(signal = "refresh_rotated", "refresh token rotated");
            issue(app, client, &user, &scope, Some((&next, &family)), now).await
        }
        // Lost a race with another use of the same token: within the grace window the winner's
        // successor is what every caller gets; outside it, this is reuse.
        Rotation::AlreadyUsed => match app.store.refresh_token(&token.token_hash).await? {
            Some((token, family)) if token.rotated_at.is_some() => {
                retried(app, client, &presented, &token, &family, requested, now).await
            }
            _ => reuse_detected(app, &family.family_id).await,
        },
    }
}

/// A rotated refresh token presented again. Within the grace window after its rotation, and
/// while its successor is unused, the client gets that same successor back (with a new access
/// token): a client that lost the response, or several requests racing with one token, end up
/// holding the one live token of the family. The same successor rather than a fresh one,
/// because a fresh one would either fork the family into two live chains or kill the
/// successor a faster request already handed out. Anything else is reuse (RFC 9700 §4.14.2).
async fn retried(
    app: &App,
    client: &Client,
    presented: &str,
    token: &RefreshToken,
    family: &RefreshFamily,
    requested: Option<ScopeSet>,
    now: u64,
) -> Result<Response<Body>, TokenError> {
    let within = token.rotated_at.is_some_and(|at| now <= at.saturating_add(app.settings.refresh_grace));
    // A token a retry already handed out a second time gets no window of its own: otherwise a
    // thief refreshing just before the victim, every time, would share the chain unseen.
    let open = app.settings.refresh_grace > 0 && within && !token.reissued;
    let successor = match (&token.successor, open) {
        (Some(s), true) => {
            let signing = app.signing().await.map_err(|e| TokenError::Internal(Box::new(e)))?;
            open_under(&signing.sealing, presented, &s.sealed).filter(|next| verify_token_hash(next, &s.token_hash))
        }
        _ => None,
    };
    let Some(next) = successor else { return reuse_detected(app, &family.family_id).await };
    let Some((live, family)) = app.store.refresh_token(&token_hash(&next)).await? else {
        return reuse_detected(app, &family.family_id).await;
    };
    if live.rotated_at.is_some() || family.revoked || live.idle_expires_at <= now || family.expires_at <= now {
        // The successor was used (or its family ended): whoever holds this old token now is
        // not the client that holds the chain.
        return reuse_detected(app, &family.family_id).await;
    }
    let Some(user) = live_user(app, &family).await? else { return Err(TokenError::InvalidGrant) };
    let scope = refresh_scope(requested, &family, client, &user)?;
    app.store.mark_reissued(&live.token_hash).await?;
    oasis_lambda::metrics::signal("RefreshGraceUsed", None);
    tracing::info!(signal = "refresh_grace_used", "rotated refresh token retried within the grace window");
    issue(app, client, &user, &scope, Some((&next, &family)), now).await
}

/// The family's scope is the ceiling, further bounded by what client and user may still have.
fn refresh_scope(
    requested: Option<ScopeSet>,
    family: &RefreshFamily,
    client: &Client,
    user: &User,
) -> Result<ScopeSet, TokenError> {
    let family_scope = ScopeSet::parse(&family.scope).unwrap_or_default();
    grant_scope(requested, &family_scope.intersection(&client.scopes).intersection(&user.scopes))
}

/// The family's user, unless disabled or cut off since the family began (which ends the family).
async fn live_user(app: &App, family: &RefreshFamily) -> Result<Option<User>, TokenError> {
    let user = app.store.user_by_id(&family.user_id).await?;
    let live = user.filter(|u| !u.disabled && u.token_generation == family.user_generation);
    if live.is_none() {
        app.store.revoke_family(&family.family_id).await?;
        oasis_lambda::metrics::signal("RefreshFailed", Some("user_cut_off"));
        tracing::warn!(signal = "refresh_failed", reason = "user_cut_off", "user disabled or tokens cut off");
    }
    Ok(live)
}

/// RFC 9700 §4.14.2: a rotated refresh token presented again means two parties hold it.
/// The whole family is revoked, so the thief's copy and the victim's both stop working.
async fn reuse_detected(app: &App, family_id: &str) -> Result<Response<Body>, TokenError> {
    app.store.revoke_family(family_id).await?;
    oasis_lambda::metrics::signal("RefreshReuseDetected", None);
    tracing::warn!(signal = "refresh_reuse_detected", "refresh token reuse: family revoked");
    Err(TokenError::InvalidGrant)
}

async fn client_credentials(app: &App, client: &Client, form: &Form, now: u64) -> Result<Response<Body>, TokenError> {
    if !client.is_confidential() {
        return Err(TokenError::UnauthorizedClient);
    }
    let allowed = client.scopes.clone();
    let scope = grant_scope(requested_scope(form)?, &allowed)?;
    let id = client.client_id.as_str();
    let grant = Grant { subject: id, client_id: id, scope: &scope, maturity: None, generation: None };
    let signing = app.signing().await.map_err(|e| TokenError::Internal(Box::new(e)))?;
    let issued = signing.issuer.issue(&grant, now).map_err(|e| TokenError::Internal(Box::new(e)))?;
    Ok(token_response(&issued.token, issued.expires_in, None, &scope))
}

async fn issue(
    app: &App,
    client: &Client,
    user: &User,
    scope: &ScopeSet,
    refresh: Option<(&str, &RefreshFamily)>,
    now: u64,
) -> Result<Response<Body>, TokenError> {
    let grant = Grant {
        subject: user.id.as_str(),
        client_id: client.client_id.as_str(),
        scope,
        maturity: Some(user.maturity),
        generation: Some(user.token_generation),
    };
    let signing = app.signing().await.map_err(|e| TokenError::Internal(Box::new(e)))?;
    let issued = signing.issuer.issue(&grant, now).map_err(|e| TokenError::Internal(Box::new(e)))?;
    match refresh {
        Some((token, family)) if client.refresh_in_cookie => {
            let mut resp = token_response(&issued.token, issued.expires_in, None, scope);
            let max_age = family.expires_at.saturating_sub(now);
            let cookie =
                format!("{REFRESH_COOKIE}={token}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict");
            let value = HeaderValue::from_str(&cookie).map_err(|e| TokenError::Internal(Box::new(e)))?;
            resp.headers_mut().append(header::SET_COOKIE, value);
            Ok(resp)
        }
        Some((token, _)) => Ok(token_response(&issued.token, issued.expires_in, Some(token), scope)),
        None => Ok(token_response(&issued.token, issued.expires_in, None, scope)),
    }
}

fn token_response(access: &str, expires_in: u64, refresh: Option<&str>, scope: &ScopeSet) -> Response<Body> {
    let body = TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in,
        refresh_token: refresh,
        scope: scope.to_string(),
    };
    let mut resp = oasis_lambda::json(StatusCode::OK, &body);
    resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}
