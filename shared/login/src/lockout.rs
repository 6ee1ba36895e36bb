//! Capped exponential lock-out after repeated login failures, per account and per source IP.
//!
//! After `threshold` failures the key is locked for `base`, doubling with each further
//! failure up to `cap`. Attempts during a lock are refused without being counted, so an
//! attacker cannot lengthen one lock past `cap` (re-triggering it when it ends is still
//! possible: see the README's design decisions); counters expire `window` seconds after the
//! last failure. The password grant counts an account attempt *before* checking the
//! password and takes the lock with a conditional write, so concurrent guesses cannot race it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub threshold: u32,
    pub base_seconds: u64,
    pub cap_seconds: u64,
    pub window_seconds: u64,
}

impl LockoutPolicy {
    /// Per account: five failures, then 30 s, 60 s, … up to 15 minutes.
    pub const ACCOUNT: LockoutPolicy =
        LockoutPolicy { threshold: 5, base_seconds: 30, cap_seconds: 900, window_seconds: 3600 };
    /// Per source address: looser, since many users can share one address (NAT).
    pub const SOURCE_IP: LockoutPolicy =
        LockoutPolicy { threshold: 20, base_seconds: 30, cap_seconds: 900, window_seconds: 3600 };
    /// Wrong device user codes per source address (RFC 8628 §5.1): ten, then a minute, … up
    /// to 15 minutes. At that pace 20^8 codes take millennia to cover.
    pub const CODE_ENTRY: LockoutPolicy =
        LockoutPolicy { threshold: 10, base_seconds: 60, cap_seconds: 900, window_seconds: 3600 };

    /// How long to lock after `failures` failures, if at all.
    pub fn lock_seconds(&self, failures: u32) -> Option<u64> {
        let over = failures.checked_sub(self.threshold)?;
        let doubled = self.base_seconds.saturating_mul(1u64 << over.min(32));
        Some(doubled.min(self.cap_seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_doubles_from_the_threshold_and_is_capped() {
        let p = LockoutPolicy::ACCOUNT;
        assert_eq!(p.lock_seconds(4), None);
        assert_eq!(p.lock_seconds(5), Some(30));
        assert_eq!(p.lock_seconds(6), Some(60));
        assert_eq!(p.lock_seconds(9), Some(480));
        assert_eq!(p.lock_seconds(10), Some(900));
        assert_eq!(p.lock_seconds(u32::MAX), Some(900), "never longer than the cap, never overflows");
    }
}
