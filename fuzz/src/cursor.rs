//! `cursor`: search cursors through [`oasis_search::CursorKey::open`]; and any position seals
//! and opens to itself, for its own query only, and not once a character of it is changed.

use std::sync::OnceLock;

use oasis_search::CursorKey;
use oasis_search::cursor::{MAX_CURSOR_LEN, fingerprint};

use crate::seeds::Event;

/// A fixed key, so cursors sealed for seeds open in another process too.
fn key() -> &'static CursorKey {
    static KEY: OnceLock<CursorKey> = OnceLock::new();
    KEY.get_or_init(|| CursorKey::new(&[7u8; 32]).expect("a 256-bit key"))
}

/// The query a cursor is bound to, and another one.
fn fingerprints() -> &'static (String, String) {
    static FP: OnceLock<(String, String)> = OnceLock::new();
    FP.get_or_init(|| (fingerprint(&["the matrix", "", "", "18"]), fingerprint(&["the matrix", "", "", "13"])))
}

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (fp, other) = fingerprints();
    // As a client sends it: only a cursor sealed with this key for this query opens.
    if let Ok((sort_key, id)) = key().open(text, fp) {
        assert!(key().open(text, other).is_err(), "a cursor opened for another query");
        let again = key().seal(&sort_key, &id, fp);
        assert_eq!(key().open(&again, fp), Ok((sort_key, id)));
    }
    // Any position: `sort key \n id`.
    let (sort_key, id) = text.split_once('\n').unwrap_or((text, ""));
    let sealed = key().seal(sort_key, id, fp);
    if sealed.len() > MAX_CURSOR_LEN {
        return;
    }
    assert_eq!(key().open(&sealed, fp), Ok((sort_key.to_owned(), id.to_owned())), "round trip");
    assert!(key().open(&sealed, other).is_err(), "a cursor opened for another query");
    let mut tampered = sealed.into_bytes();
    let at = data.len() % tampered.len();
    let pos = BASE64URL.iter().position(|c| *c == tampered[at]).expect("base64url");
    tampered[at] = BASE64URL[(pos + 1 + usize::from(data.first().copied().unwrap_or(0)) % 63) % 64];
    let tampered = String::from_utf8(tampered).expect("ASCII");
    assert!(key().open(&tampered, fp).is_err(), "a changed cursor opened: {tampered}");
}

pub fn seeds(events: &[Event]) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = events
        .iter()
        .flat_map(|e| e.query().into_iter().filter(|(k, _)| k == "cursor").map(|(_, v)| v.into_bytes()))
        .collect();
    let (fp, _) = fingerprints();
    for (sort_key, id) in [("the matrix", "tt0133093"), ("amelie 2001", "tt0211915"), ("", "")] {
        seeds.push(key().seal(sort_key, id, fp).into_bytes());
        seeds.push(format!("{sort_key}\n{id}").into_bytes());
    }
    seeds.push("ナイト シフト\nid-\u{1f}\"\\".as_bytes().to_vec());
    seeds
}
