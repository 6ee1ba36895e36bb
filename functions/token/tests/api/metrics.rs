//! The token function's EMF documents: valid per the specification, one per request, and
//! each security signal produced by the scenario that should produce it.

use crate::common;

use std::collections::BTreeMap;

use common::*;
use oasis_lambda::metrics::{Metrics, validate};
use serde_json::Value;

/// Sums every numeric root value of the documents, after checking each against the spec.
pub(crate) fn totals(docs: &[String]) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    for d in docs {
        assert!(validate(d).is_empty(), "{:?} in {d}", validate(d));
        let v: Value = serde_json::from_str(d).unwrap();
        for (k, n) in v.as_object().unwrap() {
            if let Some(n) = n.as_f64().filter(|_| k != "Latency") {
                *sums.entry(k.clone()).or_default() += n;
            }
        }
    }
    sums
}

#[tokio::test]
async fn six_wrong_passwords_count_six_failed_logins_and_one_account_lock() {
    let f = fixture().await;
    let app = f.app.with_metrics(Metrics::capture("token"));
    for _ in 0..6 {
        assert_eq!(password_login(&app, "demo", "wrong-password").await.status, 400);
    }
    let docs = app.metrics().take();
    assert_eq!(docs.len(), 6, "one document per request");
    let t = totals(&docs);
    assert_eq!((t["LoginFailed"], t["AccountLocked"], t["Requests"], t["Status4xx"]), (6.0, 1.0, 6.0, 6.0));
    assert!(!t.contains_key("LoginSucceeded"));
}

#[tokio::test]
async fn rotation_reuse_and_logins_are_counted() {
    let f = fixture().await;
    let app = f.app.with_metrics(Metrics::capture("token"));
    let first =
        password_login(&app, "demo", &f.creds.demo_password).await.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh(&app, &first, None).await.status, 200);
    assert_eq!(refresh(&app, &first, None).await.status, 400);
    assert_eq!(refresh(&app, "never-issued", None).await.status, 400);
    let docs = app.metrics().take();
    let t = totals(&docs);
    assert_eq!(
        (t["LoginSucceeded"], t["RefreshRotated"], t["RefreshReuseDetected"], t["RefreshFailed"]),
        (1.0, 1.0, 1.0, 1.0)
    );
    let unknown: Value = serde_json::from_str(docs.last().unwrap()).unwrap();
    assert_eq!((unknown["reason"].as_str(), unknown["route"].as_str()), (Some("unknown"), Some("/token")));
}

#[tokio::test]
async fn metric_documents_carry_no_user_client_address_or_secret() {
    let f = fixture().await;
    let app = f.app.with_metrics(Metrics::capture("token"));
    let login = password_login(&app, "demo", &f.creds.demo_password).await.json();
    post_form(
        &app,
        "/token",
        &[("grant_type", "client_credentials")],
        &[("Authorization", &basic("oasis-demo-service", &f.creds.service_secret))],
    )
    .await;
    let docs = app.metrics().take().join("\n");
    for secret in [
        f.creds.demo_password.as_str(),
        f.creds.service_secret.as_str(),
        login["access_token"].as_str().unwrap(),
        login["refresh_token"].as_str().unwrap(),
        "demo\"",
        "oasis-demo",
        "203.0.113.10",
    ] {
        assert!(!docs.contains(secret), "{secret} in a metric document");
    }
}
