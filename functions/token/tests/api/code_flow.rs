//! The `authorization_code` grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6):
//! the attacks on a code once it has left the sign-in pages.

use oasis_admin::demo::{APP_CLIENT, APP_REDIRECT_URI, DEMO_USER};
use oasis_auth::secret::token_hash;
use oasis_domain::{ClientId, ScopeSet, Username};
use oasis_store::{AuthCode, AuthCodeStore, RefreshStore, UserStore};

use crate::common::*;

/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A code as the sign-in pages store it, for the demo user and app.
async fn code(f: &Fixture, value: &str) {
    let now = oasis_auth::now();
    let user = f.store.user_by_username(&Username::parse(DEMO_USER).unwrap()).await.unwrap().unwrap();
    let stored = AuthCode {
        code_hash: token_hash(value),
        client_id: ClientId::parse(APP_CLIENT).unwrap(),
        redirect_uri: APP_REDIRECT_URI.into(),
        code_challenge: CHALLENGE.into(),
        scope: ScopeSet::parse("data:read search").unwrap(),
        user_generation: user.token_generation,
        user_id: user.id,
        created_at: now,
        valid_until: now + 60,
        expires_at: now + 86_400,
    };
    f.store.create_code(&stored).await.unwrap();
}

async fn redeem(f: &Fixture, client: &str, code: &str, redirect_uri: &str, verifier: Option<&str>) -> Reply {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(v) = verifier {
        pairs.push(("code_verifier", v));
    }
    post_form(&f.app, "/token", &pairs, &[]).await
}

#[tokio::test]
async fn a_code_with_its_verifier_and_redirect_uri_gets_tokens_for_its_user() {
    let f = fixture().await;
    code(&f, "the-code").await;
    let r = redeem(&f, APP_CLIENT, "the-code", APP_REDIRECT_URI, Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["scope"], "data:read search");
    assert!(body["refresh_token"].is_string());
}

