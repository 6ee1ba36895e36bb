//! `GET/POST /authorize`: the authorization code flow (RFC 6749 §4.1) with PKCE (RFC 7636),
//! for browsers and phones signing in on our page instead of handing an app the password.
//!
//! An unknown client or a redirect URI it did not register gets an error page and never a
//! redirect (§4.1.2.1: an open redirector otherwise); every other problem goes back to the
//! client's redirect URI with `error`, `state` and `iss` (RFC 9207). A signed-in person
//! (session cookie) is not asked for the password again; third-party apps are shown a
//! consent page naming what they ask for. Codes are random, stored hashed, valid 60 s,
//! single-use, and bound to client, redirect URI, challenge, scope and user.

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use oasis_auth::password::MAX_PASSWORD_BYTES;
use oasis_auth::secret::{TOKEN_BYTES, random_token, token_hash};
use oasis_domain::{CodeChallenge, GrantType, ScopeSet, Username};
use oasis_lambda::RequestMeta;
use oasis_lambda::form::{self, Form};
use oasis_login::{LoginError, SignedIn};
use oasis_store::{AuthCode, Client, User};

use crate::page::{alert, escape, query_param, render, render_redirecting};
use crate::{App, MAX_BODY_BYTES, SignInError, csrf, device::describe, session};

/// How long a code may be redeemed (RFC 6749 §4.1.2 recommends at most ten minutes).
pub(crate) const CODE_TTL: u64 = 60;
/// How long a used code is remembered, so its replay revokes what it issued.
const CODE_KEPT: u64 = 86_400;
const MAX_STATE: usize = 512;

/// The authorization request's parameters: from the query on GET, from the form's hidden
/// fields on POST (checked again from scratch each time).
struct Params {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

const NAMES: [&str; 7] =
    ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"];

impl Params {
    fn from(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            response_type: get("response_type"),
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            scope: get("scope"),
            state: get("state"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
        }
    }

    fn values(&self) -> [&Option<String>; 7] {
        [
            &self.response_type,
            &self.client_id,
            &self.redirect_uri,
            &self.scope,
            &self.state,
            &self.code_challenge,
            &self.code_challenge_method,
        ]
    }

