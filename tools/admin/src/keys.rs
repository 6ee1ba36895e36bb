//! Signing keys where they live: a local file (development) or, in AWS, the private key set
//! in a Secrets Manager secret and the public JWKS in an SSM parameter. Rotation runs in
//! phases so that no valid token is ever rejected:
//!
//! 1. `stage`: a new key is generated and published to verifiers; nothing signs with it yet.
//! 2. `promote` (after verifiers had time to learn it): it signs; the old key retires after
//!    the longest token lifetime.
//! 3. `prune` (after that): retired keys whose tokens have all expired are removed.

use std::path::PathBuf;

use oasis_auth::aws::{SecretsManagerKeySet, SsmJwks};
use oasis_auth::keys::{KeyError, KeySet, LocalKeyFile, SigningKeySource};

pub enum KeyStorage {
    /// The verifiers of a local run read `jwks`; every key change rewrites it, so a rotation
    /// cannot leave them without the key that signs.
    File {
        keys: LocalKeyFile,
        jwks: PathBuf,
    },
    Aws {
        secret: SecretsManagerKeySet,
        jwks: SsmJwks,
    },
}

/// The public JWKS of a local key file, when none is named: the file beside it.
pub fn default_jwks_path(keys: &std::path::Path) -> PathBuf {
    keys.with_file_name("jwks.json")
}

impl KeyStorage {
    pub async fn read(&self) -> Result<KeySet, KeyError> {
        match self {
            KeyStorage::File { keys, .. } => keys.read(),
            KeyStorage::Aws { secret, .. } => secret.load_key_set().await,
        }
    }

    /// Publishes the public keys first, then stores the private set.
    pub async fn write(&self, set: &KeySet) -> Result<(), KeyError> {
        match self {
            KeyStorage::File { keys, jwks } => {
                write_public(jwks, &set.public_jwks().to_json())?;
                keys.write(set)
            }
            KeyStorage::Aws { secret, jwks } => {
                jwks.write(&set.public_jwks()).await?;
                secret.write(set).await
            }
        }
    }

    /// Where verifiers read the public keys, as an operator would look for them.
    pub fn published_to(&self) -> String {
        match self {
            KeyStorage::File { jwks, .. } => format!("the JWKS file {}", jwks.display()),
            KeyStorage::Aws { jwks, .. } => format!("the SSM parameter {}", jwks.name()),
        }
    }

    pub async fn exists(&self) -> bool {
        match self {
            KeyStorage::File { keys, .. } => keys.path().exists(),
            KeyStorage::Aws { secret, .. } => secret.read_string().await.is_ok(),
        }
    }
}

fn write_public(path: &std::path::Path, text: &str) -> Result<(), KeyError> {
    let err = |source| KeyError::Write { path: path.to_owned(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, text).map_err(err)
}

/// A first key set with one active key. Refuses to overwrite an existing one.
pub async fn init(storage: &KeyStorage) -> Result<KeySet, KeyError> {
    if storage.exists().await {
        return Err(KeyError::Source("a key set already exists; rotate it with stage/promote/prune".into()));
    }
    let set = KeySet::generate(oasis_auth::now())?;
    storage.write(&set).await?;
    Ok(set)
}

pub async fn stage(storage: &KeyStorage) -> Result<String, KeyError> {
    let mut set = storage.read().await?;
    let kid = set.stage_next(oasis_auth::now())?;
    storage.write(&set).await?;
    Ok(kid)
}

/// The token function's default key cache (`OASIS_KEYS_CACHE_SECONDS`).
pub const DEFAULT_SIGNING_CACHE_SECONDS: u64 = 300;

/// How long a key promoted away from must still verify: a warm token function keeps signing
/// with it until its key cache expires, each such token lives `max_token_lifetime`, and
/// verifiers accept it for the clock leeway beyond that.
pub fn retirement_delay(max_token_lifetime: u64, signing_cache_seconds: u64) -> u64 {
    signing_cache_seconds.saturating_add(max_token_lifetime).saturating_add(oasis_auth::token::LEEWAY_SECONDS)
}

/// Rotation phase 2; returns the promoted kid and how long the previous key keeps verifying.
pub async fn promote(
    storage: &KeyStorage,
    max_token_lifetime: u64,
    signing_cache_seconds: u64,
) -> Result<(String, u64), KeyError> {
    let mut set = storage.read().await?;
    let keep = retirement_delay(max_token_lifetime, signing_cache_seconds);
    let kid = set.promote_next(oasis_auth::now(), keep)?;
    storage.write(&set).await?;
    Ok((kid, keep))
}

pub async fn prune(storage: &KeyStorage, now: u64) -> Result<Vec<String>, KeyError> {
    let mut set = storage.read().await?;
    let gone = set.prune_retired(now);
    if !gone.is_empty() {
        storage.write(&set).await?;
    }
    Ok(gone)
}
