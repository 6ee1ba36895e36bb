//! Replays every `events/` sample for secure-data against its documented status.

use oasis_testkit::World;
use oasis_testkit::{reply, request};

#[tokio::test]
async fn every_secure_data_event_gets_the_status_its_index_entry_documents() {
    let w = World::new(10).await;
    let app = oasis_lambda::shell::Lambda::new(oasis_secure_data::App::new(
        w.store.clone(),
        w.verifier(),
        oasis_lambda::Cors::default(),
    ));
    let cases = w.event_cases("secure-data");
    assert!(cases.len() >= 7);
    for case in cases {
        let got = reply(app.handle(request(&serde_json::from_str(&case.json).unwrap())).await);
        assert_eq!(got.status, case.status, "{}: {}", case.file, got.text);
        assert_eq!(got.error(), case.error, "{}: {}", case.file, got.text);
    }
}

#[tokio::test]
async fn the_handler_serves_exactly_its_declared_routes() {
    let w = World::new(0).await;
    let app = oasis_lambda::shell::Lambda::new(oasis_secure_data::App::new(
        w.store.clone(),
        w.verifier(),
        oasis_lambda::Cors::default(),
    ));
    let bad = oasis_testkit::route_mismatches(oasis_secure_data::ROUTES, |r| app.handle(r)).await;
    assert!(bad.is_empty(), "{bad:#?}");
}
