//! Signing keys: an ES256 key set with rotation phases, its public JWKS, and key sources.
//!
//! Rotation never rejects a valid token: a new key is first published as `next` (verifiers
//! learn it, nothing signs with it), then promoted to `active` while the old active key
//! becomes `retiring` with a `retire_after` time past the longest token lifetime, and only
//! after that time is it removed.

use std::collections::HashSet;

use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};

/// The one signature algorithm Oasis signs and accepts.
pub const ALGORITHM: jsonwebtoken::Algorithm = jsonwebtoken::Algorithm::ES256;
const ALG_NAME: &str = "ES256";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write key file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("key set is not valid JSON of the expected shape: {0}")]
    Format(#[from] serde_json::Error),
    #[error("key {kid} is not a usable ES256 P-256 key: {reason}")]
    BadKey { kid: String, reason: &'static str },
    #[error("key set has {0} active keys; exactly one must sign")]
    ActiveCount(usize),
    #[error("key set has two keys with kid {0}")]
    DuplicateKid(String),
    #[error("a key is already staged as next ({0}); promote it before staging another")]
    AlreadyStaged(String),
    #[error("no key is staged as next; stage one first")]
    NothingStaged,
    #[error("key generation failed")]
    Generate,
    #[error("the key source is unavailable: {0}")]
    Source(String),
    /// A secret or parameter that was never created (or is named wrong).
    #[error("{0} does not exist")]
    Missing(String),
    /// The service refused the call (access denied, a malformed name, ...).
    #[error("{what}: {code}: {message}")]
    Refused { what: String, code: String, message: String },
    /// Credentials, network, timeouts: the cause chain says which.
    #[error("cannot reach {what}")]
    Unavailable { what: String, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("the key set has no keys")]
    Empty,
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Published to verifiers; does not sign yet.
    Next,
    /// Signs new tokens. Exactly one key is active.
    Active,
    /// Verifies tokens it signed until `retire_after`; signs nothing.
    Retiring,
}

/// A private JWK (RFC 7517/7518) plus Oasis's rotation fields.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateJwk {
    kty: String,
    crv: String,
    alg: String,
    #[serde(rename = "use")]
    use_: String,
    kid: String,
    x: String,
    y: String,
    d: String,
    status: KeyStatus,
    created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retire_after: Option<u64>,
}

/// The private scalar is wiped from memory when a key set is dropped (rotation replaces sets
/// on warm instances), so it does not linger in freed heap.
impl Drop for PrivateJwk {
    fn drop(&mut self) {
        self.d.zeroize();
    }
}

impl std::fmt::Debug for PrivateJwk {
    // The private scalar must never reach a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateJwk").field("kid", &self.kid).field("status", &self.status).finish_non_exhaustive()
    }
}

/// A public JWK as published in the JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    pub crv: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub kid: String,
    pub x: String,
    pub y: String,
}

/// A JWK Set of public keys (`/.well-known/jwks.json`, the SSM parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwks {
    pub keys: Vec<PublicJwk>,
}

impl PublicJwks {
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        let jwks: PublicJwks = serde_json::from_str(json)?;
        let mut seen = HashSet::new();
        for k in &jwks.keys {
            if k.kty != "EC" || k.crv != "P-256" || k.alg != ALG_NAME || k.use_ != "sig" {
                return Err(KeyError::BadKey { kid: k.kid.clone(), reason: "not an ES256 signing key" });
            }
            if !seen.insert(k.kid.clone()) {
                return Err(KeyError::DuplicateKid(k.kid.clone()));
            }
        }
        Ok(jwks)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"keys\":[]}".to_owned())
    }

    /// Decoding keys by kid, each bound to ES256 only.
    pub(crate) fn decoding_keys(&self) -> Result<Vec<(String, DecodingKey)>, KeyError> {
        self.keys
            .iter()
            .map(|k| {
                DecodingKey::from_ec_components(&k.x, &k.y)
                    .map(|d| (k.kid.clone(), d))
                    .map_err(|_| KeyError::BadKey { kid: k.kid.clone(), reason: "bad public point" })
            })
            .collect()
    }
}

/// The key that signs access tokens now.
pub struct SigningKey {
    pub(crate) kid: String,
    pub(crate) key: EncodingKey,
}

impl SigningKey {
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// The private key set: what the local key file or the Secrets Manager secret holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySet {
    keys: Vec<PrivateJwk>,
}

