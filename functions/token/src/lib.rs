//! The Oasis token endpoint (RFC 6749, RFC 9700, RFC 7009, RFC 8414, RFC 7517).
//!
//! [`App`] is the function inside the shell ([`oasis_lambda::shell`]): built once from
//! [`Config`], it serves the routes in [`ROUTES`]; handler tests call it in-process with
//! events from `events/`.

pub mod client;
mod code;
pub mod config;
mod device;
mod error;
mod grants;
mod revoke;

use std::sync::{Arc, RwLock};

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use oasis_auth::aws::SecretsManagerKeySet;
use oasis_auth::keyring::SigningKeys;
use oasis_auth::keys::{KeyError, KeySet, LocalKeyFile, SigningKeySource};
use oasis_auth::password::PasswordHasher;
use oasis_auth::token::Issuer;
use oasis_lambda::config::Aws;
use oasis_lambda::shell::{Function, StartError};
use oasis_lambda::{Cors, RequestMeta};
use oasis_store::TokenStore;

pub use config::Config;
use config::KeySourceConfig;
pub use error::TokenError;
pub use oasis_login::LockoutPolicy;

/// Every (method, path) this function serves; `terraform/openapi.yaml` must list exactly these
/// for it (tests/infra), and the handler answers 405 for any other method on these paths.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/token"),
    ("OPTIONS", "/token"),
    ("POST", "/revoke"),
    ("OPTIONS", "/revoke"),
    ("POST", "/device_authorization"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/oauth-authorization-server"),
];

/// Name of the cookie that carries browser clients' refresh tokens. The `__Host-` prefix
/// makes browsers insist on `Secure`, `Path=/` and no `Domain`.
pub const REFRESH_COOKIE: &str = "__Host-oasis_rt";
/// Token and revocation requests are small; anything larger is refused unread.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// Lifetimes and policies of the token function.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer_url: String,
    /// The `aud` of every access token.
    pub audience: String,
    /// Access-token lifetime, seconds.
    pub access_ttl: u64,
    pub refresh_idle_ttl: u64,
    pub refresh_absolute_ttl: u64,
    /// Seconds after a rotation in which the rotated refresh token, presented again by its
    /// client, gets the same successor back instead of counting as reuse (0: never).
    pub refresh_grace: u64,
    pub account_lockout: LockoutPolicy,
    pub ip_lockout: LockoutPolicy,
    /// Browser origins allowed to call `/token` and `/revoke`.
    pub cors: Cors,
}

/// What signing needs, derived from one version of the key set.
pub(crate) struct Signing {
    set: Arc<KeySet>,
    pub(crate) issuer: Issuer,
    jwks_json: String,
    /// What refresh successors are sealed under (the active key's first).
    pub(crate) sealing: Vec<oasis_auth::secret::SealingSecret>,
}

/// Everything built once per process.
pub struct App {
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) hasher: PasswordHasher,
    pub(crate) settings: Settings,
    keys: SigningKeys,
    signing: RwLock<Arc<Signing>>,
    metadata_json: String,
    /// Where a device's user approves it (RFC 8628 §3.2): the sign-in pages' `/device`.
    pub(crate) verification_uri: String,
}

impl App {
    /// An app whose key set never changes (tests, benchmarks).
    pub fn new(
        store: Arc<dyn TokenStore>,
        keys: &KeySet,
        hasher: PasswordHasher,
        settings: Settings,
    ) -> Result<Self, KeyError> {
        Self::with_keys(store, SigningKeys::fixed(keys.clone()), hasher, settings)
    }

