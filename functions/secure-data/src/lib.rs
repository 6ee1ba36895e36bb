//! `GET /secure-data`: the caller's own profile, entitlements and watchlist.
//! `GET /secure-data/{user_id}`: the same for one user, served only to that user or to a
//! caller holding the `admin` scope. Anyone else gets 404, never the data, and cannot tell
//! whether the user exists (no object-level authorisation oracle).

use std::sync::Arc;
use std::time::Instant;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use oasis_auth::keyring::KeyRing;
use oasis_auth::scope::{ADMIN, DATA_READ};
use oasis_http::bearer::{self, BearerError, Principal};
use oasis_http::metrics::Metrics;
use oasis_http::{Cors, RequestMeta};
use oasis_store::{Store, StoreError, User};
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
    store: Arc<dyn Store>,
    keys: KeyRing,
    cors: Cors,
    metrics: Metrics,
}

impl App {
    pub fn new(store: Arc<dyn Store>, keys: KeyRing, cors: Cors) -> Self {
        Self { store, keys, cors, metrics: Metrics::stdout("Oasis", "oasis", "secure-data") }
    }

    /// Where this app's EMF documents go (stdout unless replaced).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Bearer(#[from] BearerError),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("storage unavailable")]
    Unavailable(#[source] StoreError),
    #[error("storage failure")]
    Internal(#[source] StoreError),
}

impl From<StoreError> for DataError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => DataError::Unavailable(e),
            other => DataError::Internal(other),
        }
    }
}

impl DataError {
    fn into_response(self) -> Response<Body> {
        use oasis_http::reply;
        match self {
            DataError::Bearer(e) => e.into_response(),
            DataError::NotFound => reply::not_found(),
            DataError::MethodNotAllowed => reply::method_not_allowed("GET, OPTIONS"),
            DataError::Unavailable(_) => reply::unavailable(),
            DataError::Internal(_) => reply::server_error(),
        }
    }
}

/// The response: an explicit allow-list of fields. Password hashes, token cut-off times and
/// account flags live on [`User`] and are never copied here.
#[derive(Debug, Serialize)]
struct DataView {
    user_id: String,
    username: String,
    display_name: String,
    maturity: u8,
    entitlements: Vec<String>,
    watchlist: Vec<String>,
    member_since: u64,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let started = Instant::now();
    let meta = RequestMeta::from_request(&req);
    let route = if meta.path == "/secure-data" { "/secure-data" } else { "/secure-data/{user_id}" };
    let span = tracing::info_span!("request", request_id = %meta.request_id, route);
    let _guard = span.enter();
    let (resp, signals) = oasis_http::metrics::collect(async {
        match serve(app, &meta, &req).await {
            Ok(r) => r,
            Err(e) => {
                match &e {
                    DataError::Bearer(b) => {
                        oasis_http::metrics::signal("TokenRejected", Some(b.reason()));
                        tracing::warn!(signal = "token_rejected", reason = b.reason(), "request refused")
                    }
                    DataError::Unavailable(_) | DataError::Internal(_) => {
                        tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "request failed")
                    }
                    _ => {}
                }
                e.into_response()
            }
        }
    })
    .await;
    let resp = oasis_http::finish(resp, &meta, &app.cors);
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    app.metrics.emit(route, resp.status().as_u16(), latency_ms, &signals);
    tracing::info!(status = resp.status().as_u16(), latency_ms, "request served");
    resp
}

/// A path's user id, if it has the shape of one; anything else is simply not found.
fn path_user_id(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/secure-data/")?;
    let ok = id.starts_with("usr_")
        && id.len() <= 68
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(id)
}

async fn serve(app: &App, meta: &RequestMeta, req: &Request) -> Result<Response<Body>, DataError> {
    let target = match meta.path.as_str() {
        "/secure-data" => None,
        p if p.starts_with("/secure-data/") => Some(path_user_id(p).ok_or(DataError::NotFound)?),
        _ => return Err(DataError::NotFound),
    };
    match meta.method {
        Method::GET => {}
        Method::OPTIONS => return Ok(app.cors.preflight(meta, "GET", "authorization")),
        _ => return Err(DataError::MethodNotAllowed),
    }
    let claims = bearer::authorize(&app.keys, req, DATA_READ).await?;
    let caller = match bearer::principal(app.store.as_ref(), &claims).await? {
        Some(Principal::User(u)) => u,
        // A client acting for itself has no personal data.
        Some(Principal::Client { .. }) => return Err(DataError::NotFound),
        None => return Err(BearerError::InvalidToken("revoked").into()),
    };
    let subject = match target {
        None => caller,
        Some(id) if id == caller.id => caller,
        Some(id) if claims.has_scope(ADMIN) => app.store.user_by_id(id).await?.ok_or(DataError::NotFound)?,
        Some(_) => {
            oasis_http::metrics::signal("AccessDenied", None);
            tracing::warn!(signal = "access_denied", "request for another user's data refused");
            return Err(DataError::NotFound);
        }
    };
    view(app, subject).await
}

async fn view(app: &App, user: User) -> Result<Response<Body>, DataError> {
    let profile = app.store.profile(&user.id).await?;
    let (display_name, entitlements, watchlist) = match profile {
        Some(p) => (p.display_name, p.entitlements, p.watchlist),
        None => (user.username.clone(), vec![], vec![]),
    };
    let body = DataView {
        user_id: user.id,
        username: user.username,
        display_name,
        maturity: user.maturity,
        entitlements,
        watchlist,
        member_since: user.created_at,
    };
    Ok(oasis_http::json(StatusCode::OK, &body))
}
