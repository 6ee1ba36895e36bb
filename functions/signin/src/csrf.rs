//! Cross-site request forgery defences for the forms: a random token in a `__Host-` cookie
//! that each form repeats in a hidden field (a cross-site page can make the browser send the
//! cookie but can neither read it nor set it: `__Host-` cookies cannot come from a sibling
//! domain), and the `Origin` of every post checked against our own.

use lambda_http::Request;
use lambda_http::http::HeaderValue;
use oasis_auth::secret::{TOKEN_BYTES, random_token};
use oasis_lambda::RequestMeta;

pub(crate) const COOKIE: &str = "__Host-oasis_csrf";
/// Lifetime of the cookie: a form left open longer must be reloaded.
const MAX_AGE_SECONDS: u64 = 3600;

/// The form token for this browser: the cookie's when it has a well-formed one, else a new
/// one with the `Set-Cookie` that gives it.
pub(crate) fn token(req: &Request) -> (String, Option<HeaderValue>) {
    if let Some(existing) = presented_cookie(req) {
        return (existing, None);
    }
    let fresh = random_token(TOKEN_BYTES);
    let cookie = format!("{COOKIE}={fresh}; Path=/; Max-Age={MAX_AGE_SECONDS}; Secure; HttpOnly; SameSite=Lax");
    let header = HeaderValue::from_str(&cookie).ok();
    (fresh, header)
}

fn presented_cookie(req: &Request) -> Option<String> {
    oasis_lambda::cookie(req.headers(), COOKIE)
        .filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// Why a post was refused as forged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forged {
    /// Posted from another origin (a cross-site form, a framed page).
    Origin,
    /// No cookie, or the form's token is not the cookie's.
    Token,
}

impl Forged {
    fn reason(self) -> &'static str {
        match self {
            Forged::Origin => "origin",
            Forged::Token => "token",
        }
    }

    /// Counts and logs the refusal (the `CsrfRefused` signal, by reason).
    pub(crate) fn report(self) {
        oasis_lambda::metrics::signal("CsrfRefused", Some(self.reason()));
        tracing::warn!(signal = "csrf_refused", reason = self.reason(), "form post refused as forged");
    }
}

/// Checks a post: its `Origin` (when the browser sends one, and modern ones always do for a
/// POST) must be ours, and the form's token must equal the cookie's.
pub(crate) fn check(req: &Request, meta: &RequestMeta, ours: &str, form_token: Option<&str>) -> Result<(), Forged> {
    match meta.origin.as_deref() {
        Some(origin) if !origin.eq_ignore_ascii_case(ours) => return Err(Forged::Origin),
        // Without `Origin`, a browser that says where the request came from must say "us".
        None if oasis_lambda::header_str(req.headers(), "sec-fetch-site")
            .is_some_and(|s| s != "same-origin" && s != "none") =>
        {
            return Err(Forged::Origin);
        }
        _ => {}
    }
    let (Some(cookie), Some(given)) = (presented_cookie(req), form_token) else { return Err(Forged::Token) };
    if oasis_auth::secret::equal(&cookie, given) { Ok(()) } else { Err(Forged::Token) }
}
