//! The conformance suite every backend must pass. Backends run it through
//! [`crate::conformance_tests!`] with a constructor for a fresh, empty store.

use crate::*;

fn user(id: &str, username: &str) -> User {
    User {
        id: id.into(),
        username: username.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        disabled: false,
        scopes: vec!["data:read".into(), "search".into()],
        maturity: 13,
        tokens_valid_after: 0,
        created_at: 1_000,
    }
}

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        secret_hash: Some("hash".into()),
        name: "Test client".into(),
        first_party: true,
        grant_types: vec!["password".into(), "refresh_token".into()],
        scopes: vec!["search".into()],
        refresh_in_cookie: false,
        allowed_origins: vec!["https://app.example".into()],
        disabled: false,
        created_at: 1_000,
    }
}

fn family(id: &str, user_id: &str) -> RefreshFamily {
    RefreshFamily {
        family_id: id.into(),
        user_id: user_id.into(),
        client_id: "web".into(),
        scope: "search".into(),
        created_at: 1_000,
        expires_at: 100_000,
        revoked: false,
    }
}

fn token(hash: &str, family_id: &str) -> RefreshToken {
    RefreshToken {
        token_hash: hash.into(),
        family_id: family_id.into(),
        issued_at: 1_000,
        idle_expires_at: 50_000,
        rotated_at: None,
        expires_at: 100_000,
    }
}

pub async fn users_are_found_by_username_and_id(s: &dyn Store) {
    s.create_user(&user("u1", "alice")).await.unwrap();
    assert_eq!(
        s.user_by_username("alice").await.unwrap(),
        Some(user("u1", "alice"))
    );
    assert_eq!(s.user_by_id("u1").await.unwrap(), Some(user("u1", "alice")));
    assert_eq!(s.user_by_username("bob").await.unwrap(), None);
    assert_eq!(s.user_by_id("u2").await.unwrap(), None);
}

pub async fn a_username_cannot_be_taken_twice(s: &dyn Store) {
    s.create_user(&user("u1", "alice")).await.unwrap();
    let again = s.create_user(&user("u2", "alice")).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists(_))),
        "{again:?}"
    );
    assert_eq!(
        s.user_by_id("u2").await.unwrap(),
        None,
        "nothing half-written"
    );
}

pub async fn user_updates_are_persisted(s: &dyn Store) {
    s.create_user(&user("u1", "alice")).await.unwrap();
    s.set_password_hash("u1", "new-hash").await.unwrap();
    s.set_disabled("u1", true).await.unwrap();
    s.set_tokens_valid_after("u1", 4_242).await.unwrap();
    let u = s.user_by_id("u1").await.unwrap().unwrap();
    assert_eq!(
        (u.password_hash.as_str(), u.disabled, u.tokens_valid_after),
        ("new-hash", true, 4_242)
    );
}

