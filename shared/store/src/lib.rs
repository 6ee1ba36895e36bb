//! Oasis storage: one narrow trait per concern, implemented by every backend.
//!
//! The data model is shaped for DynamoDB as much as for SQLite: every lookup is by a key
//! (username, user id, client id, token hash, family id, counter key), every update that
//! decides correctness is a conditional write (refresh rotation: "only if not yet rotated
//! and the family is not revoked"), and expiring items carry an `expires_at` (a TTL
//! attribute in DynamoDB; filtered on read and purged in SQLite).

use async_trait::async_trait;
pub use oasis_domain::{ClientId, Genre, GrantType, Maturity, RedirectUri, ScopeSet, UserCode, UserId, Username};

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
mod model;
pub mod search;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use model::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (creating a user or client twice).
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// The backend is busy, throttled or unreachable; the request may be retried later.
    #[error("storage temporarily unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug, corruption, a schema mismatch.
    #[error("storage failure")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn user_by_username(&self, username: &Username) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<User>>;
    /// Replaces the password hash (rehash on login, password change).
    async fn set_password_hash(&self, id: &UserId, hash: &str) -> StoreResult<()>;
    async fn set_disabled(&self, id: &UserId, disabled: bool) -> StoreResult<()>;
    /// Raises the user's token generation by one, in the store (an atomic increment, no
    /// clock): everything issued at an older generation is refused from now on.
    async fn cut_off_tokens(&self, id: &UserId) -> StoreResult<()>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn create_client(&self, client: &Client) -> StoreResult<()>;
    async fn client(&self, client_id: &ClientId) -> StoreResult<Option<Client>>;
    /// A disabled client cannot authenticate, and every token issued to it (for a user or for
    /// itself) is refused while it stays disabled.
    async fn set_client_disabled(&self, client_id: &ClientId, disabled: bool) -> StoreResult<()>;
}

/// The result of the conditional rotation write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old token is now marked rotated and the new one stored: this caller won.
    Rotated,
    /// The old token was already rotated (or its family revoked): a replay or a lost race.
    AlreadyUsed,
}

#[async_trait]
pub trait RefreshStore: Send + Sync {
    /// Starts a family with its first token.
    async fn create_family(&self, family: &RefreshFamily, first: &RefreshToken) -> StoreResult<()>;
    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<(RefreshToken, RefreshFamily)>>;
    /// Atomically: if `old_hash` is not rotated and its family is not revoked, mark it rotated
    /// at `now` with `new` as its successor (`sealed_successor`: see [`Successor`]) and store
    /// `new`. Exactly one of two concurrent callers gets `Rotated`.
    async fn rotate(
        &self,
        old_hash: &str,
        new: &RefreshToken,
        sealed_successor: &str,
        now: u64,
    ) -> StoreResult<Rotation>;
    /// Records that a retry within the grace window handed `token_hash` out a second time
    /// ([`RefreshToken::reissued`]); an unknown hash changes nothing.
    async fn mark_reissued(&self, token_hash: &str) -> StoreResult<()>;
    /// Revokes a family; one that does not exist yet is revoked in advance (a tombstone that
    /// makes a later [`RefreshStore::create_family`] of that id fail), so a revocation that
    /// overtakes the family's creation (a code replayed while its first use is still
    /// issuing) is not lost. Tombstones expire with the storage's next sweep.
    async fn revoke_family(&self, family_id: &str) -> StoreResult<()>;
    /// Revokes every family of a user (password change, disable, compromise).
    async fn revoke_user_families(&self, user_id: &UserId) -> StoreResult<u32>;
}

