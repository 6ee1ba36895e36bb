//! `POST /revoke` (RFC 7009): revokes a refresh token's whole family.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use oasis_lambda::RequestMeta;
use oasis_lambda::form;

use crate::client::{authenticate, check_same_site};
use crate::{App, MAX_BODY_BYTES, REFRESH_COOKIE, TokenError};

pub(crate) async fn revoke(app: &App, meta: &RequestMeta, req: &Request) -> Result<Response<Body>, TokenError> {
    let form = form::read(req, MAX_BODY_BYTES)?;
    let client = authenticate(app, req, &form).await?;
    let presented = if client.refresh_in_cookie {
        check_same_site(&client, meta, req)?;
        form.get("token").map(str::to_owned).or_else(|| oasis_lambda::cookie(req.headers(), REFRESH_COOKIE))
    } else {
        form.get("token").map(str::to_owned)
    };
    let presented = presented.ok_or(TokenError::InvalidRequest("token is required"))?;
    // RFC 7009 §2.2: unknown, expired or foreign tokens still answer 200, so the endpoint
    // reveals nothing about which tokens exist.
    let found = if presented.len() <= 256 {
        app.store.refresh_token(&oasis_auth::secret::token_hash(&presented)).await?
    } else {
        None
    };
    match found {
        Some((_, family)) if family.client_id == client.client_id => {
            app.store.revoke_family(&family.family_id).await?;
            oasis_lambda::metrics::signal("RefreshRevoked", None);
            tracing::info!(signal = "refresh_revoked", "refresh token family revoked");
        }
        Some(_) => {
            oasis_lambda::metrics::signal("RevokeRefused", None);
            tracing::warn!(signal = "revoke_refused", "revocation of another client's token ignored")
        }
        None => {}
    }
    let mut resp = oasis_lambda::empty(StatusCode::OK);
    if client.refresh_in_cookie {
        let clear = format!("{REFRESH_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
        if let Ok(v) = HeaderValue::from_str(&clear) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}
