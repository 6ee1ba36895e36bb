//! The shell every Oasis function runs in ([`shell`]) and the HTTP hardening it applies.
//!
//! Every response leaves through [`finish`], which adds the security headers and the request
//! id: a handler cannot forget them, on success or on error.

pub mod bearer;
pub mod config;
pub mod error;
pub mod event;
pub mod form;
pub mod metrics;
pub mod shell;

use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

pub use lambda_http;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// What every handler needs to know about a request, read once.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub method: Method,
    /// The route path without the API Gateway stage.
    pub path: String,
    pub source_ip: Option<String>,
    pub origin: Option<String>,
}

impl RequestMeta {
    pub fn from_request(req: &Request) -> Self {
        let (gateway_id, source_ip) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(c)) => (c.request_id.clone(), c.identity.source_ip.clone()),
            Some(RequestContext::ApiGatewayV2(c)) => (c.request_id.clone(), c.http.source_ip.clone()),
            _ => (None, None),
        };
        let request_id = gateway_id
            .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
            .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
            .unwrap_or_else(|| "unknown".to_owned());
        let path = req.raw_http_path();
        let path = if path.is_empty() { req.uri().path().to_owned() } else { path.to_owned() };
        Self {
            request_id,
            method: req.method().clone(),
            path,
            source_ip,
            origin: header_str(req.headers(), header::ORIGIN.as_str()).map(str::to_owned),
        }
    }
}

/// A header's value as text, if present exactly once and valid visible ASCII.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// A JSON response. Serialisation of our own types cannot fail; if it ever did, the client
/// gets a bare 500 rather than a partial body.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => raw_json(status, text),
        Err(_) => raw_json(StatusCode::INTERNAL_SERVER_ERROR, r#"{"error":"server_error"}"#.to_owned()),
    }
}

pub fn raw_json(status: StatusCode, text: String) -> Response<Body> {
    let mut resp = Response::new(Body::Text(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A response with no body (204, preflight).
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = status;
    resp
}

/// Origins allowed to call the API from a browser. Anything else gets no CORS headers.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    allowed: Vec<String>,
}

impl Cors {
    pub fn new(allowed: Vec<String>) -> Self {
        Self { allowed }
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.allowed.iter().any(|o| o == origin)
    }

    /// The answer to an `OPTIONS` preflight: 204 with the grants for an allowed origin,
    /// 403 for any other.
    pub fn preflight(&self, meta: &RequestMeta, methods: &str, headers: &'static str) -> Response<Body> {
        match meta.origin.as_deref() {
            Some(o) if self.allows(o) => {
                let mut resp = empty(StatusCode::NO_CONTENT);
                let h = resp.headers_mut();
                if let Ok(v) = HeaderValue::from_str(methods) {
                    h.insert("access-control-allow-methods", v);
                }
                h.insert("access-control-allow-headers", HeaderValue::from_static(headers));
                h.insert("access-control-max-age", HeaderValue::from_static("600"));
                resp
            }
            _ => json(StatusCode::FORBIDDEN, &serde_json::json!({"error": "origin_not_allowed"})),
        }
    }
}

/// Adds the headers every response carries. `Cache-Control: no-store` is the default; a
/// handler that serves public data sets its own `Cache-Control` first. The CSP is
/// `default-src 'none'` unless a page set its own (the sign-in pages allow their stylesheet;
/// `frame-ancestors 'none'` is in both, and `X-Frame-Options: DENY` always); the referrer
/// policy is `no-referrer` unless a page set its own (the sign-in pages need `same-origin`,
/// or browsers post their forms with `Origin: null`).
pub fn finish(mut resp: Response<Body>, meta: &RequestMeta, cors: &Cors) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("strict-transport-security", HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(v) = HeaderValue::from_str(&meta.request_id) {
        h.insert(REQUEST_ID_HEADER, v);
    }
    if let Some(v) = meta.origin.as_deref().filter(|o| cors.allows(o)).and_then(|o| HeaderValue::from_str(o).ok()) {
        h.insert("access-control-allow-origin", v);
        h.insert("access-control-allow-credentials", HeaderValue::from_static("true"));
        h.insert("access-control-expose-headers", HeaderValue::from_static("x-request-id"));
    }
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    resp
}

/// A cookie's value from the request's `Cookie` header(s).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The only targets that log at any level asked for: Oasis's own crates. Everything else (the
/// Lambda runtime with its raw events, the AWS SDK and its request signer with headers and
/// bodies, the HTTP and TLS stack) is held at `info`, so `AWS_LAMBDA_LOG_LEVEL=trace` while
/// chasing a bug cannot write a password, a client secret or a cookie to CloudWatch. An
/// allow-list: a new dependency is capped without anyone remembering to add it.
pub const VERBOSE_TARGETS: [&str; 1] = ["oasis"];

/// The level from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`.
pub fn log_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    lambda_level
        .map(str::to_lowercase)
        .and_then(|l| EnvFilter::try_new(l).ok())
        .or_else(|| rust_log.and_then(|l| EnvFilter::try_new(l).ok()))
        .unwrap_or_else(|| EnvFilter::new("info"))
}