    /// An app that follows its key source (rotation without redeploying).
    pub fn with_keys(
        store: Arc<dyn TokenStore>,
        keys: SigningKeys,
        hasher: PasswordHasher,
        settings: Settings,
    ) -> Result<Self, KeyError> {
        let signing = Self::derive(keys.cached(), &settings)?;
        let base = settings.issuer_url.trim_end_matches('/');
        let metadata = serde_json::json!({
            "issuer": settings.issuer_url,
            "token_endpoint": format!("{base}/token"),
            "revocation_endpoint": format!("{base}/revoke"),
            "authorization_endpoint": format!("{base}/authorize"),
            "device_authorization_endpoint": format!("{base}/device_authorization"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "grant_types_supported": oasis_domain::GrantType::ALL.map(|g| g.as_str()),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            // RFC 9207: every authorization response names its issuer (mix-up defence).
            "authorization_response_iss_parameter_supported": true,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": oasis_domain::scope::KNOWN,
            // No `token_endpoint_auth_signing_alg_values_supported`: it describes JWT client
            // authentication (private_key_jwt, client_secret_jwt), which is not on offer, and a
            // client reading it would try what the endpoint then refuses.
        });
        Ok(Self {
            store,
            hasher,
            keys,
            signing: RwLock::new(Arc::new(signing)),
            verification_uri: format!("{base}/device"),
            settings,
            metadata_json: metadata.to_string(),
        })
    }

    /// Password sign-in against this function's store and lock-out policies.
    pub(crate) fn login(&self) -> oasis_login::Login<'_> {
        oasis_login::Login {
            store: &*self.store,
            hasher: &self.hasher,
            account: self.settings.account_lockout,
            ip: self.settings.ip_lockout,
        }
    }

    fn derive(set: Arc<KeySet>, s: &Settings) -> Result<Signing, KeyError> {
        let issuer = Issuer::new(set.signing_key()?, &s.issuer_url, &s.audience, s.access_ttl);
        Ok(Signing { jwks_json: set.public_jwks().to_json(), sealing: set.sealing_secrets(), issuer, set })
    }

    /// The signing state for the current key set (re-derived only when the set changed).
    pub(crate) async fn signing(&self) -> Result<Arc<Signing>, KeyError> {
        let set = self.keys.current().await;
        let cached = self.signing.read().unwrap_or_else(|p| p.into_inner()).clone();
        if Arc::ptr_eq(&cached.set, &set) {
            return Ok(cached);
        }
        let fresh = Arc::new(Self::derive(set, &self.settings)?);
        *self.signing.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        tracing::info!(kid = fresh.issuer.kid(), "signing keys reloaded");
        Ok(fresh)
    }
}

impl Function for App {
    const NAME: &'static str = "token";
    const ROUTES: &'static [(&'static str, &'static str)] = ROUTES;
    const CORS_ALLOW_HEADERS: &'static str = "authorization, content-type, x-requested-with";
    type Error = TokenError;

    async fn from_env(aws: &Aws) -> Result<Self, StartError> {
        let config = Config::from_env()?;
        let store = config.store.open(aws).await?;
        let source: Arc<dyn SigningKeySource> = match &config.keys {
            KeySourceConfig::SecretsManager(id) => Arc::new(SecretsManagerKeySet::new(aws.config().await, id)),
            KeySourceConfig::File(path) => Arc::new(LocalKeyFile::new(path)),
        };
        let keys = SigningKeys::load(source, config.keys_cache).await?;
        let hasher = PasswordHasher::with_params(config.argon2)?;
        Ok(Self::with_keys(store, keys, hasher, config.settings)?)
    }

    fn cors(&self) -> &Cors {
        &self.settings.cors
    }

    async fn serve(
        &self,
        route: &'static str,
        meta: &RequestMeta,
        req: &Request,
    ) -> Result<Response<Body>, TokenError> {
        match route {
            "/token" => grants::token(self, meta, req).await,
            "/revoke" => revoke::revoke(self, meta, req).await,
            "/device_authorization" => device::authorize_device(self, req).await,
            "/.well-known/jwks.json" => {
                let signing = self.signing().await.map_err(|e| TokenError::Internal(Box::new(e)))?;
                Ok(public_json(signing.jwks_json.clone(), "public, max-age=300"))
            }
            _ => Ok(public_json(self.metadata_json.clone(), "public, max-age=3600")),
        }
    }
}

fn public_json(body: String, cache: &'static str) -> Response<Body> {
    let mut resp = oasis_lambda::raw_json(StatusCode::OK, body);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}
