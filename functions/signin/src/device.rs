//! `GET/POST /device`: a person approves (or denies) a device's sign-in (RFC 8628 §3.3).
//!
//! 1. Enter the code the device shows (or arrive from its QR code with `?user_code=`).
//! 2. Review: which app asks, for what, on which code; sign in; approve or deny.
//! 3. Done: the device's next poll gets its tokens (or `access_denied`).
//!
//! Wrong codes are counted per source address and lock code entry (§5.1: a code is short
//! enough to guess without that); the review names the client and its scopes (§5.4: a code
//! someone else started is not approved blind); passwords take the same sign-in path, with
//! the same lock-out, as the token endpoint.

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use oasis_auth::password::MAX_PASSWORD_BYTES;
use oasis_domain::{UserCode, Username};
use oasis_lambda::RequestMeta;
use oasis_lambda::form::{self, Form, FormError};
use oasis_login::{LoginError, SignedIn};
use oasis_store::{Client, DeviceDecision, DeviceGrant, DeviceGrantState, User, throttle_key};

use crate::page::{alert, escape, query_param, render};
use crate::{App, MAX_BODY_BYTES, SignInError, csrf, session};

const TITLE_ENTER: &str = "Sign in a device";
const TITLE_REVIEW: &str = "Approve this device?";

