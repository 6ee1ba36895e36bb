//! `events/index.json` documents every sample event, and only existing ones.

use oasis_testkit::{event_index, events_dir};

#[test]
fn every_event_file_is_documented_in_the_index_and_every_entry_exists() {
    let index = event_index();
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && n != "index.json")
        .collect();
    files.sort();
    assert_eq!(files, index.keys().cloned().collect::<Vec<_>>());
    for (file, e) in &index {
        assert!(!e.description.is_empty(), "{file}");
        assert!(["token", "secure-data", "search", "signin"].contains(&e.function.as_str()), "{file}");
        // The sign-in pages answer HTML: the only error they document is a redirect's
        // (the `error` parameter of a 303's Location, RFC 6749 §4.1.2.1).
        if e.function == "signin" {
            assert!(e.error.is_none() || e.status == 303, "{file}: an HTML page has no JSON error");
        }
        let text = std::fs::read_to_string(events_dir().join(file)).unwrap();
        assert_eq!(text.contains("ACCESS_TOKEN"), e.auth.is_some(), "{file}: placeholder and auth entry go together");
    }
}
