//! CloudWatch Embedded Metric Format (EMF): one JSON document per invocation, on stdout,
//! which the Lambda runtime forwards to CloudWatch Logs where it becomes metrics.
//!
//! Handlers record security signals with [`signal`] wherever they happen; [`collect`] gathers
//! the signals of one request (a task-local, so concurrent requests in one process never mix)
//! and [`Metrics::emit`] writes the document. Dimensions are low-cardinality only: service,
//! function, route and, for signals that have one, a reason label — never a user, client,
//! address or query text.
//!
//! Hand-written rather than `metrics` + `metrics_cloudwatch_embedded`: those flush through a
//! process-global recorder, while tests here run many apps in one process and need each
//! request's own document.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value, json};

/// CloudWatch's limits for one EMF document.
pub const MAX_METRICS: usize = 100;
pub const MAX_DIMENSIONS: usize = 30;

/// A security signal: a metric name (CamelCase) and an optional low-cardinality reason.
pub type Signal = (&'static str, Option<&'static str>);

tokio::task_local! {
    static SIGNALS: RefCell<Vec<Signal>>;
}

/// Records a signal for the current request (no-op outside [`collect`]).
pub fn signal(name: &'static str, reason: Option<&'static str>) {
    let _ = SIGNALS.try_with(|s| s.borrow_mut().push((name, reason)));
}

/// Runs a request's future and returns its output with the signals it recorded.
pub async fn collect<F: std::future::Future>(f: F) -> (F::Output, Vec<Signal>) {
    SIGNALS
        .scope(RefCell::new(Vec::new()), async {
            let out = f.await;
            let signals = SIGNALS.with(|s| s.take());
            (out, signals)
        })
        .await
}

static COLD: AtomicBool = AtomicBool::new(true);

/// Where documents go: stdout in Lambda, memory in tests.
pub struct Metrics {
    namespace: String,
    service: String,
    function: &'static str,
    captured: Option<Mutex<Vec<String>>>,
}

impl Metrics {
    pub fn stdout(namespace: impl Into<String>, service: impl Into<String>, function: &'static str) -> Self {
        Self { namespace: namespace.into(), service: service.into(), function, captured: None }
    }

    /// To stdout, in the namespace `OASIS_METRICS_NAMESPACE` (default `Oasis`) with the
    /// service dimension `OASIS_SERVICE_NAME` (default `oasis`).
    pub fn from_env(function: &'static str) -> Self {
        use crate::config::optional;
        Self::stdout(
            optional("OASIS_METRICS_NAMESPACE").unwrap_or_else(|| "Oasis".into()),
            optional("OASIS_SERVICE_NAME").unwrap_or_else(|| "oasis".into()),
            function,
        )
    }

    /// Keeps documents for [`Metrics::take`] instead of printing them.
    pub fn capture(function: &'static str) -> Self {
        Self { namespace: "Oasis".into(), service: "oasis".into(), function, captured: Some(Mutex::new(vec![])) }
    }

    pub fn take(&self) -> Vec<String> {
        self.captured
            .as_ref()
            .map(|c| std::mem::take(&mut *c.lock().unwrap_or_else(|p| p.into_inner())))
            .unwrap_or_default()
    }

    /// Builds and writes the document of one invocation.
    pub fn emit(&self, route: &'static str, status: u16, latency_ms: f64, signals: &[Signal]) {
        let doc = self.document(route, status, latency_ms, signals, COLD.swap(false, Ordering::Relaxed));
        match &self.captured {
            Some(c) => c.lock().unwrap_or_else(|p| p.into_inner()).push(doc),
            None => println!("{doc}"),
        }
    }