/// Device authorization grants (RFC 8628). Every transition is conditional, so of concurrent
/// callers exactly one decides a grant and exactly one redeems it.
#[async_trait]
pub trait DeviceGrantStore: Send + Sync {
    /// Stores a new pending grant; [`StoreError::AlreadyExists`] when a live grant holds its
    /// user code or its device code (the caller draws new ones).
    async fn create_device_grant(&self, grant: &DeviceGrant, now: u64) -> StoreResult<()>;
    /// The grant a user code names, unless it has expired by `now`.
    async fn device_grant_by_user_code(&self, user_code: &UserCode, now: u64) -> StoreResult<Option<DeviceGrant>>;
    /// Pending → approved or denied, if still pending and not expired at `now`; true when this
    /// call decided it.
    async fn decide_device_grant(&self, user_code: &UserCode, decision: &DeviceDecision, now: u64)
    -> StoreResult<bool>;
    /// The device's poll: records `now` as its last poll and answers the grant, raising its
    /// interval by `slow_down_step` (and saying so) when the previous poll was less than an
    /// interval ago. `None`, and nothing recorded, for an unknown device code or one of
    /// another client. Expired grants are still answered (until storage drops them) so the
    /// device can hear `expired_token`.
    async fn poll_device_grant(
        &self,
        device_code_hash: &str,
        client_id: &ClientId,
        now: u64,
        slow_down_step: u64,
    ) -> StoreResult<Option<DevicePoll>>;
    /// Approved → redeemed, if not expired at `now`: true for exactly one caller.
    async fn redeem_device_grant(&self, device_code_hash: &str, now: u64) -> StoreResult<bool>;
}

/// Authorization codes (RFC 6749 §4.1, RFC 7636).
#[async_trait]
pub trait AuthCodeStore: Send + Sync {
    async fn create_code(&self, code: &AuthCode) -> StoreResult<()>;
    /// Marks the code used by the refresh family `family_id` (which the caller then starts),
    /// if unused and still valid at `now`: of concurrent callers exactly one redeems it, and
    /// every later one learns the family to revoke.
    async fn redeem_code(&self, code_hash: &str, family_id: &str, now: u64) -> StoreResult<CodeRedemption>;
}

/// Sign-in sessions of the hosted pages.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &SignInSession) -> StoreResult<()>;
    /// The session, if live at `now`, with its idle expiry moved to `idle_until`.
    async fn touch_session(&self, session_hash: &str, now: u64, idle_until: u64) -> StoreResult<Option<SignInSession>>;
    async fn delete_session(&self, session_hash: &str) -> StoreResult<()>;
}

/// The keys of the lock-out counters, in one place: the token function counts under them and
/// the admin tool clears them (`user unlock`, `address unlock`).
pub mod throttle_key {
    use oasis_domain::Username;

    pub fn account(username: &Username) -> String {
        format!("acct:{username}")
    }

