//! The DynamoDB server goes away mid-run: requests get 503 with Retry-After (never a 500
//! with internals), nothing is half-written, and service resumes when it is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use oasis_integration_tests::*;
use oasis_lambda::Cors;
use oasis_testkit::World;
use oasis_testkit::{event, reply, request};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy to the DynamoDB-API server that can be switched off: while off it refuses new
/// connections and cuts the open ones, as an outage would.
struct Outage {
    url: String,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Outage {
    async fn start(upstream: &str) -> Self {
        let target = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut cut_rx = cut2.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        Self { url, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_gets_503_writes_nothing_half_and_service_resumes() {
    let outage = Outage::start(&endpoint()).await;
    let store = dynamo(&outage.url, &unique_prefix("fault"), None).await;
    let w = World::on(store, 50).await;
    let app = token_app(&w).with_metrics(oasis_lambda::metrics::Metrics::capture("token"));
    let data =
        oasis_lambda::shell::Lambda::new(oasis_secure_data::App::new(w.store.clone(), w.verifier(), Cors::default()));
    let first = login(&app, &w).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let r1 = first.json()["refresh_token"].as_str().unwrap().to_owned();
    let access = format!("Bearer {}", w.token(&w.demo, "data:read"));

    outage.down();
    for r in [
        refresh(&app, &r1).await,
        login(&app, &w).await,
        reply(data.handle(request(&event("GET", "/secure-data", &[("Authorization", &access)], None))).await),
    ] {
        assert_eq!(r.status, 503, "{}", r.text);
        assert_eq!(r.header("retry-after"), Some("1"));
        assert_eq!(r.error().as_deref(), Some("temporarily_unavailable"));
        assert!(!r.text.contains("dispatch") && !r.text.contains("127.0.0.1") && r.text.len() < 200, "{}", r.text);
    }

    // The on-call signal: the token function's documents count the outage as Unavailable.
    let docs = app.metrics().take();
    let unavailable = docs
        .iter()
        .filter(|d| serde_json::from_str::<serde_json::Value>(d).unwrap()["Unavailable"].as_f64() == Some(1.0))
        .count();
    assert_eq!(unavailable, 2, "{docs:#?}");

    outage.restore();
    // The refresh attempted during the outage rotated nothing: the token still works once...
    let after = refresh(&app, &r1).await;
    assert_eq!(after.status, 200, "{}", after.text);
    // ...and exactly once.
    assert_eq!(refresh(&app, &r1).await.error().as_deref(), Some("invalid_grant"));
    assert_eq!(
        reply(data.handle(request(&event("GET", "/secure-data", &[("Authorization", &access)], None))).await).status,
        200
    );
}
