//! Random opaque values and the hashes they are stored under.
//!
//! Refresh tokens and client secrets are 256-bit random values generated here, so a fast
//! hash (SHA-256) is enough to store them: there is no dictionary to attack, and a slow
//! hash would put argon2's cost on every refresh. Passwords, which people choose, use
//! [`crate::password`] instead.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
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

/// A secret only the server holds, mixed into [`seal_under`]'s key, so that what is sealed
/// opens only with the token *and* this: a copy of the store plus an old token opens nothing.
/// Derived from key material with its own label (`KeySet::sealing_secrets`).
#[derive(Clone)]
pub struct SealingSecret([u8; 32]);

impl SealingSecret {
    pub fn derive(material: &[u8]) -> Self {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"oasis sealing secret v1\0");
        ctx.update(material);
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        Self(key)
    }
}

impl std::fmt::Debug for SealingSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingSecret(..)")
    }
}

/// Seals `value` so that only a holder of `token` (a random value of [`TOKEN_BYTES`], such as a
/// refresh token) and of `secret` can open it: AES-256-GCM under a key derived from both, with
/// a random nonce. `None` only if the system's AEAD refuses (it cannot for a value this size).
pub fn seal_under(secret: &SealingSecret, token: &str, value: &str) -> Option<String> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce).ok()?;
    let mut data = value.as_bytes().to_vec();
    sealing_key(secret, token)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
        .ok()?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&data);
    Some(URL_SAFE_NO_PAD.encode(sealed))
}

/// What [`seal_under`] sealed under `token` and one of `secrets` (the current one first; the
/// others as they were before a rotation); `None` for another token, no matching secret, or
/// any altered byte.
pub fn open_under(secrets: &[SealingSecret], token: &str, sealed: &str) -> Option<String> {
    let data = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if data.len() < NONCE_LEN {
        return None;
    }
    let (nonce, body) = data.split_at(NONCE_LEN);
    secrets.iter().find_map(|secret| {
        let mut body = body.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let opened = sealing_key(secret, token)?.open_in_place(nonce, Aad::empty(), &mut body).ok()?;
        String::from_utf8(opened.to_vec()).ok()
    })
}

/// The token has 256 bits of entropy and the secret 256 more; one hash with a label (keeping
/// this key apart from the token's storage hash) is a sound derivation.
fn sealing_key(secret: &SealingSecret, token: &str) -> Option<LessSafeKey> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"oasis sealed under a token v1\0");
    ctx.update(&secret.0);
    ctx.update(token.as_bytes());
    UnboundKey::new(&AES_256_GCM, ctx.finish().as_ref()).ok().map(LessSafeKey::new)
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
    fn a_value_sealed_under_a_token_opens_only_with_that_token_and_the_servers_secret_and_unaltered() {
        let (token, other, value) = (random_token(TOKEN_BYTES), random_token(TOKEN_BYTES), random_token(TOKEN_BYTES));
        let (secret, old, stranger) =
            (SealingSecret::derive(b"current"), SealingSecret::derive(b"before"), SealingSecret::derive(b"x"));
        let sealed = seal_under(&secret, &token, &value).unwrap();
        let both = [secret.clone(), old.clone()];
        assert_eq!(open_under(&both, &token, &sealed).as_deref(), Some(value.as_str()));
        assert_eq!(open_under(&[old.clone(), secret.clone()], &token, &sealed).as_deref(), Some(value.as_str()));
        assert!(!sealed.contains(&value), "the sealed form does not carry the value");
        assert_ne!(seal_under(&secret, &token, &value).unwrap(), sealed, "a fresh nonce each time");
        assert_eq!(open_under(&both, &other, &sealed), None, "another token opens nothing");
        assert_eq!(open_under(&[stranger, old], &token, &sealed), None, "the token without the secret opens nothing");
        assert_eq!(open_under(&[], &token, &sealed), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[i] ^= 1;
            assert_eq!(open_under(&both, &token, &URL_SAFE_NO_PAD.encode(&bytes)), None, "byte {i} altered");
            bytes[i] ^= 1;
        }
        for garbage in ["", "!", "AAAA", &sealed[..10]] {
            assert_eq!(open_under(&both, &token, garbage), None, "{garbage:?}");
        }
        assert_eq!(format!("{secret:?}"), "SealingSecret(..)");
    }

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