pub(crate) async fn serve(app: &App, meta: &RequestMeta, req: &Request) -> Result<Response<Body>, SignInError> {
    let (token, set_cookie) = csrf::token(req);
    let mut resp = if meta.method == Method::POST { post(app, meta, req, &token).await? } else { get(req, &token) };
    if let Some(cookie) = set_cookie {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(resp)
}

/// A link (the TV's QR code, `verification_uri_complete`) fills the code in and looks
/// nothing up: the person confirms it with one click, a post that carries the CSRF token, so
/// a cross-site page cannot spend a network's wrong-code budget with image requests, and a
/// link someone else sent shows its code before anything else (RFC 8628 §5.4).
fn get(req: &Request, token: &str) -> Response<Body> {
    let typed = query_param(req, "user_code").unwrap_or_default();
    let shown = UserCode::parse(&typed).map(|c| c.display()).unwrap_or_default();
    enter_page(StatusCode::OK, token, &shown, None)
}

async fn post(app: &App, meta: &RequestMeta, req: &Request, token: &str) -> Result<Response<Body>, SignInError> {
    let form = match form::read(req, MAX_BODY_BYTES) {
        Ok(form) => form,
        Err(FormError::TooLarge) => {
            return Ok(enter_page(StatusCode::PAYLOAD_TOO_LARGE, token, "", Some("That form was too large.")));
        }
        Err(_) => {
            return Ok(enter_page(
                StatusCode::BAD_REQUEST,
                token,
                "",
                Some("That form could not be read. Please try again."),
            ));
        }
    };
    if let Err(forged) = csrf::check(req, meta, &app.origin, form.get("csrf")) {
        forged.report();
        let msg = "This form has expired or did not come from this site. Please enter the code again.";
        return Ok(enter_page(StatusCode::FORBIDDEN, token, "", Some(msg)));
    }
    let typed = form.get("user_code").unwrap_or_default();
    match form.get("action") {
        Some("approve") => decide(app, meta, req, token, typed, &form, true).await,
        Some("deny") => decide(app, meta, req, token, typed, &form, false).await,
        _ => lookup(app, meta, req, token, typed).await,
    }
}

/// Step 1 → 2: the code a person typed, counted against their address when wrong.
async fn lookup(
    app: &App,
    meta: &RequestMeta,
    req: &Request,
    token: &str,
    typed: &str,
) -> Result<Response<Body>, SignInError> {
    match find(app, meta, typed).await? {
        Found::Grant(found) => {
            let (grant, client) = *found;
            let user = session::current(app, req, oasis_auth::now()).await?;
            Ok(review_page(StatusCode::OK, token, &grant, &client, user.as_ref(), "", None))
        }
        Found::Refused(status, message) => Ok(enter_page(status, token, typed, Some(message))),
    }
}

enum Found {
    Grant(Box<(DeviceGrant, Client)>),
    Refused(StatusCode, &'static str),
}

const WRONG_CODE: &str = "That code is not valid or has expired. Check the code on your device and try again.";
const TOO_MANY: &str = "Too many wrong codes from your network. Please wait a few minutes and try again.";

/// The pending grant a typed code names, with its client's name; wrong codes counted.
async fn find(app: &App, meta: &RequestMeta, typed: &str) -> Result<Found, SignInError> {
    let now = oasis_auth::now();
    let Ok(code) = UserCode::parse(typed) else {
        // Not a code at all: a typo, not a guess; nothing to count.
        return Ok(Found::Refused(StatusCode::BAD_REQUEST, WRONG_CODE));
    };
    let key = format!("code-{}", throttle_key::address(meta.source_ip.as_deref().unwrap_or("unknown")));
    let policy = app.settings.code_entry_lockout;
    if app.store.attempts(&key, now).await?.is_some_and(|a| a.locked_until > now) {
        return Ok(locked_out());
    }
    // Counted before the lookup, as sign-in counts before the password check: parallel guesses
    // all pass the check above, but each gets its own count, and from the threshold on only
    // the one that takes the lock is looked up. A code that turns out to exist is taken back.
    let counted = app.store.record_failure(&key, now, now + policy.window_seconds).await?;
    let mut took = None;
    if let Some(lock) = policy.lock_seconds(counted.failures) {
        if !app.store.try_lock(&key, now, now + lock, now + policy.window_seconds.max(lock)).await? {
            return Ok(locked_out());
        }
        took = Some(now + lock);
    }
    let grant = app.store.device_grant_by_user_code(&code, now).await?;
    let client = match &grant {
        Some(g) => app.store.client(&g.client_id).await?.filter(|c| !c.disabled),
        None => None,
    };
    if let (Some(g), Some(c)) = (grant, client) {
        app.store.forgive_failure(&key, now).await?;
        if let Some(until) = took {
            app.store.release_lock(&key, until).await?;
        }
        return Ok(if g.state == DeviceGrantState::Pending {
            Found::Grant(Box::new((g, c)))
        } else {
            Found::Refused(StatusCode::BAD_REQUEST, "This code has already been used.")
        });
    }
    oasis_lambda::metrics::signal("DeviceCodeGuessing", Some("wrong_code"));
    tracing::warn!(
        signal = "device_code_guessing",
        reason = "wrong_code",
        failures = counted.failures,
        "wrong device code"
    );
    Ok(Found::Refused(StatusCode::BAD_REQUEST, WRONG_CODE))
}

fn locked_out() -> Found {
    oasis_lambda::metrics::signal("DeviceCodeGuessing", Some("locked"));
    tracing::warn!(signal = "device_code_guessing", reason = "locked", "code entry refused while locked");
    Found::Refused(StatusCode::TOO_MANY_REQUESTS, TOO_MANY)
}

/// Step 2 → 3: approve (after signing in) or deny.
async fn decide(
    app: &App,
    meta: &RequestMeta,
    req: &Request,
    token: &str,
    typed: &str,
    form: &Form,
    approve: bool,
) -> Result<Response<Body>, SignInError> {
    let (grant, client) = match find(app, meta, typed).await? {
        Found::Grant(found) => *found,
        Found::Refused(status, message) => return Ok(enter_page(status, token, typed, Some(message))),
    };
    let now = oasis_auth::now();
    if !approve {
        if app.store.decide_device_grant(&grant.user_code, &DeviceDecision::Deny, now).await? {
            oasis_lambda::metrics::signal("DeviceCodeDenied", None);
            tracing::info!(signal = "device_code_denied", "device sign-in denied by its user");
        }
        let body = "<p>The device will not be signed in. You can close this page.</p>";
        return Ok(render(StatusCode::OK, "Device not signed in", body));
    }
    let ceiling = grant.scope.intersection(&client.scopes);
    let raw_username = form.get("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    // Signed in already, and no password typed: approve as the session's user.
    let current = session::current(app, req, now).await?;
    let (user, scope, cookie) = match current {
        Some(user) if password.is_empty() => {
            let scope = ceiling.intersection(&user.scopes);
            (user, scope, None)
        }
        _ => {
            const BAD: &str = "Wrong username or password.";
            let bad = |status| review_page(status, token, &grant, &client, None, raw_username, Some(BAD));
            let username = match Username::parse(raw_username) {
                Ok(u) if !password.is_empty() && password.len() <= MAX_PASSWORD_BYTES => u,
                _ => return Ok(bad(StatusCode::BAD_REQUEST)),
            };
            let signed_in = app.login().sign_in(&username, password, meta.source_ip.as_deref(), &ceiling, now).await;
            let SignedIn { user, scope } = match signed_in {
                Ok(s) => s,
                Err(LoginError::Refused) => return Ok(bad(StatusCode::BAD_REQUEST)),
                Err(LoginError::Store(e)) => return Err(e.into()),
            };
            let cookie = session::start(app, req, &user, now).await?;
            (user, scope, Some(cookie))
        }
    };
    if scope.is_empty() {
        let msg = "Your account holds nothing this device asks for.";
        return Ok(enter_page(StatusCode::FORBIDDEN, token, "", Some(msg)));
    }
    let decision = DeviceDecision::Approve { user_id: user.id, scope, user_generation: user.token_generation };
    if !app.store.decide_device_grant(&grant.user_code, &decision, now).await? {
        let msg = "This code was approved or denied meanwhile, or has expired.";
        return Ok(enter_page(StatusCode::CONFLICT, token, "", Some(msg)));
    }
    oasis_lambda::metrics::signal("DeviceCodeApproved", None);
    tracing::info!(signal = "device_code_approved", "device sign-in approved by its user");
    let body = format!(
        "<p>You are signed in on <strong>{}</strong>. You can return to your device now; it will continue by itself.</p>",
        escape(&client.name)
    );
    let mut resp = render(StatusCode::OK, "Device signed in", &body);
    if let Some(cookie) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(resp)
}

/// `GET /device/qr?user_code=…`: the QR code a TV shows beside its code, an SVG of the
/// verification link with the code filled in (RFC 8628 §3.3.1), so a phone's camera opens
/// the review page directly. Only a well-formed code is encoded: the image can carry no
/// other text, and a code that does not exist gives a link to "not valid".
pub(crate) fn qr(app: &App, req: &Request) -> Response<Body> {
    let Some(code) = query_param(req, "user_code").and_then(|c| UserCode::parse(&c).ok()) else {
        return render(
            StatusCode::BAD_REQUEST,
            "Sign-in problem",
            &alert("A QR code needs a user_code like BCDF-GHJK."),
        );
    };
    let svg = verification_qr(&app.settings.issuer_url, &code);
    let mut resp = Response::new(Body::Text(svg));
    resp.headers_mut().insert(header::CONTENT_TYPE, lambda_http::http::HeaderValue::from_static("image/svg+xml"));
    resp
}

/// The SVG QR code of `{issuer}/device?user_code=XXXX-XXXX`.
pub fn verification_qr(issuer_url: &str, code: &UserCode) -> String {
    let link = format!("{}/device?user_code={}", issuer_url.trim_end_matches('/'), code.display());
    match qrcode::QrCode::new(link.as_bytes()) {
        Ok(qr) => qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(256, 256).build(),
        // A link this short always fits (a version-40 code holds 2,953 bytes).
        Err(_) => String::new(),
    }
}

fn enter_page(status: StatusCode, token: &str, typed: &str, error: Option<&str>) -> Response<Body> {
    let body = format!(
        "<p>Enter the code shown on your TV or device.</p>\n{error}\
<form method=\"post\" action=\"device\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{token}\">\n\
<input type=\"hidden\" name=\"action\" value=\"lookup\">\n\
<label for=\"user_code\">Code</label>\n\
<input id=\"user_code\" name=\"user_code\" value=\"{typed}\" placeholder=\"XXXX-XXXX\" maxlength=\"{max}\" \
autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" required autofocus>\n\
<div class=\"actions\"><button type=\"submit\">Continue</button></div>\n</form>",
        error = error.map(alert).unwrap_or_default(),
        token = escape(token),
        typed = escape(typed),
        max = UserCode::MAX_INPUT,
    );
    render(status, TITLE_ENTER, &body)
}

/// What a scope lets an app do, in words a person reads before approving.
pub(crate) fn describe(scope: &str) -> String {
    match scope {
        oasis_domain::scope::SEARCH => "Search the catalog".to_owned(),
        oasis_domain::scope::DATA_READ => "See your profile, entitlements and watchlist".to_owned(),
        oasis_domain::scope::ADMIN => "Read the data of any user (administrators only)".to_owned(),
        other => format!("Use “{other}”"),
    }
}

fn review_page(
    status: StatusCode,
    token: &str,
    grant: &DeviceGrant,
    client: &Client,
    signed_in: Option<&User>,
    username: &str,
    error: Option<&str>,
) -> Response<Body> {
    // Signed in: one click, no password; anyone else signs in on the form.
    let credentials = match signed_in {
        Some(user) => format!(
            "<p>Signed in as <strong>{}</strong>. Not you? Sign in below with your own account.</p>\n",
            escape(user.username.as_str())
        ),
        None => String::new(),
    };
    let scopes: String = grant.scope.iter().map(|s| format!("<li>{}</li>", escape(&describe(s)))).collect();
    let body = format!(
        "<p><strong>{client}</strong> wants to sign in to your account on the device showing \
<strong class=\"code\">{code}</strong>.</p>\n<p>It will be able to:</p>\n<ul class=\"scopes\">{scopes}</ul>\n\
<p class=\"note\">Only approve if you started this yourself, on a device in front of you, and the code matches.{third_party}</p>\n\
{error}{credentials}<form method=\"post\" action=\"device\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{token}\">\n\
<input type=\"hidden\" name=\"user_code\" value=\"{code}\">\n\
<label for=\"username\">Username</label>\n\
<input id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\">\n\
<label for=\"password\">Password</label>\n\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\n\
<div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"approve\">Approve</button>\n\
<button type=\"submit\" name=\"action\" value=\"deny\" class=\"secondary\">Deny</button></div>\n</form>",
        client = escape(&client.name),
        third_party = if client.first_party { "" } else { " This app is not made by Oasis." },
        code = escape(&grant.user_code.display()),
        error = error.map(alert).unwrap_or_default(),
        token = escape(token),
        username = escape(username),
    );
    render(status, TITLE_REVIEW, &body)
}
