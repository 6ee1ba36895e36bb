//! Catalog search: `GET /search?q=…&genre=…&year=…&limit=…&cursor=…` and `POST /search`
//! with the same fields as JSON (`query` for `q`; unknown fields refused).
//!
//! Query text goes through [`oasis_text::SearchQuery`] (NFKC, no controls or invisible
//! characters, length and word caps) and reaches the store only as bound values. Titles
//! above the caller's maturity ceiling are filtered in the store query itself, on every page.

pub mod cursor;

use std::borrow::Cow;
use std::sync::Arc;

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use oasis_auth::keyring::KeyRing;
use oasis_domain::scope::SEARCH;
use oasis_domain::{Genre, Maturity};
use oasis_lambda::bearer::{self, BearerError, Principal};
use oasis_lambda::config::{self, Aws, StoreConfig, VerifierConfig};
use oasis_lambda::error::{ApiError, Refusal, RouteError};
use oasis_lambda::shell::{Function, StartError};
use oasis_lambda::{Cors, RequestMeta};
use oasis_store::{CatalogQuery, SearchPage, SearchStore, StoreError};
use oasis_text::{SearchQuery, TextError};
use serde::{Deserialize, Serialize};

pub use cursor::CursorKey;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 50;
pub const MAX_BODY_BYTES: usize = 4096;
const YEARS: std::ops::RangeInclusive<u16> = 1888..=2100;

/// Every (method, path) this function serves; `terraform/openapi.yaml` must list exactly these
/// for it (tests/infra).
pub const ROUTES: &[(&str, &str)] = &[("GET", "/search"), ("POST", "/search"), ("OPTIONS", "/search")];

pub struct App {
    store: Arc<dyn SearchStore>,
    keys: KeyRing,
    cursor_key: CursorKey,
    cors: Cors,
}

impl App {
    pub fn new(store: Arc<dyn SearchStore>, keys: KeyRing, cursor_key: CursorKey, cors: Cors) -> Self {
        Self { store, keys, cursor_key, cors }
    }
}

impl Function for App {
    const NAME: &'static str = "search";
    const ROUTES: &'static [(&'static str, &'static str)] = ROUTES;
    const CORS_ALLOW_HEADERS: &'static str = "authorization, content-type";
    type Error = SearchError;

    async fn from_env(aws: &Aws) -> Result<Self, StartError> {
        let store = StoreConfig::from_env()?.open(aws).await?;
        let keys = VerifierConfig::from_env()?.key_ring(aws).await?;
        let cursor_key = CursorKey::from_env(aws).await?;
        Ok(Self::new(store, keys, cursor_key, Cors::new(config::list("OASIS_CORS_ALLOWED_ORIGINS"))))
    }

    fn cors(&self) -> &Cors {
        &self.cors
    }

    async fn serve(
        &self,
        _route: &'static str,
        _meta: &RequestMeta,
        req: &Request,
    ) -> Result<Response<Body>, SearchError> {
        let caller = bearer::authenticate::<SearchError>(&self.keys, self.store.as_ref(), req, SEARCH).await?;
        let ceiling = match caller.principal {
            Principal::User(u) => u.maturity.min(caller.claims.maturity()),
            Principal::Client { .. } => caller.claims.maturity(),
        };
        search(self, parse(req)?, ceiling).await
    }
}

/// The search a request asks for, validated: the JSON body of a POST, else the query string.
/// What `serve` reads once the caller is authenticated (and what `fuzz/` drives).
pub fn parse(req: &Request) -> Result<Search, SearchError> {
    let raw = if req.method() == Method::POST { from_json_body(req)? } else { from_query_string(req)? };
    validate(raw)
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Bearer(#[from] BearerError),
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    #[error("invalid query: {0}")]
    InvalidQuery(#[from] TextError),
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SearchError {
    /// Label for logs and metrics (input rejected by reason).
    pub fn reason(&self) -> &'static str {
        match self {
            SearchError::Bearer(b) => b.reason(),
            SearchError::Route(r) => r.code(),
            SearchError::InvalidRequest(_) => "invalid_request",
            SearchError::InvalidQuery(t) => t.reason(),
            SearchError::InvalidCursor => "invalid_cursor",
            SearchError::UnsupportedMediaType => "unsupported_media_type",
            SearchError::PayloadTooLarge => "too_large",
            SearchError::Store(StoreError::Unavailable(_)) => "unavailable",
            SearchError::Store(_) => "internal",
        }
    }
}

impl ApiError for SearchError {
    fn inner(&self) -> Option<&dyn ApiError> {
        match self {
            SearchError::Bearer(e) => Some(e),
            SearchError::Route(e) => Some(e),
            SearchError::Store(e) => Some(e),
            _ => None,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            SearchError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            SearchError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            other => other.inner().map_or(StatusCode::BAD_REQUEST, |e| e.status()),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SearchError::InvalidQuery(_) => "invalid_query",
            SearchError::InvalidCursor => "invalid_cursor",
            other => other.inner().map_or("invalid_request", |e| e.code()),
        }
    }

    fn error_description(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            SearchError::InvalidRequest(d) => Cow::Borrowed(*d),
            SearchError::InvalidQuery(t) => Cow::Owned(t.to_string()),
            SearchError::InvalidCursor => Cow::Borrowed("the cursor is not valid for this query"),
            SearchError::UnsupportedMediaType => Cow::Borrowed("content type must be application/json"),
            SearchError::PayloadTooLarge => Cow::Borrowed("request body too large"),
            other => return other.inner().and_then(|e| e.error_description()),
        })
    }

    fn refusal(&self) -> Option<Refusal> {
        match self {
            SearchError::Bearer(e) => e.refusal(),
            SearchError::Store(_) => None,
            other => Some(Refusal { metric: "InputRejected", signal: "input_rejected", reason: other.reason() }),
        }
    }
}