impl KeySet {
    /// A key set with one freshly generated active key.
    pub fn generate(now: u64) -> Result<Self, KeyError> {
        let mut key = generate_key(now)?;
        key.status = KeyStatus::Active;
        Ok(Self { keys: vec![key] })
    }

    /// Parses and checks a key set: every key is a valid P-256 pair whose kid is its
    /// thumbprint, and exactly one key is active.
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        let set: KeySet = serde_json::from_str(json)?;
        set.check()?;
        Ok(set)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    fn check(&self) -> Result<(), KeyError> {
        let mut seen = HashSet::new();
        for k in &self.keys {
            key_pair(k)?;
            if !seen.insert(k.kid.as_str()) {
                return Err(KeyError::DuplicateKid(k.kid.clone()));
            }
        }
        let active = self.keys.iter().filter(|k| k.status == KeyStatus::Active).count();
        if active != 1 {
            return Err(KeyError::ActiveCount(active));
        }
        Ok(())
    }

    /// The active key, ready to sign.
    pub fn signing_key(&self) -> Result<SigningKey, KeyError> {
        let k = self.keys.iter().find(|k| k.status == KeyStatus::Active).ok_or(KeyError::ActiveCount(0))?;
        let pair = key_pair(k)?;
        let der = pair.to_pkcs8v1().map_err(|_| KeyError::BadKey { kid: k.kid.clone(), reason: "cannot encode" })?;
        Ok(SigningKey { kid: k.kid.clone(), key: EncodingKey::from_ec_der(der.as_ref()) })
    }

    /// A sealing secret per private key, the active key's first: server-held secrets for
    /// [`crate::secret::seal_under`], derived from the private scalars with their own label, so
    /// the token function needs no second secret and a rotation keeps the previous keys' open.
    pub fn sealing_secrets(&self) -> Vec<crate::secret::SealingSecret> {
        let mut keys: Vec<&PrivateJwk> = self.keys.iter().collect();
        keys.sort_by_key(|k| k.status != KeyStatus::Active);
        keys.iter().map(|k| crate::secret::SealingSecret::derive(k.d.as_bytes())).collect()
    }

    /// The public half of every key (next, active and retiring): what verifiers trust.
    pub fn public_jwks(&self) -> PublicJwks {
        PublicJwks {
            keys: self
                .keys
                .iter()
                .map(|k| PublicJwk {
                    kty: k.kty.clone(),
                    crv: k.crv.clone(),
                    alg: k.alg.clone(),
                    use_: k.use_.clone(),
                    kid: k.kid.clone(),
                    x: k.x.clone(),
                    y: k.y.clone(),
                })
                .collect(),
        }
    }

    /// `(kid, status)` of every key, for the admin tool.
    pub fn summary(&self) -> Vec<(String, KeyStatus, Option<u64>)> {
        self.keys.iter().map(|k| (k.kid.clone(), k.status, k.retire_after)).collect()
    }

    /// Rotation phase 1: generate a key and publish it as `next`.
    pub fn stage_next(&mut self, now: u64) -> Result<String, KeyError> {
        if let Some(k) = self.keys.iter().find(|k| k.status == KeyStatus::Next) {
            return Err(KeyError::AlreadyStaged(k.kid.clone()));
        }
        let key = generate_key(now)?;
        let kid = key.kid.clone();
        self.keys.push(key);
        Ok(kid)
    }

    /// Rotation phase 2: the `next` key signs from now on; the old active key retires after
    /// `max_token_lifetime` seconds, when every token it signed has expired.
    pub fn promote_next(&mut self, now: u64, max_token_lifetime: u64) -> Result<String, KeyError> {
        let next = self.keys.iter().position(|k| k.status == KeyStatus::Next).ok_or(KeyError::NothingStaged)?;
        for k in &mut self.keys {
            if k.status == KeyStatus::Active {
                k.status = KeyStatus::Retiring;
                k.retire_after = Some(now + max_token_lifetime);
            }
        }
        self.keys[next].status = KeyStatus::Active;
        Ok(self.keys[next].kid.clone())
    }

