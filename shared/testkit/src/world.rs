//! A seeded world for handler tests and benchmarks: a real SQLite store with the demo
//! clients, users and catalog, a real key set, and access tokens issued by the real issuer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oasis_domain::Username;
use std::sync::Arc;

use oasis_auth::keyring::KeyRing;
use oasis_auth::keys::KeySet;
use oasis_auth::password::PasswordHasher;
use oasis_auth::token::{Grant, Issuer};
use oasis_domain::scope::ScopeSet;
use oasis_store::sqlite::SqliteStore;
use oasis_store::{Store, User};

use oasis_admin::demo::DemoCredentials;

pub const ISSUER: &str = "http://localhost:9000";
pub const AUDIENCE: &str = "oasis-api";

pub struct World {
    pub store: Arc<dyn Store>,
    pub keys: KeySet,
    pub creds: DemoCredentials,
    pub demo: User,
    pub admin: User,
}

impl World {
    /// The demo data and the first `titles` titles of the committed catalog, in memory.
    pub async fn new(titles: usize) -> Self {
        Self::on(Arc::new(SqliteStore::open_in_memory().expect("sqlite")), titles).await
    }

    pub async fn on(store: Arc<dyn Store>, titles: usize) -> Self {
        let hasher = PasswordHasher::default_params().expect("argon2");
        let creds = oasis_admin::demo::seed(store.as_ref(), &hasher).await.expect("seed");
        let catalog = oasis_admin::catalog::generate(titles, oasis_admin::catalog::DEFAULT_SEED);
        oasis_admin::catalog::load(store.as_ref(), &catalog, |_, _| {}).await.expect("catalog");
        let demo = store
            .user_by_username(&Username::parse(oasis_admin::demo::DEMO_USER).expect("demo username"))
            .await
            .unwrap()
            .expect("demo user");
        let admin = store
            .user_by_username(&Username::parse(oasis_admin::demo::ADMIN_USER).expect("admin username"))
            .await
            .unwrap()
            .expect("admin user");
        let keys = KeySet::generate(oasis_auth::now()).expect("keys");
        Self { store, keys, creds, demo, admin }
    }

    /// The verification keys a resource function would load.
    pub fn verifier(&self) -> KeyRing {
        KeyRing::fixed(self.keys.public_jwks(), ISSUER, AUDIENCE).expect("verifier")
    }

    /// An access token as the token function would issue it to `user` for `scope`.
    pub fn token(&self, user: &User, scope: &str) -> String {
        self.token_issued_at(user, scope, oasis_auth::now())
    }

    /// The same, issued at `iat` (a token function whose clock differs from this machine's).
    pub fn token_issued_at(&self, user: &User, scope: &str, iat: u64) -> String {
        let grant = (user.id.as_str(), "oasis-demo", Some(user.maturity.age()), Some(user.token_generation));
        self.mint(ISSUER, AUDIENCE, grant, scope, iat)
    }

    /// A token with every claim chosen (generation 0, as a user who was never cut off).
    pub fn token_with(
        &self,
        iss: &str,
        aud: &str,
        sub: &str,
        client_id: &str,
        scope: &str,
        maturity: Option<u8>,
    ) -> String {
        self.mint(iss, aud, (sub, client_id, maturity, None), scope, oasis_auth::now())
    }

    fn mint(
        &self,
        iss: &str,
        aud: &str,
        (subject, client_id, maturity, generation): (&str, &str, Option<u8>, Option<u64>),
        scope: &str,
        iat: u64,
    ) -> String {
        let issuer = Issuer::new(self.keys.signing_key().unwrap(), iss, aud, 900);
        let scope = if scope.is_empty() { ScopeSet::default() } else { ScopeSet::parse(scope).unwrap() };
        let maturity = maturity.map(|m| oasis_domain::Maturity::parse(m).expect("a test maturity of 0-18"));
        let grant = Grant { subject, client_id, scope: &scope, maturity, generation };
        issuer.issue(&grant, iat).unwrap().token
    }
}

/// A sample event from `events/` with the outcome `events/index.json` documents for it.
pub struct EventCase {
    pub file: String,
    pub status: u16,
    pub error: Option<String>,
    /// The event JSON, with `ACCESS_TOKEN` replaced by a fresh token when the entry asks.
    pub json: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    pub function: String,
    pub status: u16,
    pub error: Option<String>,
    pub description: String,
    pub auth: Option<EventAuth>,
}

/// Whose token an event needs: a user (by name) or a client acting for itself.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventAuth {
    pub user: Option<String>,
    pub client: Option<String>,
    pub scope: String,
}

pub fn events_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

pub fn event_index() -> std::collections::BTreeMap<String, IndexEntry> {
    let text = std::fs::read_to_string(events_dir().join("index.json")).expect("events/index.json");
    serde_json::from_str(&text).expect("events/index.json is well-formed")
}

impl World {
    /// Every documented event for `function`, ready to replay.
    pub fn event_cases(&self, function: &str) -> Vec<EventCase> {
        event_index()
            .into_iter()
            .filter(|(_, e)| e.function == function)
            .map(|(file, e)| {
                let mut json = std::fs::read_to_string(events_dir().join(&file)).expect("event file");
                if let Some(auth) = &e.auth {
                    let token = match (&auth.user, &auth.client) {
                        (Some(u), None) => {
                            let user = if u == oasis_admin::demo::ADMIN_USER { &self.admin } else { &self.demo };
                            self.token(user, &auth.scope)
                        }
                        (None, Some(c)) => self.token_with(ISSUER, AUDIENCE, c, c, &auth.scope, None),
                        _ => panic!("{file}: auth names exactly one of user or client"),
                    };
                    json = json.replace("ACCESS_TOKEN", &token);
                }
                EventCase { file, status: e.status, error: e.error, json }
            })
            .collect()
    }
}
