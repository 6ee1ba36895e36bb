//! The one Lambda shell. A function is its configuration ([`Function::from_env`]), its routes
//! ([`Function::ROUTES`], [`Function::serve`]) and its error type ([`Function::Error`]); the
//! shell owns everything around them: tracing, the AWS SDK, routing (404, 405 with `Allow`,
//! CORS preflights), the request span, metrics, the error response, logging it once, the
//! security headers and "request served".

use std::future::Future;
use std::ops::Deref;
use std::time::Instant;

use lambda_http::http::Method;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Body, LambdaEvent, Request, Response, Service, service_fn};
use tracing::Instrument;

use crate::config::Aws;
use crate::error::{self, ApiError, RouteError};
use crate::metrics::{self, Metrics};
use crate::{Cors, RequestMeta};

/// An error while building a function at start; the process exits with it.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

pub trait Function: Send + Sync + Sized + 'static {
    /// The `function` dimension of its metrics.
    const NAME: &'static str;
    /// Every (method, path) it serves; `{name}` matches one path segment. Any other method on
    /// these paths gets 405, any other path 404, and `OPTIONS` is answered by the shell.
    const ROUTES: &'static [(&'static str, &'static str)];
    /// Request headers a browser may send cross-origin (the preflight's answer).
    const CORS_ALLOW_HEADERS: &'static str;

    type Error: ApiError + From<RouteError>;

    /// Reads the function's configuration once at start; fails fast naming what is wrong.
    fn from_env(aws: &Aws) -> impl Future<Output = Result<Self, StartError>>;

    fn cors(&self) -> &Cors;

    /// Serves a request whose `route` (one of [`Function::ROUTES`]' paths) and method matched.
    fn serve(
        &self,
        route: &'static str,
        meta: &RequestMeta,
        req: &Request,
    ) -> impl Future<Output = Result<Response<Body>, Self::Error>> + Send;
}

/// Runs a function on the Lambda runtime: the whole of a function's `main`.
pub async fn run<F: Function>() -> Result<(), lambda_http::Error> {
    crate::init_tracing();
    let aws = Aws::from_env();
    let lambda = Lambda::new(F::from_env(&aws).await?).with_metrics(Metrics::from_env(F::NAME));
    let lambda = &lambda;
    // lambda_http::run, with the event checked before lambda_http converts it (crate::event).
    lambda_http::lambda_runtime::run(service_fn(move |mut event: LambdaEvent<LambdaRequest>| {
        let malformed = crate::event::prepare(&mut event.payload);
        Adapter::from(service_fn(move |mut req: Request| async move {
            crate::event::mark(&mut req, malformed);
            Ok::<_, lambda_http::Error>(lambda.handle(req).await)
        }))
        .call(event)
    }))
    .await
}

/// A function inside the shell: what the runtime invokes and what tests call in-process.
pub struct Lambda<F> {
    function: F,
    metrics: Metrics,
}

impl<F: Function> Lambda<F> {
    pub fn new(function: F) -> Self {
        Self { function, metrics: Metrics::stdout("Oasis", "oasis", F::NAME) }
    }

    /// Where the EMF documents go (stdout unless replaced; tests capture them).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Serves one request. Never fails: every error becomes its response here, and every
    /// response leaves through [`crate::finish`].
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let started = Instant::now();
        let meta = RequestMeta::from_request(&req);
        let route = route_of(F::ROUTES, &meta.path);
        let label = route.unwrap_or("other");
        let span = tracing::info_span!("request", request_id = %meta.request_id, route = label);
        let (resp, signals) = metrics::collect(self.answer(route, &meta, &req)).instrument(span.clone()).await;
        let resp = crate::finish(resp, &meta, self.function.cors());
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        self.metrics.emit(label, resp.status().as_u16(), latency_ms, &signals);
        let _entered = span.enter();
        tracing::info!(method = %meta.method, status = resp.status().as_u16(), latency_ms, "request served");
        resp
    }

    async fn answer(&self, route: Option<&'static str>, meta: &RequestMeta, req: &Request) -> Response<Body> {
        match self.dispatch(route, meta, req).await {
            Ok(resp) => resp,
            Err(e) => {
                log(&e);
                error::response(&e)
            }
        }
    }

    async fn dispatch(
        &self,
        route: Option<&'static str>,
        meta: &RequestMeta,
        req: &Request,
    ) -> Result<Response<Body>, F::Error> {
        if let Some(&crate::event::Malformed { reason }) = req.extensions().get() {
            return Err(RouteError::Malformed { reason }.into());
        }
        let route = route.ok_or(RouteError::NotFound)?;
        let methods = || F::ROUTES.iter().filter(move |(_, p)| *p == route).map(|(m, _)| *m);
        if !methods().any(|m| m == meta.method.as_str()) {
            return Err(RouteError::MethodNotAllowed { allow: methods().collect::<Vec<_>>().join(", ") }.into());
        }
        if meta.method == Method::OPTIONS {
            let allowed = methods().filter(|m| *m != "OPTIONS").collect::<Vec<_>>().join(", ");
            return Ok(self.function.cors().preflight(meta, &allowed, F::CORS_ALLOW_HEADERS));
        }
        self.function.serve(route, meta, req).await
    }
}

impl<F> Deref for Lambda<F> {
    type Target = F;

    fn deref(&self) -> &F {
        &self.function
    }
}

/// Logs an error once: ours with the cause chain, a counted refusal with its reason.
fn log(e: &dyn ApiError) {
    if e.is_server_fault() {
        // The cause chain goes to the log; the client sees only the error code.
        tracing::error!(error = %error::cause_chain(e), "request failed");
    } else if let Some(r) = e.refusal() {
        metrics::signal(r.metric, Some(r.reason));
        tracing::warn!(signal = r.signal, reason = r.reason, "request refused");
    }
}

/// The route template a path matches, if any. The label for logs and metrics is always a
/// template, never the raw path.
pub fn route_of(routes: &[(&str, &'static str)], path: &str) -> Option<&'static str> {
    routes.iter().map(|(_, p)| *p).find(|template| matches(template, path))
}

fn matches(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(param), Some(segment)) if param.starts_with('{') && param.ends_with('}') => {
                if segment.is_empty() {
                    return false;
                }
            }
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[(&str, &str)] = &[("GET", "/items"), ("GET", "/items/{id}"), ("POST", "/items")];

    #[test]
    fn paths_match_their_template_and_nothing_else() {
        let cases = [
            ("/items", Some("/items")),
            ("/items/abc", Some("/items/{id}")),
            ("/items/", None),
            ("/items/abc/def", None),
            ("/itemsx", None),
            ("/", None),
            ("", None),
        ];
        for (path, want) in cases {
            assert_eq!(route_of(ROUTES, path), want, "{path}");
        }
    }
}
