//! Each test names the attack or failure it stops. They drive the real handler with API
//! Gateway events on a real SQLite store.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use oasis_auth::keys::PublicJwks;
use oasis_auth::token::Verifier;
use oasis_store::{ThrottleStore, UserStore};

#[tokio::test]
async fn password_grant_issues_a_verifiable_access_token_and_a_rotating_refresh_token() {
    let f = fixture().await;
    let r = password_login(&f.app, "demo", &f.creds.demo_password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "data:read search");
    let refresh_token = body["refresh_token"].as_str().unwrap();
    assert!(refresh_token.len() >= 43, "at least 256 bits");

    let jwks = send(&f.app, &event("GET", "/.well-known/jwks.json", &[], None)).await;
    let verifier = Verifier::new(&PublicJwks::from_json(&jwks.text).unwrap(), ISSUER, AUDIENCE).unwrap();
    let claims = verifier.verify(body["access_token"].as_str().unwrap()).unwrap();
    let user = f.store.user_by_username(&oasis_domain::Username::parse("demo").unwrap()).await.unwrap().unwrap();
    assert_eq!(claims.subject(), user.id.as_str());
    assert_eq!(claims.client_id(), "oasis-demo");
    assert_eq!(claims.maturity(), 13);

    let r2 = refresh(&f.app, refresh_token, None).await;
    assert_eq!(r2.status, 200, "{}", r2.text);
    assert_ne!(r2.json()["refresh_token"], body["refresh_token"], "every use rotates the refresh token");
}

#[tokio::test]
async fn user_enumeration_gets_one_answer_for_unknown_user_wrong_password_and_disabled_account() {
    let f = fixture().await;
    oasis_admin::set_disabled(f.store.as_ref(), "demo-admin", true).await.unwrap();
    let wrong = password_login(&f.app, "demo", "not-the-password").await;
    let unknown = password_login(&f.app, "nobody-here", "not-the-password").await;
    let disabled = password_login(&f.app, "demo-admin", &f.creds.admin_password).await;
    for r in [&wrong, &unknown, &disabled] {
        assert_eq!(r.status, 400);
        assert_eq!(r.text, wrong.text, "identical bodies");
        assert_eq!(r.error().as_deref(), Some("invalid_grant"));
    }
}

#[tokio::test]
async fn user_enumeration_by_timing_is_stopped_by_hashing_a_dummy_for_unknown_users() {
    let f = fixture().await;
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mut wrong = vec![];
    let mut unknown = vec![];
    for i in 0..5 {
        // Different usernames so no lock-out kicks in.
        let t = Instant::now();
        password_login(&f.app, "demo", &format!("wrong-{i}")).await;
        wrong.push(t.elapsed());
        let t = Instant::now();
        password_login(&f.app, &format!("ghost{i}"), "wrong").await;
        unknown.push(t.elapsed());
    }
    let (w, u) = (median(wrong), median(unknown));
    // Without the dummy hash an unknown user answers ~100x faster; with it, about the same.
    assert!(u * 2 > w && w * 2 > u, "wrong password {w:?} vs unknown user {u:?}");
}

#[tokio::test]
async fn brute_force_locks_the_account_after_five_failures_and_the_right_password_is_refused_too() {
    let f = fixture().await;
    for _ in 0..5 {
        assert_eq!(password_login(&f.app, "demo", "guess").await.error().as_deref(), Some("invalid_grant"));
    }
    let locked = password_login(&f.app, "demo", &f.creds.demo_password).await;
    assert_eq!(locked.status, 400, "a locked account refuses even the right password");
    assert_eq!(locked.error().as_deref(), Some("invalid_grant"), "and says nothing about the lock");
    let a = f.store.attempts("acct:demo", oasis_auth::now()).await.unwrap().unwrap();
    assert_eq!(a.failures, 5, "attempts during a lock are not counted, so the lock cannot be stretched");
    // Other accounts are unaffected.
    assert_eq!(password_login(&f.app, "demo-admin", &f.creds.admin_password).await.status, 200);
}

