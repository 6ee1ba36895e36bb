//! Environment configuration: read once at start, fail fast naming the variable.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use std::ffi::OsString;

pub use aws_config::SdkConfig;
use oasis_auth::aws::SsmJwks;
use oasis_auth::keyring::KeyRing;
use oasis_auth::keys::{KeyError, LocalJwksFile, PublicKeySource};
use oasis_auth::password::Argon2Params;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A parsed variable with a default when unset.
pub fn parsed<T: FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid { name, reason: e.to_string() }),
    }
}

/// The variables of the argon2id cost: memory (KiB), iterations, lanes.
pub const ARGON2_VARS: [&str; 3] = ["OASIS_ARGON2_M_KIB", "OASIS_ARGON2_T", "OASIS_ARGON2_P"];

/// The argon2id cost from [`ARGON2_VARS`] as `lookup` gives them (`std::env::var_os` in a
/// process; tests pass their own, as they cannot safely change the environment). Unset or blank
/// means [`Argon2Params::DEFAULT`]'s value; anything else set must be a number, or it is an
/// error naming its variable, never a silent default. The token function and the admin tool
/// both read the cost here, so a user is never hashed at a cost the function does not expect.
/// Also returns `NAME=value` for each variable that was set, for the caller's messages.
pub fn argon2_params(lookup: impl Fn(&str) -> Option<OsString>) -> Result<(Argon2Params, Vec<String>), ConfigError> {
    let d = Argon2Params::DEFAULT;
    let mut set = vec![];
    let mut read = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
        let Some(raw) = lookup(name) else { return Ok(default) };
        let text = raw.to_str().ok_or(ConfigError::Invalid { name, reason: "not valid UTF-8".into() })?.trim();
        if text.is_empty() {
            return Ok(default);
        }
        let v = text.parse().map_err(|e| ConfigError::Invalid { name, reason: format!("{text:?}: {e}") })?;
        set.push(format!("{name}={v}"));
        Ok(v)
    };
    let params = Argon2Params {
        m_kib: read(ARGON2_VARS[0], d.m_kib)?,
        t: read(ARGON2_VARS[1], d.t)?,
        p: read(ARGON2_VARS[2], d.p)?,
    };
    Ok((params, set))
}

/// A comma-separated list (empty when unset).
pub fn list(name: &'static str) -> Vec<String> {
    optional(name)
        .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Which store a function uses: `OASIS_STORE` = `sqlite` (default) or `dynamodb`.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// The embedded store at `OASIS_SQLITE_PATH`.
    #[cfg(feature = "sqlite")]
    Sqlite(String),
    /// DynamoDB tables named `OASIS_TABLE_PREFIX-…` (`OASIS_AWS_ENDPOINT`, read by [`Aws`],
    /// points at a local DynamoDB-API server instead of AWS).
    Dynamodb { table_prefix: String },
}

impl StoreConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        match optional("OASIS_STORE").as_deref().unwrap_or("sqlite") {
            #[cfg(feature = "sqlite")]
            "sqlite" => Ok(StoreConfig::Sqlite(required("OASIS_SQLITE_PATH")?)),
            #[cfg(not(feature = "sqlite"))]
            "sqlite" => Err(ConfigError::Invalid {
                name: "OASIS_STORE",
                reason: "this build has no embedded store (built without the sqlite feature); set OASIS_STORE=dynamodb"
                    .into(),
            }),
            "dynamodb" => {
                let table_prefix = required("OASIS_TABLE_PREFIX")?;
                check_table_prefix(&table_prefix)?;
                Ok(StoreConfig::Dynamodb { table_prefix })
            }
            other => Err(ConfigError::Invalid {
                name: "OASIS_STORE",
                reason: format!("unknown backend {other:?} (expected sqlite or dynamodb)"),
            }),
        }
    }

    /// Opens the store; DynamoDB uses the process's one AWS SDK configuration.
    pub async fn open(&self, aws: &Aws) -> Result<Arc<dyn oasis_store::Store>, oasis_store::StoreError> {
        match self {
            #[cfg(feature = "sqlite")]
            StoreConfig::Sqlite(path) => Ok(Arc::new(oasis_store::sqlite::SqliteStore::open(path)?)),
            StoreConfig::Dynamodb { table_prefix } => {
                let client = oasis_store::dynamodb::Client::new(aws.config().await);
                Ok(Arc::new(oasis_store::dynamodb::DynamoStore::new(client, table_prefix)))
            }
        }
    }
}

