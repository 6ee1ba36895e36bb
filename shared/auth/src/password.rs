//! Password hashing: argon2id, PHC strings, rehash when the parameters change.
//!
//! Unknown users are checked against a dummy hash made with the same parameters, so that
//! "no such user" costs the same time as "wrong password" (no user enumeration by timing).
//!
//! Every hash runs in one block array that the hasher owns and reuses (argon2's
//! `hash_password_into_with_memory`). Allocating the m_cost-sized array afresh for each hash, as
//! argon2's convenience API does, made glibc's dynamic mmap threshold move those arrays onto the
//! heap, where they were never returned: a warm token function grew by tens of MB per sign-in
//! (2.5 GB after 300) until Lambda would kill it. Reuse also saves zeroing 19 MiB per hash.

use std::sync::{Mutex, PoisonError};

use argon2::password_hash::phc::{Output, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Passwords longer than this are refused before hashing (argon2 accepts any length; the
/// cap keeps request bodies and work bounded).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// A stored hash may cost at most this many times the configured m, t and p (an older, stronger
/// setting still verifies); beyond that it is refused rather than computed.
const MAX_COST_FACTOR: u32 = 4;
/// The shortest password the admin tool accepts for a new user.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2 parameters are invalid: m={m_kib} KiB, t={t}, p={p} (minimum m=19456, t=2, p=1)")]
    WeakParams { m_kib: u32, t: u32, p: u32 },
    #[error("password hashing failed")]
    Hash(#[source] argon2::Error),
    #[error("password hash encoding failed")]
    Encode,
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

/// argon2id cost: memory in KiB, iterations, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl Argon2Params {
    /// OWASP's argon2id minimum and the default: m=19456 KiB, t=2, p=1.
    pub const DEFAULT: Argon2Params = Argon2Params { m_kib: 19_456, t: 2, p: 1 };
}

/// argon2id with fixed, validated parameters, a precomputed dummy hash and one reusable
/// block array.
pub struct PasswordHasher {
    argon: Argon2<'static>,
    dummy: String,
    /// Allocated on the first hash (so a cold start that never hashes pays nothing), then kept.
    /// A Lambda instance serves one request at a time, so the lock is never contended there.
    memory: Mutex<Vec<Block>>,
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
        Ok(Self { argon, dummy, memory: Mutex::new(Vec::new()) })
    }

    /// The recommended default: m=19456 KiB, t=2, p=1.
    pub fn default_params() -> Result<Self, PasswordError> {
        Self::with_params(Argon2Params::DEFAULT)
    }

    pub fn with_params(p: Argon2Params) -> Result<Self, PasswordError> {
        Self::new(p.m_kib, p.t, p.p)
    }

    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt).expect("system random number generator failed");
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.hash_into(&self.argon, password.as_bytes(), &salt, &mut out).map_err(PasswordError::Hash)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: self.argon.params().try_into().map_err(|_| PasswordError::Encode)?,
            salt: Some(Salt::new(&salt).map_err(|_| PasswordError::Encode)?),
            hash: Some(Output::new(&out).map_err(|_| PasswordError::Encode)?),
        };
        Ok(phc.to_string())
    }

    /// Checks `password` against a stored PHC string. A stored string that does not parse, or
    /// asks for an unreasonable cost, counts as a mismatch after the time of a real check (and
    /// is logged by the caller's outcome, never the string).
    pub fn verify(&self, password: &str, stored: &str) -> Verification {
        let checked = PasswordHash::new(stored).ok().and_then(|parsed| {
            let ok = self.matches(password.as_bytes(), &parsed)?;
            Some((ok, parsed))
        });
        let Some((ok, parsed)) = checked else {
            self.verify_dummy(password);
            return Verification::Invalid;
        };
        if password.len() > MAX_PASSWORD_BYTES || !ok {
            return Verification::Invalid;
        }
        let rehash = if self.is_current(&parsed) { None } else { self.hash(password).ok() };
        Verification::Valid { rehash }
    }

    /// Spends the time of one verification without any real hash: for unknown users and
    /// locked accounts, so their answers cannot be told apart by latency.
    pub fn verify_dummy(&self, password: &str) {
        if let Ok(parsed) = PasswordHash::new(&self.dummy) {
            let _ = self.matches(password.as_bytes(), &parsed);
        }
    }

    /// Recomputes the hash with the stored string's own algorithm, version, parameters and salt
    /// and compares in constant time; `None` when the string cannot be checked (unknown
    /// algorithm, missing salt, or a cost far above the configured one: a stored hash asking for
    /// gigabytes or hours would take the function down on every attempt).
    fn matches(&self, password: &[u8], parsed: &PasswordHash) -> Option<bool> {
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
        let version = match parsed.version.map(Version::try_from) {
            None => Version::V0x13,
            Some(v) => v.ok()?,
        };
        let params = Params::try_from(parsed).ok()?;
        let wanted = self.argon.params();
        let bounded = params.m_cost() <= wanted.m_cost().saturating_mul(MAX_COST_FACTOR)
            && params.t_cost() <= wanted.t_cost().saturating_mul(MAX_COST_FACTOR)
            && params.p_cost() <= wanted.p_cost().saturating_mul(MAX_COST_FACTOR);
        let (salt, expected) = (parsed.salt.as_ref()?, parsed.hash.as_ref()?);
        if !bounded {
            return None;
        }
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = out.get_mut(..expected.len())?;
        let argon = Argon2::new(algorithm, version, params);
        Some(
            self.hash_into(&argon, password, salt.as_ref(), out).is_ok()
                && aws_lc_rs::constant_time::verify_slices_are_equal(out, expected.as_bytes()).is_ok(),
        )
    }

    /// Runs one hash in the shared block array, growing it if `argon` needs more blocks (a
    /// stored hash made with a larger m_cost than configured; it is then rehashed).
    fn hash_into(&self, argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), argon2::Error> {
        // A panic while hashing leaves only scratch memory behind: the array is safe to reuse.
        let mut memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        let blocks = argon.params().block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        let result = argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks]);
        // A larger stored hash (then rehashed) must not keep its memory for the instance's life.
        let own = self.argon.params().block_count();
        if memory.len() > own {
            memory.truncate(own);
            memory.shrink_to_fit();
        }
        result
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
    fn hashes_made_by_the_argon2_crate_itself_verify_and_ours_verify_there() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19_456, 2, 1, None).unwrap())
            .hash_password_with_salt(b"interoperable password", b"0123456789abcdef")
            .unwrap()
            .to_string();
        let h = PasswordHasher::default_params().unwrap();
        assert_eq!(h.verify("interoperable password", &theirs), Verification::Valid { rehash: None });
        assert_eq!(h.verify("interoperable passwore", &theirs), Verification::Invalid);
        let ours = h.hash("interoperable password").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"interoperable password", &parsed).is_ok());
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
    fn a_stored_hash_asking_for_an_unreasonable_cost_is_refused_without_computing_it() {
        // Attack: a hash planted in the store (or a corrupted one) with m=4 GiB or t=2^32-1
        // would exhaust the function's memory or time on every login of that account.
        let h = PasswordHasher::default_params().unwrap();
        let salt_and_hash = "c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        for params in ["m=4194304,t=2,p=1", "m=19456,t=4294967295,p=1", "m=19456,t=2,p=255"] {
            let stored = format!("$argon2id$v=19${params}${salt_and_hash}");
            let t = std::time::Instant::now();
            assert_eq!(h.verify("any password", &stored), Verification::Invalid, "{params}");
            assert!(t.elapsed() < std::time::Duration::from_secs(2), "{params} took {:?}", t.elapsed());
        }
        assert!(h.memory.lock().unwrap().len() <= Params::new(19_456, 2, 1, None).unwrap().block_count());
    }

    #[test]
    fn a_stronger_older_hash_verifies_and_gives_its_memory_back() {
        let stronger = PasswordHasher::new(4 * 19_456, 2, 1).unwrap().hash("a long enough password").unwrap();
        let h = PasswordHasher::default_params().unwrap();
        assert!(matches!(h.verify("a long enough password", &stronger), Verification::Valid { rehash: Some(_) }));
        assert_eq!(h.memory.lock().unwrap().len(), Params::new(19_456, 2, 1, None).unwrap().block_count());
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
