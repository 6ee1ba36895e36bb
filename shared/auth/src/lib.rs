//! Oasis access tokens and credentials.
//!
//! * [`keys`]: the signing-key set (ES256 JWKs with a rotation status), its public JWKS, and
//!   the key sources that load it (a local file now; AWS sources plug into the same traits).
//! * [`token`]: issuing RFC 9068 access tokens and the one [`token::Verifier`] every function
//!   uses. Only the verifier can construct [`token::VerifiedClaims`].
//! * [`password`]: argon2id hashing with rehash-on-login and a dummy hash for equal timing.
//! * [`secret`]: random opaque tokens and their storage hashes.
//!
//! Scopes and usernames are [`oasis_domain`] values.

#[cfg(feature = "aws")]
pub mod aws;
pub mod keyring;
pub mod keys;
pub mod password;
pub mod secret;
pub mod token;

/// Seconds since the Unix epoch. One clock for the whole crate so tests can reason about it.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