    /// The parameters as hidden fields, so the sign-in and consent forms carry the request.
    fn hidden(&self) -> String {
        NAMES
            .iter()
            .zip(self.values())
            .filter_map(|(n, v)| {
                v.as_ref().map(|v| format!("<input type=\"hidden\" name=\"{n}\" value=\"{}\">\n", escape(v)))
            })
            .collect()
    }
}

/// A request that passed every check: safe to answer at its redirect URI.
struct Valid {
    client: Client,
    redirect_uri: String,
    state: Option<String>,
    challenge: CodeChallenge,
    /// What was asked for (the client's scopes when nothing was).
    scope: ScopeSet,
}

/// Why a request failed: on an error page (the redirect URI cannot be trusted) or back at
/// the client (RFC 6749 §4.1.2.1).
enum Invalid {
    Page(&'static str),
    /// `pkce`: the PKCE failure this is (counted as `PkceRefused` by that reason, instead of
    /// `AuthorizeRefused`: one document carries one reason).
    Redirect {
        to: String,
        state: Option<String>,
        error: &'static str,
        description: &'static str,
        pkce: Option<&'static str>,
    },
}

async fn validate(app: &App, p: &Params) -> Result<Result<Valid, Invalid>, SignInError> {
    let client = match p.client_id.as_deref().map(oasis_domain::ClientId::parse) {
        Some(Ok(id)) => app.store.client(&id).await?.filter(|c| !c.disabled),
        _ => None,
    };
    let Some(client) = client else {
        return Ok(Err(Invalid::Page("This sign-in link names an app we do not know.")));
    };
    let Some(redirect_uri) = p.redirect_uri.clone().filter(|r| client.redirect_uris.iter().any(|reg| reg.matches(r)))
    else {
        return Ok(Err(Invalid::Page("This sign-in link would send you somewhere the app did not register.")));
    };
    let refused = |error, description, pkce| {
        Err(Invalid::Redirect { to: redirect_uri.clone(), state: p.state.clone(), error, description, pkce })
    };
    let back = |error, description| refused(error, description, None);
    if p.state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        return Ok(back("invalid_request", "state is too long"));
    }
    if p.response_type.as_deref() != Some("code") {
        return Ok(back("unsupported_response_type", "only response_type=code is supported"));
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Ok(back("unauthorized_client", "this client may not use the authorization code flow"));
    }
    // PKCE for every client, S256 only: a missing method means `plain` (RFC 7636 §4.3).
    let Some(challenge) = p.code_challenge.as_deref() else {
        return Ok(refused("invalid_request", "code_challenge is required (PKCE, S256)", Some("missing")));
    };
    if p.code_challenge_method.as_deref() != Some("S256") {
        return Ok(refused("invalid_request", "code_challenge_method must be S256", Some("not_s256")));
    }
    let Ok(challenge) = CodeChallenge::parse(challenge) else {
        return Ok(refused("invalid_request", "code_challenge must be 43 base64url characters", Some("malformed")));
    };
    let scope = match p.scope.as_deref().map(ScopeSet::parse) {
        None => client.scopes.clone(),
        Some(Ok(s)) if s.is_subset(&client.scopes) && !s.is_empty() => s,
        Some(_) => return Ok(back("invalid_scope", "the requested scope is invalid, unknown or exceeds the client's")),
    };
    Ok(Ok(Valid { redirect_uri, state: p.state.clone(), challenge, scope, client }))
}

pub(crate) async fn serve(app: &App, meta: &RequestMeta, req: &Request) -> Result<Response<Body>, SignInError> {
    let (token, set_cookie) = csrf::token(req);
    let mut resp =
        if meta.method == Method::POST { post(app, meta, req, &token).await? } else { get(app, req, &token).await? };
    if let Some(cookie) = set_cookie {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(resp)
}

async fn get(app: &App, req: &Request, token: &str) -> Result<Response<Body>, SignInError> {
    let p = Params::from(|n| query_param(req, n));
    let valid = match validate(app, &p).await? {
        Ok(v) => v,
        Err(invalid) => return Ok(refuse(app, invalid)),
    };
    let now = oasis_auth::now();
    match session::current(app, req, now).await? {
        Some(user) => proceed(app, &p, &valid, &user, token, false, now).await,
        None => Ok(signin_page(StatusCode::OK, &p, &valid, token, "", None)),
    }
}

async fn post(app: &App, meta: &RequestMeta, req: &Request, token: &str) -> Result<Response<Body>, SignInError> {
    let Ok(form) = form::read(req, MAX_BODY_BYTES) else {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "That form could not be read. Please start again from the app.",
        ));
    };
    let p = Params::from(|n| form.get(n).map(str::to_owned));
    if let Err(forged) = csrf::check(req, meta, &app.origin, form.get("csrf")) {
        forged.report();
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site. Please start again from the app.",
        ));
    }
    let valid = match validate(app, &p).await? {
        Ok(v) => v,
        Err(invalid) => return Ok(refuse(app, invalid)),
    };
    let now = oasis_auth::now();
    match form.get("action") {
        Some("signin") => signin(app, meta, req, &form, &p, &valid, token, now).await,
        Some(decision @ ("allow" | "deny")) => {
            // Consent needs the session it was shown to: a post without one starts over.
            let Some(user) = session::current(app, req, now).await? else {
                return Ok(signin_page(StatusCode::OK, &p, &valid, token, "", None));
            };
            if decision == "deny" {
                oasis_lambda::metrics::signal("ConsentDenied", None);
                return Ok(back(
                    app,
                    &valid.redirect_uri,
                    valid.state.as_deref(),
                    Err(("access_denied", "the user denied the request")),
                ));
            }
            issue(app, &valid, &user, now).await
        }
        _ => Ok(signin_page(StatusCode::OK, &p, &valid, token, "", None)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn signin(
    app: &App,
    meta: &RequestMeta,
    req: &Request,
    form: &Form,
    p: &Params,
    valid: &Valid,
    token: &str,
    now: u64,
) -> Result<Response<Body>, SignInError> {
    const BAD: &str = "Wrong username or password.";
    let raw_username = form.get("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let username = match Username::parse(raw_username) {
        Ok(u) if !password.is_empty() && password.len() <= MAX_PASSWORD_BYTES => u,
        _ => return Ok(signin_page(StatusCode::BAD_REQUEST, p, valid, token, raw_username, Some(BAD))),
    };
    // Any scope the client may have: what is granted is decided after consent.
    let signed_in = app.login().sign_in(&username, password, meta.source_ip.as_deref(), &valid.scope, now).await;
    let SignedIn { user, .. } = match signed_in {
        Ok(s) => s,
        Err(LoginError::Refused) => {
            return Ok(signin_page(StatusCode::BAD_REQUEST, p, valid, token, raw_username, Some(BAD)));
        }
        Err(LoginError::Store(e)) => return Err(e.into()),
    };
    let cookie = session::start(app, req, &user, now).await?;
    let mut resp = proceed(app, p, valid, &user, token, true, now).await?;
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(resp)
}

/// A signed-in person: first-party apps get their code at once, third-party apps ask first.
/// Without a person's action on this request (a session, no password typed), a code goes out
/// silently only to a confidential client or an `https` redirect URI: anything on the machine
/// can listen on a loopback port or claim a custom scheme, and start the flow with its own
/// PKCE challenge (RFC 8252 §8.6), so those get a one-click "continue as" page instead.
#[allow(clippy::too_many_arguments)]
async fn proceed(
    app: &App,
    p: &Params,
    valid: &Valid,
    user: &User,
    token: &str,
    acted: bool,
    now: u64,
) -> Result<Response<Body>, SignInError> {
    let trusted_target = valid.client.is_confidential() || valid.redirect_uri.starts_with("https://");
    if valid.client.first_party && (acted || trusted_target) {
        return issue(app, valid, user, now).await;
    }
    Ok(consent_page(p, valid, user, token))
}

async fn issue(app: &App, valid: &Valid, user: &User, now: u64) -> Result<Response<Body>, SignInError> {
    let scope = valid.scope.intersection(&user.scopes);
    if scope.is_empty() {
        return Ok(back(
            app,
            &valid.redirect_uri,
            valid.state.as_deref(),
            Err(("access_denied", "nothing the user holds was asked for")),
        ));
    }
    let code = random_token(TOKEN_BYTES);
    let stored = AuthCode {
        code_hash: token_hash(&code),
        client_id: valid.client.client_id.clone(),
        redirect_uri: valid.redirect_uri.clone(),
        code_challenge: valid.challenge.as_str().to_owned(),
        scope,
        user_id: user.id.clone(),
        user_generation: user.token_generation,
        created_at: now,
        valid_until: now + CODE_TTL,
        expires_at: now + CODE_KEPT,
    };
    app.store.create_code(&stored).await?;
    oasis_lambda::metrics::signal("CodeIssued", None);
    tracing::info!(signal = "code_issued", "authorization code issued");
    Ok(back(app, &valid.redirect_uri, valid.state.as_deref(), Ok(&code)))
}

/// The authorization response at the client's redirect URI: `code` or `error`, with `state`
/// and `iss` (RFC 9207), as a 303 so a POST becomes a GET.
fn back(app: &App, redirect_uri: &str, state: Option<&str>, outcome: Result<&str, (&str, &str)>) -> Response<Body> {
    let mut pairs: Vec<(&str, &str)> = match outcome {
        Ok(code) => vec![("code", code)],
        Err((error, description)) => vec![("error", error), ("error_description", description)],
    };
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &app.settings.issuer_url));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::SEE_OTHER;
    match HeaderValue::from_str(&format!("{redirect_uri}{sep}{query}")) {
        Ok(v) => {
            resp.headers_mut().insert(header::LOCATION, v);
            resp
        }
        Err(_) => error_page(StatusCode::BAD_REQUEST, "This sign-in link cannot be answered."),
    }
}

