//! The refresh grace window: a rotated refresh token presented again by its client, within the
//! window and while its successor is unused, gets that same successor back; anything else is
//! reuse and revokes the family (RFC 9700 §4.14.2).

use std::sync::Arc;

use crate::metrics::totals;
use oasis_store::RefreshStore;
use oasis_token::Settings;

use crate::common::*;

fn with_grace(seconds: u64) -> Settings {
    Settings { refresh_grace: seconds, ..settings() }
}

fn refresh_token(r: &Reply) -> String {
    r.json()["refresh_token"].as_str().unwrap_or_default().to_owned()
}

async fn login(f: &Fixture) -> String {
    refresh_token(&password_login(&f.app, "demo", &f.creds.demo_password).await)
}

#[tokio::test]
async fn a_client_that_lost_a_refresh_response_and_retries_within_the_window_gets_the_same_successor_and_stays_signed_in()
 {
    let f = fixture_with(with_grace(30)).await;
    let r1 = login(&f).await;
    let first = refresh(&f.app, &r1, None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let r2 = refresh_token(&first);
    // The answer never arrived; the client retries with the token it still has.
    let retry = refresh(&f.app, &r1, None).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(refresh_token(&retry), r2, "the same successor, not a second live chain");
    assert_ne!(retry.json()["access_token"], first.json()["access_token"], "a fresh access token");
    let verifier = oasis_auth::token::Verifier::new(&f.keys.public_jwks(), ISSUER, AUDIENCE).unwrap();
    let claims = verifier.verify(retry.json()["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.client_id(), "oasis-demo");
    // The chain goes on from the successor.
    let next = refresh(&f.app, &r2, None).await;
    assert_eq!(next.status, 200, "{}", next.text);
    assert_eq!(refresh(&f.app, &refresh_token(&next), None).await.status, 200);
}

#[tokio::test]
async fn replaying_a_rotated_token_after_its_successor_was_used_revokes_the_family() {
    let f = fixture_with(with_grace(30)).await;
    let r1 = login(&f).await;
    let r2 = refresh_token(&refresh(&f.app, &r1, None).await);
    let r3 = refresh_token(&refresh(&f.app, &r2, None).await);
    assert!(!r3.is_empty());
    // Within the window, but the successor has been used: two parties hold r1.
    assert_eq!(refresh(&f.app, &r1, None).await.error().as_deref(), Some("invalid_grant"));
    assert_eq!(refresh(&f.app, &r3, None).await.error().as_deref(), Some("invalid_grant"), "the family is revoked");
}

#[tokio::test]
async fn replaying_a_rotated_token_after_the_window_revokes_the_family() {
    let f = fixture_with(with_grace(1)).await;
    let r1 = login(&f).await;
    let r2 = refresh_token(&refresh(&f.app, &r1, None).await);
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(refresh(&f.app, &r1, None).await.error().as_deref(), Some("invalid_grant"));
    assert_eq!(refresh(&f.app, &r2, None).await.error().as_deref(), Some("invalid_grant"), "the family is revoked");
}

#[tokio::test]
async fn a_thief_who_refreshes_just_before_the_victim_shares_the_chain_one_round_at_most() {
    let f = fixture_with(with_grace(30)).await;
    let r1 = login(&f).await;
    // The thief, holding a copy of r1, refreshes first; the victim's refresh a moment later is
    // inside the window and gets the same r2: nothing tells the two apart yet.
    let r2 = refresh_token(&refresh(&f.app, &r1, None).await);
    assert_eq!(refresh_token(&refresh(&f.app, &r1, None).await), r2);
    // Next round, the same trick: r2 was handed out twice, so it has no window of its own.
    let r3 = refresh_token(&refresh(&f.app, &r2, None).await);
    assert!(!r3.is_empty());
    assert_eq!(
        refresh(&f.app, &r2, None).await.error().as_deref(),
        Some("invalid_grant"),
        "the second holder is caught"
    );
    assert_eq!(refresh(&f.app, &r3, None).await.error().as_deref(), Some("invalid_grant"), "the family is revoked");
}

#[tokio::test]
async fn a_copy_of_the_store_and_an_old_token_open_no_successor() {
    let f = fixture_with(with_grace(30)).await;
    let r1 = login(&f).await;
    let r2 = refresh_token(&refresh(&f.app, &r1, None).await);
    let (rotated, _) = f.store.refresh_token(&oasis_auth::secret::token_hash(&r1)).await.unwrap().unwrap();
    let sealed = rotated.successor.expect("the successor is recorded").sealed;
    // The attacker has the row and r1, but not the token function's keys.
    let guesses =
        [oasis_auth::secret::SealingSecret::derive(b""), oasis_auth::secret::SealingSecret::derive(r1.as_bytes())];
    assert_eq!(oasis_auth::secret::open_under(&guesses, &r1, &sealed), None);
    assert_eq!(oasis_auth::secret::open_under(&f.keys.sealing_secrets(), &r1, &sealed).as_deref(), Some(r2.as_str()));
}

#[tokio::test]
async fn with_the_window_off_a_retry_is_reuse() {
    let f = fixture_with(with_grace(0)).await;
    let r1 = login(&f).await;
    let r2 = refresh_token(&refresh(&f.app, &r1, None).await);
    assert_eq!(refresh(&f.app, &r1, None).await.error().as_deref(), Some("invalid_grant"));
    assert_eq!(refresh(&f.app, &r2, None).await.error().as_deref(), Some("invalid_grant"));
}

#[tokio::test]
async fn a_grace_window_replay_by_another_client_gets_nothing_and_the_rightful_client_keeps_its_chain() {
    let f = fixture_with(with_grace(30)).await;
    let r1 = login(&f).await;
    let r2 = refresh_token(&refresh(&f.app, &r1, None).await);
    let tv = oasis_admin::demo::TV_CLIENT;
    let stolen =
        post_form(&f.app, "/token", &[("grant_type", "refresh_token"), ("client_id", tv), ("refresh_token", &r1)], &[])
            .await;
    assert_eq!(stolen.error().as_deref(), Some("invalid_grant"), "{}", stolen.text);
    assert!(stolen.json().get("refresh_token").is_none());
    assert_eq!(refresh(&f.app, &r2, None).await.status, 200, "the rightful client still can");
}

#[tokio::test]
async fn a_retry_within_the_window_is_counted_as_refresh_grace_used() {
    let f = fixture_with(with_grace(30)).await;
    let app = f.app.with_metrics(oasis_lambda::metrics::Metrics::capture("token"));
    let r1 = refresh_token(&password_login(&app, "demo", &f.creds.demo_password).await);
    assert_eq!(refresh(&app, &r1, None).await.status, 200);
    assert_eq!(refresh(&app, &r1, None).await.status, 200);
    let t = totals(&app.metrics().take());
    assert_eq!((t["RefreshRotated"], t["RefreshGraceUsed"], t.get("RefreshReuseDetected")), (1.0, 1.0, None));
}

/// 100 refreshes of one token at once, each from its own instance (its own app and database
/// connection on one file, as 100 Lambda instances on one table): inside the window every one
/// succeeds with the same successor, and that is the one live token after.
#[test]
fn a_hundred_concurrent_refreshes_of_one_token_within_the_window_all_get_the_one_successor() {
    let (statuses, tokens, after) = concurrent_refreshes(30);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let distinct: std::collections::BTreeSet<_> = tokens.iter().collect();
    assert_eq!(distinct.len(), 1, "one successor for all: {distinct:?}");
    assert_eq!(after, 200, "the successor is live");
}

/// The same with the window off: exactly one wins, the rest are reuse, and the family is gone.
#[test]
fn a_hundred_concurrent_refreshes_of_one_token_without_the_window_have_one_winner_and_revoke_the_family() {
    let (statuses, _, after) = concurrent_refreshes(0);
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 99, "{statuses:?}");
    assert_eq!(after, 400, "the winner's token died with the family");
}

/// (statuses, refresh tokens answered, status of refreshing the first answered token after).
fn concurrent_refreshes(grace: u64) -> (Vec<u16>, Vec<String>, u16) {
    const CALLERS: usize = 100;
    let path = std::env::temp_dir().join(format!("oasis-grace-race-{}.db", oasis_auth::secret::random_token(6)));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let setup = Arc::new(oasis_store::sqlite::SqliteStore::open(&path).unwrap());
    let hasher = oasis_auth::password::PasswordHasher::default_params().unwrap();
    let creds = rt.block_on(oasis_admin::demo::seed(setup.as_ref(), &hasher)).unwrap();
    let keys = oasis_auth::keys::KeySet::generate(oasis_auth::now()).unwrap();
    let app = build_app(setup.clone(), &keys, with_grace(grace), hasher);
    let token = refresh_token(&rt.block_on(password_login(&app, "demo", &creds.demo_password)));

    let barrier = Arc::new(std::sync::Barrier::new(CALLERS));
    let threads: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (path, keys, token, barrier) = (path.clone(), keys.clone(), token.clone(), barrier.clone());
            std::thread::spawn(move || {
                let store = Arc::new(oasis_store::sqlite::SqliteStore::open(&path).unwrap());
                let hasher = oasis_auth::password::PasswordHasher::default_params().unwrap();
                let app = build_app(store, &keys, with_grace(grace), hasher);
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                barrier.wait();
                rt.block_on(refresh(&app, &token, None))
            })
        })
        .collect();
    let replies: Vec<Reply> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    let tokens: Vec<String> = replies.iter().filter(|r| r.status == 200).map(refresh_token).collect();
    let after = tokens.first().map_or(0, |t| rt.block_on(refresh(&app, t, None)).status);
    let _ = std::fs::remove_file(&path);
    (statuses, tokens, after)
}
