//! `GET /secure-data`: the caller's own profile, entitlements and watchlist.
//! `GET /secure-data/{user_id}`: the same for one user, served only to that user or to a
//! caller holding the `admin` scope. Anyone else gets 404, never the data, and cannot tell
//! whether the user exists (no object-level authorisation oracle).

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use oasis_auth::keyring::KeyRing;
use oasis_domain::scope::{ADMIN, DATA_READ};
use oasis_domain::{Maturity, UserId, Username};
use oasis_lambda::bearer::{self, BearerError, Principal};
use oasis_lambda::config::{self, Aws, StoreConfig, VerifierConfig};
use oasis_lambda::error::{ApiError, RouteError};
use oasis_lambda::shell::{Function, StartError};
use oasis_lambda::{Cors, RequestMeta};
use oasis_store::{DataStore, StoreError, User};
use serde::Serialize;

/// Every (method, path) this function serves; `terraform/openapi.yaml` must list exactly these
/// for it (tests/infra).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/secure-data"),
    ("OPTIONS", "/secure-data"),
    ("GET", "/secure-data/{user_id}"),
    ("OPTIONS", "/secure-data/{user_id}"),
];

pub struct App {
    store: Arc<dyn DataStore>,
    keys: KeyRing,
    cors: Cors,
}

impl App {
    pub fn new(store: Arc<dyn DataStore>, keys: KeyRing, cors: Cors) -> Self {
        Self { store, keys, cors }
    }
}

impl Function for App {
    const NAME: &'static str = "secure-data";
    const ROUTES: &'static [(&'static str, &'static str)] = ROUTES;
    const CORS_ALLOW_HEADERS: &'static str = "authorization";
    type Error = DataError;

    async fn from_env(aws: &Aws) -> Result<Self, StartError> {
        let store = StoreConfig::from_env()?.open(aws).await?;
        let keys = VerifierConfig::from_env()?.key_ring(aws).await?;
        Ok(Self::new(store, keys, Cors::new(config::list("OASIS_CORS_ALLOWED_ORIGINS"))))
    }

    fn cors(&self) -> &Cors {
        &self.cors
    }

    async fn serve(&self, route: &'static str, meta: &RequestMeta, req: &Request) -> Result<Response<Body>, DataError> {
        let target = match route {
            "/secure-data/{user_id}" => {
                // A path that is not a user id is simply not found.
                let id = meta.path.strip_prefix("/secure-data/").unwrap_or_default();
                Some(UserId::parse(id).map_err(|_| DataError::NotFound)?)
            }
            _ => None,
        };
        serve(self, target, req).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Bearer(#[from] BearerError),
    #[error(transparent)]
    Route(#[from] RouteError),
    /// Absent, or not the caller's to see: the same answer (no authorisation oracle).
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError for DataError {
    fn inner(&self) -> Option<&dyn ApiError> {
        match self {
            DataError::Bearer(e) => Some(e),
            DataError::Route(e) => Some(e),
            DataError::Store(e) => Some(e),
            DataError::NotFound => None,
        }
    }

    fn status(&self) -> StatusCode {
        self.inner().map_or(StatusCode::NOT_FOUND, |e| e.status())
    }

    fn code(&self) -> &'static str {
        self.inner().map_or("not_found", |e| e.code())
    }
}

/// The response: an explicit allow-list of fields. Password hashes, token cut-off times and
/// account flags live on [`User`] and are never copied here.
#[derive(Debug, Serialize)]
struct DataView {
    user_id: UserId,
    username: Username,
    display_name: String,
    maturity: Maturity,
    entitlements: Vec<String>,
    watchlist: Vec<String>,
    member_since: u64,
}

async fn serve(app: &App, target: Option<UserId>, req: &Request) -> Result<Response<Body>, DataError> {
    let caller = bearer::authenticate::<DataError>(&app.keys, app.store.as_ref(), req, DATA_READ).await?;
    let user = match caller.principal {
        Principal::User(u) => u,
        // A client acting for itself has no personal data.
        Principal::Client { .. } => return Err(DataError::NotFound),
    };
    let claims = caller.claims;
    let caller = user;
    let subject = match target {
        None => caller,
        Some(id) if id == caller.id => caller,
        Some(id) if claims.has_scope(ADMIN) => app.store.user_by_id(&id).await?.ok_or(DataError::NotFound)?,
        Some(_) => {
            oasis_lambda::metrics::signal("AccessDenied", None);
            tracing::warn!(signal = "access_denied", "request for another user's data refused");
            return Err(DataError::NotFound);
        }
    };
    view(app, subject).await
}

/// The longest list a response carries (the API contract's `maxItems`): a response's size
/// is bounded whatever a stored profile holds (OWASP API4, unrestricted resource consumption).
pub const MAX_LISTED: usize = 1000;

async fn view(app: &App, user: User) -> Result<Response<Body>, DataError> {
    let profile = app.store.profile(&user.id).await?;
    let (display_name, mut entitlements, mut watchlist) = match profile {
        Some(p) => (p.display_name, p.entitlements, p.watchlist),
        None => (user.username.to_string(), vec![], vec![]),
    };
    entitlements.truncate(MAX_LISTED);
    watchlist.truncate(MAX_LISTED);
    let body = DataView {
        user_id: user.id,
        username: user.username,
        display_name,
        maturity: user.maturity,
        entitlements,
        watchlist,
        member_since: user.created_at,
    };
    Ok(oasis_lambda::json(StatusCode::OK, &body))
}
