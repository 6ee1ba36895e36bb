//! The device authorization grant (RFC 8628) at the token function: starting one, polling
//! it through every state, and the attacks on it.

use oasis_admin::demo::{DEMO_USER, TV_CLIENT};
use oasis_auth::secret::token_hash;
use oasis_auth::token::Verifier;
use oasis_domain::{ScopeSet, UserCode, Username};
use oasis_store::{DeviceDecision, DeviceGrant, DeviceGrantState, DeviceGrantStore, UserStore};

use crate::common::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start(f: &Fixture, scope: Option<&str>) -> Reply {
    let mut pairs = vec![("client_id", TV_CLIENT)];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    post_form(&f.app, "/device_authorization", &pairs, &[]).await
}

async fn poll(f: &Fixture, client_id: &str, device_code: &str) -> Reply {
    post_form(
        &f.app,
        "/token",
        &[("grant_type", DEVICE_GRANT), ("client_id", client_id), ("device_code", device_code)],
        &[],
    )
    .await
}

async fn decide(f: &Fixture, user_code: &str, decision: DeviceDecision) {
    let code = UserCode::parse(user_code).unwrap();
    assert!(f.store.decide_device_grant(&code, &decision, oasis_auth::now()).await.unwrap());
}

async fn approve(f: &Fixture, user_code: &str) {
    let user = f.store.user_by_username(&Username::parse(DEMO_USER).unwrap()).await.unwrap().unwrap();
    let user_generation = user.token_generation;
    let approval =
        DeviceDecision::Approve { user_id: user.id, scope: ScopeSet::parse("search").unwrap(), user_generation };
    decide(f, user_code, approval).await;
}