    /// Rotation phase 3: drop retiring keys whose `retire_after` has passed.
    pub fn prune_retired(&mut self, now: u64) -> Vec<String> {
        let (gone, kept): (Vec<_>, Vec<_>) = self
            .keys
            .drain(..)
            .partition(|k| k.status == KeyStatus::Retiring && k.retire_after.is_some_and(|t| t <= now));
        self.keys = kept;
        gone.into_iter().map(|k| k.kid.clone()).collect()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn generate_key(now: u64) -> Result<PrivateJwk, KeyError> {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| KeyError::Generate)?;
    let d = pair.private_key().as_be_bytes().map_err(|_| KeyError::Generate)?;
    let point = pair.public_key().as_ref();
    // Uncompressed SEC1 point: 0x04 || X (32 bytes) || Y (32 bytes).
    if point.len() != 65 || point[0] != 4 {
        return Err(KeyError::Generate);
    }
    let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
    Ok(PrivateJwk {
        kty: "EC".into(),
        crv: "P-256".into(),
        alg: ALG_NAME.into(),
        use_: "sig".into(),
        kid: thumbprint(&x, &y),
        x,
        y,
        d: b64(d.as_ref()),
        status: KeyStatus::Next,
        created_at: now,
        retire_after: None,
    })
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    b64(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
}

fn key_pair(k: &PrivateJwk) -> Result<EcdsaKeyPair, KeyError> {
    let bad = |reason| KeyError::BadKey { kid: k.kid.clone(), reason };
    if k.kty != "EC" || k.crv != "P-256" || k.alg != ALG_NAME || k.use_ != "sig" {
        return Err(bad("not an ES256 signing key"));
    }
    if k.kid != thumbprint(&k.x, &k.y) {
        return Err(bad("kid is not the key's RFC 7638 thumbprint"));
    }
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| bad("not base64url"));
    let (x, y, d) = (decode(&k.x)?, decode(&k.y)?, Zeroizing::new(decode(&k.d)?));
    if x.len() != 32 || y.len() != 32 || d.len() != 32 {
        return Err(bad("wrong coordinate length"));
    }
    let mut point = Vec::with_capacity(65);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    EcdsaKeyPair::from_private_key_and_public_key(&ECDSA_P256_SHA256_FIXED_SIGNING, &d, &point)
        .map_err(|_| bad("private and public parts do not match"))
}

/// Loads the private key set (token function only).
#[async_trait::async_trait]
pub trait SigningKeySource: Send + Sync {
    async fn load_key_set(&self) -> Result<KeySet, KeyError>;
}

/// Loads the public keys (every verifier).
#[async_trait::async_trait]
pub trait PublicKeySource: Send + Sync {
    async fn load_jwks(&self) -> Result<PublicJwks, KeyError>;
}

/// A key set in a local JSON file, for development. Written with mode 0600.
#[derive(Debug, Clone)]
pub struct LocalKeyFile {
    path: PathBuf,
}

impl LocalKeyFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn read(&self) -> Result<KeySet, KeyError> {
        let text =
            std::fs::read_to_string(&self.path).map_err(|source| KeyError::Read { path: self.path.clone(), source })?;
        KeySet::from_json(&text)
    }

    /// Replaces the file atomically (write a sibling, then rename), owner-only permissions.
    pub fn write(&self, set: &KeySet) -> Result<(), KeyError> {
        let err = |source| KeyError::Write { path: self.path.clone(), source };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let json = zeroize::Zeroizing::new(set.to_json());
        write_private_file(&self.path, json.as_bytes()).map_err(err)
    }
}

/// Replaces `path` with `bytes`, readable by the owner only, all or nothing: written to a
/// fresh, unguessable name opened with O_CREAT|O_EXCL (`create_new`), so never through a file
/// or symlink someone planted (the 0600 mode is always the new file's own), then renamed over.
pub fn write_private_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let name = format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        crate::secret::random_token(9)
    );
    let tmp = path.with_file_name(name);
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all()).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[async_trait::async_trait]
impl SigningKeySource for LocalKeyFile {
    async fn load_key_set(&self) -> Result<KeySet, KeyError> {
        self.read()
    }
}

/// A public JWKS in a local file (development verifiers).
#[derive(Debug, Clone)]
pub struct LocalJwksFile {
    path: PathBuf,
}

impl LocalJwksFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

