//! Key rotation in AWS terms — the private key set in Secrets Manager, the public JWKS in
//! SSM (moto on loopback) — driven through the admin tool's phases while the real token and
//! secure-data handlers keep serving. Tokens issued before, during and after the rotation
//! are all accepted; none is wrongly rejected.

use std::sync::Arc;
use std::time::Duration;

use oasis_admin::keys::{self, KeyStorage};
use oasis_auth::aws::{SecretsManagerKeySet, SsmJwks};
use oasis_auth::keyring::{KeyRing, SigningKeys};
use oasis_auth::password::PasswordHasher;
use oasis_integration_tests::*;
use oasis_lambda::Cors;
use oasis_testkit::{AUDIENCE, ISSUER, World};
use oasis_testkit::{event, reply, request};

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn tokens_issued_before_during_and_after_a_rotation_are_all_accepted() {
    let sdk = oasis_lambda::config::sdk_config(Some(&endpoint())).await;
    let name = unique_prefix("rot");
    let secret = SecretsManagerKeySet::new(&sdk, format!("{name}-signing-keys"));
    let ssm = SsmJwks::new(&sdk, format!("/{name}/jwks"));
    let storage = KeyStorage::Aws { secret: secret.clone(), jwks: ssm.clone() };
    keys::init(&storage).await.unwrap();
    assert!(keys::init(&storage).await.is_err(), "init never overwrites a key set");

    let w = World::new(0).await;
    // The token function re-reads its secret on every request here (cache lifetime zero) and
    // the verifier may refresh on every unknown kid, so the test needs no waiting.
    let signing = SigningKeys::load(Arc::new(secret.clone()), Duration::ZERO).await.unwrap();
    let token_app = oasis_lambda::shell::Lambda::new(
        oasis_token::App::with_keys(
            w.store.clone(),
            signing,
            PasswordHasher::default_params().unwrap(),
            token_settings(),
        )
        .unwrap(),
    );
    let ring = KeyRing::load(Arc::new(ssm.clone()), ISSUER, AUDIENCE, Duration::ZERO).await.unwrap();
    let data = oasis_lambda::shell::Lambda::new(oasis_secure_data::App::new(w.store.clone(), ring, Cors::default()));

    let access = |r: &oasis_testkit::Reply| r.json()["access_token"].as_str().unwrap().to_owned();
    let accepted = |token: String| {
        let data = &data;
        async move {
            let auth = format!("Bearer {token}");
            reply(data.handle(request(&event("GET", "/secure-data", &[("Authorization", &auth)], None))).await).status
        }
    };

    let before = access(&login(&token_app, &w).await);
    assert_eq!(accepted(before.clone()).await, 200);

    let staged = keys::stage(&storage).await.unwrap();
    let during = access(&login(&token_app, &w).await);
    assert_eq!(kid(&during), kid(&before), "a staged key does not sign yet");
    for t in [&before, &during] {
        assert_eq!(accepted(t.clone()).await, 200);
    }

    let (promoted, keep) = keys::promote(&storage, 900, 300).await.unwrap();
    assert_eq!(promoted, staged);
    assert_eq!(keep, 900 + 300 + 30, "token lifetime + the token function's key cache + leeway");
    let after = access(&login(&token_app, &w).await);
    assert_eq!(kid(&after), staged, "the promoted key signs");
    for t in [&before, &during, &after] {
        assert_eq!(accepted(t.clone()).await, 200, "kid {}", kid(t));
    }

    // Pruning now removes nothing: the old key's tokens have not expired yet.
    assert!(keys::prune(&storage, oasis_auth::now()).await.unwrap().is_empty());
    for t in [&before, &during, &after] {
        assert_eq!(accepted(t.clone()).await, 200);
    }
    // A token signed by a warm token function just before its key cache expired, with the old
    // key, lives until about promotion + 300 + 900: pruning then would still reject it.
    assert!(keys::prune(&storage, oasis_auth::now() + 1200).await.unwrap().is_empty());
    // After that the old key goes; tokens of the new key live on.
    let gone = keys::prune(&storage, oasis_auth::now() + keep + 1).await.unwrap();
    assert_eq!(gone, vec![kid(&before)]);
    assert_eq!(accepted(after.clone()).await, 200);
    let jwks = reply(token_app.handle(request(&event("GET", "/.well-known/jwks.json", &[], None))).await);
    assert!(!jwks.text.contains(&kid(&before)), "the retired key is no longer published");
}
