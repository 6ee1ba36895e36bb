//! Password hashing: argon2id, PHC strings, rehash when the parameters change.
//!
//! Unknown users are checked against a dummy hash made with the same parameters, so that
//! "no such user" costs the same time as "wrong password" (no user enumeration by timing).

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};

/// Passwords longer than this are refused before hashing (argon2 accepts any length; the
/// cap keeps request bodies and work bounded).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The shortest password the admin tool accepts for a new user.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2 parameters are invalid: m={m_kib} KiB, t={t}, p={p} (minimum m=19456, t=2, p=1)")]
    WeakParams { m_kib: u32, t: u32, p: u32 },
    #[error("password hashing failed")]
    Hash(#[source] argon2::password_hash::Error),
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The password matches. `rehash` carries a new hash when the stored one used other
    /// parameters than the configured ones.
    Valid {
        rehash: Option<String>,
    },
    Invalid,
}

/// argon2id with fixed, validated parameters and a precomputed dummy hash.
pub struct PasswordHasher {
    argon: Argon2<'static>,
    dummy: String,
}

impl PasswordHasher {
    /// OWASP's argon2id minimum (m=19 MiB, t=2, p=1) is the floor; stronger is allowed.
    pub fn new(m_kib: u32, t: u32, p: u32) -> Result<Self, PasswordError> {
        if m_kib < 19_456 || t < 2 || p < 1 {
            return Err(PasswordError::WeakParams { m_kib, t, p });
        }
        let params = Params::new(m_kib, t, p, None).map_err(|_| PasswordError::WeakParams { m_kib, t, p })?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // A fixed, well-formed hash with the configured cost: verifying against it takes as
        // long as a real check and matches no password. Built from text, not by hashing, so
        // it costs nothing at cold start.
        let dummy = format!("$argon2id$v=19$m={m_kib},t={t},p={p}$c2FsdHNhbHRzYWx0c2FsdA${}", "A".repeat(43));
        Ok(Self { argon, dummy })
    }

    /// The recommended default: m=19456 KiB, t=2, p=1.
    pub fn default_params() -> Result<Self, PasswordError> {
        Self::new(19_456, 2, 1)
    }

    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt).expect("system random number generator failed");
        let hash = self.argon.hash_password_with_salt(password.as_bytes(), &salt).map_err(PasswordError::Hash)?;
        Ok(hash.to_string())
    }

    /// Checks `password` against a stored PHC string. A stored string that does not parse
    /// counts as a mismatch (and is logged by the caller's outcome, never the string).
    pub fn verify(&self, password: &str, stored: &str) -> Verification {
        let Ok(parsed) = PasswordHash::new(stored) else {
            self.verify_dummy(password);
            return Verification::Invalid;
        };
        if password.len() > MAX_PASSWORD_BYTES || self.argon.verify_password(password.as_bytes(), &parsed).is_err() {
            return Verification::Invalid;
        }
        let rehash = if self.is_current(&parsed) { None } else { self.hash(password).ok() };
        Verification::Valid { rehash }
    }

    /// Spends the time of one verification without any real hash: for unknown users and
    /// locked accounts, so their answers cannot be told apart by latency.
    pub fn verify_dummy(&self, password: &str) {
        if let Ok(parsed) = PasswordHash::new(&self.dummy) {
            let _ = self.argon.verify_password(password.as_bytes(), &parsed);
        }
    }

    fn is_current(&self, parsed: &PasswordHash) -> bool {
        let wanted = self.argon.params();
        parsed.algorithm.as_str() == "argon2id"
            && parsed.version == Some(0x13)
            && Params::try_from(parsed).is_ok_and(|p| {
                p.m_cost() == wanted.m_cost() && p.t_cost() == wanted.t_cost() && p.p_cost() == wanted.p_cost()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = PasswordHasher::default_params().unwrap();
        let stored = h.hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert_eq!(h.verify("correct horse battery", &stored), Verification::Valid { rehash: None });
        assert_eq!(h.verify("correct horse batterz", &stored), Verification::Invalid);
    }

    #[test]
    fn hashes_made_with_old_parameters_are_rehashed_on_login() {
        let old = PasswordHasher::new(19_456, 2, 1).unwrap();
        let stored = old.hash("a long enough password").unwrap();
        let current = PasswordHasher::new(19_456, 3, 1).unwrap();
        match current.verify("a long enough password", &stored) {
            Verification::Valid { rehash: Some(new) } => {
                assert!(new.contains("m=19456,t=3,p=1"), "{new}");
                assert_eq!(current.verify("a long enough password", &new), Verification::Valid { rehash: None });
            }
            other => panic!("expected a rehash, got {other:?}"),
        }
    }

    #[test]
    fn the_dummy_hash_costs_a_real_verification_and_matches_nothing() {
        let h = PasswordHasher::default_params().unwrap();
        let real = h.hash("some password here").unwrap();
        let time = |f: &dyn Fn()| {
            let t = std::time::Instant::now();
            for _ in 0..3 {
                f();
            }
            t.elapsed()
        };
        let dummy = time(&|| h.verify_dummy("some password here"));
        let genuine = time(&|| {
            h.verify("wrong password", &real);
        });
        assert!(dummy * 2 > genuine && genuine * 2 > dummy, "dummy {dummy:?} vs real {genuine:?}");
        assert!(PasswordHash::new(&h.dummy).is_ok(), "the dummy parses, so it is really hashed against");
        assert_eq!(h.verify("", &h.dummy), Verification::Invalid);
    }

    #[test]
    fn parameters_below_the_owasp_floor_are_refused() {
        assert!(matches!(PasswordHasher::new(4096, 2, 1), Err(PasswordError::WeakParams { .. })));
        assert!(matches!(PasswordHasher::new(19_456, 1, 1), Err(PasswordError::WeakParams { .. })));
    }

    #[test]
    fn garbage_stored_hashes_and_overlong_passwords_never_verify() {
        let h = PasswordHasher::default_params().unwrap();
        assert_eq!(h.verify("x", "not a phc string"), Verification::Invalid);
        let stored = h.hash(&"p".repeat(MAX_PASSWORD_BYTES + 1)).unwrap();
        assert_eq!(h.verify(&"p".repeat(MAX_PASSWORD_BYTES + 1), &stored), Verification::Invalid);
    }
}