pub async fn clients_round_trip_and_are_unique(s: &dyn Store) {
    s.create_client(&client("web")).await.unwrap();
    assert_eq!(s.client("web").await.unwrap(), Some(client("web")));
    assert_eq!(s.client("other").await.unwrap(), None);
    assert!(matches!(
        s.create_client(&client("web")).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let mut public = client("spa");
    public.secret_hash = None;
    s.create_client(&public).await.unwrap();
    assert_eq!(s.client("spa").await.unwrap().unwrap().secret_hash, None);
}

pub async fn a_refresh_token_rotates_exactly_once(s: &dyn Store) {
    s.create_family(&family("f1", "u1"), &token("h1", "f1"))
        .await
        .unwrap();
    let (t, f) = s.refresh_token("h1").await.unwrap().unwrap();
    assert_eq!((t, f), (token("h1", "f1"), family("f1", "u1")));
    assert_eq!(
        s.rotate("h1", &token("h2", "f1"), 2_000).await.unwrap(),
        Rotation::Rotated
    );
    assert_eq!(
        s.refresh_token("h1").await.unwrap().unwrap().0.rotated_at,
        Some(2_000)
    );
    assert!(s.refresh_token("h2").await.unwrap().is_some());
    assert_eq!(
        s.rotate("h1", &token("h3", "f1"), 2_001).await.unwrap(),
        Rotation::AlreadyUsed
    );
    assert_eq!(
        s.refresh_token("h3").await.unwrap(),
        None,
        "a lost rotation writes nothing"
    );
}

pub async fn a_revoked_family_cannot_rotate(s: &dyn Store) {
    s.create_family(&family("f1", "u1"), &token("h1", "f1"))
        .await
        .unwrap();
    s.revoke_family("f1").await.unwrap();
    assert!(s.refresh_token("h1").await.unwrap().unwrap().1.revoked);
    assert_eq!(
        s.rotate("h1", &token("h2", "f1"), 2_000).await.unwrap(),
        Rotation::AlreadyUsed
    );
    assert_eq!(s.refresh_token("h2").await.unwrap(), None);
}

pub async fn revoking_a_user_revokes_all_their_families_only(s: &dyn Store) {
    s.create_family(&family("f1", "u1"), &token("h1", "f1"))
        .await
        .unwrap();
    s.create_family(&family("f2", "u1"), &token("h2", "f2"))
        .await
        .unwrap();
    s.create_family(&family("f3", "u2"), &token("h3", "f3"))
        .await
        .unwrap();
    assert_eq!(s.revoke_user_families("u1").await.unwrap(), 2);
    assert!(s.refresh_token("h1").await.unwrap().unwrap().1.revoked);
    assert!(s.refresh_token("h2").await.unwrap().unwrap().1.revoked);
    assert!(!s.refresh_token("h3").await.unwrap().unwrap().1.revoked);
}

pub async fn unknown_refresh_tokens_are_not_found(s: &dyn Store) {
    assert_eq!(s.refresh_token("nope").await.unwrap(), None);
    assert_eq!(
        s.rotate("nope", &token("h2", "f1"), 1).await.unwrap(),
        Rotation::AlreadyUsed
    );
}

pub async fn failure_counters_count_lock_and_expire(s: &dyn Store) {
    assert_eq!(s.attempts("acct:alice", 100).await.unwrap(), None);
    assert_eq!(
        s.record_failure("acct:alice", 100, 200)
            .await
            .unwrap()
            .failures,
        1
    );
    assert_eq!(
        s.record_failure("acct:alice", 110, 210)
            .await
            .unwrap()
            .failures,
        2
    );
    s.set_locked_until("acct:alice", 150, 210).await.unwrap();
    let a = s.attempts("acct:alice", 120).await.unwrap().unwrap();
    assert_eq!((a.failures, a.locked_until, a.expires_at), (2, 150, 210));
    assert_eq!(
        s.attempts("acct:alice", 210).await.unwrap(),
        None,
        "expired counters are gone"
    );
    let fresh = s.record_failure("acct:alice", 300, 400).await.unwrap();
    assert_eq!(
        (fresh.failures, fresh.locked_until),
        (1, 0),
        "an expired counter restarts"
    );
    s.clear_attempts("acct:alice").await.unwrap();
    assert_eq!(s.attempts("acct:alice", 301).await.unwrap(), None);
}

pub async fn counters_are_kept_per_key(s: &dyn Store) {
    s.record_failure("acct:alice", 100, 200).await.unwrap();
    s.record_failure("ip:10.0.0.1", 100, 200).await.unwrap();
    s.record_failure("ip:10.0.0.1", 100, 200).await.unwrap();
    assert_eq!(
        s.attempts("acct:alice", 100)
            .await
            .unwrap()
            .unwrap()
            .failures,
        1
    );
    assert_eq!(
        s.attempts("ip:10.0.0.1", 100)
            .await
            .unwrap()
            .unwrap()
            .failures,
        2
    );
}

/// Generates one `#[tokio::test]` per conformance check for a backend.
/// `$make` is an async expression returning a fresh store (`impl Store`).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            users_are_found_by_username_and_id,
            a_username_cannot_be_taken_twice,
            user_updates_are_persisted,
            clients_round_trip_and_are_unique,
            a_refresh_token_rotates_exactly_once,
            a_revoked_family_cannot_rotate,
            revoking_a_user_revokes_all_their_families_only,
            unknown_refresh_tokens_are_not_found,
            failure_counters_count_lock_and_expire,
            counters_are_kept_per_key,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let store = $make.await;
                $crate::conformance::$name(&store).await;
            }
        )*
    };
}
