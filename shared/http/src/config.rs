//! Environment configuration: read once at start, fail fast naming the variable.

use std::str::FromStr;

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
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }),
    }
}

/// A comma-separated list (empty when unset).
pub fn list(name: &'static str) -> Vec<String> {
    optional(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Which store a function uses: `OASIS_STORE` = `sqlite` (default) or `dynamodb`.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// The embedded store at `OASIS_SQLITE_PATH`.
    Sqlite(String),
    /// DynamoDB tables named `OASIS_TABLE_PREFIX-…`; `OASIS_AWS_ENDPOINT` points at a local
    /// DynamoDB-API server instead of AWS.
    Dynamodb {
        table_prefix: String,
        endpoint: Option<String>,
    },
}

impl StoreConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        match optional("OASIS_STORE").as_deref().unwrap_or("sqlite") {
            "sqlite" => Ok(StoreConfig::Sqlite(required("OASIS_SQLITE_PATH")?)),
            "dynamodb" => {
                let table_prefix = required("OASIS_TABLE_PREFIX")?;
                let ok = table_prefix.len() <= 200
                    && table_prefix
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
                if !ok {
                    return Err(ConfigError::Invalid {
                        name: "OASIS_TABLE_PREFIX",
                        reason: "use letters, digits, '-', '_' and '.' only".into(),
                    });
                }
                Ok(StoreConfig::Dynamodb {
                    table_prefix,
                    endpoint: optional("OASIS_AWS_ENDPOINT"),
                })
            }
            other => Err(ConfigError::Invalid {
                name: "OASIS_STORE",
                reason: format!("unknown backend {other:?} (expected sqlite or dynamodb)"),
            }),
        }
    }

    pub async fn open(
        &self,
    ) -> Result<std::sync::Arc<dyn oasis_store::Store>, oasis_store::StoreError> {
        match self {
            StoreConfig::Sqlite(path) => Ok(std::sync::Arc::new(
                oasis_store::sqlite::SqliteStore::open(path)?,
            )),
            StoreConfig::Dynamodb {
                table_prefix,
                endpoint,
            } => {
                let cfg = oasis_store::dynamodb::DynamoConfig {
                    table_prefix: table_prefix.clone(),
                    endpoint: endpoint.clone(),
                };
                Ok(std::sync::Arc::new(
                    oasis_store::dynamodb::DynamoStore::connect(&cfg).await,
                ))
            }
        }
    }
}

/// What a resource function needs to verify access tokens: `OASIS_ISSUER`,
/// `OASIS_AUDIENCE` (default `oasis-api`) and the public keys in `OASIS_JWKS_FILE`.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub issuer: String,
    pub audience: String,
    pub jwks_file: String,
}

impl VerifierConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            issuer: required("OASIS_ISSUER")?,
            audience: optional("OASIS_AUDIENCE").unwrap_or_else(|| "oasis-api".into()),
            jwks_file: required("OASIS_JWKS_FILE")?,
        })
    }

    /// Reads the public keys and builds the verifier; fails closed on any bad key.
    pub fn verifier(&self) -> Result<oasis_auth::token::Verifier, oasis_auth::keys::KeyError> {
        let text = std::fs::read_to_string(&self.jwks_file).map_err(|source| {
            oasis_auth::keys::KeyError::Read {
                path: self.jwks_file.clone().into(),
                source,
            }
        })?;
        let jwks = oasis_auth::keys::PublicJwks::from_json(&text)?;
        if jwks.keys.is_empty() {
            return Err(oasis_auth::keys::KeyError::ActiveCount(0));
        }
        oasis_auth::token::Verifier::new(&jwks, &self.issuer, &self.audience)
    }
}