#[tokio::test]
async fn brute_force_lockout_expires_so_it_cannot_become_a_permanent_denial_of_service() {
    let mut s = settings();
    s.account_lockout =
        oasis_token::LockoutPolicy { threshold: 2, base_seconds: 3, cap_seconds: 3, window_seconds: 60 };
    let f = fixture_with(s).await;
    password_login(&f.app, "demo", "guess").await;
    password_login(&f.app, "demo", "guess").await;
    // Times are whole seconds: a 3 s lock holds for at least 2 s, and is over 4.1 s later.
    assert_eq!(password_login(&f.app, "demo", &f.creds.demo_password).await.status, 400);
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let ok = password_login(&f.app, "demo", &f.creds.demo_password).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(f.store.attempts("acct:demo", oasis_auth::now()).await.unwrap().is_none(), "success clears the counter");
}

#[tokio::test]
async fn password_spraying_from_one_address_locks_that_address() {
    let f = fixture().await;
    // Twenty different accounts, one guess each: no account lock, but the source is locked.
    for i in 0..20 {
        password_login(&f.app, &format!("victim{i}"), "Winter2026!").await;
    }
    let r = password_login(&f.app, "demo", &f.creds.demo_password).await;
    assert_eq!(r.error().as_deref(), Some("invalid_grant"), "the sprayed-from address is locked");
    let a = f.store.attempts("ip:203.0.113.10", oasis_auth::now()).await.unwrap().unwrap();
    assert!(a.locked_until > oasis_auth::now());
}

/// A sprayer who also holds one real account must not reset the address's count by logging
/// into it between guesses: the success is taken back from the count, not the count cleared.
#[tokio::test]
async fn a_sprayers_own_successful_login_does_not_reset_the_addresss_count() {
    let f = fixture().await;
    for i in 0..19 {
        password_login(&f.app, &format!("victim{i}"), "Winter2026!").await;
    }
    // Counted first as the twentieth attempt, this success took the address's lock: it is
    // taken back from the count and its lock released, not the count cleared.
    assert_eq!(password_login(&f.app, "demo", &f.creds.demo_password).await.status, 200);
    let a = f.store.attempts("ip:203.0.113.10", oasis_auth::now()).await.unwrap().unwrap();
    assert_eq!((a.failures, a.locked_until), (19, 0), "the success was taken back and its lock released");
    assert_eq!(password_login(&f.app, "demo", &f.creds.demo_password).await.status, 200, "the address is not locked");
    password_login(&f.app, "victim19", "Winter2026!").await;
    let a = f.store.attempts("ip:203.0.113.10", oasis_auth::now()).await.unwrap().unwrap();
    assert_eq!(a.failures, 20);
    let r = password_login(&f.app, "demo", &f.creds.demo_password).await;
    assert_eq!(r.error().as_deref(), Some("invalid_grant"), "twenty failures: the address is locked");
}

/// A request whose source address is missing is not let past the per-address lock-out.
#[tokio::test]
async fn requests_without_a_source_address_share_one_counted_address() {
    let f = fixture().await;
    for i in 0..20 {
        let mut e = event(
            "POST",
            "/token",
            &[FORM],
            Some(&form(&[
                ("grant_type", "password"),
                ("client_id", "oasis-demo"),
                ("username", &format!("victim{i}")),
                ("password", "x"),
            ])),
        );
        e["requestContext"]["identity"].as_object_mut().unwrap().remove("sourceIp");
        assert_eq!(send(&f.app, &e).await.status, 400);
    }
    let a = f.store.attempts("ip:unknown", oasis_auth::now()).await.unwrap().unwrap();
    assert!(a.failures == 20 && a.locked_until > oasis_auth::now(), "{a:?}");
}

