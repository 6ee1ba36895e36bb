//! Configuration of the token function, read from the environment once at start.

use oasis_auth::password::Argon2Params;
use oasis_lambda::Cors;
use oasis_lambda::config::{self, ConfigError, StoreConfig};

use crate::{LockoutPolicy, Settings};

/// The refresh grace window's default and ceiling, seconds (Cognito offers 0–60 too): long
/// enough for a client to retry a refresh whose response it lost, short enough that a stolen
/// just-rotated token is still caught soon by reuse detection.
pub const DEFAULT_REFRESH_GRACE: u64 = 30;
pub const MAX_REFRESH_GRACE: u64 = 60;

/// Where the signing keys come from.
#[derive(Debug, Clone)]
pub enum KeySourceConfig {
    /// `OASIS_KEYS_SECRET_ID`: a Secrets Manager secret (in AWS).
    SecretsManager(String),
    /// `OASIS_KEYS_FILE`: a local key-set file (development).
    File(String),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub store: StoreConfig,
    pub keys: KeySourceConfig,
    pub argon2: Argon2Params,
    pub settings: Settings,
    /// How long a cached signing key set is used before it is re-read (picks up rotations).
    pub keys_cache: std::time::Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let store = StoreConfig::from_env()?;
        let keys = match config::optional("OASIS_KEYS_SECRET_ID") {
            Some(id) => KeySourceConfig::SecretsManager(id),
            None => KeySourceConfig::File(
                config::required("OASIS_KEYS_FILE")
                    .map_err(|_| ConfigError::Missing("OASIS_KEYS_SECRET_ID or OASIS_KEYS_FILE"))?,
            ),
        };
        let issuer_url = config::required("OASIS_ISSUER")?;
        let access_ttl = config::parsed("OASIS_ACCESS_TOKEN_TTL", 900u64)?;
        // The verifiers refuse tokens living longer than the maximum; never issue one.
        if !(60..=oasis_auth::token::MAX_LIFETIME_SECONDS).contains(&access_ttl) {
            return Err(ConfigError::Invalid {
                name: "OASIS_ACCESS_TOKEN_TTL",
                reason: format!("must be 60..={} seconds", oasis_auth::token::MAX_LIFETIME_SECONDS),
            });
        }
        let refresh_idle_ttl = config::parsed("OASIS_REFRESH_IDLE_TTL", 14 * 86_400u64)?;
        let refresh_absolute_ttl = config::parsed("OASIS_REFRESH_ABSOLUTE_TTL", 30 * 86_400u64)?;
        if refresh_idle_ttl == 0 || refresh_idle_ttl > refresh_absolute_ttl {
            return Err(ConfigError::Invalid {
                name: "OASIS_REFRESH_IDLE_TTL",
                reason: "must be positive and at most OASIS_REFRESH_ABSOLUTE_TTL".into(),
            });
        }
        let refresh_grace = config::parsed("OASIS_REFRESH_GRACE_SECONDS", DEFAULT_REFRESH_GRACE)?;
        if refresh_grace > MAX_REFRESH_GRACE {
            return Err(ConfigError::Invalid {
                name: "OASIS_REFRESH_GRACE_SECONDS",
                reason: format!("must be 0..={MAX_REFRESH_GRACE} seconds (0 turns the grace window off)"),
            });
        }
        Ok(Self {
            store,
            keys,
            argon2: config::argon2_params(|name| std::env::var_os(name))?.0,
            keys_cache: std::time::Duration::from_secs(config::parsed("OASIS_KEYS_CACHE_SECONDS", 300u64)?),
            settings: Settings {
                issuer_url,
                audience: config::optional("OASIS_AUDIENCE").unwrap_or_else(|| "oasis-api".into()),
                access_ttl,
                refresh_idle_ttl,
                refresh_absolute_ttl,
                refresh_grace,
                account_lockout: LockoutPolicy::ACCOUNT,
                ip_lockout: LockoutPolicy::SOURCE_IP,
                cors: Cors::new(config::list("OASIS_CORS_ALLOWED_ORIGINS")),
            },
        })
    }
}
