//! The sign-in session: a `__Host-` cookie holding a random value whose hash names a stored
//! session. Created (a fresh value, never one the browser brought: no session fixation) at
//! each password sign-in, ended by signing out; idle after 30 minutes, over after 12 hours.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use oasis_auth::secret::{TOKEN_BYTES, random_token, token_hash};
use oasis_lambda::RequestMeta;
use oasis_store::{SignInSession, User};

use crate::{App, MAX_BODY_BYTES, SignInError, csrf, page};

pub(crate) const COOKIE: &str = "__Host-oasis_session";
pub(crate) const IDLE_SECONDS: u64 = 30 * 60;
pub(crate) const ABSOLUTE_SECONDS: u64 = 12 * 3600;

fn presented(req: &Request) -> Option<String> {
    oasis_lambda::cookie(req.headers(), COOKIE)
        .filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// The signed-in user, if the request carries a live session of a user still allowed in.
pub(crate) async fn current(app: &App, req: &Request, now: u64) -> Result<Option<User>, SignInError> {
    let Some(value) = presented(req) else { return Ok(None) };
    let Some(session) = app.store.touch_session(&token_hash(&value), now, now + IDLE_SECONDS).await? else {
        return Ok(None);
    };
    let user = app.store.user_by_id(&session.user_id).await?;
    Ok(user.filter(|u| !u.disabled && u.token_generation == session.user_generation))
}

/// Starts a session for `user` (ending the one the browser brought, if any) and returns the
/// cookie that carries it.
pub(crate) async fn start(app: &App, req: &Request, user: &User, now: u64) -> Result<HeaderValue, SignInError> {
    if let Some(old) = presented(req) {
        app.store.delete_session(&token_hash(&old)).await?;
    }
    let value = random_token(TOKEN_BYTES);
    let session = SignInSession {
        session_hash: token_hash(&value),
        user_id: user.id.clone(),
        user_generation: user.token_generation,
        created_at: now,
        idle_expires_at: now + IDLE_SECONDS,
        expires_at: now + ABSOLUTE_SECONDS,
    };
    app.store.create_session(&session).await?;
    Ok(cookie(&value, ABSOLUTE_SECONDS))
}

/// Ends the request's session and returns the cookie that clears it.
pub(crate) async fn end(app: &App, req: &Request) -> Result<HeaderValue, SignInError> {
    if let Some(value) = presented(req) {
        app.store.delete_session(&token_hash(&value)).await?;
    }
    Ok(cookie("", 0))
}

fn cookie(value: &str, max_age: u64) -> HeaderValue {
    let text = format!("{COOKIE}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Lax");
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("__Host-oasis_session=; Path=/; Max-Age=0"))
}

/// `POST /signout`: ends the session (a forged post cannot sign anyone out either).
pub(crate) async fn sign_out(app: &App, meta: &RequestMeta, req: &Request) -> Result<Response<Body>, SignInError> {
    let form = oasis_lambda::form::read(req, MAX_BODY_BYTES).ok();
    if let Err(forged) = csrf::check(req, meta, &app.origin, form.as_ref().and_then(|f| f.get("csrf"))) {
        forged.report();
        return Ok(page::render(
            StatusCode::FORBIDDEN,
            "Sign-in problem",
            &page::alert("This form has expired. Please try again."),
        ));
    }
    let cookie = end(app, req).await?;
    tracing::info!(signal = "signed_out", "signed out of the sign-in pages");
    let mut resp = page::render(StatusCode::OK, "Signed out", "<p>You are signed out on this browser.</p>");
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(resp)
}
