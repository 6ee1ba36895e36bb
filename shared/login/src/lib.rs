//! Password sign-in with lock-out: the one path every password takes, whether it arrives in
//! the token endpoint's (legacy) password grant or on the hosted sign-in pages, so both count
//! failures against the same per-account and per-address budgets and answer alike.

mod lockout;

use oasis_auth::password::{PasswordHasher, Verification};
use oasis_domain::{ScopeSet, Username};
use oasis_lambda::metrics;
use oasis_store::{LoginStore, StoreError, User, throttle_key};

pub use lockout::LockoutPolicy;

/// What a sign-in checks against: the store, the hasher and the two lock-out policies.
#[derive(Clone, Copy)]
pub struct Login<'a> {
    pub store: &'a dyn LoginStore,
    pub hasher: &'a PasswordHasher,
    pub account: LockoutPolicy,
    pub ip: LockoutPolicy,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// One answer for every failure: unknown user, wrong password, disabled or locked account
    /// or address, nothing left to grant. Which one is logged and counted, never told.
    #[error("sign-in refused")]
    Refused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A granted sign-in: who, and the scope they may be given.
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    pub scope: ScopeSet,
}

impl Login<'_> {
    /// Checks `password` for `username` from `source_ip`, granting at most `ceiling` (what the
    /// client may have and asked for), narrowed by the user's own grants; nothing left to
    /// grant is a failed sign-in, since "wrong scope" for a right password and "wrong
    /// password" for a wrong one would tell the two apart.
    ///
    /// The attempt is counted, per account and per address, before the (slow) password check:
    /// parallel guesses all pass the lock check, but each gets its own count, and from a
    /// threshold on only the one that takes the lock has its password checked. At most
    /// `threshold` checks per account or address, then one per lock, however many requests
    /// arrive at once. A success clears the account's count, takes its own failure back from
    /// the address's (a sprayer's own account must not reset it) and releases a lock it took
    /// on the address (twenty sign-ins from one busy NAT are no attack).
    pub async fn sign_in(
        &self,
        username: &Username,
        password: &str,
        source_ip: Option<&str>,
        ceiling: &ScopeSet,
        now: u64,
    ) -> Result<SignedIn, LoginError> {
        let account = throttle_key::account(username);
        // API Gateway always says where a request came from; a request that does not is
        // counted with every other such request, never let past the per-address lock-out.
        let ip = throttle_key::address(source_ip.unwrap_or_else(|| {
            tracing::warn!(signal = "source_unknown", "no source address: counted under \"unknown\"");
            "unknown"
        }));
        for (key, kind) in [(&account, "account"), (&ip, "ip")] {
            if self.store.attempts(key, now).await?.is_some_and(|a| a.locked_until > now) {
                return Err(self.refuse_locked(password, kind));
            }
        }
        let mut locks = Vec::new();
        for (key, kind, policy) in [(&account, "account", self.account), (&ip, "ip", self.ip)] {
            let counted = self.store.record_failure(key, now, now + policy.window_seconds).await?;
            if let Some(lock) = policy.lock_seconds(counted.failures) {
                if !self.store.try_lock(key, now, now + lock, now + policy.window_seconds.max(lock)).await? {
                    report_locks(&locks);
                    return Err(self.refuse_locked(password, kind));
                }
                locks.push(TakenLock { kind, seconds: lock, until: now + lock, failures: counted.failures });
            }
        }
        let granted = match self.check_password(username, password, ceiling).await {
            Ok(granted) => granted,
            Err(e) => {
                // The locks this attempt took stay: they are lock-outs now in force.
                report_locks(&locks);
                return Err(e);
            }
        };
        self.store.clear_attempts(&account).await?;
        self.store.forgive_failure(&ip, now).await?;
        if let Some(taken) = locks.iter().find(|l| l.kind == "ip") {
            self.store.release_lock(&ip, taken.until).await?;
        }
        metrics::signal("LoginSucceeded", None);
        tracing::info!(signal = "login_succeeded", "login succeeded");
        Ok(granted)
    }

    /// The user and the scope to grant, or [`LoginError::Refused`]. Nothing is written for a
    /// sign-in that then fails: a rehash waits for success.
    async fn check_password(
        &self,
        username: &Username,
        password: &str,
        ceiling: &ScopeSet,
    ) -> Result<SignedIn, LoginError> {
        let user = self.store.user_by_username(username).await?;
        let verified = match &user {
            Some(u) => self.hasher.verify(password, &u.password_hash),
            None => {
                self.hasher.verify_dummy(password);
                Verification::Invalid
            }
        };
        let (user, rehash) = match (user, verified) {
            (Some(u), Verification::Valid { rehash }) if !u.disabled => (u, rehash),
            (Some(_), Verification::Valid { .. }) => {
                return Err(failed("disabled", "login refused for a disabled account"));
            }
            _ => return Err(failed("bad_credentials", "login failed")),
        };
        let scope = ceiling.intersection(&user.scopes);
        if scope.is_empty() {
            return Err(failed("no_scope", "login refused: nothing to grant"));
        }
        if let Some(new_hash) = rehash {
            self.store.set_password_hash(&user.id, &new_hash).await?;
            tracing::info!("password rehashed with current parameters");
        }
        Ok(SignedIn { user, scope })
    }

    /// Same work and same answer as a wrong password: a lock reveals nothing.
    fn refuse_locked(&self, password: &str, kind: &'static str) -> LoginError {
        self.hasher.verify_dummy(password);
        metrics::signal("LoginFailed", None);
        tracing::warn!(signal = "login_failed", reason = "locked", lock = kind, "login refused while locked");
        LoginError::Refused
    }
}

fn failed(reason: &'static str, message: &'static str) -> LoginError {
    metrics::signal("LoginFailed", None);
    tracing::warn!(signal = "login_failed", reason, "{message}");
    LoginError::Refused
}

/// A lock-out this attempt took: `until` identifies it, so only this attempt releases it.
struct TakenLock {
    kind: &'static str,
    seconds: u64,
    until: u64,
    failures: u32,
}

fn report_locks(locks: &[TakenLock]) {
    for l in locks {
        let (metric, signal) =
            if l.kind == "account" { ("AccountLocked", "account_locked") } else { ("SourceLocked", "source_locked") };
        metrics::signal(metric, None);
        tracing::warn!(signal, lock_seconds = l.seconds, failures = l.failures, "login locked out");
    }
}
