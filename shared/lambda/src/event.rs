//! From the runtime's event to the request the shell serves.
//!
//! lambda_http turns an API Gateway event into an `http::Request`, but panics on some events
//! instead of refusing them (`request.rs`: `Url::parse(..).unwrap()` on a `Host` or
//! `X-Forwarded-Proto` that makes no URL, `.expect("failed to build request")` on an HTTP API
//! `rawQueryString` no URI can hold or a URI over `http`'s length limit, and aws_lambda_events'
//! `.expect(..)` on a body marked base64 that is not). The runtime turns that panic into a failed invocation and
//! API Gateway answers 502 — a client's bad input counted as our fault, with no request id, no
//! security headers and no metric. So every event is checked here first, by building the very
//! URI lambda_http will build; one that fails is made harmless ([`defuse`]) and answered 400
//! `invalid_request` by the shell ([`Malformed`]). The `event` fuzz target holds both halves to
//! it: a checked event converts without panicking, and so does a defused one.

use lambda_http::Request;
use lambda_http::http::{HeaderMap, Uri, header};
use lambda_http::request::LambdaRequest;

/// Marks the stand-in request of an event lambda_http could not convert; `reason` names the
/// part that was wrong (for the log, never the value itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    pub reason: &'static str,
}

const FORWARDED_PROTO: &str = "x-forwarded-proto";

/// Whether lambda_http can convert the event, by the same steps it takes.
pub fn check(payload: &LambdaRequest) -> Result<(), Malformed> {
    match payload {
        LambdaRequest::ApiGatewayV1(e) => {
            check_body(e.is_base64_encoded, e.body.as_deref())?;
            // lambda_http re-encodes a REST event's query (form-urlencoded: only characters a
            // URI holds, but it still counts towards the URI's length), the multi-valued one
            // when there is one.
            let (multi, single) = (&e.multi_value_query_string_parameters, &e.query_string_parameters);
            let query = if multi.is_empty() { single.to_query_string() } else { multi.to_query_string() };
            check_uri(
                &e.headers,
                e.request_context.domain_name.as_deref(),
                e.request_context.stage.as_deref(),
                e.path.as_deref().unwrap_or_default(),
                Some(&query),
            )
        }
        LambdaRequest::ApiGatewayV2(e) => {
            check_body(e.is_base64_encoded, e.body.as_deref())?;
            check_uri(
                &e.headers,
                e.request_context.domain_name.as_deref(),
                e.request_context.stage.as_deref(),
                e.raw_path.as_deref().unwrap_or_default(),
                e.raw_query_string.as_deref(),
            )
        }
        // Only the two API Gateway kinds are compiled in (the workspace's lambda_http features).
        #[allow(unreachable_patterns)]
        _ => Ok(()),
    }
}

/// Removes every part of the event that [`check`] may refuse (host, scheme, path, query, body), so
/// that lambda_http converts it into a request that still carries its method, request id and
/// source address for the log and the metrics.
pub fn defuse(payload: &mut LambdaRequest) {
    fn strip(headers: &mut HeaderMap) {
        headers.remove(header::HOST);
        headers.remove(FORWARDED_PROTO);
    }
    match payload {
        LambdaRequest::ApiGatewayV1(e) => {
            strip(&mut e.headers);
            strip(&mut e.multi_value_headers);
            e.request_context.domain_name = None;
            e.request_context.stage = None;
            e.path = Some("/".to_owned());
            e.query_string_parameters = Default::default();
            e.multi_value_query_string_parameters = Default::default();
            (e.body, e.is_base64_encoded) = (None, false);
        }
        LambdaRequest::ApiGatewayV2(e) => {
            strip(&mut e.headers);
            e.request_context.domain_name = None;
            e.request_context.stage = None;
            e.raw_path = Some("/".to_owned());
            e.raw_query_string = None;
            e.query_string_parameters = Default::default();
            (e.body, e.is_base64_encoded) = (None, false);
        }
        #[allow(unreachable_patterns)]
        _ => {}
    }
}

/// Checks the event and, when it is malformed, defuses it: what lambda_http converts next can
/// no longer panic. The mark goes on the converted request ([`mark`]).
pub fn prepare(payload: &mut LambdaRequest) -> Option<Malformed> {
    let malformed = check(payload).err();
    if malformed.is_some() {
        defuse(payload);
    }
    malformed
}

/// Marks the stand-in request of a malformed event; the shell answers it 400.
pub fn mark(req: &mut Request, malformed: Option<Malformed>) {
    if let Some(m) = malformed {
        req.extensions_mut().insert(m);
    }
}

/// The request the shell serves for an event: lambda_http's conversion of it, or, when the
/// event is malformed, of its defused copy, marked.
pub fn to_request(mut payload: LambdaRequest) -> Request {
    let malformed = prepare(&mut payload);
    let mut req: Request = payload.into();
    mark(&mut req, malformed);
    req
}

/// Parses an event's JSON text as the runtime does, then [`to_request`].
pub fn from_str(text: &str) -> Result<Request, serde_json::Error> {
    serde_json::from_str::<LambdaRequest>(text).map(to_request)
}

/// aws_lambda_events' `Body::from_maybe_encoded`, as a check.
fn check_body(base64: bool, body: Option<&str>) -> Result<(), Malformed> {
    use base64::Engine;
    match body {
        Some(b) if base64 && base64::engine::general_purpose::STANDARD.decode(b).is_err() => {
            Err(Malformed { reason: "body" })
        }
        _ => Ok(()),
    }
}