#[tokio::test]
async fn code_interception_a_stolen_code_without_the_verifier_gets_nothing() {
    let f = fixture().await;
    code(&f, "stolen").await;
    let other_verifier = "x".repeat(43);
    for (name, verifier) in
        [("another verifier", Some(other_verifier.as_str())), ("the challenge itself", Some(CHALLENGE))]
    {
        code(&f, name).await;
        let r = redeem(&f, APP_CLIENT, name, APP_REDIRECT_URI, verifier).await;
        assert_eq!((r.status, r.error().as_deref()), (400, Some("invalid_grant")), "{name}: {}", r.text);
    }
    let none = redeem(&f, APP_CLIENT, "stolen", APP_REDIRECT_URI, None).await;
    assert_eq!(none.error().as_deref(), Some("invalid_request"), "no verifier at all");
    let malformed = redeem(&f, APP_CLIENT, "stolen", APP_REDIRECT_URI, Some("short")).await;
    assert_eq!(malformed.error().as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn code_replay_a_second_use_fails_and_revokes_the_refresh_tokens_the_first_use_issued() {
    let f = fixture().await;
    code(&f, "once").await;
    let first = redeem(&f, APP_CLIENT, "once", APP_REDIRECT_URI, Some(VERIFIER)).await;
    assert_eq!(first.status, 200);
    let refresh_token = first.json()["refresh_token"].as_str().unwrap().to_owned();
    let second = redeem(&f, APP_CLIENT, "once", APP_REDIRECT_URI, Some(VERIFIER)).await;
    assert_eq!((second.status, second.error().as_deref()), (400, Some("invalid_grant")));
    let (_, family) = f.store.refresh_token(&token_hash(&refresh_token)).await.unwrap().unwrap();
    assert!(family.revoked, "the family the code started is revoked");
    let refreshed = post_form(
        &f.app,
        "/token",
        &[("grant_type", "refresh_token"), ("client_id", APP_CLIENT), ("refresh_token", &refresh_token)],
        &[],
    )
    .await;
    assert_eq!(refreshed.error().as_deref(), Some("invalid_grant"));
}

#[tokio::test]
async fn redirect_uri_manipulation_a_code_is_redeemed_only_with_the_redirect_uri_it_was_sent_to() {
    let f = fixture().await;
    for (i, other) in ["http://127.0.0.1/callback", "http://localhost:5173/callback/", "https://attacker.example/cb"]
        .iter()
        .enumerate()
    {
        let value = format!("code-{i}");
        code(&f, &value).await;
        let r = redeem(&f, APP_CLIENT, &value, other, Some(VERIFIER)).await;
        assert_eq!(r.error().as_deref(), Some("invalid_grant"), "{other}");
    }
    let missing = post_form(
        &f.app,
        "/token",
        &[("grant_type", "authorization_code"), ("client_id", APP_CLIENT), ("code", "c"), ("code_verifier", VERIFIER)],
        &[],
    )
    .await;
    assert_eq!(missing.error().as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn a_code_is_useless_to_another_client_and_is_spent_by_the_attempt() {
    let f = fixture().await;
    let other = oasis_admin::NewClient {
        client_id: "other-app".into(),
        name: "Other".into(),
        confidential: false,
        first_party: true,
        grant_types: vec!["authorization_code".into()],
        scopes: vec!["search".into()],
        refresh_in_cookie: false,
        allowed_origins: vec![],
        redirect_uris: vec![APP_REDIRECT_URI.into()],
        legacy_password_grant: false,
    };
    oasis_admin::create_client(f.store.as_ref(), other).await.unwrap();
    code(&f, "mine").await;
    let stolen = redeem(&f, "other-app", "mine", APP_REDIRECT_URI, Some(VERIFIER)).await;
    assert_eq!(stolen.error().as_deref(), Some("invalid_grant"));
    // A used code in the wrong hands cannot sign its user out either.
    code(&f, "used").await;
    let first = redeem(&f, APP_CLIENT, "used", APP_REDIRECT_URI, Some(VERIFIER)).await;
    let rt = first.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        redeem(&f, "other-app", "used", APP_REDIRECT_URI, Some(VERIFIER)).await.error().as_deref(),
        Some("invalid_grant")
    );
    let (_, family) = f.store.refresh_token(&token_hash(&rt)).await.unwrap().unwrap();
    assert!(!family.revoked, "another client's replay revokes nothing");
    let rightful = redeem(&f, APP_CLIENT, "mine", APP_REDIRECT_URI, Some(VERIFIER)).await;
    assert_eq!(rightful.error().as_deref(), Some("invalid_grant"), "a code tried by a thief is burnt for everyone");
    let unknown = redeem(&f, APP_CLIENT, "never-issued", APP_REDIRECT_URI, Some(VERIFIER)).await;
    assert_eq!(unknown.error().as_deref(), Some("invalid_grant"));
    let tv = redeem(&f, oasis_admin::demo::TV_CLIENT, "never-issued", APP_REDIRECT_URI, Some(VERIFIER)).await;
    assert_eq!(tv.error().as_deref(), Some("unauthorized_client"), "a client without the grant type");
}

#[tokio::test]
async fn the_metadata_announces_the_code_flow_with_s256_and_iss() {
    let f = fixture().await;
    let meta = send(&f.app, &event("GET", "/.well-known/oauth-authorization-server", &[], None)).await.json();
    assert_eq!(meta["authorization_endpoint"], format!("{ISSUER}/authorize"));
    assert_eq!(meta["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(meta["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
}

#[tokio::test]
async fn a_code_signed_in_for_before_a_cut_off_gets_nothing_after_it() {
    let f = fixture().await;
    code(&f, "pre-cut-off").await;
    oasis_admin::revoke_user_tokens(f.store.as_ref(), DEMO_USER).await.unwrap();
    let r = redeem(&f, APP_CLIENT, "pre-cut-off", APP_REDIRECT_URI, Some(VERIFIER)).await;
    assert_eq!((r.status, r.error().as_deref()), (400, Some("invalid_grant")), "{}", r.text);
    // A code from a sign-in after the cut-off works.
    code(&f, "post-cut-off").await;
    assert_eq!(redeem(&f, APP_CLIENT, "post-cut-off", APP_REDIRECT_URI, Some(VERIFIER)).await.status, 200);
}