    /// A source address in one form whoever writes it: trimmed, and canonical when it parses
    /// (`2001:DB8::1` is `2001:db8::1`; an IPv4-mapped `::ffff:203.0.113.7` is `203.0.113.7`,
    /// or one client would get two failure budgets).
    pub fn address(ip: &str) -> String {
        let ip = ip.trim();
        match ip.parse::<std::net::IpAddr>() {
            Ok(parsed) => format!("ip:{}", parsed.to_canonical()),
            Err(_) => format!("ip:{ip}"),
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn one_address_is_one_key_however_it_is_written() {
            for (a, b) in [
                ("2001:DB8::1", "2001:db8::1"),
                ("::ffff:203.0.113.7", "203.0.113.7"),
                (" 203.0.113.7 ", "203.0.113.7"),
            ] {
                assert_eq!(super::address(a), super::address(b), "{a} / {b}");
            }
            assert_ne!(super::address("203.0.113.7"), super::address("203.0.113.8"));
        }
    }
}

#[async_trait]
pub trait ThrottleStore: Send + Sync {
    async fn attempts(&self, key: &str, now: u64) -> StoreResult<Option<Attempts>>;
    /// Atomically adds one failure and sets the counter's expiry; returns the new state.
    async fn record_failure(&self, key: &str, now: u64, expires_at: u64) -> StoreResult<Attempts>;
    /// Locks `key` until `locked_until` unless it is locked already at `now`; true when this
    /// call took the lock. Conditional, so of many concurrent callers exactly one takes it.
    async fn try_lock(&self, key: &str, now: u64, locked_until: u64, expires_at: u64) -> StoreResult<bool>;
    async fn clear_attempts(&self, key: &str) -> StoreResult<()>;
    /// Takes back one failure counted before the outcome was known (an attempt that turned
    /// out to succeed); nothing when the counter is gone, expired or at zero.
    async fn forgive_failure(&self, key: &str, now: u64) -> StoreResult<()>;
    /// Lifts the lock `try_lock` set until `locked_until`, if it is still that lock (a later
    /// one, taken by another attempt, stays).
    async fn release_lock(&self, key: &str, locked_until: u64) -> StoreResult<()>;
}

#[async_trait]
pub trait ProfileStore: Send + Sync {
    async fn put_profile(&self, profile: &Profile) -> StoreResult<()>;
    async fn profile(&self, user_id: &UserId) -> StoreResult<Option<Profile>>;
}

#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Inserts or replaces titles together with their search-index entries.
    async fn put_titles(&self, titles: &[Title]) -> StoreResult<()>;
    /// A whole catalog load, calling `progress(done)` as it goes. By default batches of
    /// `put_titles`; a backend may do better (SQLite: one transaction, so each index page is
    /// written once rather than once per batch).
    async fn load_titles(&self, titles: &[Title], progress: &mut (dyn FnMut(usize) + Send)) -> StoreResult<()> {
        let mut done = 0;
        for chunk in titles.chunks(LOAD_BATCH) {
            self.put_titles(chunk).await?;
            done += chunk.len();
            progress(done);
        }
        Ok(())
    }
    async fn title_count(&self) -> StoreResult<u64>;
    /// Up to `limit` matching titles in `(sort_key, id)` order, after `after`, reading at most
    /// [`read_budget`] index entries. A query without terms matches nothing here (the search
    /// function never makes one).
    async fn search(&self, query: &CatalogQuery) -> StoreResult<SearchPage>;
}

/// Titles per step of a catalog load (and per progress report).
pub const LOAD_BATCH: usize = 1_000;

/// What resolving a bearer token's principal reads: users and clients.
pub trait PrincipalStore: UserStore + ClientStore {}
impl<T: UserStore + ClientStore + ?Sized> PrincipalStore for T {}

/// What password sign-in reads and counts: users and their lock-out counters (the token
/// function's password grant and the sign-in pages).
pub trait LoginStore: UserStore + ThrottleStore {}
impl<T: UserStore + ThrottleStore + ?Sized> LoginStore for T {}

/// What the token function uses; its IAM role reaches the same five tables.
pub trait TokenStore: LoginStore + ClientStore + RefreshStore + DeviceGrantStore + AuthCodeStore {}
impl<T: LoginStore + ClientStore + RefreshStore + DeviceGrantStore + AuthCodeStore + ?Sized> TokenStore for T {}

/// What the sign-in pages use: sign-in, clients (to name them), device grants, codes and
/// sessions.
pub trait SignInStore: LoginStore + ClientStore + DeviceGrantStore + AuthCodeStore + SessionStore {}
impl<T: LoginStore + ClientStore + DeviceGrantStore + AuthCodeStore + SessionStore + ?Sized> SignInStore for T {}

/// What secure-data uses: principals and profiles (reads on three tables, as its IAM role).
pub trait DataStore: PrincipalStore + ProfileStore {}
impl<T: PrincipalStore + ProfileStore + ?Sized> DataStore for T {}

/// What search uses: principals and the catalog.
pub trait SearchStore: PrincipalStore + CatalogStore {}
impl<T: PrincipalStore + CatalogStore + ?Sized> SearchStore for T {}

/// A whole backend: every capability (the admin tool, tests). An `Arc<dyn Store>` coerces to
/// each function's narrower store.
pub trait Store: TokenStore + DataStore + SearchStore + SignInStore {}
impl<T: TokenStore + DataStore + SearchStore + SignInStore + ?Sized> Store for T {}