/// lambda_http's `build_request_uri` and request builder, step for step, as checks.
fn check_uri(
    headers: &HeaderMap,
    domain_name: Option<&str>,
    stage: Option<&str>,
    path: &str,
    raw_query: Option<&str>,
) -> Result<(), Malformed> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).or(domain_name);
    let path = with_stage(stage, path);
    let mut uri = match host {
        None => url::Url::parse(&format!("http://localhost{path}"))
            .map_err(|_| Malformed { reason: "path" })?
            .path()
            .to_owned(),
        Some(host) => {
            let scheme = headers.get(FORWARDED_PROTO).and_then(|v| v.to_str().ok()).unwrap_or("https");
            url::Url::parse(&format!("{scheme}://{host}{path}")).map_err(|_| Malformed { reason: "host" })?.to_string()
        }
    };
    if let Some(query) = raw_query.filter(|q| !q.is_empty()) {
        uri.push('?');
        uri.push_str(query);
    }
    let reason = if raw_query.is_some_and(|q| !q.is_empty()) { "query" } else { "host" };
    Uri::try_from(uri).map(drop).map_err(|_| Malformed { reason })
}

/// lambda_http's `apigw_path_with_stage`.
fn with_stage(stage: Option<&str>, path: &str) -> String {
    if std::env::var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_ok() {
        return path.to_owned();
    }
    match stage {
        None | Some("$default") => path.to_owned(),
        Some(stage) if path.starts_with(&format!("/{stage}/")) => path.to_owned(),
        Some(stage) => format!("/{stage}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn rest(headers: Value, path: &str) -> Value {
        json!({
            "resource": path, "path": path, "httpMethod": "GET", "headers": headers,
            "multiValueHeaders": {}, "queryStringParameters": {"q": "<a b>"}, "multiValueQueryStringParameters": null,
            "pathParameters": null, "stageVariables": null, "body": null, "isBase64Encoded": false,
            "requestContext": {"accountId": "1", "resourceId": "r", "resourcePath": path, "httpMethod": "GET",
                "stage": "v1", "requestId": "req-1", "identity": {"sourceIp": "203.0.113.10"}}
        })
    }

    fn http_api(headers: Value, path: &str, raw_query: &str) -> Value {
        json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": raw_query,
            "headers": headers, "isBase64Encoded": false,
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "api.example.com",
                "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "t"},
                "requestId": "req-2", "routeKey": "$default", "stage": "$default", "time": "01/Dec/2026:00:00:00 +0000",
                "timeEpoch": 1795900000000u64}
        })
    }

    fn with(mut event: Value, key: &str, body: &str) -> Value {
        event[key] = json!(body);
        event["isBase64Encoded"] = json!(true);
        event
    }

    fn long_query(mut event: Value) -> Value {
        let value = "<".repeat(30_000);
        event["queryStringParameters"] = json!({ "q": value });
        event["multiValueQueryStringParameters"] = json!({ "q": [value] });
        event
    }

    #[test]
    fn events_lambda_http_would_panic_on_are_marked_malformed_and_still_convert() {
        let cases = [
            ("a REST event", rest(json!({"Host": "api.example.com"}), "/search"), None),
            ("a REST event without a host", rest(json!({}), "/search"), None),
            ("a host with a space", rest(json!({"Host": "api example.com"}), "/search"), Some("host")),
            ("a host with a port out of range", rest(json!({"Host": "api.example.com:99999"}), "/x"), Some("host")),
            (
                "an empty forwarded scheme",
                rest(json!({"Host": "a.example", "X-Forwarded-Proto": ""}), "/x"),
                Some("host"),
            ),
            (
                "a scheme with a space",
                rest(json!({"Host": "a.example", "X-Forwarded-Proto": "ht tp"}), "/x"),
                Some("host"),
            ),
            ("an HTTP API event", http_api(json!({"host": "api.example.com"}), "/search", "q=drama&limit=5"), None),
            (
                "a raw query with markup",
                http_api(json!({"host": "api.example.com"}), "/search", "q=<script>"),
                Some("query"),
            ),
            ("a raw query with a space", http_api(json!({}), "/search", "q=a b"), Some("query")),
            ("a path that makes a port", http_api(json!({"host": "api.example.com"}), ":x/search", ""), Some("host")),
            ("a path that makes a port, no host", http_api(json!({}), ":x", ""), Some("host")),
            ("a body marked base64 that is not", with(rest(json!({}), "/token"), "body", "%"), Some("body")),
            (
                "an HTTP API body marked base64 that is not",
                with(http_api(json!({}), "/t", ""), "body", "%"),
                Some("body"),
            ),
            ("a base64 body", with(rest(json!({}), "/token"), "body", "Z3JhbnQ="), None),
            ("a REST query past the URI's length", long_query(rest(json!({}), "/search")), Some("query")),
        ];
        for (what, event, want) in cases {
            let payload: LambdaRequest = serde_json::from_value(event.clone()).expect(what);
            assert_eq!(check(&payload).err().map(|m| m.reason), want, "{what}");
            // Converting must not panic either way; the stand-in keeps the request id.
            let req = from_str(&event.to_string()).expect(what);
            assert_eq!(req.extensions().get::<Malformed>().map(|m| m.reason), want, "{what}");
            let meta = crate::RequestMeta::from_request(&req);
            assert!(meta.request_id.starts_with("req-"), "{what}: {}", meta.request_id);
            if want.is_none() {
                assert_eq!(meta.path, event["path"].as_str().or(event["rawPath"].as_str()).unwrap(), "{what}");
            }
        }
    }
}
