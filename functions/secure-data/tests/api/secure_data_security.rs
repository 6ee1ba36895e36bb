//! secure-data: each test names the attack it stops. Real SQLite store, real keys, tokens
//! from the real issuer, API Gateway events parsed by lambda_http.

use oasis_lambda::Cors;
use oasis_secure_data::App;
use oasis_testkit::{AUDIENCE, ISSUER, World};
use oasis_testkit::{Reply, event, reply, request};

async fn world() -> (World, oasis_lambda::shell::Lambda<App>) {
    let w = World::new(10).await;
    let app = oasis_lambda::shell::Lambda::new(App::new(w.store.clone(), w.verifier(), Cors::default()));
    (w, app)
}

async fn get(app: &oasis_lambda::shell::Lambda<App>, path: &str, token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    reply(app.handle(request(&event("GET", path, &headers, None))).await)
}

#[tokio::test]
async fn the_owner_reads_their_own_profile_entitlements_and_watchlist() {
    let (w, app) = world().await;
    let r = get(&app, "/secure-data", Some(&w.token(&w.demo, "data:read"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = r.json();
    assert_eq!(b["user_id"], w.demo.id.as_str());
    assert_eq!(b["username"], "demo");
    assert_eq!(b["display_name"], "Demo Viewer");
    assert_eq!(b["entitlements"], serde_json::json!(["basic", "hd"]));
    assert_eq!(b["watchlist"], serde_json::json!(["tt000002", "tt000003"]));
    assert_eq!(r.header("cache-control"), Some("no-store"), "private data is never cached");
    let own_path = get(&app, &format!("/secure-data/{}", w.demo.id), Some(&w.token(&w.demo, "data:read"))).await;
    assert_eq!(own_path.json(), b, "the owner may also address their own id");
}

#[tokio::test]
async fn excessive_data_exposure_is_prevented_by_an_explicit_field_allow_list() {
    let (w, app) = world().await;
    let r = get(&app, "/secure-data", Some(&w.token(&w.demo, "data:read"))).await;
    let keys: Vec<String> = r.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["display_name", "entitlements", "maturity", "member_since", "user_id", "username", "watchlist"]);
    for leak in ["argon2", "password", "tokens_valid_after", "token_generation", "disabled", "scopes"] {
        assert!(!r.text.contains(leak), "{leak} in {}", r.text);
    }
}

#[tokio::test]
async fn bola_another_users_id_gets_404_and_never_the_data() {
    let (w, app) = world().await;
    let r = get(&app, &format!("/secure-data/{}", w.admin.id), Some(&w.token(&w.demo, "data:read search"))).await;
    assert_eq!(r.status, 404);
    assert!(!r.text.contains("demo-admin") && !r.text.contains(w.admin.id.as_str()), "{}", r.text);
    // Not existing looks exactly the same as not allowed: no existence oracle.
    let ghost = get(&app, "/secure-data/usr_doesnotexist", Some(&w.token(&w.demo, "data:read"))).await;
    assert_eq!((ghost.status, ghost.text), (r.status, r.text));
}

#[tokio::test]
async fn the_admin_scope_reads_any_user_and_unknown_users_are_404() {
    let (w, app) = world().await;
    let admin = w.token(&w.admin, "data:read admin");
    let r = get(&app, &format!("/secure-data/{}", w.demo.id), Some(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["username"], "demo");
    assert_eq!(get(&app, "/secure-data/usr_doesnotexist", Some(&admin)).await.status, 404);
}

#[tokio::test]
async fn malformed_or_traversing_ids_are_not_found() {
    let (w, app) = world().await;
    let t = w.token(&w.admin, "data:read admin");
    for path in [
        "/secure-data/../token",
        "/secure-data/usr_x/extra",
        "/secure-data/' OR 1=1--",
        "/secure-data/",
        "/secure-data-x",
    ] {
        assert_eq!(get(&app, path, Some(&t)).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn missing_token_gets_401_with_a_bare_bearer_challenge() {
    let (_, app) = world().await;
    let r = get(&app, "/secure-data", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some(r#"Bearer realm="oasis""#));
}

#[tokio::test]
async fn forged_expired_or_foreign_tokens_get_401_invalid_token() {
    let (w, app) = world().await;
    let other = World::new(0).await;
    let cases = [
        (
            "token from another audience",
            w.token_with(ISSUER, "another-api", w.demo.id.as_str(), "oasis-demo", "data:read", Some(13)),
        ),
        (
            "token from another issuer",
            w.token_with("https://evil.example", AUDIENCE, w.demo.id.as_str(), "oasis-demo", "data:read", Some(13)),
        ),
        ("token signed by another key", other.token(&w.demo, "data:read")),
        ("not a jwt", "not.a.jwt".to_owned()),
    ];
    for (name, token) in cases {
        let r = get(&app, "/secure-data", Some(&token)).await;
        assert_eq!(r.status, 401, "{name}");
        assert_eq!(r.header("www-authenticate"), Some(r#"Bearer realm="oasis", error="invalid_token""#), "{name}");
        assert_eq!(r.error().as_deref(), Some("invalid_token"));
    }
}

#[tokio::test]
async fn a_token_without_the_data_scope_gets_403_insufficient_scope() {
    let (w, app) = world().await;
    let r = get(&app, "/secure-data", Some(&w.token(&w.demo, "search"))).await;
    assert_eq!(r.status, 403);
    assert!(r.header("www-authenticate").unwrap().contains(r#"error="insufficient_scope", scope="data:read""#));
}

#[tokio::test]
async fn tokens_in_the_query_string_are_refused_not_used() {
    let (w, app) = world().await;
    let path = format!("/secure-data?access_token={}", w.token(&w.demo, "data:read"));
    let r = get(&app, &path, None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error().as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn a_cut_off_user_is_refused_at_once_before_the_token_expires() {
    let (w, app) = world().await;
    let token = w.token(&w.demo, "data:read");
    assert_eq!(get(&app, "/secure-data", Some(&token)).await.status, 200);
    oasis_admin::revoke_user_tokens(w.store.as_ref(), "demo").await.unwrap();
    let r = get(&app, "/secure-data", Some(&token)).await;
    assert_eq!((r.status, r.error().as_deref()), (401, Some("invalid_token")));

    let (w, app) = world().await;
    let token = w.token(&w.demo, "data:read");
    oasis_admin::set_disabled(w.store.as_ref(), "demo", false).await.unwrap();
    assert_eq!(get(&app, "/secure-data", Some(&token)).await.status, 200);
    oasis_admin::set_disabled(w.store.as_ref(), "demo", true).await.unwrap();
    assert_eq!(get(&app, "/secure-data", Some(&token)).await.status, 401);
}

#[tokio::test]
async fn a_cut_off_holds_even_when_the_operators_clock_is_behind_the_token_functions() {
    // The cut-off is a generation counter raised in the store, not a time: a token minted 20 s
    // "after" the operator's clock (a slow admin machine; the verifiers accept 30 s of skew) is
    // still cut off, and a token minted after the cut-off works at once.
    let (w, app) = world().await;
    let ahead = w.token_issued_at(&w.demo, "data:read", oasis_auth::now() + 20);
    assert_eq!(get(&app, "/secure-data", Some(&ahead)).await.status, 200);
    oasis_admin::revoke_user_tokens(w.store.as_ref(), "demo").await.unwrap();
    let r = get(&app, "/secure-data", Some(&ahead)).await;
    assert_eq!((r.status, r.error().as_deref()), (401, Some("invalid_token")), "{}", r.text);
    let now = w.store.user_by_id(&w.demo.id).await.unwrap().unwrap();
    assert_eq!(now.token_generation, w.demo.token_generation + 1);
    assert_eq!(get(&app, "/secure-data", Some(&w.token(&now, "data:read"))).await.status, 200);
}

#[tokio::test]
async fn a_users_token_stolen_from_a_client_that_was_then_disabled_is_refused_at_once() {
    let (w, app) = world().await;
    let token = w.token(&w.demo, "data:read");
    assert_eq!(get(&app, "/secure-data", Some(&token)).await.status, 200);
    oasis_admin::set_client_disabled(w.store.as_ref(), "oasis-demo", true).await.unwrap();
    let r = get(&app, "/secure-data", Some(&token)).await;
    assert_eq!((r.status, r.error().as_deref()), (401, Some("invalid_token")), "{}", r.text);
    oasis_admin::set_client_disabled(w.store.as_ref(), "oasis-demo", false).await.unwrap();
    assert_eq!(get(&app, "/secure-data", Some(&token)).await.status, 200, "enabled again, its tokens work again");
    // A token naming a client that does not exist (a deleted one) speaks for nobody.
    let orphan = w.token_with(ISSUER, AUDIENCE, w.demo.id.as_str(), "deleted-app", "data:read", Some(13));
    assert_eq!(get(&app, "/secure-data", Some(&orphan)).await.status, 401);
}

#[tokio::test]
async fn a_client_acting_for_itself_has_no_personal_data() {
    let (w, app) = world().await;
    let t = w.token_with(ISSUER, AUDIENCE, "oasis-demo-service", "oasis-demo-service", "data:read", None);
    assert_eq!(get(&app, "/secure-data", Some(&t)).await.status, 404);
}

#[tokio::test]
async fn only_get_is_allowed() {
    let (w, app) = world().await;
    let auth = format!("Bearer {}", w.token(&w.demo, "data:read"));
    let r = reply(app.handle(request(&event("DELETE", "/secure-data", &[("Authorization", &auth)], None))).await);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, OPTIONS"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn a_huge_stored_watchlist_is_answered_with_at_most_the_contracts_max_items() {
    let (w, app) = world().await;
    let profile = oasis_store::Profile {
        user_id: w.demo.id.clone(),
        display_name: "Demo Viewer".into(),
        entitlements: vec!["basic".into(); 5],
        watchlist: (0..oasis_secure_data::MAX_LISTED + 500).map(|i| format!("tt{i:06}")).collect(),
    };
    w.store.put_profile(&profile).await.unwrap();
    let r = get(&app, "/secure-data", Some(&w.token(&w.demo, "data:read"))).await;
    assert_eq!(r.status, 200);
    let listed = r.json()["watchlist"].as_array().unwrap().len();
    assert_eq!(listed, oasis_secure_data::MAX_LISTED);
    let contract =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../terraform/openapi.yaml")).unwrap();
    assert!(
        contract.contains(&format!("watchlist: {{type: array, maxItems: {}", oasis_secure_data::MAX_LISTED)),
        "the contract says the same bound"
    );
}