    pub fn document(
        &self,
        route: &'static str,
        status: u16,
        latency_ms: f64,
        signals: &[Signal],
        cold: bool,
    ) -> String {
        let mut plain: BTreeMap<&str, f64> = BTreeMap::new();
        let mut reasoned: BTreeMap<&str, f64> = BTreeMap::new();
        let mut reason: Option<&str> = None;
        plain.insert("Requests", 1.0);
        let class = match status {
            200..=299 => "Status2xx",
            // The sign-in pages' redirects (303 to an app's redirect URI) are answers, not faults.
            300..=399 => "Status3xx",
            400..=499 => "Status4xx",
            _ => "Status5xx",
        };
        plain.insert(class, 1.0);
        if status == 503 || status == 429 {
            plain.insert("Unavailable", 1.0);
        }
        if cold {
            plain.insert("ColdStart", 1.0);
        }
        for (name, r) in signals {
            match r {
                Some(r) if reason.is_none_or(|x| x == *r) => {
                    reason = Some(r);
                    *reasoned.entry(name).or_default() += 1.0;
                }
                _ => *plain.entry(name).or_default() += 1.0,
            }
        }
        let unit = |n: &str| if n == "Latency" { "Milliseconds" } else { "Count" };
        let defs = |m: &BTreeMap<&str, f64>, extra: &[&str]| -> Vec<Value> {
            m.keys().chain(extra.iter()).map(|n| json!({ "Name": n, "Unit": unit(n) })).collect()
        };
        let mut directives = vec![
            json!({ "Namespace": self.namespace, "Dimensions": [["service", "function", "route"]], "Metrics": defs(&plain, &["Latency"]) }),
        ];
        if !reasoned.is_empty() {
            directives.push(
                json!({ "Namespace": self.namespace, "Dimensions": [["service", "function", "reason"], ["service", "function"]], "Metrics": defs(&reasoned, &[]) }),
            );
        }
        let timestamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let mut root = Map::new();
        root.insert("_aws".into(), json!({ "Timestamp": timestamp as u64, "CloudWatchMetrics": directives }));
        root.insert("service".into(), json!(self.service));
        root.insert("function".into(), json!(self.function));
        root.insert("route".into(), json!(route));
        if let Some(r) = reason {
            root.insert("reason".into(), json!(r));
        }
        root.insert("Latency".into(), json!(latency_ms));
        for (n, v) in plain.iter().chain(reasoned.iter()) {
            root.insert((*n).into(), json!(v));
        }
        Value::Object(root).to_string()
    }
}

