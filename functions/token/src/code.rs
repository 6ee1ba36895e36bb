//! The `authorization_code` grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.5): a code the
//! sign-in pages issued, redeemed once, by its client, with its redirect URI and the
//! verifier behind its challenge.

use lambda_http::{Body, Response};
use oasis_auth::secret::{pkce_s256_matches, random_token, token_hash};
use oasis_domain::CodeVerifier;
use oasis_lambda::form::Form;
use oasis_store::{Client, CodeRedemption};

use crate::grants::start_session_in;
use crate::{App, TokenError};

pub(crate) async fn redeem(app: &App, client: &Client, form: &Form, now: u64) -> Result<Response<Body>, TokenError> {
    let code = form.get("code").ok_or(TokenError::InvalidRequest("code is required"))?;
    let redirect_uri = form.get("redirect_uri").ok_or(TokenError::InvalidRequest("redirect_uri is required"))?;
    let verifier = form.get("code_verifier").ok_or(TokenError::InvalidRequest("code_verifier is required"))?;
    let verifier = CodeVerifier::parse(verifier)
        .map_err(|_| TokenError::InvalidRequest("code_verifier must be 43-128 unreserved characters"))?;
    if code.len() > 256 {
        return Err(refused("unknown"));
    }
    // The family this code's tokens will belong to, recorded on the code as it is used, so a
    // second use knows what to revoke.
    let family_id = random_token(16);
    let code = match app.store.redeem_code(&token_hash(code), &family_id, now).await? {
        CodeRedemption::Redeemed(code) => code,
        CodeRedemption::Unknown => return Err(refused("unknown")),
        CodeRedemption::Replayed { family_id, client_id } => {
            // RFC 6749 §4.1.2: a code used twice is stolen or confused; what it issued goes.
            // Only when its own client presents it again: anyone else holding a used code
            // (from a history or a log) must not be able to sign its user out.
            if let Some(f) = family_id.filter(|_| client_id == client.client_id) {
                app.store.revoke_family(&f).await?;
            }
            return Err(refused("replayed"));
        }
    };
    // The checks after the code is spent: a thief's attempt burns the code for everyone.
    if code.client_id != client.client_id {
        return Err(refused("wrong_client"));
    }
    if code.redirect_uri != redirect_uri {
        return Err(refused("redirect_uri_mismatch"));
    }
    if !pkce_s256_matches(&verifier, &code.code_challenge) {
        return Err(refused("pkce_failed"));
    }
    let user = app.store.user_by_id(&code.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled && u.token_generation == code.user_generation) else {
        return Err(refused("user_cut_off"));
    };
    let scope = code.scope.intersection(&client.scopes).intersection(&user.scopes);
    if scope.is_empty() {
        return Err(refused("no_scope"));
    }
    match start_session_in(app, client, &user, &scope, family_id, now).await {
        // A replay revoked the family before this first use could create it (the revocation
        // left a tombstone): the code is compromised, nothing is issued.
        Err(TokenError::Store(oasis_store::StoreError::AlreadyExists(_))) => Err(refused("replayed")),
        Ok(resp) => {
            oasis_lambda::metrics::signal("CodeRedeemed", None);
            tracing::info!(signal = "code_redeemed", "authorization code redeemed");
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

fn refused(reason: &'static str) -> TokenError {
    oasis_lambda::metrics::signal("CodeRefused", Some(reason));
    tracing::warn!(signal = "code_refused", reason, "authorization code refused");
    TokenError::InvalidGrant
}
