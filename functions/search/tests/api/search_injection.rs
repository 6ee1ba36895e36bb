//! Injection safety: whatever the query text, the answer is a clear 400 or exactly the
//! literal matches a reference model computes — never a 500, never an extra row.

use oasis_lambda::Cors;
use oasis_search::{App, CursorKey};
use oasis_store::{CatalogQuery, Title};
use oasis_testkit::World;
use oasis_testkit::{event, reply, request};
use oasis_text::SearchQuery;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

const TITLES: usize = 1_000;
const LIMIT: usize = 50;

struct Harness {
    rt: tokio::runtime::Runtime,
    world: World,
    app: oasis_lambda::shell::Lambda<App>,
    catalog: Vec<Title>,
    token: String,
}

fn harness() -> Harness {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let world = rt.block_on(World::new(TITLES));
    let app = oasis_lambda::shell::Lambda::new(App::new(
        world.store.clone(),
        world.verifier(),
        CursorKey::new(&[9u8; 32]).unwrap(),
        Cors::default(),
    ));
    let token = world.token(&world.demo, "search");
    let catalog = oasis_admin::catalog::generate(TITLES, oasis_admin::catalog::DEFAULT_SEED);
    Harness { rt, world, app, catalog, token }
}

impl Harness {
    fn send(&self, headers: &[(&str, &str)], body: &serde_json::Value) -> oasis_testkit::Reply {
        let body = body.to_string();
        self.rt
            .block_on(async { reply(self.app.handle(request(&event("POST", "/search", headers, Some(&body)))).await) })
    }

    /// Sends the query; on 200 checks the results equal the reference model's literal matches.
    /// Pages are followed by their cursor until `LIMIT` results: a page whose matches are sparse
    /// in the index may be short (the store's read budget), and the client reads on.
    fn check(&self, query: &str) -> Result<u16, String> {
        let auth = format!("Bearer {}", self.token);
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        let mut body = json!({ "query": query, "limit": LIMIT });
        let r = self.send(&headers, &body);
        match r.status {
            400 | 413 => Ok(r.status),
            200 => {
                let parsed =
                    SearchQuery::parse(query).map_err(|e| format!("200 for a query the parser refuses: {e}"))?;
                let model = CatalogQuery {
                    terms: parsed.terms().to_vec(),
                    genre: None,
                    year_from: None,
                    year_to: None,
                    max_maturity: self.world.demo.maturity,
                    after: None,
                    limit: LIMIT,
                };
                let mut want: Vec<&Title> = self.catalog.iter().filter(|t| model.matches(t)).collect();
                want.sort_by_key(|t| (t.sort_key(), t.id.clone()));
                let want: Vec<&str> = want.iter().take(LIMIT).map(|t| t.id.as_str()).collect();
                let mut got: Vec<String> = vec![];
                let mut page = r;
                for _ in 0..100 {
                    if page.status != 200 {
                        return Err(format!("{query:?}: a later page answered {}: {}", page.status, page.text));
                    }
                    let json = page.json();
                    got.extend(
                        json["results"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_owned()),
                    );
                    match json["next_cursor"].as_str() {
                        Some(c) if got.len() < LIMIT => body["cursor"] = c.into(),
                        _ => break,
                    }
                    page = self.send(&headers, &body);
                }
                got.truncate(LIMIT);
                if got == want { Ok(200) } else { Err(format!("{query:?}: got {got:?}, literal matches {want:?}")) }
            }
            other => Err(format!("{query:?}: status {other}: {}", r.text)),
        }
    }
}

#[test]
fn a_corpus_of_hostile_queries_gets_400_or_only_literal_matches() {
    let h = harness();
    let corpus: Vec<String> = vec![
        "' OR '1'='1".into(),
        "\" OR \"\"=\"".into(),
        "matrix'; DROP TABLE titles; --".into(),
        "matrix\" UNION SELECT password_hash FROM users --".into(),
        "1; SELECT * FROM users".into(),
        "/* comment */ matrix".into(),
        "matrix -- comment".into(),
        "%".into(),
        "%%".into(),
        "_".into(),
        "m%x".into(),
        "ma_rix".into(),
        "\\".into(),
        "matrix\0".into(),
        "\0".into(),
        "mat\u{0}rix".into(),
        "\u{FFFD}\u{FFFD}".into(),
        "аmelie".into(),       // Cyrillic а: a homoglyph, searched literally (no match)
        "ａｍｅｌｉｅ".into(), // fullwidth: NFKC makes it plain "amelie"
        "amé\u{301}lie".into(),
        "the\u{202E}xirtam".into(),
        "the\u{200B}matrix".into(),
        "\u{E0049}\u{E0067}\u{E006E}matrix".into(),
        "$where: 1".into(),
        "{\"$gt\": \"\"}".into(),
        "<script>alert(1)</script>".into(),
        "${jndi:ldap://x}".into(),
        "x".repeat(100_000),
        "matrix ".repeat(400),
        "🎬 matrix".into(),
        "".into(),
        "   ".into(),
    ];
    let mut statuses = vec![];
    for q in &corpus {
        statuses.push(h.check(q).unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(statuses.contains(&200) && statuses.contains(&400), "{statuses:?}");
    assert_eq!(h.check("ａｍｅｌｉｅ"), Ok(200));
}

#[test]
fn any_query_string_is_refused_with_400_or_answered_with_literal_matches_only() {
    let h = harness();
    let words = prop_oneof![
        Just("the".to_owned()),
        Just("matr".to_owned()),
        Just("amé".to_owned()),
        Just("'".to_owned()),
        Just("%".to_owned()),
        Just("_".to_owned()),
        Just("--".to_owned()),
        "[a-z]{1,4}",
        "\\PC{1,6}",
        "[\\x00-\\x{10FFFF}]{1,3}",
    ];
    let query = proptest::collection::vec(words, 0..6).prop_map(|w| w.join(" "));
    let mut runner = TestRunner::new(Config { cases: 300, failure_persistence: None, ..Config::default() });
    runner
        .run(&query, |q| {
            h.check(&q).map_err(TestCaseError::fail)?;
            Ok(())
        })
        .unwrap();
}
