//! `/authorize`: the code flow's pages, and the attacks on them (open redirect, PKCE
//! downgrade, CSRF, session fixation, enumeration).

use oasis_admin::demo::{APP_CLIENT, APP_REDIRECT_URI, DEMO_USER};
use oasis_auth::secret::token_hash;
use oasis_store::{AuthCodeStore, CodeRedemption};
use oasis_testkit::{FORM, ISSUER, Reply, event, form, reply, request};

use crate::common::{self, Fixture, hidden, set_cookie};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The demo data and a third-party app, `partner-app`.
async fn fixture() -> Fixture {
    let f = common::fixture().await;
    let partner = oasis_admin::NewClient {
        client_id: "partner-app".into(),
        name: "Partner <Movies>".into(),
        confidential: false,
        first_party: false,
        grant_types: vec!["authorization_code".into()],
        scopes: vec!["search".into(), "data:read".into()],
        refresh_in_cookie: false,
        allowed_origins: vec![],
        redirect_uris: vec!["https://partner.example/cb".into()],
        legacy_password_grant: false,
    };
    oasis_admin::create_client(f.store.as_ref(), partner).await.unwrap();
    f
}

/// The query of a valid request of the demo app, with `overrides` (an empty value drops it).
fn query(overrides: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", APP_CLIENT),
        ("redirect_uri", APP_REDIRECT_URI),
        ("scope", "data:read search"),
        ("state", "xyz-123"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in overrides {
        pairs.retain(|(n, _)| n != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    form(&pairs)
}

async fn get(f: &Fixture, path: &str, cookie: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
    reply(f.app.handle(request(&event("GET", path, &headers, None))).await)
}

/// The parameters of a redirect's `Location`, with what precedes the query.
fn location(r: &Reply) -> (String, std::collections::BTreeMap<String, String>) {
    assert_eq!(r.status, 303, "a redirect: {}", r.text);
    let loc = r.header("location").unwrap();
    let (base, q) = loc.split_once('?').unwrap();
    (base.to_owned(), serde_urlencoded::from_str(q).unwrap())
}

/// Loads the sign-in page for `q` and posts the form with `user`/`password`; the cookies
/// the browser holds are `cookies` plus the CSRF one.
async fn sign_in(f: &Fixture, q: &str, user: &str, password: &str, cookies: &str) -> Reply {
    let page = get(f, &format!("/authorize?{q}"), (!cookies.is_empty()).then_some(cookies)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf_cookie = set_cookie(&page, "__Host-oasis_csrf").unwrap();
    let all_cookies = if cookies.is_empty() { csrf_cookie } else { format!("{cookies}; {csrf_cookie}") };
    let mut fields: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
    fields.push(("csrf".into(), hidden(&page.text, "csrf").unwrap()));
    fields.extend([
        ("action".into(), "signin".into()),
        ("username".into(), user.into()),
        ("password".into(), password.into()),
    ]);
    let body = serde_urlencoded::to_string(&fields).unwrap();
    let headers = [FORM, ("Cookie", all_cookies.as_str()), ("Origin", ISSUER)];
    reply(f.app.handle(request(&event("POST", "/authorize", &headers, Some(&body)))).await)
}

#[tokio::test]
async fn a_first_party_app_gets_a_code_at_its_redirect_uri_with_its_state_and_our_issuer() {
    let f = fixture().await;
    let page = get(&f, &format!("/authorize?{}", query(&[])), None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Sign in to continue to <strong>Oasis</strong>"), "{}", page.text);
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("form-action 'self' http://localhost:5173;"),
        "the form may end at the app's origin only: {csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("script-src"), "{csp}");
    let done = sign_in(&f, &query(&[]), DEMO_USER, &f.creds.demo_password, "").await;
    let (base, params) = location(&done);
    assert_eq!(base, APP_REDIRECT_URI);
    assert_eq!((params["state"].as_str(), params["iss"].as_str()), ("xyz-123", ISSUER));
    let code = &params["code"];
    assert!(code.len() >= 43, "256-bit code");
    match f.store.redeem_code(&token_hash(code), "fam", oasis_auth::now()).await.unwrap() {
        CodeRedemption::Redeemed(c) => {
            assert_eq!((c.redirect_uri.as_str(), c.code_challenge.as_str()), (APP_REDIRECT_URI, CHALLENGE));
            assert_eq!(c.scope.to_string(), "data:read search");
            assert_eq!(c.valid_until - c.created_at, 60);
        }
        other => panic!("the code is stored by its hash: {other:?}"),
    }
    assert!(set_cookie(&done, "__Host-oasis_session").is_some(), "signing in starts a session");
}

#[tokio::test]
async fn a_signed_in_person_is_not_asked_for_the_password_again_and_signing_out_ends_that() {
    let f = fixture().await;
    let first = sign_in(&f, &query(&[]), DEMO_USER, &f.creds.demo_password, "").await;
    let session = set_cookie(&first, "__Host-oasis_session").unwrap();
    // A public app on a loopback redirect: one click ("continue as"), never silent.
    let again = get(&f, &format!("/authorize?{}", query(&[("state", "second")])), Some(&session)).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert!(
        again.text.contains("wants to use your account <strong>demo</strong>")
            && !again.text.contains("id=\"password\"")
    );
    let csrf_cookie = set_cookie(&again, "__Host-oasis_csrf").unwrap();
    let mut fields: Vec<(String, String)> = serde_urlencoded::from_str(&query(&[("state", "second")])).unwrap();
    fields.extend([("csrf".into(), hidden(&again.text, "csrf").unwrap()), ("action".into(), "allow".into())]);
    let body = serde_urlencoded::to_string(&fields).unwrap();
    let cookies = format!("{session}; {csrf_cookie}");
    let allowed = reply(
        f.app
            .handle(request(&event(
                "POST",
                "/authorize",
                &[FORM, ("Cookie", &cookies), ("Origin", ISSUER)],
                Some(&body),
            )))
            .await,
    );
    let (_, params) = location(&allowed);
    assert!(params.contains_key("code") && params["state"] == "second");
    // Sign out with the page's CSRF token.
    let page = get(&f, "/device", None).await;
    let csrf = set_cookie(&page, "__Host-oasis_csrf").unwrap();
    let cookies = format!("{session}; {csrf}");
    let body = form(&[("csrf", &hidden(&page.text, "csrf").unwrap())]);
    let out = reply(
        f.app
            .handle(request(&event("POST", "/signout", &[FORM, ("Cookie", &cookies), ("Origin", ISSUER)], Some(&body))))
            .await,
    );
    assert_eq!(out.status, 200, "{}", out.text);
    assert!(set_cookie(&out, "__Host-oasis_session").is_some_and(|c| c == "__Host-oasis_session="), "cleared");
    let after = get(&f, &format!("/authorize?{}", query(&[])), Some(&session)).await;
    assert!(after.text.contains("Sign in to continue"), "the old cookie no longer signs anyone in");
}

#[tokio::test]
async fn a_sign_in_session_from_before_a_cut_off_signs_nobody_in_after_it() {
    let f = fixture().await;
    let first = sign_in(&f, &query(&[]), DEMO_USER, &f.creds.demo_password, "").await;
    let session = set_cookie(&first, "__Host-oasis_session").unwrap();
    let before = get(&f, &format!("/authorize?{}", query(&[])), Some(&session)).await;
    assert!(before.text.contains("wants to use your account <strong>demo</strong>"), "{}", before.text);
    oasis_admin::revoke_user_tokens(f.store.as_ref(), DEMO_USER).await.unwrap();
    let after = get(&f, &format!("/authorize?{}", query(&[])), Some(&session)).await;
    assert!(after.text.contains("Sign in to continue"), "{}", after.text);
}

#[tokio::test]
async fn session_fixation_a_session_value_the_browser_brought_is_never_the_one_signed_in() {
    let f = fixture().await;
    // An attacker who got a cookie value into the victim's browser (`__Host-` keeps sibling
    // domains from setting one; this is the case where that failed) waits for the victim to
    // sign in, hoping to share the session.
    let planted = "__Host-oasis_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let victim = sign_in(&f, &query(&[]), DEMO_USER, &f.creds.demo_password, planted).await;
    assert_eq!(victim.status, 303, "{}", victim.text);
    let issued = set_cookie(&victim, "__Host-oasis_session").unwrap();
    assert_ne!(issued, planted, "a fresh session value at sign-in");
    let with_planted = get(&f, &format!("/authorize?{}", query(&[])), Some(planted)).await;
    assert!(with_planted.text.contains("id=\"password\""), "the planted value signs no one in: {}", with_planted.text);
    let with_issued = get(&f, &format!("/authorize?{}", query(&[])), Some(&issued)).await;
    assert!(with_issued.text.contains("wants to use your account <strong>demo</strong>"), "the issued one does");
    // Each sign-in gets a value of its own.
    let again = sign_in(&f, &query(&[]), DEMO_USER, &f.creds.demo_password, "").await;
    assert_ne!(set_cookie(&again, "__Host-oasis_session").unwrap(), issued);
}

#[tokio::test]
async fn a_third_party_app_is_shown_who_asks_for_what_and_a_denial_goes_back_as_access_denied() {
    let f = fixture().await;
    let q = query(&[("client_id", "partner-app"), ("redirect_uri", "https://partner.example/cb"), ("scope", "search")]);
    let consent = sign_in(&f, &q, DEMO_USER, &f.creds.demo_password, "").await;
    assert_eq!(consent.status, 200, "{}", consent.text);
    assert!(
        consent.text.contains("Partner &lt;Movies&gt;") && consent.text.contains("Search the catalog"),
        "{}",
        consent.text
    );
    assert!(!consent.text.contains("Partner <Movies>"));
    let session = set_cookie(&consent, "__Host-oasis_session").unwrap();
    let csrf_cookie = consent
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-oasis_csrf"));
    assert!(csrf_cookie.is_none(), "the CSRF cookie from the sign-in page is reused");
    let token = hidden(&consent.text, "csrf").unwrap();
    let decide = |action: &'static str| {
        let mut fields: Vec<(String, String)> = serde_urlencoded::from_str(&q).unwrap();
        fields.push(("csrf".into(), token.clone()));
        fields.push(("action".into(), action.into()));
        serde_urlencoded::to_string(&fields).unwrap()
    };
    let cookies = format!("{session}; __Host-oasis_csrf={token}");
    let headers = [FORM, ("Cookie", cookies.as_str()), ("Origin", ISSUER)];
    let post = |body: String| request(&event("POST", "/authorize", &headers, Some(&body)));
    let (base, denied) = location(&reply(f.app.handle(post(decide("deny"))).await));
    assert_eq!(
        (base.as_str(), denied["error"].as_str(), denied["state"].as_str()),
        ("https://partner.example/cb", "access_denied", "xyz-123")
    );
    let (_, allowed) = location(&reply(f.app.handle(post(decide("allow"))).await));
    assert!(allowed.contains_key("code"), "{allowed:?}");
}

#[tokio::test]
async fn open_redirect_an_unknown_client_or_unregistered_redirect_uri_gets_an_error_page_never_a_redirect() {
    let f = fixture().await;
    let cases = [
        ("another host", query(&[("redirect_uri", "https://attacker.example/callback")])),
        ("path traversal", query(&[("redirect_uri", "http://localhost:5173/callback/../steal")])),
        ("a longer path", query(&[("redirect_uri", "http://localhost:5173/callback/x")])),
        ("a prefix of the path", query(&[("redirect_uri", "http://localhost:5173/call")])),
        ("an added query", query(&[("redirect_uri", "http://localhost:5173/callback?next=https://attacker.example")])),
        ("a lookalike host", query(&[("redirect_uri", "http://localhost.attacker.example:5173/callback")])),
        ("another app's URI", query(&[("redirect_uri", "https://partner.example/cb")])),
        ("no redirect URI", query(&[("redirect_uri", "")])),
        ("an unknown client", query(&[("client_id", "no-such-app")])),
        ("no client", query(&[("client_id", "")])),
    ];
    for (name, q) in cases {
        let r = get(&f, &format!("/authorize?{q}"), None).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        assert!(r.header("location").is_none(), "{name}: never a redirect");
        assert!(r.text.contains("Sign-in problem"), "{name}");
    }
}

#[tokio::test]
async fn a_listener_on_a_local_port_gets_no_code_without_a_click_of_the_signed_in_person() {
    let f = fixture().await;
    let first = sign_in(&f, &query(&[]), DEMO_USER, &f.creds.demo_password, "").await;
    let session = set_cookie(&first, "__Host-oasis_session").unwrap();
    // Anything on the machine can listen on a loopback port and open this link with its own
    // PKCE challenge (RFC 8252 §8.6): a page, not a silent redirect with a code.
    let q = query(&[("redirect_uri", "http://127.0.0.1:31337/callback")]);
    let r = get(&f, &format!("/authorize?{q}"), Some(&session)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("location").is_none());
    let other_port =
        get(&f, &format!("/authorize?{}", query(&[("redirect_uri", "http://localhost:31337/callback")])), None).await;
    assert_eq!(other_port.status, 400, "localhost is matched exactly, not on any port");
}

#[tokio::test]
async fn a_native_app_loopback_redirect_matches_on_any_port_but_not_another_path() {
    let f = fixture().await;
    let ok =
        get(&f, &format!("/authorize?{}", query(&[("redirect_uri", "http://127.0.0.1:51873/callback")])), None).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let other =
        get(&f, &format!("/authorize?{}", query(&[("redirect_uri", "http://127.0.0.1:51873/other")])), None).await;
    assert_eq!(other.status, 400);
}

#[tokio::test]
async fn pkce_downgrade_a_request_without_an_s256_challenge_is_refused_at_the_redirect_uri() {
    let f = fixture().await;
    for (name, overrides) in [
        ("no challenge", vec![("code_challenge", ""), ("code_challenge_method", "")]),
        ("plain", vec![("code_challenge_method", "plain")]),
        ("no method (plain by default)", vec![("code_challenge_method", "")]),
        ("a malformed challenge", vec![("code_challenge", "short")]),
    ] {
        let r = get(&f, &format!("/authorize?{}", query(&overrides)), None).await;
        let (base, params) = location(&r);
        assert_eq!(base, APP_REDIRECT_URI, "{name}");
        assert_eq!(
            (params["error"].as_str(), params["state"].as_str(), params["iss"].as_str()),
            ("invalid_request", "xyz-123", ISSUER),
            "{name}"
        );
        assert!(!params.contains_key("code"));
    }
}

#[tokio::test]
async fn other_bad_requests_go_back_to_the_app_with_their_rfc_6749_error() {
    let f = fixture().await;
    for (overrides, error) in [
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("response_type", "")], "unsupported_response_type"),
        (vec![("scope", "admin")], "invalid_scope"),
        (vec![("scope", "nonsense")], "invalid_scope"),
    ] {
        let (_, params) = location(&get(&f, &format!("/authorize?{}", query(&overrides)), None).await);
        assert_eq!(params["error"], error, "{overrides:?}");
    }
    let tv = query(&[("client_id", oasis_admin::demo::TV_CLIENT)]);
    assert_eq!(get(&f, &format!("/authorize?{tv}"), None).await.status, 400, "the TV app registered no redirect URI");
}

#[tokio::test]
async fn csrf_a_sign_in_form_posted_without_its_token_or_from_another_origin_issues_nothing() {
    let f = fixture().await;
    let mut fields: Vec<(String, String)> = serde_urlencoded::from_str(&query(&[])).unwrap();
    fields.extend([
        ("action".into(), "signin".into()),
        ("username".into(), DEMO_USER.into()),
        ("password".into(), f.creds.demo_password.clone()),
        ("csrf".into(), "B".repeat(43)),
    ]);
    let body = serde_urlencoded::to_string(&fields).unwrap();
    for (name, headers) in [
        (
            "a token that is not the cookie's",
            vec![FORM, ("Cookie", "__Host-oasis_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), ("Origin", ISSUER)],
        ),
        (
            "another origin",
            vec![
                FORM,
                ("Cookie", "__Host-oasis_csrf=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"),
                ("Origin", "https://attacker.example"),
            ],
        ),
    ] {
        let r = reply(f.app.handle(request(&event("POST", "/authorize", &headers, Some(&body)))).await);
        assert_eq!(r.status, 403, "{name}: {}", r.text);
        assert!(
            r.header("location").is_none() && r.header("set-cookie").is_none_or(|c| !c.contains("oasis_session")),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_page_and_no_code() {
    let f = fixture().await;
    let wrong = sign_in(&f, &query(&[]), DEMO_USER, "not-the-password", "").await;
    let unknown = sign_in(&f, &query(&[]), "nobody-here", "not-the-password", "").await;
    assert_eq!((wrong.status, unknown.status), (400, 400));
    let strip = |t: &str, user: &str| {
        let t = t.replace(user, "USER");
        let at = t.find("name=\"csrf\" value=\"").unwrap();
        format!("{}{}", &t[..at], &t[at + 62..])
    };
    assert_eq!(strip(&wrong.text, DEMO_USER), strip(&unknown.text, "nobody-here"), "no enumeration oracle");
    assert!(wrong.header("location").is_none());
}

#[tokio::test]
async fn a_pkce_refusal_is_counted_by_its_own_reason_and_nothing_else_claims_the_document() {
    let f = fixture().await;
    let app = oasis_lambda::shell::Lambda::new(oasis_signin::App::new(
        f.store.clone(),
        oasis_auth::password::PasswordHasher::default_params().unwrap(),
        oasis_signin::Settings::new(ISSUER),
    ))
    .with_metrics(oasis_lambda::metrics::Metrics::capture("signin"));
    for (overrides, reason) in [
        (vec![("code_challenge", ""), ("code_challenge_method", "")], "missing"),
        (vec![("code_challenge_method", "plain")], "not_s256"),
    ] {
        app.handle(request(&event("GET", &format!("/authorize?{}", query(&overrides)), &[], None))).await;
        let docs = app.metrics().take();
        let doc: serde_json::Value = serde_json::from_str(docs.last().unwrap()).unwrap();
        assert_eq!((doc["PkceRefused"].as_f64(), doc["reason"].as_str()), (Some(1.0), Some(reason)), "{doc}");
        assert!(doc["AuthorizeRefused"].is_null(), "{doc}");
    }
    app.handle(request(&event("GET", &format!("/authorize?{}", query(&[("scope", "admin")])), &[], None))).await;
    let doc: serde_json::Value = serde_json::from_str(app.metrics().take().last().unwrap()).unwrap();
    assert_eq!((doc["AuthorizeRefused"].as_f64(), doc["reason"].as_str()), (Some(1.0), Some("invalid_scope")), "{doc}");
}