fn refuse(app: &App, invalid: Invalid) -> Response<Body> {
    match invalid {
        Invalid::Page(message) => {
            oasis_lambda::metrics::signal("AuthorizeRefused", Some("untrusted_redirect"));
            tracing::warn!(
                signal = "authorize_refused",
                reason = "untrusted_redirect",
                "authorization request refused"
            );
            error_page(StatusCode::BAD_REQUEST, message)
        }
        Invalid::Redirect { to, state, error, description, pkce } => {
            match pkce {
                Some(reason) => {
                    oasis_lambda::metrics::signal("PkceRefused", Some(reason));
                    tracing::warn!(
                        signal = "pkce_refused",
                        reason,
                        "authorization request without a usable PKCE challenge"
                    );
                }
                None => {
                    oasis_lambda::metrics::signal("AuthorizeRefused", Some(error));
                    tracing::warn!(signal = "authorize_refused", reason = error, "authorization request refused");
                }
            }
            back(app, &to, state.as_deref(), Err((error, description)))
        }
    }
}

fn error_page(status: StatusCode, message: &str) -> Response<Body> {
    render(status, "Sign-in problem", &alert(message))
}

fn signin_page(
    status: StatusCode,
    p: &Params,
    valid: &Valid,
    token: &str,
    username: &str,
    error: Option<&str>,
) -> Response<Body> {
    let body = format!(
        "<p>Sign in to continue to <strong>{client}</strong>.</p>\n{error}<form method=\"post\" action=\"authorize\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{token}\">\n{hidden}\
<label for=\"username\">Username</label>\n\
<input id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required autofocus>\n\
<label for=\"password\">Password</label>\n\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\n\
<div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"signin\">Sign in</button></div>\n</form>",
        client = escape(&valid.client.name),
        error = error.map(alert).unwrap_or_default(),
        token = escape(token),
        hidden = p.hidden(),
        username = escape(username),
    );
    render_redirecting(status, "Sign in", &body, &valid.redirect_uri)
}

fn consent_page(p: &Params, valid: &Valid, user: &User, token: &str) -> Response<Body> {
    let granted = valid.scope.intersection(&user.scopes);
    let scopes: String = granted.iter().map(|s| format!("<li>{}</li>", escape(&describe(s)))).collect();
    let note = if valid.client.first_party {
        "Continue only if you just started signing in to this app yourself."
    } else {
        "It is not made by Oasis. Allow only apps you trust."
    };
    let body = format!(
        "<p><strong>{client}</strong> wants to use your account <strong>{user}</strong>.</p>\n\
<p>It will be able to:</p>\n<ul class=\"scopes\">{scopes}</ul>\n\
<p class=\"note\">{note}</p>\n\
<form method=\"post\" action=\"authorize\">\n<input type=\"hidden\" name=\"csrf\" value=\"{token}\">\n{hidden}\
<div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"allow\">Allow</button>\n\
<button type=\"submit\" name=\"action\" value=\"deny\" class=\"secondary\">Deny</button></div>\n</form>",
        client = escape(&valid.client.name),
        user = escape(user.username.as_str()),
        token = escape(token),
        hidden = p.hidden(),
    );
    render_redirecting(StatusCode::OK, "Allow access?", &body, &valid.redirect_uri)
}