/// A DynamoDB table-name prefix: what the functions and the admin tool both accept.
pub fn check_table_prefix(prefix: &str) -> Result<(), ConfigError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 200
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            name: "OASIS_TABLE_PREFIX",
            reason: "use letters, digits, '-', '_' and '.' only".into(),
        })
    }
}

/// The process's one AWS SDK configuration (retries, timeouts; `OASIS_AWS_ENDPOINT` for local
/// servers), loaded on first use: a function that needs no AWS service never pays for it.
#[derive(Debug, Default)]
pub struct Aws {
    endpoint: Option<String>,
    config: tokio::sync::OnceCell<SdkConfig>,
}

impl Aws {
    pub fn from_env() -> Self {
        Self::with_endpoint(optional("OASIS_AWS_ENDPOINT"))
    }

    /// Against a DynamoDB-API server at `endpoint` (local runs, tests) or AWS (`None`).
    pub fn with_endpoint(endpoint: Option<String>) -> Self {
        Self { endpoint, config: tokio::sync::OnceCell::new() }
    }

    pub async fn config(&self) -> &SdkConfig {
        self.config.get_or_init(|| sdk_config(self.endpoint.as_deref())).await
    }
}

/// Per-attempt and total time limits, below a function's own timeout so a slow store is
/// answered with 503 rather than a Lambda timeout.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const MAX_ATTEMPTS: u32 = 3;

/// Builds an SDK config with Oasis's retry and timeout policy.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    if let Some(e) = endpoint {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}

/// Where verifiers get public keys: `OASIS_JWKS_PARAMETER` (SSM, in AWS) or
/// `OASIS_JWKS_FILE` (development).
#[derive(Debug, Clone)]
pub enum JwksSource {
    Ssm(String),
    File(String),
}

/// A verifier refreshes its keys on an unknown `kid` at most this often.
pub const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// ... and re-reads them when its set is older than this, so a key removed from the JWKS
/// (pruned, or pulled after a leak) stops verifying on warm instances within five minutes.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(300);

/// What a resource function needs to verify access tokens: `OASIS_ISSUER`,
/// `OASIS_AUDIENCE` (default `oasis-api`) and a [`JwksSource`].
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub issuer: String,
    pub audience: String,
    pub jwks: JwksSource,
}

impl VerifierConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let jwks = match optional("OASIS_JWKS_PARAMETER") {
            Some(name) => JwksSource::Ssm(name),
            None => JwksSource::File(
                required("OASIS_JWKS_FILE")
                    .map_err(|_| ConfigError::Missing("OASIS_JWKS_PARAMETER or OASIS_JWKS_FILE"))?,
            ),
        };
        Ok(Self {
            issuer: required("OASIS_ISSUER")?,
            audience: optional("OASIS_AUDIENCE").unwrap_or_else(|| "oasis-api".into()),
            jwks,
        })
    }

    /// Loads the public keys; fails closed (the function refuses to start) on any bad key.
    pub async fn key_ring(&self, aws: &Aws) -> Result<KeyRing, KeyError> {
        let source: Arc<dyn PublicKeySource> = match &self.jwks {
            JwksSource::File(path) => Arc::new(LocalJwksFile::new(path)),
            JwksSource::Ssm(name) => Arc::new(SsmJwks::new(aws.config().await, name)),
        };
        Ok(KeyRing::load(source, &self.issuer, &self.audience, JWKS_REFRESH_INTERVAL).await?.with_max_age(JWKS_MAX_AGE))
    }
}
