//! Keys that change while a function runs: verifiers learn a new `kid` by re-reading their
//! source (at a bounded rate, failing closed), and the token function picks up a promoted
//! signing key within a cache lifetime.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::keys::{KeyError, KeySet, PublicJwks, PublicKeySource, SigningKeySource};
use crate::token::{Rejection, VerifiedClaims, Verifier};

/// A verifier over keys from a [`PublicKeySource`], refreshed when a token names a `kid` it
/// does not know, at most once per `min_interval` (so forged kids cannot hammer the source),
/// and re-read when older than `max_age` (so a key removed from the source stops verifying).
pub struct KeyRing {
    source: Arc<dyn PublicKeySource>,
    issuer: String,
    audience: String,
    current: RwLock<Arc<Verifier>>,
    last_refresh: Mutex<Option<Instant>>,
    min_interval: Duration,
    last_load: Mutex<Option<Instant>>,
    max_age: Duration,
}

impl KeyRing {
    /// Loads the keys once; a function with no usable key refuses to start.
    pub async fn load(
        source: Arc<dyn PublicKeySource>,
        issuer: &str,
        audience: &str,
        min_interval: Duration,
    ) -> Result<Self, KeyError> {
        let jwks = source.load_jwks().await?;
        if jwks.keys.is_empty() {
            return Err(KeyError::Empty);
        }
        let verifier = Verifier::new(&jwks, issuer, audience)?;
        Ok(Self {
            source,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            current: RwLock::new(Arc::new(verifier)),
            last_refresh: Mutex::new(Some(Instant::now())),
            min_interval,
            last_load: Mutex::new(Some(Instant::now())),
            max_age: Duration::MAX,
        })
    }

    /// Re-read the keys when the loaded set is older than `max_age`: a key pruned after a
    /// rotation, or pulled after a leak, stops verifying on warm instances within that time,
    /// even when no token ever names an unknown `kid`.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Keys that never change (tests, benchmarks).
    pub fn fixed(jwks: PublicJwks, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        let verifier = Verifier::new(&jwks, issuer, audience)?;
        Ok(Self {
            source: Arc::new(Fixed(jwks)),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            current: RwLock::new(Arc::new(verifier)),
            last_refresh: Mutex::new(None),
            min_interval: Duration::MAX,
            last_load: Mutex::new(Some(Instant::now())),
            max_age: Duration::MAX,
        })
    }

    fn verifier(&self) -> Arc<Verifier> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub async fn verify(&self, token: &str) -> Result<VerifiedClaims, Rejection> {
        if due(&self.last_load, self.max_age) {
            // Keep the keys we have if the source is unreachable; the next try is `max_age` away.
            let _ = self.reload().await;
        }
        match self.verifier().verify_remembered(token) {
            Err(Rejection::UnknownKey) if due(&self.last_refresh, self.min_interval) => match self.reload().await {
                Ok(v) => v.verify_remembered(token),
                // An unreachable source never widens what verifies.
                Err(()) => Err(Rejection::UnknownKey),
            },
            other => other,
        }
    }

    async fn reload(&self) -> Result<Arc<Verifier>, ()> {
        match self.source.load_jwks().await.and_then(|j| Verifier::new(&j, &self.issuer, &self.audience)) {
            Ok(v) => {
                let v = Arc::new(v);
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = v.clone();
                *self.last_load.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                tracing::info!("verification keys refreshed");
                Ok(v)
            }
            Err(e) => {
                tracing::warn!(error = %oasis_domain::cause_chain(&e), "verification keys could not be refreshed");
                Err(())
            }
        }
    }
}

/// Whether `interval` has passed since `last`; if so, claims the slot (one caller re-reads).
fn due(last: &Mutex<Option<Instant>>, interval: Duration) -> bool {
    let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
    let due = last.is_none_or(|t| t.elapsed() >= interval);
    if due {
        *last = Some(Instant::now());
    }
    due
}

/// The signing key set, re-read from its source when older than `ttl`.
pub struct SigningKeys {
    source: Arc<dyn SigningKeySource>,
    current: RwLock<(Arc<KeySet>, Instant)>,
    ttl: Duration,
}

impl SigningKeys {
    /// A key set that never changes (tests, benchmarks).
    pub fn fixed(set: KeySet) -> Self {
        Self {
            source: Arc::new(Fixed(set.clone())),
            current: RwLock::new((Arc::new(set), Instant::now())),
            ttl: Duration::MAX,
        }
    }

    pub async fn load(source: Arc<dyn SigningKeySource>, ttl: Duration) -> Result<Self, KeyError> {
        let set = source.load_key_set().await?;
        set.signing_key()?;
        Ok(Self { source, current: RwLock::new((Arc::new(set), Instant::now())), ttl })
    }

