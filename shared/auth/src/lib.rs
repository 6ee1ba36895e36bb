//! Oasis access tokens and credentials.
//!
//! * [`keys`]: the signing-key set (ES256 JWKs with a rotation status), its public JWKS, and
//!   the local-file key sources.
//! * [`aws`] (feature `aws`): the same sources in AWS, the private set in Secrets Manager and
//!   the public JWKS in SSM.
//! * [`keyring`]: what a running function holds: the signing keys it re-reads on a schedule
//!   and the verifiers' key ring that refreshes on an unknown `kid` and when it is old.
//! * [`token`]: issuing RFC 9068 access tokens and verifying them. Only the verifier can
//!   construct [`token::VerifiedClaims`].
//! * [`password`]: argon2id with one reusable block array, rehash-on-login and a dummy hash
//!   for equal timing.
//! * [`secret`]: random opaque tokens and their storage hashes.
//!
//! Scopes, usernames and the other protocol values are [`oasis_domain`] types.

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