#[tokio::test]
async fn refresh_token_replay_revokes_the_whole_family() {
    let f = fixture().await;
    let login = password_login(&f.app, "demo", &f.creds.demo_password).await.json();
    let r1 = login["refresh_token"].as_str().unwrap().to_owned();
    let r2 = refresh(&f.app, &r1, None).await.json()["refresh_token"].as_str().unwrap().to_owned();
    // The attacker replays the stolen, already-rotated token.
    let replay = refresh(&f.app, &r1, None).await;
    assert_eq!(replay.error().as_deref(), Some("invalid_grant"));
    // The legitimate holder's newer token died with the family.
    let after = refresh(&f.app, &r2, None).await;
    assert_eq!(after.error().as_deref(), Some("invalid_grant"), "{}", after.text);
}

#[test]
fn concurrent_refresh_race_with_one_token_has_exactly_one_winner() {
    // Two Lambda instances (two apps, two connections) on one database file.
    let path = std::env::temp_dir().join(format!("oasis-token-race-{}.db", oasis_auth::secret::random_token(6)));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let setup = std::sync::Arc::new(oasis_store::sqlite::SqliteStore::open(&path).unwrap());
    let hasher = oasis_auth::password::PasswordHasher::default_params().unwrap();
    let creds = rt.block_on(oasis_admin::demo::seed(setup.as_ref(), &hasher)).unwrap();
    let keys = oasis_auth::keys::KeySet::generate(oasis_auth::now()).unwrap();
    let app = build_app(setup.clone(), &keys, settings(), hasher);
    let login = rt.block_on(password_login(&app, "demo", &creds.demo_password)).json();
    let token = login["refresh_token"].as_str().unwrap().to_owned();

    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (path, keys, token, barrier) = (path.clone(), keys.clone(), token.clone(), barrier.clone());
            std::thread::spawn(move || {
                let store = std::sync::Arc::new(oasis_store::sqlite::SqliteStore::open(&path).unwrap());
                let app = build_app(
                    store,
                    &keys,
                    settings(),
                    oasis_auth::password::PasswordHasher::default_params().unwrap(),
                );
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                barrier.wait();
                rt.block_on(refresh(&app, &token, None)).status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 1, "{statuses:?}");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn scope_widening_on_refresh_is_refused_and_narrowing_is_allowed() {
    let f = fixture().await;
    let login = scoped_login(&f.app, "demo", &f.creds.demo_password, "search").await.json();
    assert_eq!(login["scope"], "search");
    let rt = login["refresh_token"].as_str().unwrap();
    let widened = refresh(&f.app, rt, Some("search data:read")).await;
    assert_eq!(widened.error().as_deref(), Some("invalid_scope"));
    let admin = refresh(&f.app, rt, Some("admin")).await;
    assert_eq!(admin.error().as_deref(), Some("invalid_scope"));
    let same = refresh(&f.app, rt, Some("search")).await;
    assert_eq!(same.status, 200, "a refused widening changes nothing: {}", same.text);
}

#[tokio::test]
async fn scope_escalation_at_login_beyond_the_users_grants_is_narrowed_never_granted() {
    let f = fixture().await;
    // The demo client may ask for admin, but the demo user does not hold it: what is granted
    // is what the user holds of what was asked, and the response says so (RFC 6749 §3.3).
    let r = scoped_login(&f.app, "demo", &f.creds.demo_password, "admin search").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["scope"], "search");
    let verifier = Verifier::new(&f.keys.public_jwks(), oasis_testkit::ISSUER, oasis_testkit::AUDIENCE).unwrap();
    let claims = verifier.verify(r.json()["access_token"].as_str().unwrap()).unwrap();
    assert!(claims.has_scope("search") && !claims.has_scope("admin"), "the token carries no admin");
    // Nothing the user holds among what was asked: refused, as a failed login.
    let r = scoped_login(&f.app, "demo", &f.creds.demo_password, "admin").await;
    assert_eq!(r.error().as_deref(), Some("invalid_grant"));
}

/// A quiet oracle: "invalid_scope" for a right password and "invalid_grant" for a wrong one
/// would let a guesser confirm a password without a successful login ever being recorded.
#[tokio::test]
async fn a_right_password_with_a_scope_the_user_lacks_answers_exactly_as_a_wrong_one() {
    let f = fixture().await;
    let right = scoped_login(&f.app, "demo", &f.creds.demo_password, "admin").await;
    let wrong = scoped_login(&f.app, "demo", "not the password at all", "admin").await;
    assert_eq!((right.status, right.text.clone()), (wrong.status, wrong.text.clone()));
    let counted = f.store.attempts("acct:demo", oasis_auth::now()).await.unwrap().map(|a| a.failures);
    assert_eq!(counted, Some(2), "the right password that granted nothing is not a success that clears the count");
    // A scope beyond the client's is refused before any password is looked at.
    kiosk(&f).await;
    let r = post_form(
        &f.app,
        "/token",
        &[
            ("grant_type", "password"),
            ("client_id", "kiosk"),
            ("username", "demo"),
            ("password", "x"),
            ("scope", "data:read"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.error().as_deref(), Some("invalid_scope"));
    let still = f.store.attempts("acct:demo", oasis_auth::now()).await.unwrap().map(|a| a.failures);
    assert_eq!(still, Some(2), "a client-level refusal is no password attempt");
}

/// A first-party client with the password grant but not refresh_token, and only `search`.
async fn kiosk(f: &Fixture) {
    oasis_admin::create_client(
        f.store.as_ref(),
        oasis_admin::NewClient {
            client_id: "kiosk".into(),
            name: "Kiosk".into(),
            confidential: false,
            first_party: true,
            grant_types: vec!["password".into()],
            scopes: vec!["search".into()],
            refresh_in_cookie: false,
            allowed_origins: vec![],
            redirect_uris: vec![],
            legacy_password_grant: true,
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_client_without_the_refresh_token_grant_gets_no_refresh_token_from_a_login() {
    let f = fixture().await;
    kiosk(&f).await;
    let r = post_form(
        &f.app,
        "/token",
        &[
            ("grant_type", "password"),
            ("client_id", "kiosk"),
            ("username", "demo"),
            ("password", &f.creds.demo_password),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json().get("refresh_token").is_none(), "{}", r.text);
    assert!(r.header("set-cookie").is_none());
}

#[tokio::test]
async fn client_impersonation_with_another_clients_refresh_token_is_refused() {
    let f = fixture().await;
    let login = password_login(&f.app, "demo", &f.creds.demo_password).await.json();
    let rt = login["refresh_token"].as_str().unwrap();
    // oasis-web is another (public) client; it may not spend oasis-demo's token.
    let r = post_form(
        &f.app,
        "/token",
        &[("grant_type", "refresh_token"), ("client_id", "oasis-web"), ("refresh_token", rt)],
        &[("Origin", oasis_admin::demo::WEB_ORIGIN), ("X-Requested-With", "fetch")],
    )
    .await;
    assert_eq!(r.error().as_deref(), Some("invalid_request"), "the cookie client may not even send it in the body");
    let r = post_form(
        &f.app,
        "/token",
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        &[("Authorization", &basic("oasis-demo-service", &f.creds.service_secret))],
    )
    .await;
    assert_eq!(r.error().as_deref(), Some("unauthorized_client"));
    assert_eq!(refresh(&f.app, rt, None).await.status, 200, "the rightful client still can");
}

#[tokio::test]
async fn client_impersonation_with_a_wrong_secret_gets_401_and_a_basic_challenge() {
    let f = fixture().await;
    let pairs = [("grant_type", "client_credentials")];
    let r =
        post_form(&f.app, "/token", &pairs, &[("Authorization", &basic("oasis-demo-service", "guessed-secret"))]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error().as_deref(), Some("invalid_client"));
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));

    let r = post_form(
        &f.app,
        "/token",
        &[("grant_type", "client_credentials"), ("client_id", "oasis-demo-service"), ("client_secret", "guessed")],
        &[],
    )
    .await;
    assert_eq!((r.status, r.error().as_deref()), (401, Some("invalid_client")));

    // No secret at all for a confidential client.
    let r =
        post_form(&f.app, "/token", &[("grant_type", "client_credentials"), ("client_id", "oasis-demo-service")], &[])
            .await;
    assert_eq!((r.status, r.error().as_deref()), (401, Some("invalid_client")));

    // A public client presenting a made-up secret is not authenticated by it.
    let r = post_form(
        &f.app,
        "/token",
        &[
            ("grant_type", "password"),
            ("client_id", "oasis-demo"),
            ("client_secret", "x"),
            ("username", "demo"),
            ("password", &f.creds.demo_password),
        ],
        &[],
    )
    .await;
    assert_eq!((r.status, r.error().as_deref()), (401, Some("invalid_client")));

    // Two authentication methods at once are refused.
    let r = post_form(
        &f.app,
        "/token",
        &[("grant_type", "client_credentials"), ("client_secret", &f.creds.service_secret)],
        &[("Authorization", &basic("oasis-demo-service", &f.creds.service_secret))],
    )
    .await;
    assert_eq!(r.error().as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn client_credentials_grant_issues_no_refresh_token_and_only_for_confidential_clients() {
    let f = fixture().await;
    let ok = post_form(
        &f.app,
        "/token",
        &[("grant_type", "client_credentials")],
        &[("Authorization", &basic("oasis-demo-service", &f.creds.service_secret))],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.json().get("refresh_token").is_none());
    assert_eq!(ok.json()["scope"], "search");
    let post = post_form(
        &f.app,
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "oasis-demo-service"),
            ("client_secret", &f.creds.service_secret),
        ],
        &[],
    )
    .await;
    assert_eq!(post.status, 200, "client_secret_post works too");
    let public =
        post_form(&f.app, "/token", &[("grant_type", "client_credentials"), ("client_id", "oasis-demo")], &[]).await;
    assert_eq!(public.error().as_deref(), Some("unauthorized_client"));
    let wide = post_form(
        &f.app,
        "/token",
        &[("grant_type", "client_credentials"), ("scope", "admin")],
        &[("Authorization", &basic("oasis-demo-service", &f.creds.service_secret))],
    )
    .await;
    assert_eq!(wide.error().as_deref(), Some("invalid_scope"));
}

#[tokio::test]
async fn third_party_clients_cannot_use_the_password_grant() {
    let f = fixture().await;
    let r = post_form(
        &f.app,
        "/token",
        &[("grant_type", "password"), ("username", "demo"), ("password", &f.creds.demo_password)],
        &[("Authorization", &basic("oasis-demo-service", &f.creds.service_secret))],
    )
    .await;
    assert_eq!(r.error().as_deref(), Some("unauthorized_client"));
}

#[tokio::test]
async fn wrong_content_type_is_refused_and_changes_nothing() {
    let f = fixture().await;
    let json = serde_json::json!({"grant_type": "password", "client_id": "oasis-demo", "username": "demo", "password": "guess"}).to_string();
    let r = send(&f.app, &event("POST", "/token", &[("Content-Type", "application/json")], Some(&json))).await;
    // RFC 6749 §5.2: a malformed token request is 400 invalid_request, whatever is wrong with it.
    assert_eq!(r.status, 400);
    assert_eq!(r.error().as_deref(), Some("invalid_request"));
    assert_eq!(r.json()["error_description"], "content type must be application/x-www-form-urlencoded");
    let revoke = send(&f.app, &event("POST", "/revoke", &[("Content-Type", "application/json")], Some("{}"))).await;
    assert_eq!((revoke.status, revoke.error().as_deref()), (400, Some("invalid_request")));
    assert!(f.store.attempts("acct:demo", oasis_auth::now()).await.unwrap().is_none(), "no failure was counted");
}

#[tokio::test]
async fn oversized_body_is_refused_before_parsing() {
    let f = fixture().await;
    let big = format!("grant_type=password&client_id=oasis-demo&username=demo&password={}", "x".repeat(9000));
    let r = send(&f.app, &event("POST", "/token", &[FORM], Some(&big))).await;
    assert_eq!(r.status, 413);
    assert!(f.store.attempts("acct:demo", oasis_auth::now()).await.unwrap().is_none());
}

#[tokio::test]
async fn missing_no_store_would_let_caches_keep_tokens_so_every_token_response_forbids_it() {
    let f = fixture().await;
    let ok = password_login(&f.app, "demo", &f.creds.demo_password).await;
    let bad = password_login(&f.app, "demo", "wrong").await;
    let unsupported = post_form(&f.app, "/token", &[("grant_type", "implicit")], &[]).await;
    let revoke = post_form(&f.app, "/revoke", &[("client_id", "oasis-demo"), ("token", "x")], &[]).await;
    for r in [&ok, &bad, &unsupported, &revoke] {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.text);
    }
    for r in [&ok, &bad] {
        assert_eq!(r.header("pragma"), Some("no-cache"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert!(r.header("x-request-id").is_some_and(|id| id.starts_with("req-")));
    }
}

#[tokio::test]
async fn malformed_requests_get_stable_errors_that_never_echo_the_input() {
    let f = fixture().await;
    let hostile = "<script>alert(1)</script>' OR 1=1--";
    let cases: Vec<(Vec<(&str, &str)>, u16, &str)> = vec![
        (vec![("client_id", "oasis-demo")], 400, "invalid_request"),
        (vec![("grant_type", hostile), ("client_id", "oasis-demo")], 400, "unsupported_grant_type"),
        (vec![("grant_type", "password"), ("client_id", hostile)], 401, "invalid_client"),
        (
            vec![("grant_type", "password"), ("client_id", "oasis-demo"), ("username", hostile), ("password", "x")],
            400,
            "invalid_request",
        ),
        (vec![("grant_type", "password"), ("client_id", "oasis-demo"), ("username", "demo")], 400, "invalid_request"),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", "oasis-demo"),
                ("username", "demo"),
                ("password", "x"),
                ("scope", hostile),
            ],
            400,
            "invalid_scope",
        ),
        (
            vec![("grant_type", "refresh_token"), ("client_id", "oasis-demo"), ("refresh_token", hostile)],
            400,
            "invalid_grant",
        ),
        (vec![("grant_type", "refresh_token"), ("client_id", "oasis-demo")], 400, "invalid_request"),
    ];
    for (pairs, status, error) in cases {
        let r = post_form(&f.app, "/token", &pairs, &[]).await;
        assert_eq!((r.status, r.error().as_deref()), (status, Some(error)), "{pairs:?}: {}", r.text);
        assert!(!r.text.contains("<script") && !r.text.contains("OR 1=1"), "{}", r.text);
    }
    let repeated =
        send(&f.app, &event("POST", "/token", &[FORM], Some("grant_type=password&grant_type=client_credentials")))
            .await;
    assert_eq!(repeated.error().as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn rehash_on_login_upgrades_hashes_made_with_older_parameters() {
    let f = fixture().await;
    let stronger = oasis_auth::password::PasswordHasher::new(19_456, 3, 1).unwrap();
    let app = build_app(f.store.clone(), &f.keys, settings(), stronger);
    let before =
        f.store.user_by_username(&oasis_domain::Username::parse("demo").unwrap()).await.unwrap().unwrap().password_hash;
    assert!(before.contains("t=2"));
    assert_eq!(password_login(&app, "demo", &f.creds.demo_password).await.status, 200);
    let after =
        f.store.user_by_username(&oasis_domain::Username::parse("demo").unwrap()).await.unwrap().unwrap().password_hash;
    assert!(after.contains("m=19456,t=3,p=1"), "{after}");
    assert_eq!(password_login(&app, "demo", &f.creds.demo_password).await.status, 200);
}

#[tokio::test]
async fn a_disabled_or_cut_off_user_cannot_refresh() {
    let f = fixture().await;
    let rt = password_login(&f.app, "demo", &f.creds.demo_password).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    oasis_admin::revoke_user_tokens(f.store.as_ref(), "demo").await.unwrap();
    assert_eq!(refresh(&f.app, &rt, None).await.error().as_deref(), Some("invalid_grant"));

    let f = fixture().await;
    let rt = password_login(&f.app, "demo", &f.creds.demo_password).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    oasis_admin::set_disabled(f.store.as_ref(), "demo", true).await.unwrap();
    assert_eq!(refresh(&f.app, &rt, None).await.error().as_deref(), Some("invalid_grant"));
}

#[tokio::test]
async fn an_idle_refresh_token_expires() {
    let mut s = settings();
    s.refresh_idle_ttl = 1;
    let f = fixture_with(s).await;
    let rt = password_login(&f.app, "demo", &f.creds.demo_password).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(refresh(&f.app, &rt, None).await.error().as_deref(), Some("invalid_grant"));
}

#[tokio::test]
async fn a_family_past_its_absolute_lifetime_expires_however_often_it_is_used() {
    let mut s = settings();
    s.refresh_absolute_ttl = 3;
    s.refresh_idle_ttl = 3;
    let f = fixture_with(s).await;
    let mut rt = password_login(&f.app, "demo", &f.creds.demo_password).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = refresh(&f.app, &rt, None).await;
    assert_eq!(r.status, 200);
    rt = r.json()["refresh_token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(refresh(&f.app, &rt, None).await.error().as_deref(), Some("invalid_grant"));
}

#[tokio::test]
async fn revocation_kills_the_family_and_unknown_tokens_still_get_200() {
    let f = fixture().await;
    let rt = password_login(&f.app, "demo", &f.creds.demo_password).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = post_form(
        &f.app,
        "/revoke",
        &[("token", &rt)],
        &[("Authorization", &basic("oasis-demo-service", &f.creds.service_secret))],
    )
    .await;
    assert_eq!(other.status, 200, "another client's token: 200 but nothing revoked");
    assert_eq!(refresh(&f.app, &rt, None).await.status, 200);

    let rt = password_login(&f.app, "demo", &f.creds.demo_password).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post_form(
        &f.app,
        "/revoke",
        &[("client_id", "oasis-demo"), ("token", &rt), ("token_type_hint", "refresh_token")],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(refresh(&f.app, &rt, None).await.error().as_deref(), Some("invalid_grant"));
    let unknown = post_form(&f.app, "/revoke", &[("client_id", "oasis-demo"), ("token", "never-issued")], &[]).await;
    assert_eq!(unknown.status, 200);
    let missing = post_form(&f.app, "/revoke", &[("client_id", "oasis-demo")], &[]).await;
    assert_eq!(missing.error().as_deref(), Some("invalid_request"));
}

const WEB: &str = oasis_admin::demo::WEB_ORIGIN;

async fn web_login(f: &Fixture) -> Reply {
    post_form(
        &f.app,
        "/token",
        &[
            ("grant_type", "password"),
            ("client_id", "oasis-web"),
            ("username", "demo"),
            ("password", &f.creds.demo_password),
        ],
        &[("Origin", WEB), ("X-Requested-With", "fetch")],
    )
    .await
}

fn cookie_value(r: &Reply) -> String {
    let c = r.header("set-cookie").unwrap();
    c.split(';').next().unwrap().split_once('=').unwrap().1.to_owned()
}

#[tokio::test]
async fn browser_clients_get_the_refresh_token_only_in_a_host_only_httponly_strict_cookie() {
    let f = fixture().await;
    let r = web_login(&f).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json().get("refresh_token").is_none(), "script never sees the refresh token");
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-oasis_rt="));
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "__Host- cookies carry no Domain");
    assert_eq!(r.header("access-control-allow-origin"), Some(WEB));
}

#[tokio::test]
async fn csrf_with_the_refresh_cookie_from_another_site_or_a_plain_form_is_refused() {
    let f = fixture().await;
    let rt = cookie_value(&web_login(&f).await);
    let cookie = format!("__Host-oasis_rt={rt}");
    let pairs = [("grant_type", "refresh_token"), ("client_id", "oasis-web")];
    let cases = [
        ("evil origin", vec![("Origin", "https://evil.example"), ("X-Requested-With", "fetch")]),
        ("no origin", vec![("X-Requested-With", "fetch")]),
        ("plain form post, no custom header", vec![("Origin", WEB)]),
    ];
    for (name, mut headers) in cases {
        headers.push(("Cookie", &cookie));
        let r = post_form(&f.app, "/token", &pairs, &headers).await;
        assert_eq!(r.status, 403, "{name}: {}", r.text);
        assert!(r.header("set-cookie").is_none());
    }
    let ok =
        post_form(&f.app, "/token", &pairs, &[("Origin", WEB), ("X-Requested-With", "fetch"), ("Cookie", &cookie)])
            .await;
    assert_eq!(ok.status, 200, "the refused attempts did not spend the token: {}", ok.text);
    assert_ne!(cookie_value(&ok), rt, "the cookie rotates too");
}

#[tokio::test]
async fn cors_preflight_answers_only_allow_listed_origins() {
    let f = fixture().await;
    let ok =
        send(&f.app, &event("OPTIONS", "/token", &[("Origin", WEB), ("Access-Control-Request-Method", "POST")], None))
            .await;
    assert_eq!(ok.status, 204);
    assert_eq!(ok.header("access-control-allow-origin"), Some(WEB));
    let evil = send(&f.app, &event("OPTIONS", "/token", &[("Origin", "https://evil.example")], None)).await;
    assert_eq!(evil.status, 403);
    assert!(evil.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_jwks_publishes_public_keys_only_and_the_metadata_describes_the_endpoints() {
    let f = fixture().await;
    let jwks = send(&f.app, &event("GET", "/.well-known/jwks.json", &[], None)).await;
    assert_eq!(jwks.status, 200);
    let keys = jwks.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    for k in &keys {
        assert_eq!((k["kty"].as_str(), k["alg"].as_str()), (Some("EC"), Some("ES256")));
        assert!(k.get("d").is_none(), "no private key material");
    }
    let meta = send(&f.app, &event("GET", "/.well-known/oauth-authorization-server", &[], None)).await.json();
    assert_eq!(meta["issuer"], ISSUER);
    assert_eq!(meta["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(meta["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
    assert_eq!(meta["revocation_endpoint"], format!("{ISSUER}/revoke"));
    // Every client authentication method advertised is one the token endpoint accepts, and
    // nothing announces JWT client authentication, which it does not offer (RFC 8414 §2).
    let methods: Vec<&str> =
        meta["token_endpoint_auth_methods_supported"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert_eq!(methods, ["client_secret_basic", "client_secret_post", "none"]);
    assert!(meta.get("token_endpoint_auth_signing_alg_values_supported").is_none(), "{meta}");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_404_and_405() {
    let f = fixture().await;
    assert_eq!(send(&f.app, &event("GET", "/admin", &[], None)).await.status, 404);
    let r = send(&f.app, &event("GET", "/token", &[], None)).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
}
