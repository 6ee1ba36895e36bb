//! Replays every sample event in `events/` that targets this function through the handler
//! and checks the status (and error code) that `events/index.json` documents for it.

use crate::common;

#[tokio::test]
async fn every_token_event_gets_the_status_its_index_entry_documents() {
    let f = common::fixture().await;
    let world = oasis_testkit::World::new(0).await;
    let cases = world.event_cases("token");
    assert!(cases.len() >= 20, "only {} token events", cases.len());
    for case in cases {
        let got = common::reply(f.app.handle(common::request(&serde_json::from_str(&case.json).unwrap())).await);
        assert_eq!(got.status, case.status, "{}: {}", case.file, got.text);
        assert_eq!(got.error(), case.error, "{}: {}", case.file, got.text);
    }
}

#[tokio::test]
async fn the_handler_serves_exactly_its_declared_routes() {
    let f = common::fixture().await;
    let bad = oasis_testkit::route_mismatches(oasis_token::ROUTES, |r| f.app.handle(r)).await;
    assert!(bad.is_empty(), "{bad:#?}");
}
