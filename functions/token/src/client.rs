//! Client authentication (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`, or
//! none for public clients; and the CSRF gate for browser clients that use the cookie.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::Request;
use lambda_http::http::header;
use oasis_domain::{ClientId, Secret};
use oasis_lambda::RequestMeta;
use oasis_lambda::form::Form;
use oasis_store::Client;

use crate::{App, TokenError};

/// Header a cross-site HTML form cannot send; browsers must preflight it for other origins.
pub(crate) const CSRF_HEADER: &str = "x-requested-with";

pub enum Presented {
    Basic { id: String, secret: Secret },
    Post { id: String, secret: Secret },
    Public { id: String },
}

/// The client credentials a request presents: HTTP Basic (RFC 6749 §2.3.1, id and secret
/// form-encoded before base64), the form's `client_id` and `client_secret`, or an id alone.
pub fn presented(req: &Request, form: &Form) -> Result<Presented, TokenError> {
    let auth = oasis_lambda::header_str(req.headers(), header::AUTHORIZATION.as_str());
    if let Some(auth) = auth {
        let (scheme, value) = auth.split_once(' ').ok_or(TokenError::InvalidClient { basic: true })?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(TokenError::InvalidClient { basic: true });
        }
        if form.has("client_secret") {
            return Err(TokenError::InvalidRequest("more than one client authentication method"));
        }
        let decoded = STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(TokenError::InvalidClient { basic: true })?;
        let (id, secret) = decoded.split_once(':').ok_or(TokenError::InvalidClient { basic: true })?;
        // RFC 6749 §2.3.1: id and secret are form-encoded before base64.
        let unescape = |s: &str| -> Result<String, TokenError> {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
                .ok()
                .and_then(|v| v.into_iter().next().map(|(_, v)| v))
                .ok_or(TokenError::InvalidClient { basic: true })
        };
        let (id, secret) = (unescape(id)?, unescape(secret)?);
        if form.get("client_id").is_some_and(|f| f != id) {
            return Err(TokenError::InvalidRequest("client_id does not match the authenticated client"));
        }
        return Ok(Presented::Basic { id, secret: Secret::new(secret) });
    }
    let id = form.get("client_id").ok_or(TokenError::InvalidClient { basic: false })?.to_owned();
    Ok(match form.get("client_secret") {
        Some(secret) => Presented::Post { id, secret: Secret::new(secret) },
        None => Presented::Public { id },
    })
}

/// Identifies and authenticates the client. Every failure is `invalid_client`.
pub(crate) async fn authenticate(app: &App, req: &Request, form: &Form) -> Result<Client, TokenError> {
    let presented = presented(req, form)?;
    let (id, secret, basic) = match &presented {
        Presented::Basic { id, secret } => (id, Some(secret), true),
        Presented::Post { id, secret } => (id, Some(secret), false),
        Presented::Public { id } => (id, None, false),
    };
    let fail = TokenError::InvalidClient { basic };
    // Not a client id at all (empty, overlong, odd characters): no such client.
    let Ok(id) = ClientId::parse(id) else { return Err(fail) };
    let client = app.store.client(&id).await?.filter(|c| !c.disabled).ok_or(fail)?;
    let ok = match (&client.secret_hash, secret) {
        (Some(stored), Some(given)) => oasis_auth::secret::verify_token_hash(given.expose(), stored),
        // A public client has nothing to prove; one presenting a secret is confused or forged.
        (None, None) => true,
        _ => false,
    };
    if ok {
        Ok(client)
    } else {
        oasis_lambda::metrics::signal("ClientAuthFailed", None);
        tracing::warn!(signal = "client_auth_failed", "client authentication failed");
        Err(TokenError::InvalidClient { basic })
    }
}

/// Browser clients whose refresh token lives in a cookie must prove each request is
/// same-site: an allow-listed `Origin` and a custom header a cross-site form cannot send.
pub(crate) fn check_same_site(client: &Client, meta: &RequestMeta, req: &Request) -> Result<(), TokenError> {
    let origin_ok = meta.origin.as_deref().is_some_and(|o| client.allowed_origins.iter().any(|a| a == o));
    let header_ok = oasis_lambda::header_str(req.headers(), CSRF_HEADER).is_some_and(|v| !v.is_empty());
    if origin_ok && header_ok {
        Ok(())
    } else {
        oasis_lambda::metrics::signal("CsrfRefused", None);
        tracing::warn!(signal = "csrf_refused", "cross-site request refused");
        Err(TokenError::CrossSiteRefused)
    }
}
