//! Opaque, tamper-proof pagination cursors: the position after the last result, bound to
//! the query it belongs to, authenticated with HMAC-SHA256. A cursor that was altered, forged
//! or taken from another query is refused with 400.

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Cursors longer than this are refused before decoding.
pub const MAX_CURSOR_LEN: usize = 512;
/// The HMAC key must carry at least 256 bits.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor")]
pub struct CursorError;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    /// Sort key of the last result.
    k: String,
    /// Id of the last result.
    i: String,
    /// Fingerprint of the query the cursor belongs to.
    q: String,
}

pub struct CursorKey(hmac::Key);

impl CursorKey {
    pub fn new(secret: &[u8]) -> Result<Self, CursorError> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(CursorError);
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    pub fn seal(&self, sort_key: &str, id: &str, fingerprint: &str) -> String {
        let payload = Payload { k: sort_key.to_owned(), i: id.to_owned(), q: fingerprint.to_owned() };
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap_or_default());
        let tag = URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, body.as_bytes()));
        format!("{body}.{tag}")
    }

    /// The `(sort_key, id)` position, if the cursor is authentic and belongs to `fingerprint`.
    pub fn open(&self, cursor: &str, fingerprint: &str) -> Result<(String, String), CursorError> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(CursorError);
        }
        let (body, tag) = cursor.split_once('.').ok_or(CursorError)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CursorError)?;
        hmac::verify(&self.0, body.as_bytes(), &tag).map_err(|_| CursorError)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| CursorError)?;
        let p: Payload = serde_json::from_slice(&bytes).map_err(|_| CursorError)?;
        if p.q != fingerprint {
            return Err(CursorError);
        }
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
        let (body, tag) = c.split_once('.').unwrap();
        let forged_body = URL_SAFE_NO_PAD.encode(br#"{"k":"","i":"","q":"fp"}"#);
        for bad in [
            format!("{forged_body}.{tag}"),
            format!("{body}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])),
            format!("{body}x.{tag}"),
            body.to_owned(),
            String::new(),
            "x".repeat(MAX_CURSOR_LEN + 1),
        ] {
            assert_eq!(key().open(&bad, "fp"), Err(CursorError), "{bad}");
        }
        let other = CursorKey::new(&[8u8; 32]).unwrap();
        assert_eq!(other.open(&c, "fp"), Err(CursorError), "another key's cursor");
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(CursorKey::new(&[1u8; 31]).is_err());
    }
}
