//! search: each test names the attack it stops, on the committed catalog in a real store.

use oasis_lambda::Cors;
use oasis_search::{App, CursorKey};
use oasis_store::{CatalogQuery, Title};
use oasis_testkit::{AUDIENCE, ISSUER, World};
use oasis_testkit::{Reply, event, reply, request};
use serde_json::{Value, json};

const TITLES: usize = 2_000;

async fn world() -> (World, oasis_lambda::shell::Lambda<App>) {
    let w = World::new(TITLES).await;
    let app = oasis_lambda::shell::Lambda::new(App::new(
        w.store.clone(),
        w.verifier(),
        CursorKey::new(&[42u8; 32]).unwrap(),
        Cors::default(),
    ));
    (w, app)
}

async fn get(app: &oasis_lambda::shell::Lambda<App>, query: &str, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    reply(app.handle(request(&event("GET", &format!("/search?{query}"), &[("Authorization", &auth)], None))).await)
}

async fn post(app: &oasis_lambda::shell::Lambda<App>, body: &Value, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    reply(app.handle(request(&event("POST", "/search", &headers, Some(&body.to_string())))).await)
}

fn titles(r: &Reply) -> Vec<String> {
    r.json()["results"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_owned()).collect()
}

fn q(s: &str) -> String {
    serde_urlencoded::to_string([("q", s)]).unwrap()
}

#[tokio::test]
async fn word_and_prefix_search_ignores_case_and_accents() {
    let (w, app) = world().await;
    let t = w.token(&w.admin, "search");
    assert!(titles(&get(&app, &q("amelie"), &t).await).contains(&"Amélie".to_owned()));
    let matr = titles(&get(&app, &format!("{}&limit=50", q("the matr")), &t).await);
    assert!(matr.contains(&"The Matrix".to_owned()) && matr.contains(&"The Matrix Reloaded".to_owned()), "{matr:?}");
    assert!(titles(&get(&app, &q("CRÈME brû"), &t).await).iter().all(|t| t.to_lowercase().contains("crème")));
    let post_r = post(&app, &json!({"query": "the matr", "limit": 50}), &t).await;
    assert_eq!(titles(&post_r), matr, "GET and POST search alike");
}

#[tokio::test]
async fn filters_narrow_by_genre_and_year_range() {
    let (w, app) = world().await;
    let t = w.token(&w.admin, "search");
    let r = get(&app, &format!("{}&genre=scifi&year=1990-2005&limit=50", q("the")), &t).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let results = r.json()["results"].as_array().unwrap().clone();
    assert!(!results.is_empty());
    for hit in results {
        assert_eq!(hit["genre"], "scifi");
        assert!((1990..=2005).contains(&hit["year"].as_u64().unwrap()));
    }
    let exact = post(&app, &json!({"query": "matrix", "year": 1999, "genre": "scifi"}), &t).await;
    assert!(titles(&exact).contains(&"The Matrix".to_owned()));
    for hit in exact.json()["results"].as_array().unwrap() {
        assert_eq!((hit["year"].as_u64(), hit["genre"].as_str()), (Some(1999), Some("scifi")));
    }
}