/// The fields of a search, as sent; validated into [`Search`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSearch {
    query: Option<String>,
    genre: Option<String>,
    year: Option<YearParam>,
    limit: Option<u64>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum YearParam {
    Number(u64),
    Text(String),
}

/// A validated search.
pub struct Search {
    pub query: SearchQuery,
    pub genre: Option<Genre>,
    pub years: Option<(u16, u16)>,
    pub limit: usize,
    pub cursor: Option<String>,
}

fn parse_years(p: YearParam) -> Result<(u16, u16), SearchError> {
    let bad = SearchError::InvalidRequest("year must be YYYY or YYYY-YYYY between 1888 and 2100");
    let year = |s: &str| s.trim().parse::<u16>().ok().filter(|y| YEARS.contains(y));
    let (from, to) = match p {
        YearParam::Number(n) => {
            let y = u16::try_from(n).ok().filter(|y| YEARS.contains(y)).ok_or(bad)?;
            (y, y)
        }
        YearParam::Text(t) => match t.split_once('-') {
            Some((a, b)) => {
                (year(a).ok_or(SearchError::InvalidRequest("year range is malformed"))?, year(b).ok_or(bad)?)
            }
            None => {
                let y = year(&t).ok_or(bad)?;
                (y, y)
            }
        },
    };
    if from > to {
        return Err(SearchError::InvalidRequest("year range is reversed"));
    }
    Ok((from, to))
}

fn validate(raw: RawSearch) -> Result<Search, SearchError> {
    let query = SearchQuery::parse(raw.query.as_deref().ok_or(SearchError::InvalidRequest("query is required"))?)?;
    // `Genre::parse` is case-insensitive, as the filter always was.
    let genre =
        raw.genre.map(|g| Genre::parse(&g).map_err(|_| SearchError::InvalidRequest("unknown genre"))).transpose()?;
    let limit = match raw.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => n as usize,
        Some(_) => {
            return Err(SearchError::InvalidRequest("limit must be between 1 and 50"));
        }
    };
    Ok(Search { query, genre, years: raw.year.map(parse_years).transpose()?, limit, cursor: raw.cursor })
}

fn from_query_string(req: &Request) -> Result<RawSearch, SearchError> {
    let mut raw = RawSearch::default();
    let Some(params) = req.query_string_parameters_ref() else {
        return Ok(raw);
    };
    for (name, _) in params.iter() {
        let values = params.all(name).unwrap_or_default();
        if values.len() > 1 {
            return Err(SearchError::InvalidRequest("a parameter was given more than once"));
        }
        let value = values.first().map(|v| (*v).to_owned()).unwrap_or_default();
        match name {
            "q" => raw.query = Some(value),
            "genre" => raw.genre = Some(value),
            "year" => raw.year = Some(YearParam::Text(value)),
            "limit" => {
                raw.limit =
                    Some(value.parse().map_err(|_| SearchError::InvalidRequest("limit must be between 1 and 50"))?)
            }
            "cursor" => raw.cursor = Some(value),
            _ => return Err(SearchError::InvalidRequest("unknown parameter")),
        }
    }
    Ok(raw)
}

fn from_json_body(req: &Request) -> Result<RawSearch, SearchError> {
    let ctype = oasis_lambda::header_str(req.headers(), header::CONTENT_TYPE.as_str()).unwrap_or("");
    if !ctype.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") {
        return Err(SearchError::UnsupportedMediaType);
    }
    let bytes: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(SearchError::PayloadTooLarge);
    }
    // Unknown fields (say, a client-chosen "maturity") are refused, not ignored.
    serde_json::from_slice(bytes)
        .map_err(|_| SearchError::InvalidRequest("body must be a JSON object with known fields only"))
}

#[derive(Serialize)]
struct Hit<'a> {
    id: &'a str,
    title: &'a str,
    genre: &'a str,
    year: u16,
    maturity: u8,
}

#[derive(Serialize)]
struct Results<'a> {
    results: Vec<Hit<'a>>,
    next_cursor: Option<String>,
}

async fn search(app: &App, s: Search, ceiling: Maturity) -> Result<Response<Body>, SearchError> {
    let years = s.years.map(|(a, b)| format!("{a}-{b}")).unwrap_or_default();
    let terms = s.query.terms().join(" ");
    let ceiling_text = ceiling.to_string();
    let fp = cursor::fingerprint(&[&terms, s.genre.map_or("", Genre::as_str), &years, &ceiling_text]);
    let after = match &s.cursor {
        Some(c) => Some(app.cursor_key.open(c, &fp).map_err(|_| SearchError::InvalidCursor)?),
        None => None,
    };
    let q = CatalogQuery {
        terms: s.query.terms().to_vec(),
        genre: s.genre,
        year_from: s.years.map(|y| y.0),
        year_to: s.years.map(|y| y.1),
        max_maturity: ceiling,
        after,
        limit: s.limit,
    };
    let page: SearchPage = app.store.search(&q).await?;
    // A page can be short with a cursor when its matches were sparse in the index (the store's
    // read budget): the client reads on, as with any page that has a cursor.
    let next_cursor = page.resume_after.map(|(sort_key, id)| app.cursor_key.seal(&sort_key, &id, &fp));
    let body = Results {
        results: page
            .titles
            .iter()
            .map(|t| Hit {
                id: &t.id,
                title: &t.title,
                genre: t.genre.as_str(),
                year: t.year,
                maturity: t.maturity.age(),
            })
            .collect(),
        next_cursor,
    };
    Ok(oasis_lambda::json(StatusCode::OK, &body))
}