#[tokio::test]
async fn a_device_authorization_names_a_short_code_where_to_enter_it_and_how_often_to_poll() {
    let f = fixture().await;
    let r = start(&f, Some("search")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let user_code = body["user_code"].as_str().unwrap();
    assert!(user_code.len() == 9 && user_code.as_bytes()[4] == b'-', "{user_code}");
    assert!(UserCode::parse(user_code).is_ok());
    assert_eq!(body["verification_uri"], format!("{ISSUER}/device"));
    assert_eq!(body["verification_uri_complete"], format!("{ISSUER}/device?user_code={user_code}"));
    assert_eq!((body["expires_in"].as_u64(), body["interval"].as_u64()), (Some(900), Some(5)));
    assert!(body["device_code"].as_str().unwrap().len() >= 43, "256 bits");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let other = start(&f, Some("search")).await.json();
    assert_ne!(other["device_code"], body["device_code"]);
    assert_ne!(other["user_code"], body["user_code"]);
}

#[tokio::test]
async fn a_device_code_is_stored_only_as_its_hash() {
    let f = fixture().await;
    let body = start(&f, None).await.json();
    let code = UserCode::parse(body["user_code"].as_str().unwrap()).unwrap();
    let stored = f.store.device_grant_by_user_code(&code, oasis_auth::now()).await.unwrap().unwrap();
    let device_code = body["device_code"].as_str().unwrap();
    assert_eq!(stored.device_code_hash, token_hash(device_code));
    assert_ne!(stored.device_code_hash, device_code);
    assert_eq!(stored.scope.to_string(), "data:read search", "no scope asked: the client's");
}

#[tokio::test]
async fn a_device_polls_pending_until_approved_then_gets_tokens_once() {
    let f = fixture().await;
    let body = start(&f, Some("search")).await.json();
    let (device_code, user_code) = (body["device_code"].as_str().unwrap(), body["user_code"].as_str().unwrap());
    let pending = poll(&f, TV_CLIENT, device_code).await;
    assert_eq!((pending.status, pending.error().as_deref()), (400, Some("authorization_pending")), "{}", pending.text);
    approve(&f, user_code).await;
    // Polled again at once: slow down first, the grant is untouched.
    assert_eq!(poll(&f, TV_CLIENT, device_code).await.error().as_deref(), Some("slow_down"));
    let code = UserCode::parse(user_code).unwrap();
    assert!(matches!(
        f.store.device_grant_by_user_code(&code, oasis_auth::now()).await.unwrap().unwrap().state,
        DeviceGrantState::Approved { .. }
    ));
}

/// A grant approved and never polled: the device's first poll redeems it.
async fn approved_grant(f: &Fixture) -> String {
    let body = start(f, Some("search")).await.json();
    approve(f, body["user_code"].as_str().unwrap()).await;
    body["device_code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_approved_device_gets_an_access_token_for_its_user_and_a_refresh_token() {
    let f = fixture().await;
    let device_code = approved_grant(&f).await;
    let r = poll(&f, TV_CLIENT, &device_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!((body["token_type"].as_str(), body["scope"].as_str()), (Some("Bearer"), Some("search")));
    let verifier = Verifier::new(&f.keys.public_jwks(), ISSUER, AUDIENCE).unwrap();
    let claims = verifier.verify(body["access_token"].as_str().unwrap()).unwrap();
    let user = f.store.user_by_username(&Username::parse(DEMO_USER).unwrap()).await.unwrap().unwrap();
    assert_eq!((claims.subject(), claims.client_id()), (user.id.as_str(), TV_CLIENT));
    let refreshed = post_form(
        &f.app,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", TV_CLIENT),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
        &[],
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
}

#[tokio::test]
async fn concurrent_polls_of_an_approved_device_code_get_exactly_one_token_response() {
    let f = fixture().await;
    let device_code = approved_grant(&f).await;
    let (a, b, c, d) = tokio::join!(
        poll(&f, TV_CLIENT, &device_code),
        poll(&f, TV_CLIENT, &device_code),
        poll(&f, TV_CLIENT, &device_code),
        poll(&f, TV_CLIENT, &device_code)
    );
    let replies = [a, b, c, d];
    let granted = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(granted, 1, "{:?}", replies.iter().map(|r| r.text.clone()).collect::<Vec<_>>());
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 400));
}

#[tokio::test]
async fn a_denied_device_hears_access_denied() {
    let f = fixture().await;
    let body = start(&f, None).await.json();
    decide(&f, body["user_code"].as_str().unwrap(), DeviceDecision::Deny).await;
    let r = poll(&f, TV_CLIENT, body["device_code"].as_str().unwrap()).await;
    assert_eq!((r.status, r.error().as_deref()), (400, Some("access_denied")));
}

#[tokio::test]
async fn an_expired_device_code_hears_expired_token_and_cannot_be_approved() {
    let f = fixture().await;
    let now = oasis_auth::now();
    let grant = DeviceGrant {
        device_code_hash: token_hash("expired-device-code"),
        user_code: UserCode::parse("BCDF-GHJK").unwrap(),
        client_id: oasis_domain::ClientId::parse(TV_CLIENT).unwrap(),
        scope: ScopeSet::parse("search").unwrap(),
        created_at: now - 1_000,
        expires_at: now - 100,
        interval: 5,
        last_polled_at: None,
        state: DeviceGrantState::Pending,
    };
    f.store.create_device_grant(&grant, now - 1_000).await.unwrap();
    let r = poll(&f, TV_CLIENT, "expired-device-code").await;
    assert_eq!((r.status, r.error().as_deref()), (400, Some("expired_token")), "{}", r.text);
    let user = f.store.user_by_username(&Username::parse(DEMO_USER).unwrap()).await.unwrap().unwrap();
    let late =
        DeviceDecision::Approve { user_id: user.id, scope: ScopeSet::parse("search").unwrap(), user_generation: 0 };
    assert!(!f.store.decide_device_grant(&grant.user_code, &late, now).await.unwrap());
}

#[tokio::test]
async fn a_stolen_device_code_is_useless_to_another_client_and_an_unknown_one_is_invalid() {
    let f = fixture().await;
    let device_code = approved_grant(&f).await;
    let other_tv = oasis_admin::NewClient {
        client_id: "other-tv".into(),
        name: "Another TV app".into(),
        confidential: false,
        first_party: true,
        grant_types: vec![DEVICE_GRANT.into()],
        scopes: vec!["search".into()],
        refresh_in_cookie: false,
        allowed_origins: vec![],
        redirect_uris: vec![],
        legacy_password_grant: false,
    };
    oasis_admin::create_client(f.store.as_ref(), other_tv).await.unwrap();
    let stolen = poll(&f, "other-tv", &device_code).await;
    assert_eq!((stolen.status, stolen.error().as_deref()), (400, Some("invalid_grant")), "another device client");
    let other = poll(&f, "oasis-demo", &device_code).await;
    assert_eq!(other.error().as_deref(), Some("unauthorized_client"), "a client without the grant type");
    let unknown = poll(&f, TV_CLIENT, "not-a-device-code").await;
    assert_eq!((unknown.status, unknown.error().as_deref()), (400, Some("invalid_grant")));
    let overlong = poll(&f, TV_CLIENT, &"x".repeat(300)).await;
    assert_eq!(overlong.error().as_deref(), Some("invalid_grant"));
    let missing = post_form(&f.app, "/token", &[("grant_type", DEVICE_GRANT), ("client_id", TV_CLIENT)], &[]).await;
    assert_eq!(missing.error().as_deref(), Some("invalid_request"));
    assert_eq!(poll(&f, TV_CLIENT, &device_code).await.status, 200, "the rightful device still gets its tokens");
}

#[tokio::test]
async fn only_clients_holding_the_device_grant_may_start_one_and_only_within_their_scopes() {
    let f = fixture().await;
    let not_tv = post_form(&f.app, "/device_authorization", &[("client_id", "oasis-demo")], &[]).await;
    assert_eq!((not_tv.status, not_tv.error().as_deref()), (400, Some("unauthorized_client")));
    assert_eq!(start(&f, Some("admin")).await.error().as_deref(), Some("invalid_scope"));
    assert_eq!(start(&f, Some("nonsense")).await.error().as_deref(), Some("invalid_scope"));
    let unknown = post_form(&f.app, "/device_authorization", &[("client_id", "no-such-client")], &[]).await;
    assert_eq!((unknown.status, unknown.error().as_deref()), (401, Some("invalid_client")));
    let json =
        send(&f.app, &event("POST", "/device_authorization", &[("Content-Type", "application/json")], Some("{}")))
            .await;
    assert_eq!((json.status, json.error().as_deref()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn the_metadata_names_the_device_authorization_endpoint_and_grant() {
    let f = fixture().await;
    let meta = send(&f.app, &event("GET", "/.well-known/oauth-authorization-server", &[], None)).await.json();
    assert_eq!(meta["device_authorization_endpoint"], format!("{ISSUER}/device_authorization"));
    assert!(meta["grant_types_supported"].as_array().unwrap().iter().any(|g| g == DEVICE_GRANT));
}

#[tokio::test]
async fn a_device_approved_before_a_cut_off_gets_no_tokens_after_it() {
    let f = fixture().await;
    let device_code = approved_grant(&f).await;
    oasis_admin::revoke_user_tokens(f.store.as_ref(), DEMO_USER).await.unwrap();
    let r = poll(&f, TV_CLIENT, &device_code).await;
    assert_eq!((r.status, r.error().as_deref()), (400, Some("invalid_grant")), "{}", r.text);
    let approved_after = approved_grant(&f).await;
    assert_eq!(poll(&f, TV_CLIENT, &approved_after).await.status, 200, "an approval after the cut-off works");
}