#[tokio::test]
async fn maturity_bypass_is_impossible_on_any_page() {
    let (w, app) = world().await;
    // demo's ceiling is 13; walk every page of a broad query.
    let t = w.token(&w.demo, "search");
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let mut query = format!("{}&limit=50", q("the"));
        if let Some(c) = &cursor {
            query.push_str(&format!("&cursor={c}"));
        }
        let r = get(&app, &query, &t).await;
        assert_eq!(r.status, 200, "{}", r.text);
        for hit in r.json()["results"].as_array().unwrap() {
            assert!(hit["maturity"].as_u64().unwrap() <= 13, "{hit}");
            seen += 1;
        }
        match r.json()["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert!(seen > 50, "several pages were walked ({seen})");
    // A client cannot raise its own ceiling: "maturity" is not a field the API accepts.
    let r = post(&app, &json!({"query": "night shift", "maturity": 18}), &t).await;
    assert_eq!(r.status, 400);
    let r = post(&app, &json!({"query": "night shift"}), &t).await;
    assert!(!titles(&r).contains(&"Night Shift".to_owned()), "rated 18, hidden from a 13 ceiling");
    let adult = w.token(&w.admin, "search");
    assert!(titles(&post(&app, &json!({"query": "night shift"}), &adult).await).contains(&"Night Shift".to_owned()));
}

#[tokio::test]
async fn pages_cover_every_match_exactly_once_in_a_stable_order() {
    let (w, app) = world().await;
    let t = w.token(&w.admin, "search");
    let mut all = vec![];
    let mut body = json!({"query": "of", "limit": 7});
    loop {
        let r = post(&app, &body, &t).await;
        assert_eq!(r.status, 200, "{}", r.text);
        all.extend(r.json()["results"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_owned()));
        match r.json()["next_cursor"].as_str() {
            Some(c) => body["cursor"] = c.into(),
            None => break,
        }
    }
    let reference = w
        .store
        .as_ref()
        .search(&CatalogQuery {
            terms: vec!["of".into()],
            genre: None,
            year_from: None,
            year_to: None,
            max_maturity: oasis_store::Maturity::ADULT,
            after: None,
            limit: 10_000,
        })
        .await
        .unwrap();
    assert_eq!(reference.resume_after, None, "the reference read the whole range");
    let want: Vec<String> = reference.titles.into_iter().map(|t: Title| t.id).collect();
    assert_eq!(all, want);
}

#[tokio::test]
async fn cursor_tampering_or_reuse_with_another_query_gets_400() {
    let (w, app) = world().await;
    let t = w.token(&w.admin, "search");
    let r = get(&app, &format!("{}&limit=2", q("the")), &t).await;
    let cursor = r.json()["next_cursor"].as_str().unwrap().to_owned();
    let mut flipped = cursor.clone().into_bytes();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for (name, query) in [
        ("altered", format!("{}&limit=2&cursor={flipped}", q("the"))),
        ("garbage", format!("{}&cursor=not-a-cursor", q("the"))),
        ("from another query", format!("{}&limit=2&cursor={cursor}", q("matrix"))),
        ("from another filter", format!("{}&genre=drama&limit=2&cursor={cursor}", q("the"))),
    ] {
        let r = get(&app, &query, &t).await;
        assert_eq!((r.status, r.error().as_deref()), (400, Some("invalid_cursor")), "{name}");
    }
    // And a cursor minted for the adult ceiling does not carry over to a child's token.
    let child = w.token(&w.demo, "search");
    let r = get(&app, &format!("{}&limit=2&cursor={cursor}", q("the")), &child).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn bopla_via_extra_json_fields_is_refused() {
    let (w, app) = world().await;
    let t = w.token(&w.admin, "search");
    for body in [
        json!({"query": "x", "max_maturity": 18}),
        json!({"query": "x", "user_id": "usr_other"}),
        json!({"query": "x", "__proto__": {}}),
        json!(["query", "x"]),
        json!("x"),
    ] {
        let r = post(&app, &body, &t).await;
        assert_eq!((r.status, r.error().as_deref()), (400, Some("invalid_request")), "{body}");
    }
    let r = get(&app, &format!("{}&debug=1", q("x")), &t).await;
    assert_eq!(r.status, 400, "unknown query parameters too");
    let r = get(&app, &format!("{}&{}", q("x"), q("y")), &t).await;
    assert_eq!(r.status, 400, "repeated parameters");
}

#[tokio::test]
async fn oversized_and_out_of_range_input_gets_a_clear_400() {
    let (w, app) = world().await;
    let t = w.token(&w.admin, "search");
    // The description says the limit a client broke, so it can fix the request.
    for (query, says) in [
        (q(&"a".repeat(201)), "text too long (at most 200 characters)"),
        (q("a b c d e f g h i"), "query has too many words (at most 8)"),
    ] {
        let r = get(&app, &query, &t).await;
        assert_eq!(r.json()["error_description"], says);
    }
    let cases = [
        (q(&"a".repeat(201)), "invalid_query"),
        (q("a b c d e f g h i"), "invalid_query"),
        // API Gateway caps a REST request line near 8 KiB; bigger inputs arrive as bodies (413 below).
        (q(&"x".repeat(8_000)), "invalid_query"),
        (format!("{}&limit=0", q("x")), "invalid_request"),
        (format!("{}&limit=51", q("x")), "invalid_request"),
        (format!("{}&limit=-1", q("x")), "invalid_request"),
        (format!("{}&year=3000", q("x")), "invalid_request"),
        (format!("{}&year=2005-1990", q("x")), "invalid_request"),
        (format!("{}&genre=opera", q("x")), "invalid_request"),
        ("genre=drama".to_owned(), "invalid_request"),
    ];
    for (query, error) in cases {
        let r = get(&app, &query, &t).await;
        assert_eq!((r.status, r.error().as_deref()), (400, Some(error)), "{}", &query[..query.len().min(60)]);
        assert!(r.text.len() < 200, "errors never echo the input");
    }
    let big = json!({"query": "x".repeat(100_000)});
    assert_eq!(post(&app, &big, &t).await.status, 413);
    let auth = format!("Bearer {t}");
    let form = reply(
        app.handle(request(&event(
            "POST",
            "/search",
            &[("Authorization", &auth), ("Content-Type", "text/plain")],
            Some("q=x"),
        )))
        .await,
    );
    assert_eq!(form.status, 415);
}

#[tokio::test]
async fn tokens_from_another_audience_or_without_the_search_scope_are_refused() {
    let (w, app) = world().await;
    let foreign = w.token_with(ISSUER, "another-api", w.demo.id.as_str(), "oasis-demo", "search", Some(13));
    assert_eq!(get(&app, &q("x"), &foreign).await.status, 401);
    let r = get(&app, &q("x"), &w.token(&w.demo, "data:read")).await;
    assert_eq!((r.status, r.error().as_deref()), (403, Some("insufficient_scope")));
    let r = reply(app.handle(request(&event("GET", "/search?q=x", &[], None))).await);
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn partner_clients_search_with_an_all_ages_ceiling() {
    let (w, app) = world().await;
    let t = w.token_with(ISSUER, AUDIENCE, "oasis-demo-service", "oasis-demo-service", "search", None);
    let r = get(&app, &format!("{}&limit=50", q("the")), &t).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["results"].as_array().unwrap().iter().all(|h| h["maturity"] == 0));
}

#[tokio::test]
async fn a_cut_off_user_cannot_search() {
    let (w, app) = world().await;
    let t = w.token(&w.demo, "search");
    oasis_admin::revoke_user_tokens(w.store.as_ref(), "demo").await.unwrap();
    assert_eq!(get(&app, &q("x"), &t).await.status, 401);
}

#[tokio::test]
async fn a_json_body_that_is_not_utf8_gets_400() {
    let (w, app) = world().await;
    let auth = format!("Bearer {}", w.token(&w.admin, "search"));
    let mut req =
        request(&event("POST", "/search", &[("Authorization", &auth), ("Content-Type", "application/json")], None));
    *req.body_mut() = lambda_http::Body::Binary(vec![0xff, 0xfe, b'{']);
    let r = reply(app.handle(req).await);
    assert_eq!((r.status, r.error().as_deref()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn rejected_tokens_and_inputs_are_counted_by_reason() {
    use oasis_lambda::metrics::{Metrics, validate};
    let (w, app) = world().await;
    let app = app.with_metrics(Metrics::capture("search"));
    let foreign = w.token_with(ISSUER, "another-api", w.demo.id.as_str(), "oasis-demo", "search", Some(13));
    get(&app, &q("x"), &foreign).await;
    get(&app, &q("x"), "not-a-jwt").await;
    get(&app, &format!("{}&limit=99", q("x")), &w.token(&w.demo, "search")).await;
    get(&app, &q("%_%"), &w.token(&w.demo, "search")).await;
    let docs = app.metrics().take();
    let reasons: Vec<(String, String)> = docs
        .iter()
        .map(|d| {
            assert!(validate(d).is_empty(), "{d}");
            let v: Value = serde_json::from_str(d).unwrap();
            let metric = ["TokenRejected", "InputRejected"].into_iter().find(|m| v.get(*m).is_some()).unwrap_or("none");
            (metric.to_owned(), v["reason"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    let want = [
        ("TokenRejected", "wrong_audience"),
        ("TokenRejected", "malformed"),
        ("InputRejected", "invalid_request"),
        ("InputRejected", "no_terms"),
    ];
    assert_eq!(reasons, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
}
