//! `make bench`: warm, in-process handler latency on the embedded store, release build.
//! Prints a Markdown table (p50/p99 in milliseconds) for the README.

use std::sync::Arc;
use std::time::{Duration, Instant};

use oasis_auth::keys::KeySet;
use oasis_auth::password::PasswordHasher;
use oasis_lambda::Cors;
use oasis_store::sqlite::SqliteStore;
use oasis_testkit::{FORM, event, form, reply, request};
use oasis_token::{App, LockoutPolicy, Settings};

struct Row {
    name: &'static str,
    n: usize,
    p50: Duration,
    p99: Duration,
}

async fn measure<F, Fut>(name: &'static str, n: usize, mut f: F) -> Row
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    // Warm up caches and lazy statics first; only warm invocations are measured.
    for _ in 0..n.min(10) {
        assert_eq!(f().await, 200, "{name} failed during warm-up");
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let status = f().await;
        samples.push(t.elapsed());
        assert_eq!(status, 200, "{name} failed");
    }
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Row { name, n, p50: pick(0.50), p99: pick(0.99) }
}

async fn token_rows() -> Vec<Row> {
    // A file in WAL mode, as in the local run, not an in-memory database.
    let store = Arc::new(SqliteStore::open(temp_db("token")).expect("sqlite"));
    let hasher = PasswordHasher::default_params().expect("argon2");
    let creds = oasis_admin::demo::seed(store.as_ref(), &hasher).await.expect("seed");
    let keys = KeySet::generate(oasis_auth::now()).expect("keys");
    let settings = Settings {
        issuer_url: "http://localhost:9000".into(),
        audience: "oasis-api".into(),
        access_ttl: 900,
        refresh_idle_ttl: 3600,
        refresh_absolute_ttl: 86_400,
        refresh_grace: oasis_token::config::DEFAULT_REFRESH_GRACE,
        // The benchmark logs in many times from one address; lock-out is not what it measures.
        account_lockout: LockoutPolicy { threshold: u32::MAX, ..LockoutPolicy::ACCOUNT },
        ip_lockout: LockoutPolicy { threshold: u32::MAX, ..LockoutPolicy::SOURCE_IP },
        cors: Cors::default(),
    };
    let app = oasis_lambda::shell::Lambda::new(App::new(store, &keys, hasher, settings).expect("app"));
    let app = &app;
    let post = |pairs: Vec<(&'static str, String)>| {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        request(&event("POST", "/token", &[FORM], Some(&form(&borrowed))))
    };
    let password = creds.demo_password.clone();
    let login = move || {
        post(vec![
            ("grant_type", "password".into()),
            ("client_id", "oasis-demo".into()),
            ("username", "demo".into()),
            ("password", password.clone()),
        ])
    };
    let mut rows = vec![];
    rows.push(
        measure("token: password grant (argon2id m=19456 t=2 p=1)", 30, || async {
            reply(app.handle(login()).await).status
        })
        .await,
    );

    let first = reply(app.handle(login()).await).json();
    let current = std::cell::RefCell::new(first["refresh_token"].as_str().unwrap_or_default().to_owned());
    rows.push(
        measure("token: refresh grant (rotation)", 2000, || {
            let req = post(vec![
                ("grant_type", "refresh_token".into()),
                ("client_id", "oasis-demo".into()),
                ("refresh_token", current.borrow().clone()),
            ]);
            let current = &current;
            async move {
                let r = reply(app.handle(req).await);
                *current.borrow_mut() = r.json()["refresh_token"].as_str().unwrap_or_default().to_owned();
                r.status
            }
        })
        .await,
    );
    let secret = creds.service_secret.clone();
    rows.push(
        measure("token: client_credentials grant", 2000, || {
            let req = post(vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", "oasis-demo-service".into()),
                ("client_secret", secret.clone()),
            ]);
            async move { reply(app.handle(req).await).status }
        })
        .await,
    );
    rows.push(
        measure("token: GET /.well-known/jwks.json", 5000, || async {
            reply(app.handle(request(&event("GET", "/.well-known/jwks.json", &[], None))).await).status
        })
        .await,
    );
    rows
}