/// `info` at most for every target but [`VERBOSE_TARGETS`]; applied together with
/// [`log_filter`], so even `RUST_LOG=aws_smithy_runtime=trace` cannot lift the cap.
pub fn log_caps() -> tracing_subscriber::filter::Targets {
    use tracing::level_filters::LevelFilter;
    tracing_subscriber::filter::Targets::new()
        .with_default(LevelFilter::INFO)
        .with_targets(VERBOSE_TARGETS.map(|t| (t, LevelFilter::TRACE)))
}

/// The JSON log layer every function runs, writing to `writer` (stdout in Lambda), filtered by
/// `filter` and [`log_caps`]; each line carries its RFC 3339 `timestamp` (local runs have no
/// CloudWatch to add one).
pub fn log_layer<S, W>(filter: tracing_subscriber::EnvFilter, writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::FilterExt as _;
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
        .with_filter(filter.and(log_caps()))
}

/// Logs through [`log_layer`] to stdout, at the level of [`log_filter`]. Call once at start.
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter =
        log_filter(std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(), std::env::var("RUST_LOG").ok().as_deref());
    let _ = tracing_subscriber::registry().with(log_layer(filter, std::io::stdout)).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a subscriber with `filter` writes for a trace line of `target`.
    fn logged(filter: tracing_subscriber::EnvFilter, target_is_runtime: bool) -> String {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        use tracing_subscriber::layer::SubscriberExt as _;
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::registry().with(log_layer(filter, move || writer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            if target_is_runtime {
                tracing::trace!(target: "lambda_runtime::layers::api_response", "event body password=hunter2");
                tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "raw response SecretString");
                tracing::trace!(target: "aws_sigv4::http_request::sign", "canonical request authorization: Basic c2VjcmV0");
                tracing::trace!(target: "h2::codec", "frame with cookie __Host-oasis_refresh=abc");
            } else {
                tracing::trace!(target: "oasis_token::grants", "our own trace line");
                tracing::info!(target: "lambda_runtime", "runtime info line");
            }
        });
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn trace_logging_never_lets_the_runtime_or_the_sdk_log_raw_events_or_responses() {
        for (lambda, rust) in [
            (Some("TRACE"), None),
            (None, Some("trace")),
            (Some("debug"), None),
            (None, Some("lambda_runtime=trace,aws_smithy_runtime=trace")),
        ] {
            let out = logged(log_filter(lambda, rust), true);
            for secret in ["hunter2", "SecretString", "c2VjcmV0", "__Host-oasis_refresh"] {
                assert!(!out.contains(secret), "{lambda:?} {rust:?}: {out}");
            }
        }
        let ours = logged(log_filter(Some("trace"), None), false);
        assert!(ours.contains("our own trace line"), "our own code keeps its level: {ours}");
        assert!(ours.contains("runtime info line"), "info from the runtime still shows: {ours}");
    }

    fn meta(origin: Option<&str>) -> RequestMeta {
        RequestMeta {
            request_id: "req-1".into(),
            method: Method::GET,
            path: "/x".into(),
            source_ip: None,
            origin: origin.map(str::to_owned),
        }
    }

    #[test]
    fn every_finished_response_carries_the_security_headers() {
        let resp = finish(json(StatusCode::BAD_REQUEST, &serde_json::json!({})), &meta(None), &Cors::default());
        let h = resp.headers();
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
            ("x-request-id", "req-1"),
            ("content-type", "application/json"),
        ] {
            assert_eq!(h.get(name).and_then(|v| v.to_str().ok()), Some(value), "{name}");
        }
        assert!(h.get("strict-transport-security").is_some());
        assert!(h.get("access-control-allow-origin").is_none());
    }

    #[test]
    fn cors_headers_go_only_to_allow_listed_origins() {
        let cors = Cors::new(vec!["https://app.example".into()]);
        let ok = finish(empty(StatusCode::OK), &meta(Some("https://app.example")), &cors);
        assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example");
        let evil = finish(empty(StatusCode::OK), &meta(Some("https://evil.example")), &cors);
        assert!(evil.headers().get("access-control-allow-origin").is_none());
        assert_eq!(cors.preflight(&meta(Some("https://evil.example")), "POST", "content-type").status(), 403);
        assert_eq!(cors.preflight(&meta(Some("https://app.example")), "POST", "content-type").status(), 204);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; __Host-rt=abc; __Host-rtx=no"));
        assert_eq!(cookie(&h, "__Host-rt").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
