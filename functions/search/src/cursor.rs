//! Opaque, tamper-proof pagination cursors: the position after which the next page starts,
//! bound to the query it belongs to, sealed with AES-256-GCM. Encrypted, not only signed: a
//! page that stops at its read budget resumes after a title the caller may not be allowed to
//! see (above their maturity ceiling), and a readable cursor would name it. A cursor that was
//! altered, forged or taken from another query is refused with 400.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oasis_auth::aws::SecretsManagerKeySet;
use oasis_lambda::config::{self, Aws, ConfigError};
use oasis_lambda::shell::StartError;
use serde::{Deserialize, Serialize};

/// Cursors longer than this are refused before decoding (a position holds a folded title of
/// up to 200 characters, several bytes each in some scripts).
pub const MAX_CURSOR_LEN: usize = 4096;
/// The cursor secret must carry at least 256 bits.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor")]
pub struct CursorError;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    /// Sort key of the position.
    k: String,
    /// Id of the position.
    i: String,
}

pub struct CursorKey(LessSafeKey);

impl CursorKey {
    pub fn new(secret: &[u8]) -> Result<Self, CursorError> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(CursorError);
        }
        // A secret of any length becomes the 256-bit AEAD key through HMAC, with a label so
        // the same secret could never serve another purpose with the same key.
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), b"oasis search cursor, AES-256-GCM");
        let key = UnboundKey::new(&AES_256_GCM, derived.as_ref()).map_err(|_| CursorError)?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// The key of a deployment: the Secrets Manager secret `OASIS_CURSOR_SECRET_ID` in AWS,
    /// the file `OASIS_CURSOR_KEY_FILE` in development; base64url of at least 32 random bytes.
    pub async fn from_env(aws: &Aws) -> Result<Self, StartError> {
        let text = match config::optional("OASIS_CURSOR_SECRET_ID") {
            Some(id) => SecretsManagerKeySet::new(aws.config().await, id).read_string().await?,
            None => {
                let file = config::required("OASIS_CURSOR_KEY_FILE")
                    .map_err(|_| ConfigError::Missing("OASIS_CURSOR_SECRET_ID or OASIS_CURSOR_KEY_FILE"))?;
                std::fs::read_to_string(&file).map_err(|e| format!("cannot read OASIS_CURSOR_KEY_FILE {file}: {e}"))?
            }
        };
        let key = URL_SAFE_NO_PAD.decode(text.trim()).ok().and_then(|k| Self::new(&k).ok());
        Ok(key.ok_or("the cursor key must hold at least 32 random bytes, base64url")?)
    }

    /// Seals the position `(sort_key, id)` for the query `fingerprint` (the associated data).
    pub fn seal(&self, sort_key: &str, id: &str, fingerprint: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("system random number generator failed");
        let payload = Payload { k: sort_key.to_owned(), i: id.to_owned() };
        let mut sealed = serde_json::to_vec(&payload).unwrap_or_default();
        if self
            .0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(fingerprint.as_bytes()),
                &mut sealed,
            )
            .is_err()
        {
            return String::new();
        }
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The `(sort_key, id)` position, if the cursor is authentic and belongs to `fingerprint`.
    pub fn open(&self, cursor: &str, fingerprint: &str) -> Result<(String, String), CursorError> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(CursorError);
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| CursorError)?;
        if bytes.len() < NONCE_LEN {
            return Err(CursorError);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CursorError)?;
        let mut sealed = sealed.to_vec();
        let plain =
            self.0.open_in_place(nonce, Aad::from(fingerprint.as_bytes()), &mut sealed).map_err(|_| CursorError)?;
        let p: Payload = serde_json::from_slice(plain).map_err(|_| CursorError)?;
        Ok((p.k, p.i))
    }
}

/// Identifies a query's result set: its terms, filters and the caller's maturity ceiling.
pub fn fingerprint(parts: &[&str]) -> String {
    let joined = parts.join("\u{1f}");
    let d = digest::digest(&digest::SHA256, joined.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CursorKey {
        CursorKey::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn a_sealed_cursor_opens_for_its_own_query_only() {
        let c = key().seal("the matrix", "tt1", "fp-a");
        assert_eq!(key().open(&c, "fp-a"), Ok(("the matrix".into(), "tt1".into())));
        assert_eq!(key().open(&c, "fp-b"), Err(CursorError));
    }

    #[test]
    fn cursor_tampering_is_detected() {
        let c = key().seal("the matrix", "tt1", "fp");
        let bytes = URL_SAFE_NO_PAD.decode(&c).unwrap();
        let flip = |i: usize| {
            let mut b = bytes.clone();
            b[i] ^= 1;
            URL_SAFE_NO_PAD.encode(b)
        };
        for bad in [
            flip(0),
            flip(NONCE_LEN),
            flip(bytes.len() - 1),
            URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1]),
            URL_SAFE_NO_PAD.encode(&bytes[..NONCE_LEN]),
            format!("{c}x"),
            "not base64!".to_owned(),
            String::new(),
            "x".repeat(MAX_CURSOR_LEN + 1),
        ] {
            assert_eq!(key().open(&bad, "fp"), Err(CursorError), "{bad}");
        }
        let other = CursorKey::new(&[8u8; 32]).unwrap();
        assert_eq!(other.open(&c, "fp"), Err(CursorError), "another key's cursor");
    }

    #[test]
    fn a_cursor_does_not_reveal_the_title_it_resumes_after() {
        // A budget-stopped page resumes after a title the caller may not see (attack: decode
        // the cursor to learn hidden titles). Nothing of the position is readable in it.
        let c = key().seal("secret adult title", "tt-hidden", "fp");
        let bytes = URL_SAFE_NO_PAD.decode(&c).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("secret") && !text.contains("hidden") && !c.contains("secret"), "{c}");
        assert_ne!(c, key().seal("secret adult title", "tt-hidden", "fp"), "a fresh nonce each time");
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(CursorKey::new(&[1u8; 31]).is_err());
    }
}