async fn resource_rows() -> Vec<Row> {
    let store = Arc::new(SqliteStore::open(temp_db("resources")).expect("sqlite"));
    let w = oasis_testkit::World::on(store, oasis_admin::catalog::DEFAULT_COUNT).await;
    let data =
        oasis_lambda::shell::Lambda::new(oasis_secure_data::App::new(w.store.clone(), w.verifier(), Cors::default()));
    let key = oasis_search::CursorKey::new(&[7u8; 32]).expect("key");
    let search =
        oasis_lambda::shell::Lambda::new(oasis_search::App::new(w.store.clone(), w.verifier(), key, Cors::default()));
    let auth = format!("Bearer {}", w.token(&w.admin, "data:read search"));
    let (data, search, auth) = (&data, &search, auth.as_str());
    let get = |path: &str| request(&event("GET", path, &[("Authorization", auth)], None));
    let mut rows = vec![];
    // The steps of a warm secure-data call, each alone, to say where its time goes.
    let (keys, token) = (w.verifier(), w.token(&w.admin, "data:read search"));
    let full = oasis_auth::token::Verifier::new(&w.keys.public_jwks(), oasis_testkit::ISSUER, oasis_testkit::AUDIENCE)
        .expect("verifier");
    let (keys, full, token) = (&keys, &full, token.as_str());
    rows.push(
        measure(
            "secure-data step: verifying a token not seen before (parse, ES256 signature, claims)",
            5000,
            || async move { full.verify(token).map_or(401, |_| 200) },
        )
        .await,
    );
    rows.push(
        measure(
            "secure-data step: verifying a token this instance verified before (remembered)",
            5000,
            || async move { keys.verify(token).await.map_or(401, |_| 200) },
        )
        .await,
    );
    let (store, admin) = (w.store.as_ref(), &w.admin);
    let client = &oasis_admin::demo::demo_client_id();
    rows.push(
        measure("secure-data step: user and client reads (SQLite, joined)", 5000, || async move {
            let (user, client) = tokio::join!(store.user_by_id(&admin.id), store.client(client));
            if user.is_ok_and(|u| u.is_some()) && client.is_ok_and(|c| c.is_some()) { 200 } else { 500 }
        })
        .await,
    );
    rows.push(
        measure("secure-data: GET /secure-data", 5000, || {
            let req = get("/secure-data");
            async move { reply(data.handle(req).await).status }
        })
        .await,
    );
    for (name, query) in [
        ("search: one word, 10,000 titles (q=matrix)", "/search?q=matrix"),
        ("search: prefix, 10,000 titles (q=the%20matr)", "/search?q=the%20matr"),
        (
            "search: broad prefix + genre + years (q=th&genre=drama&year=1980-2000)",
            "/search?q=th&genre=drama&year=1980-2000",
        ),
    ] {
        rows.push(
            measure(name, 2000, || {
                let req = get(query);
                async move { reply(search.handle(req).await).status }
            })
            .await,
        );
    }
    rows
}

/// The sign-in pages as a browser loads them, and a code lookup (a store read); signing in
/// itself is argon2, measured by the password grant.
async fn signin_rows() -> Vec<Row> {
    let store = Arc::new(SqliteStore::open(temp_db("signin")).expect("sqlite"));
    let hasher = PasswordHasher::default_params().expect("argon2");
    oasis_admin::demo::seed(store.as_ref(), &hasher).await.expect("demo data");
    let now = oasis_auth::now();
    let pending = oasis_store::DeviceGrant {
        device_code_hash: "bench".into(),
        user_code: oasis_domain::UserCode::parse("BCDF-GHJK").expect("code"),
        client_id: oasis_domain::ClientId::parse(oasis_admin::demo::TV_CLIENT).expect("client"),
        scope: oasis_domain::ScopeSet::parse("search").expect("scope"),
        created_at: now,
        expires_at: now + 3600,
        interval: 5,
        last_polled_at: None,
        state: oasis_store::DeviceGrantState::Pending,
    };
    oasis_store::DeviceGrantStore::create_device_grant(store.as_ref(), &pending, now).await.expect("grant");
    let app = oasis_lambda::shell::Lambda::new(oasis_signin::App::new(
        store,
        hasher,
        oasis_signin::Settings::new(oasis_testkit::ISSUER),
    ));
    let app = &app;
    let authorize = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=search&state=s&code_challenge={}&code_challenge_method=S256",
        oasis_admin::demo::APP_CLIENT,
        "http%3A%2F%2Flocalhost%3A5173%2Fcallback",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let csrf = "A".repeat(43);
    let cookie = format!("__Host-oasis_csrf={csrf}");
    let lookup = form(&[("csrf", &csrf), ("action", "lookup"), ("user_code", "BCDF-GHJK")]);
    let headers = [FORM, ("Cookie", cookie.as_str()), ("Origin", oasis_testkit::ISSUER)];
    let mut rows = vec![];
    for (name, path) in [
        ("signin: GET /authorize (sign-in page)", authorize.as_str()),
        ("signin: GET /device (code entry page)", "/device"),
        ("signin: GET /device/qr (SVG)", "/device/qr?user_code=BCDF-GHJK"),
    ] {
        rows.push(
            measure(
                name,
                5000,
                || async move { reply(app.handle(request(&event("GET", path, &[], None))).await).status },
            )
            .await,
        );
    }
    rows.push(
        measure("signin: POST /device (code lookup, review page)", 5000, || {
            let req = request(&event("POST", "/device", &headers, Some(&lookup)));
            async move { reply(app.handle(req).await).status }
        })
        .await,
    );
    rows
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("oasis-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("{name}.db"))
}

/// What the shell adds before any handler runs: an event's JSON to a request, by lambda_http
/// alone and behind the shell's check (`oasis_lambda::event`), on one search event.
async fn event_rows() -> Vec<Row> {
    let text = event(
        "GET",
        "/search?q=matrix&limit=5",
        &[("Authorization", "Bearer x.y.z"), ("Host", "api.example.com")],
        None,
    )
    .to_string();
    let text = text.as_str();
    vec![
        measure("event to request: lambda_http's conversion alone", 20_000, || async move {
            lambda_http::request::from_str(text).map_or(500, |_| 200)
        })
        .await,
        measure("event to request: the shell's check, then lambda_http's conversion", 20_000, || async move {
            oasis_lambda::event::from_str(text).map_or(500, |_| 200)
        })
        .await,
    ]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut rows = rt.block_on(event_rows());
    rows.extend(rt.block_on(token_rows()));
    rows.extend(rt.block_on(resource_rows()));
    rows.extend(rt.block_on(signin_rows()));
    println!("| handler (in-process, warm, embedded SQLite) | n | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("oasis-bench-{}", std::process::id())));
    for r in rows {
        println!("| {} | {} | {:.3} | {:.3} |", r.name, r.n, r.p50.as_secs_f64() * 1e3, r.p99.as_secs_f64() * 1e3);
    }
}
