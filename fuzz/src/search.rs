//! `search`: a query string (GET) or a JSON body (POST, input starting with `{`) through
//! [`oasis_search::parse`], what the search function reads once the caller is authenticated.

use std::collections::HashMap;

use oasis_lambda::error::ApiError;
use oasis_lambda::lambda_http::http::{self, header};
use oasis_lambda::lambda_http::{Body, Request, RequestExt};
use oasis_search::{MAX_LIMIT, SearchError};

use crate::seeds::Event;

pub fn run(data: &[u8]) {
    let req = if data.first() == Some(&b'{') { post(data) } else { get(data) };
    check(&req);
}

/// GET /search with the parameters API Gateway decodes from that query string.
fn get(query: &[u8]) -> Request {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in serde_urlencoded::from_bytes::<Vec<(String, String)>>(query).unwrap_or_default() {
        params.entry(k).or_default().push(v);
    }
    http::Request::builder()
        .method("GET")
        .uri("/search")
        .body(Body::Empty)
        .expect("a request from valid parts")
        .with_query_string_parameters(params)
}

fn post(body: &[u8]) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/search")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Binary(body.to_vec()))
        .expect("a request from valid parts")
}

/// A search that parses is within every bound (limit, years, words), its query is already
/// clean (parsing its text again gives the same query); a refusal is a 400, 413 or 415 with
/// a stable code, never a server fault.
pub fn check(req: &Request) {
    match oasis_search::parse(req) {
        Ok(s) => {
            assert!((1..=MAX_LIMIT).contains(&s.limit), "limit {}", s.limit);
            if let Some((from, to)) = s.years {
                assert!((1888..=2100).contains(&from) && (1888..=2100).contains(&to) && from <= to, "{from}-{to}");
            }
            let terms = s.query.terms();
            assert!(!terms.is_empty() && terms.len() <= oasis_text::MAX_QUERY_TERMS, "{terms:?}");
            assert!(terms.iter().all(|t| !t.is_empty() && t.len() <= oasis_text::MAX_TERM_BYTES), "{terms:?}");
            assert_eq!(oasis_text::SearchQuery::parse(s.query.text()).as_ref(), Ok(&s.query), "cleaning is idempotent");
        }
        Err(e) => {
            assert!(matches!(e.status().as_u16(), 400 | 413 | 415), "{e:?} is {}", e.status());
            assert!(!e.is_server_fault(), "{e:?}");
            assert!(matches!(e.code(), "invalid_request" | "invalid_query"), "{e:?}: {}", e.code());
            assert!(!matches!(e, SearchError::Store(_) | SearchError::Bearer(_) | SearchError::InvalidCursor));
        }
    }
}

pub fn seeds(events: &[Event]) -> Vec<Vec<u8>> {
    let searches = events.iter().filter(|e| e.json["path"] == "/search");
    let mut seeds: Vec<Vec<u8>> = searches
        .filter_map(|e| if e.method() == "POST" { e.body() } else { e.query_string().map(String::into_bytes) })
        .collect();
    seeds.push(br#"{"query": "amelie", "genre": "drama", "year": 2001, "limit": 50, "cursor": "x"}"#.to_vec());
    seeds.push(b"q=the+matrix&genre=scifi&year=1990-2010&limit=1".to_vec());
    seeds
}
