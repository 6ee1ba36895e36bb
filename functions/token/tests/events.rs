//! Replays every sample event in `events/` that targets this function through the handler
//! and checks the status (and error code) that `events/index.json` documents for it.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Deserialize)]
struct Expectation {
    function: String,
    status: u16,
    error: Option<String>,
    description: String,
}

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn index() -> BTreeMap<String, Expectation> {
    let text = std::fs::read_to_string(events_dir().join("index.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_event_file_is_documented_in_the_index_and_every_entry_exists() {
    let index = index();
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && n != "index.json")
        .collect();
    files.sort();
    let listed: Vec<String> = index.keys().cloned().collect();
    assert_eq!(files, listed);
    assert!(index.values().all(|e| !e.description.is_empty()));
}

#[tokio::test]
async fn every_token_event_gets_the_status_its_index_entry_documents() {
    let f = common::fixture().await;
    let mut replayed = 0;
    for (file, want) in index().into_iter().filter(|(_, e)| e.function == "token") {
        let text = std::fs::read_to_string(events_dir().join(&file)).unwrap();
        let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = common::reply(oasis_token::handle(&f.app, req).await);
        assert_eq!(got.status, want.status, "{file}: {}", got.text);
        assert_eq!(got.error(), want.error, "{file}: {}", got.text);
        replayed += 1;
    }
    assert!(replayed >= 20, "only {replayed} token events");
}
