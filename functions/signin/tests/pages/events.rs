//! Replays every sample event in `events/` that targets this function through the handler
//! and checks the status `events/index.json` documents for it (for a redirect, `error` is the
//! `error` parameter of its `Location`).

use std::sync::Arc;

use oasis_auth::password::PasswordHasher;
use oasis_lambda::shell::Lambda;
use oasis_signin::{App, Settings};
use oasis_store::sqlite::SqliteStore;
use oasis_testkit::{ISSUER, reply, request};

async fn app() -> Lambda<App> {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let hasher = PasswordHasher::default_params().unwrap();
    oasis_admin::demo::seed(store.as_ref(), &hasher).await.unwrap();
    Lambda::new(App::new(store, hasher, Settings::new(ISSUER)))
}

#[tokio::test]
async fn every_signin_event_gets_the_status_its_index_entry_documents() {
    let app = app().await;
    let world = oasis_testkit::World::new(0).await;
    let cases = world.event_cases("signin");
    assert!(cases.len() >= 8, "only {} signin events", cases.len());
    for case in cases {
        let got = reply(app.handle(request(&serde_json::from_str(&case.json).unwrap())).await);
        assert_eq!(got.status, case.status, "{}: {}", case.file, got.text);
        let error = match got.header("location") {
            Some(location) => {
                let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
                serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                    .unwrap()
                    .into_iter()
                    .find(|(k, _)| k == "error")
                    .map(|(_, v)| v)
            }
            None => got.error(),
        };
        assert_eq!(error, case.error, "{}: {}", case.file, got.text);
    }
}

#[tokio::test]
async fn the_handler_serves_exactly_its_declared_routes() {
    let app = app().await;
    let bad = oasis_testkit::route_mismatches(oasis_signin::ROUTES, |r| app.handle(r)).await;
    assert!(bad.is_empty(), "{bad:#?}");
}