    /// The cached key set, without re-reading.
    pub fn cached(&self) -> Arc<KeySet> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).0.clone()
    }

    /// The current key set, re-read first if the cached one is stale. A failed re-read keeps
    /// the cached set (it still signs validly) and tries again on the next call.
    pub async fn current(&self) -> Arc<KeySet> {
        let (set, at) = self.current.read().unwrap_or_else(|p| p.into_inner()).clone();
        if at.elapsed() < self.ttl {
            return set;
        }
        match self.source.load_key_set().await {
            Ok(fresh) if fresh.signing_key().is_ok() => {
                let fresh = Arc::new(fresh);
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = (fresh.clone(), Instant::now());
                fresh
            }
            outcome => {
                if let Err(e) = outcome {
                    tracing::warn!(error = %oasis_domain::cause_chain(&e), "signing keys could not be re-read; keeping the cached set");
                }
                // Try again after another `ttl`, not on every request.
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = (set.clone(), Instant::now());
                set
            }
        }
    }
}

/// A source that always answers the same keys.
struct Fixed<T>(T);

#[async_trait::async_trait]
impl SigningKeySource for Fixed<KeySet> {
    async fn load_key_set(&self) -> Result<KeySet, KeyError> {
        Ok(self.0.clone())
    }
}

#[async_trait::async_trait]
impl PublicKeySource for Fixed<PublicJwks> {
    async fn load_jwks(&self) -> Result<PublicJwks, KeyError> {
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::token::{Grant, Issuer};
    use oasis_domain::scope::ScopeSet;

    /// A JWKS source the test can change, make fail, and count.
    struct Source {
        jwks: Mutex<Option<PublicJwks>>,
        loads: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl PublicKeySource for Source {
        async fn load_jwks(&self) -> Result<PublicJwks, KeyError> {
            self.loads.fetch_add(1, Ordering::SeqCst);
            self.jwks.lock().unwrap().clone().ok_or(KeyError::Source("down".into()))
        }
    }

    fn token(set: &KeySet) -> String {
        let scope = ScopeSet::parse("search").unwrap();
        let grant = Grant { subject: "u", client_id: "c", scope: &scope, maturity: None, generation: None };
        Issuer::new(set.signing_key().unwrap(), "iss", "aud", 600).issue(&grant, crate::now()).unwrap().token
    }

    #[tokio::test]
    async fn a_new_kid_is_learned_from_the_source_and_an_outage_fails_closed() {
        let old = KeySet::generate(1).unwrap();
        let source = Arc::new(Source { jwks: Mutex::new(Some(old.public_jwks())), loads: AtomicUsize::new(0) });
        let ring = KeyRing::load(source.clone(), "iss", "aud", Duration::ZERO).await.unwrap();
        let new = KeySet::generate(2).unwrap();
        let mut both = old.public_jwks();
        both.keys.extend(new.public_jwks().keys);

        *source.jwks.lock().unwrap() = None;
        assert_eq!(ring.verify(&token(&new)).await.unwrap_err(), Rejection::UnknownKey, "source down: refused");
        assert!(ring.verify(&token(&old)).await.is_ok(), "known keys keep working");

        *source.jwks.lock().unwrap() = Some(both);
        assert!(ring.verify(&token(&new)).await.is_ok(), "published key learned on first sight");
    }

    #[tokio::test]
    async fn a_key_removed_from_the_source_stops_verifying_once_the_loaded_set_is_older_than_max_age() {
        let (old, new) = (KeySet::generate(1).unwrap(), KeySet::generate(2).unwrap());
        let source = Arc::new(Source { jwks: Mutex::new(Some(old.public_jwks())), loads: AtomicUsize::new(0) });
        let ring = KeyRing::load(source.clone(), "iss", "aud", Duration::from_secs(3600))
            .await
            .unwrap()
            .with_max_age(Duration::from_millis(200));
        let leaked = token(&old);
        assert!(ring.verify(&leaked).await.is_ok());

        // The operator pulls the old key (pruned after a rotation, or leaked).
        *source.jwks.lock().unwrap() = Some(new.public_jwks());
        assert!(ring.verify(&leaked).await.is_ok(), "within max_age the loaded set still holds it");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(ring.verify(&leaked).await.unwrap_err(), Rejection::UnknownKey, "forgotten after max_age");
        assert!(ring.verify(&token(&new)).await.is_ok());

        // An unreachable source does not empty the ring: the keys it had keep verifying.
        *source.jwks.lock().unwrap() = None;
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(ring.verify(&token(&new)).await.is_ok());
    }

    #[tokio::test]
    async fn forged_kids_cannot_make_the_verifier_hammer_its_key_source() {
        let set = KeySet::generate(1).unwrap();
        let source = Arc::new(Source { jwks: Mutex::new(Some(set.public_jwks())), loads: AtomicUsize::new(0) });
        let ring = KeyRing::load(source.clone(), "iss", "aud", Duration::from_secs(3600)).await.unwrap();
        let stranger = KeySet::generate(1).unwrap();
        for _ in 0..50 {
            assert_eq!(ring.verify(&token(&stranger)).await.unwrap_err(), Rejection::UnknownKey);
        }
        assert_eq!(source.loads.load(Ordering::SeqCst), 1, "only the initial load within the interval");
    }
}
