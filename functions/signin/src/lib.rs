//! The Oasis sign-in pages: server-rendered HTML that works without JavaScript.
//!
//! `GET/POST /device` is where a person approves a TV (RFC 8628): enter the code the TV shows
//! (or arrive with it from the TV's QR code), see which app asks for what, sign in, approve or
//! deny. Every form carries a CSRF token bound to a `__Host-` cookie and is checked against
//! the request's origin; every page carries a CSP that allows no script and no framing.

mod authorize;
mod csrf;
mod device;
mod error;
mod page;
mod session;

use std::sync::Arc;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use oasis_auth::password::PasswordHasher;
use oasis_lambda::config::{self, Aws, StoreConfig};
use oasis_lambda::shell::{Function, StartError};
use oasis_lambda::{Cors, RequestMeta};
use oasis_login::{LockoutPolicy, Login};
use oasis_store::SignInStore;

pub use device::verification_qr;
pub use error::SignInError;

/// Every (method, path) this function serves; `terraform/openapi.yaml` must list exactly these
/// for it (tests/infra).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/authorize"),
    ("POST", "/authorize"),
    ("GET", "/device"),
    ("POST", "/device"),
    ("GET", "/device/qr"),
    ("POST", "/signout"),
    ("GET", "/assets/signin.css"),
];

/// Form posts are small; anything larger is refused unread.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

#[derive(Debug, Clone)]
pub struct Settings {
    /// The public base URL (the issuer): forms must come from its origin.
    pub issuer_url: String,
    pub account_lockout: LockoutPolicy,
    pub ip_lockout: LockoutPolicy,
    /// Wrong user codes per address before code entry locks (RFC 8628 §5.1).
    pub code_entry_lockout: LockoutPolicy,
}

impl Settings {
    pub fn new(issuer_url: impl Into<String>) -> Self {
        Self {
            issuer_url: issuer_url.into(),
            account_lockout: LockoutPolicy::ACCOUNT,
            ip_lockout: LockoutPolicy::SOURCE_IP,
            code_entry_lockout: LockoutPolicy::CODE_ENTRY,
        }
    }
}

pub struct App {
    pub(crate) store: Arc<dyn SignInStore>,
    hasher: PasswordHasher,
    pub(crate) settings: Settings,
    /// `scheme://host[:port]` of the issuer: the only origin a form may be posted from.
    pub(crate) origin: String,
    cors: Cors,
}

impl App {
    pub fn new(store: Arc<dyn SignInStore>, hasher: PasswordHasher, settings: Settings) -> Self {
        let origin = origin_of(&settings.issuer_url);
        Self { store, hasher, settings, origin, cors: Cors::default() }
    }

    pub(crate) fn login(&self) -> Login<'_> {
        Login {
            store: &*self.store,
            hasher: &self.hasher,
            account: self.settings.account_lockout,
            ip: self.settings.ip_lockout,
        }
    }
}

/// The origin (RFC 6454) of an absolute URL: what a browser sends in `Origin`.
fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase())
}

impl Function for App {
    const NAME: &'static str = "signin";
    const ROUTES: &'static [(&'static str, &'static str)] = ROUTES;
    const CORS_ALLOW_HEADERS: &'static str = "content-type";
    type Error = SignInError;

    async fn from_env(aws: &Aws) -> Result<Self, StartError> {
        let store = StoreConfig::from_env()?.open(aws).await?;
        let hasher = PasswordHasher::with_params(config::argon2_params(|name| std::env::var_os(name))?.0)?;
        Ok(Self::new(store, hasher, Settings::new(config::required("OASIS_ISSUER")?)))
    }

    /// No cross-origin caller: the pages are used by navigating to them.
    fn cors(&self) -> &Cors {
        &self.cors
    }

    async fn serve(
        &self,
        route: &'static str,
        meta: &RequestMeta,
        req: &Request,
    ) -> Result<Response<Body>, SignInError> {
        match route {
            "/authorize" => authorize::serve(self, meta, req).await,
            "/device" => device::serve(self, meta, req).await,
            "/device/qr" => Ok(device::qr(self, req)),
            "/signout" => session::sign_out(self, meta, req).await,
            _ => Ok(stylesheet()),
        }
    }
}

fn stylesheet() -> Response<Body> {
    let mut resp = Response::new(Body::Text(page::STYLESHEET.to_owned()));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_origin_of_a_url_is_its_scheme_and_authority() {
        for (url, origin) in [
            ("https://id.example/prod", "https://id.example"),
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
            ("HTTPS://ID.Example:8443/a?b#c", "https://id.example:8443"),
        ] {
            assert_eq!(super::origin_of(url), origin);
        }
    }
}