#[async_trait::async_trait]
impl PublicKeySource for LocalJwksFile {
    async fn load_jwks(&self) -> Result<PublicJwks, KeyError> {
        let text =
            std::fs::read_to_string(&self.path).map_err(|source| KeyError::Read { path: self.path.clone(), source })?;
        PublicJwks::from_json(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_set_round_trips_and_has_one_active_key() {
        let set = KeySet::generate(1).unwrap();
        let again = KeySet::from_json(&set.to_json()).unwrap();
        assert_eq!(again.summary().len(), 1);
        assert_eq!(again.summary()[0].1, KeyStatus::Active);
        assert_eq!(again.signing_key().unwrap().kid(), set.summary()[0].0);
    }

    #[test]
    fn the_public_jwks_never_contains_the_private_scalar() {
        let set = KeySet::generate(1).unwrap();
        let json = set.public_jwks().to_json();
        assert!(!json.contains("\"d\""), "{json}");
        let private: serde_json::Value = serde_json::from_str(&set.to_json()).unwrap();
        let d = private["keys"][0]["d"].as_str().unwrap();
        assert!(!json.contains(d));
        assert!(!format!("{set:?}").contains(d), "Debug must not print the private key");
    }

    #[test]
    fn a_key_whose_private_part_does_not_match_its_public_part_is_refused() {
        let a: serde_json::Value = serde_json::from_str(&KeySet::generate(1).unwrap().to_json()).unwrap();
        let b: serde_json::Value = serde_json::from_str(&KeySet::generate(1).unwrap().to_json()).unwrap();
        let mut mixed = a.clone();
        mixed["keys"][0]["d"] = b["keys"][0]["d"].clone();
        assert!(matches!(KeySet::from_json(&mixed.to_string()), Err(KeyError::BadKey { .. })));
    }

    #[test]
    fn a_key_set_without_exactly_one_active_key_is_refused() {
        let mut set = KeySet::generate(1).unwrap();
        set.stage_next(2).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&set.to_json()).unwrap();
        v["keys"][1]["status"] = "active".into();
        assert!(matches!(KeySet::from_json(&v.to_string()), Err(KeyError::ActiveCount(2))));
        v["keys"][0]["status"] = "next".into();
        v["keys"][1]["status"] = "next".into();
        assert!(matches!(KeySet::from_json(&v.to_string()), Err(KeyError::ActiveCount(0))));
    }

    #[test]
    fn rotation_publishes_before_signing_and_retires_after_the_token_lifetime() {
        let mut set = KeySet::generate(100).unwrap();
        let old = set.signing_key().unwrap().kid().to_owned();
        let new = set.stage_next(200).unwrap();
        assert_eq!(set.signing_key().unwrap().kid(), old, "a staged key must not sign yet");
        assert!(set.public_jwks().keys.iter().any(|k| k.kid == new), "but it is published");
        assert!(matches!(set.stage_next(201), Err(KeyError::AlreadyStaged(_))));

        set.promote_next(300, 900).unwrap();
        assert_eq!(set.signing_key().unwrap().kid(), new);
        assert!(set.public_jwks().keys.iter().any(|k| k.kid == old), "old key still verifies");
        assert!(set.prune_retired(1199).is_empty(), "not before retire_after");
        assert_eq!(set.prune_retired(1200), vec![old.clone()]);
        assert!(!set.public_jwks().keys.iter().any(|k| k.kid == old));
        assert!(matches!(set.promote_next(1300, 900), Err(KeyError::NothingStaged)));
    }

    #[test]
    fn the_local_key_file_is_written_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("oasis-keys-{}", crate::secret::random_token(6)));
        let file = LocalKeyFile::new(dir.join("keys.json"));
        file.write(&KeySet::generate(1).unwrap()).unwrap();
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(file.read().is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The old writer opened `keys.tmp` with O_CREAT|O_TRUNC, following a symlink planted there
    /// and keeping a planted file's looser mode: the private keys could land elsewhere.
    #[test]
    fn a_symlink_or_file_planted_at_a_temporary_name_never_receives_the_private_keys() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("oasis-keys-{}", crate::secret::random_token(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("keys.tmp")).unwrap();
        std::fs::write(dir.join(".keys.json.tmp"), "planted").unwrap();
        std::fs::set_permissions(dir.join(".keys.json.tmp"), std::fs::Permissions::from_mode(0o666)).unwrap();
        let file = LocalKeyFile::new(dir.join("keys.json"));
        file.write(&KeySet::generate(1).unwrap()).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert_eq!(std::fs::read_to_string(dir.join(".keys.json.tmp")).unwrap(), "planted");
        assert_eq!(std::fs::metadata(file.path()).unwrap().permissions().mode() & 0o777, 0o600);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 4, "no temporary file left behind: {left:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
