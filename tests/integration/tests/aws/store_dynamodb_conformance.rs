//! The shared conformance suite on the DynamoDB backend, against a DynamoDB-API server on
//! loopback (moto, started by `scripts/with-moto.sh`). Without a server this fails loudly:
//! it never skips.

use oasis_store::dynamodb::DynamoStore;
use oasis_store::*;

/// Fresh tables under a random prefix, so tests run in parallel on one server.
async fn fresh() -> DynamoStore {
    let endpoint = std::env::var("OASIS_TEST_AWS_ENDPOINT").expect(
        "OASIS_TEST_AWS_ENDPOINT is not set: the DynamoDB tests need a DynamoDB-API server. \
         Run them with `make test` or `scripts/with-moto.sh cargo test`, which start moto_server on 127.0.0.1.",
    );
    let n: u64 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let prefix = format!("t{}-{n}", std::process::id());
    let sdk = oasis_lambda::config::sdk_config(Some(&endpoint)).await;
    let store = DynamoStore::new(oasis_store::dynamodb::Client::new(&sdk), &prefix);
    store.create_tables().await.expect("create tables");
    store
}

oasis_store::conformance_tests!(fresh());

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_of_one_token_on_dynamodb_have_exactly_one_winner() {
    let store = std::sync::Arc::new(fresh().await);
    for round in 0..10 {
        let fam = format!("f{round}");
        let family = RefreshFamily {
            family_id: fam.clone(),
            user_id: oasis_store::UserId::parse("usr_u").unwrap(),
            client_id: oasis_store::ClientId::parse("web").unwrap(),
            scope: "search".into(),
            user_generation: 0,
            created_at: 0,
            expires_at: 4_000_000_000,
            revoked: false,
        };
        let first = RefreshToken {
            token_hash: format!("old{round}"),
            family_id: fam,
            issued_at: 0,
            idle_expires_at: 4_000_000_000,
            rotated_at: None,
            expires_at: 4_000_000_000,
            successor: None,
            reissued: false,
        };
        store.create_family(&family, &first).await.unwrap();
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let (store, mut next, old) = (store.clone(), first.clone(), first.token_hash.clone());
                next.token_hash = format!("new{round}-{i}");
                tokio::spawn(async move { store.rotate(&old, &next, "sealed", 1).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for t in tasks {
            if t.await.unwrap() == Rotation::Rotated {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}