/// Checks a document against the EMF specification; the problems, or none.
pub fn validate(doc: &str) -> Vec<String> {
    const UNITS: [&str; 27] = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];
    let mut bad = vec![];
    let Ok(v) = serde_json::from_str::<Value>(doc) else { return vec!["not JSON".into()] };
    let Some(aws) = v.get("_aws") else { return vec!["no _aws".into()] };
    if !aws.get("Timestamp").is_some_and(Value::is_u64) {
        bad.push("_aws.Timestamp must be epoch milliseconds".into());
    }
    let Some(directives) = aws.get("CloudWatchMetrics").and_then(Value::as_array) else {
        bad.push("_aws.CloudWatchMetrics must be an array".into());
        return bad;
    };
    for d in directives {
        if !d.get("Namespace").and_then(Value::as_str).is_some_and(|n| !n.is_empty() && n.len() <= 255) {
            bad.push("Namespace must be a non-empty string".into());
        }
        for set in d.get("Dimensions").and_then(Value::as_array).into_iter().flatten() {
            let set = set.as_array().cloned().unwrap_or_default();
            if set.len() > MAX_DIMENSIONS {
                bad.push(format!("a dimension set has {} dimensions (max {MAX_DIMENSIONS})", set.len()));
            }
            for dim in set {
                let name = dim.as_str().unwrap_or_default();
                if !v.get(name).is_some_and(Value::is_string) {
                    bad.push(format!("dimension {name} must be a string at the root"));
                }
            }
        }
        let metrics = d.get("Metrics").and_then(Value::as_array).cloned().unwrap_or_default();
        if metrics.len() > MAX_METRICS {
            bad.push(format!("{} metrics (max {MAX_METRICS})", metrics.len()));
        }
        for m in metrics {
            let name = m.get("Name").and_then(Value::as_str).unwrap_or_default();
            if !m.get("Unit").and_then(Value::as_str).is_some_and(|u| UNITS.contains(&u)) {
                bad.push(format!("metric {name} has no CloudWatch unit"));
            }
            if !v.get(name).is_some_and(Value::is_number) {
                bad.push(format!("metric {name} has no numeric value at the root"));
            }
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_is_counted_in_its_own_class_and_a_redirect_is_no_server_fault() {
        let m = Metrics::capture("signin");
        for (status, class) in
            [(200, "Status2xx"), (303, "Status3xx"), (404, "Status4xx"), (500, "Status5xx"), (503, "Status5xx")]
        {
            let v: Value = serde_json::from_str(&m.document("/authorize", status, 1.0, &[], false)).unwrap();
            assert_eq!(v[class].as_f64(), Some(1.0), "{status}");
            let others = ["Status2xx", "Status3xx", "Status4xx", "Status5xx"].into_iter().filter(|c| *c != class);
            assert!(others.into_iter().all(|c| v[c].is_null()), "{status}: {v}");
        }
    }

    #[test]
    fn a_document_counts_the_request_its_class_and_its_signals() {
        let m = Metrics::capture("token");
        let doc = m.document(
            "/token",
            400,
            1.5,
            &[("LoginFailed", None), ("LoginFailed", None), ("AccountLocked", None)],
            true,
        );
        assert!(validate(&doc).is_empty(), "{:?}", validate(&doc));
        let v: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(
            (v["Requests"].as_f64(), v["Status4xx"].as_f64(), v["LoginFailed"].as_f64()),
            (Some(1.0), Some(1.0), Some(2.0))
        );
        assert_eq!(
            (v["AccountLocked"].as_f64(), v["ColdStart"].as_f64(), v["Latency"].as_f64()),
            (Some(1.0), Some(1.0), Some(1.5))
        );
        assert_eq!(v["route"], "/token");
    }

    #[test]
    fn reasoned_signals_get_their_own_dimension_set() {
        let m = Metrics::capture("search");
        let doc = m.document("/search", 401, 0.2, &[("TokenRejected", Some("expired"))], false);
        assert!(validate(&doc).is_empty(), "{:?}", validate(&doc));
        let v: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["reason"], "expired");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][1]["Dimensions"][0][2], "reason");
        assert!(v.get("ColdStart").is_none());
    }

    #[test]
    fn the_validator_catches_broken_documents() {
        let good = Metrics::capture("token").document("/token", 200, 1.0, &[], false);
        let mut v: Value = serde_json::from_str(&good).unwrap();
        v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Furlongs".into();
        v["route"] = json!(7);
        v.as_object_mut().unwrap().remove("Requests");
        v["_aws"]["Timestamp"] = "yesterday".into();
        let problems = validate(&v.to_string()).join("\n");
        for want in ["no CloudWatch unit", "dimension route must be a string", "no numeric value", "Timestamp"] {
            assert!(problems.contains(want), "{want} not in {problems}");
        }
        let many: Vec<Value> = (0..101).map(|i| json!({"Name": format!("M{i}"), "Unit": "Count"})).collect();
        let mut big: Value = serde_json::from_str(&good).unwrap();
        big["_aws"]["CloudWatchMetrics"][0]["Metrics"] = Value::Array(many);
        assert!(validate(&big.to_string()).iter().any(|p| p.contains("max 100")));
    }

    #[tokio::test]
    async fn signals_are_collected_per_request() {
        let ((), a) = collect(async { signal("LoginFailed", None) }).await;
        let ((), b) = collect(async { signal("RefreshRotated", None) }).await;
        assert_eq!(a, vec![("LoginFailed", None)]);
        assert_eq!(b, vec![("RefreshRotated", None)]);
        signal("Ignored", None); // outside a request: dropped, never a panic
    }
}
