//! Random opaque values and the hashes they are stored under.
//!
//! Refresh tokens and client secrets are 256-bit random values generated here, so a fast
//! hash (SHA-256) is enough to store them: there is no dictionary to attack, and a slow
//! hash would put argon2's cost on every refresh. Passwords, which people choose, use
//! [`crate::password`] instead.

use aws_lc_rs::{constant_time, digest, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Bytes of entropy in refresh tokens and client secrets (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// A fresh random value, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// `n` bytes from the system's random number generator.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The system RNG failing is not recoverable; aws-lc aborts rather than return weak bytes.
    rand::fill(&mut buf).expect("system random number generator failed");
    buf
}

/// The storage key of an opaque token: SHA-256, base64url. The token itself is never stored.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// Compares two secrets in constant time.
pub fn equal(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// Compares a presented secret with a stored [`token_hash`] in constant time.
pub fn verify_token_hash(presented: &str, stored_hash: &str) -> bool {
    constant_time::verify_slices_are_equal(token_hash(presented).as_bytes(), stored_hash.as_bytes()).is_ok()
}

/// RFC 7636 §4.6: whether `verifier` is the one behind an S256 `challenge`, i.e.
/// `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time.
pub fn pkce_s256_matches(verifier: &oasis_domain::CodeVerifier, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.expose().as_bytes()));
    equal(&computed, challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_verifier_of_rfc_7636_appendix_b_matches_its_challenge_and_nothing_else_does() {
        let verifier = oasis_domain::CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert!(pkce_s256_matches(&verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_s256_matches(&verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
        let other = oasis_domain::CodeVerifier::parse(&"a".repeat(43)).unwrap();
        assert!(!pkce_s256_matches(&other, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_s256_matches(&verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "plain is not S256");
    }

    #[test]
    fn random_tokens_carry_256_bits_and_do_not_repeat() {
        let a = random_token(TOKEN_BYTES);
        let b = random_token(TOKEN_BYTES);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn a_stored_hash_matches_only_its_own_token() {
        let t = random_token(TOKEN_BYTES);
        let h = token_hash(&t);
        assert!(verify_token_hash(&t, &h));
        assert!(!verify_token_hash(&random_token(TOKEN_BYTES), &h));
        assert_ne!(h, t, "the hash must not be the token");
    }
}
