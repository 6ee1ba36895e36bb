//! `/device`: entering a code, reviewing, signing in, approving or denying; CSRF, clickjacking,
//! code guessing, phishing and markup injection.

use oasis_admin::demo::{DEMO_USER, TV_CLIENT};
use oasis_auth::password::PasswordHasher;
use oasis_domain::{ClientId, ScopeSet, UserCode, Username};
use oasis_store::{DeviceGrant, DeviceGrantState, DeviceGrantStore, ThrottleStore, UserStore};
use oasis_testkit::{FORM, ISSUER, Reply, event, form, reply, request};

use crate::common::{Fixture, fixture, hidden};

/// A pending grant of the demo TV app for `code`, as `/device_authorization` makes one.
async fn pending(f: &Fixture, code: &str, client: &str) -> UserCode {
    let now = oasis_auth::now();
    let user_code = UserCode::parse(code).unwrap();
    let grant = DeviceGrant {
        device_code_hash: format!("hash-of-{code}"),
        user_code: user_code.clone(),
        client_id: ClientId::parse(client).unwrap(),
        scope: ScopeSet::parse("data:read search").unwrap(),
        created_at: now,
        expires_at: now + 900,
        interval: 5,
        last_polled_at: None,
        state: DeviceGrantState::Pending,
    };
    f.store.create_device_grant(&grant, now).await.unwrap();
    user_code
}

async fn state(f: &Fixture, code: &UserCode) -> DeviceGrantState {
    f.store.device_grant_by_user_code(code, oasis_auth::now()).await.unwrap().unwrap().state
}

async fn get(f: &Fixture, path: &str, headers: &[(&str, &str)]) -> Reply {
    reply(f.app.handle(request(&event("GET", path, headers, None))).await)
}

/// What a browser holds after loading the page: its CSRF cookie and the form's token.
struct Browser {
    cookie: String,
    token: String,
}

async fn open(f: &Fixture) -> Browser {
    let page = get(f, "/device", &[]).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let set = page.header("set-cookie").expect("a CSRF cookie").to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    Browser { cookie, token: hidden(&page.text, "csrf").expect("a CSRF field") }
}

async fn post(f: &Fixture, b: &Browser, pairs: &[(&str, &str)], origin: Option<&str>) -> Reply {
    let mut all = vec![("csrf", b.token.as_str())];
    all.extend_from_slice(pairs);
    let mut headers = vec![FORM, ("Cookie", b.cookie.as_str())];
    if let Some(o) = origin {
        headers.push(("Origin", o));
    }
    reply(f.app.handle(request(&event("POST", "/device", &headers, Some(&form(&all))))).await)
}

async fn approve(f: &Fixture, b: &Browser, code: &str, user: &str, password: &str) -> Reply {
    post(f, b, &[("user_code", code), ("action", "approve"), ("username", user), ("password", password)], Some(ISSUER))
        .await
}

#[tokio::test]
async fn a_person_enters_the_code_reviews_the_app_and_its_scopes_signs_in_and_approves() {
    let f = fixture().await;
    let code = pending(&f, "BCDF-GHJK", TV_CLIENT).await;
    let b = open(&f).await;
    let review = post(&f, &b, &[("user_code", "bcdf ghjk"), ("action", "lookup")], Some(ISSUER)).await;
    assert_eq!(review.status, 200, "{}", review.text);
    for shown in ["Oasis for TV", "BCDF-GHJK", "Search the catalog", "See your profile, entitlements and watchlist"] {
        assert!(review.text.contains(shown), "the review shows {shown:?}: {}", review.text);
    }
    assert_eq!(state(&f, &code).await, DeviceGrantState::Pending, "reviewing decides nothing");
    let done = approve(&f, &b, "BCDF-GHJK", DEMO_USER, &f.creds.demo_password).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("Device signed in"), "{}", done.text);
    let user = f.store.user_by_username(&Username::parse(DEMO_USER).unwrap()).await.unwrap().unwrap();
    let DeviceGrantState::Approved { user_id, scope, .. } = state(&f, &code).await else { panic!("approved") };
    assert_eq!((user_id, scope.to_string()), (user.id, "data:read search".to_owned()));
}

#[tokio::test]
async fn a_qr_link_fills_the_code_in_and_looks_nothing_up_until_the_person_continues() {
    let f = fixture().await;
    let code = pending(&f, "BCDF-GHJK", TV_CLIENT).await;
    let page = get(&f, "/device?user_code=bcdfghjk", &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("value=\"BCDF-GHJK\"") && page.text.contains("Sign in a device"), "{}", page.text);
    assert!(!page.text.contains("Oasis for TV"), "the app is named only after the person continues");
    // Wrong codes in links are not counted either: a cross-site page's image requests cannot
    // lock a network out of code entry.
    for _ in 0..20 {
        assert_eq!(get(&f, "/device?user_code=ZZZZ-ZZZZ", &[]).await.status, 200);
    }
    let b = open(&f).await;
    let review = post(&f, &b, &[("user_code", "BCDF-GHJK"), ("action", "lookup")], Some(ISSUER)).await;
    assert!(review.status == 200 && review.text.contains("Oasis for TV"), "{}", review.text);
    assert_eq!(state(&f, &code).await, DeviceGrantState::Pending);
}

#[tokio::test]
async fn an_approval_grants_no_more_than_the_user_holds_of_what_the_device_asked() {
    let f = fixture().await;
    let code = pending(&f, "BCDF-GHJK", TV_CLIENT).await;
    let viewer = oasis_admin::NewUser {
        username: "viewer",
        password: "a long viewer password",
        scopes: vec!["search".into()],
        maturity: 13,
    };
    oasis_admin::create_user(f.store.as_ref(), &PasswordHasher::default_params().unwrap(), viewer).await.unwrap();
    let b = open(&f).await;
    let done = approve(&f, &b, "BCDF-GHJK", "viewer", "a long viewer password").await;
    assert_eq!(done.status, 200, "{}", done.text);
    let DeviceGrantState::Approved { scope, .. } = state(&f, &code).await else { panic!("approved") };
    assert_eq!(scope.to_string(), "search", "data:read was asked, but the user does not hold it");
}

#[tokio::test]
async fn denying_needs_no_password_and_the_device_is_not_signed_in() {
    let f = fixture().await;
    let code = pending(&f, "BCDF-GHJK", TV_CLIENT).await;
    let b = open(&f).await;
    let done = post(&f, &b, &[("user_code", "BCDF-GHJK"), ("action", "deny")], Some(ISSUER)).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(state(&f, &code).await, DeviceGrantState::Denied);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_page_and_approve_nothing() {
    let f = fixture().await;
    let code = pending(&f, "BCDF-GHJK", TV_CLIENT).await;
    let b = open(&f).await;
    let wrong = approve(&f, &b, "BCDF-GHJK", DEMO_USER, "not-the-password").await;
    let unknown = approve(&f, &b, "BCDF-GHJK", "nobody-here", "not-the-password").await;
    assert_eq!((wrong.status, unknown.status), (400, 400));
    assert!(wrong.text.contains("Wrong username or password."), "{}", wrong.text);
    let strip = |t: &str, user: &str| t.replace(user, "USER");
    assert_eq!(strip(&wrong.text, DEMO_USER), strip(&unknown.text, "nobody-here"), "no enumeration oracle");
    assert_eq!(state(&f, &code).await, DeviceGrantState::Pending);
}

#[tokio::test]
async fn password_guessing_on_the_approval_page_is_locked_out_like_the_token_endpoint() {
    let f = fixture().await;
    let code = pending(&f, "BCDF-GHJK", TV_CLIENT).await;
    let b = open(&f).await;
    for _ in 0..5 {
        approve(&f, &b, "BCDF-GHJK", DEMO_USER, "guess").await;
    }
    let account = oasis_store::throttle_key::account(&Username::parse(DEMO_USER).unwrap());
    let counted = f.store.attempts(&account, oasis_auth::now()).await.unwrap().unwrap();
    assert!(counted.locked_until > oasis_auth::now(), "the account is locked: {counted:?}");
    let right = approve(&f, &b, "BCDF-GHJK", DEMO_USER, &f.creds.demo_password).await;
    assert_eq!(right.status, 400, "even the right password waits out the lock");
    assert_eq!(state(&f, &code).await, DeviceGrantState::Pending);
}

#[tokio::test]
async fn csrf_a_post_without_the_cookie_token_or_from_another_origin_is_refused_and_changes_nothing() {
    let f = fixture().await;
    let code = pending(&f, "BCDF-GHJK", TV_CLIENT).await;
    let b = open(&f).await;
    let deny = [("user_code", "BCDF-GHJK"), ("action", "deny")];
    let forged_token = Browser { cookie: b.cookie.clone(), token: "x".repeat(43) };
    let no_cookie = Browser { cookie: "other=1".into(), token: b.token.clone() };
    for (name, reply) in [
        ("another origin", post(&f, &b, &deny, Some("https://attacker.example")).await),
        ("a token that is not the cookie's", post(&f, &forged_token, &deny, Some(ISSUER)).await),
        ("no cookie", post(&f, &no_cookie, &deny, Some(ISSUER)).await),
    ] {
        assert_eq!(reply.status, 403, "{name}: {}", reply.text);
        assert_eq!(state(&f, &code).await, DeviceGrantState::Pending, "{name}");
    }
    let cross_site = {
        let headers = [FORM, ("Cookie", b.cookie.as_str()), ("Sec-Fetch-Site", "cross-site")];
        let body = form(&[("csrf", b.token.as_str()), ("user_code", "BCDF-GHJK"), ("action", "deny")]);
        reply(f.app.handle(request(&event("POST", "/device", &headers, Some(&body)))).await)
    };
    assert_eq!(cross_site.status, 403, "no Origin but a cross-site fetch");
    assert_eq!(state(&f, &code).await, DeviceGrantState::Pending);
}

#[tokio::test]
async fn clickjacking_every_page_forbids_framing_and_script() {
    let f = fixture().await;
    pending(&f, "BCDF-GHJK", TV_CLIENT).await;
    let b = open(&f).await;
    let review = post(&f, &b, &[("user_code", "BCDF-GHJK"), ("action", "lookup")], Some(ISSUER)).await;
    let wrong = post(&f, &b, &[("user_code", "ZZZZ-ZZZZ"), ("action", "lookup")], Some(ISSUER)).await;
    let pages = [("/device", get(&f, "/device", &[]).await), ("review", review), ("wrong code", wrong)];
    for (path, page) in pages {
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("script-src"), "no script allowed: {csp}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(!page.text.contains("<script"), "{path}");
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    }
    let cookie = get(&f, "/device", &[]).await.header("set-cookie").unwrap().to_owned();
    for attr in ["__Host-oasis_csrf=", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn user_code_brute_force_is_locked_per_address_after_ten_wrong_codes() {
    let f = fixture().await;
    pending(&f, "BCDF-GHJK", TV_CLIENT).await;
    let b = open(&f).await;
    for i in 0..10 {
        let guess = format!("ZZZZ-ZZZ{}", ['B', 'C', 'D', 'F', 'G', 'H', 'J', 'K', 'L', 'M'][i]);
        let r = post(&f, &b, &[("user_code", &guess), ("action", "lookup")], Some(ISSUER)).await;
        assert_eq!(r.status, 400, "{guess}: {}", r.text);
    }
    let right = post(&f, &b, &[("user_code", "BCDF-GHJK"), ("action", "lookup")], Some(ISSUER)).await;
    assert_eq!(right.status, 429, "locked: even the right code waits: {}", right.text);
    assert!(right.text.contains("Too many wrong codes"));
}

#[tokio::test]
async fn device_code_phishing_the_review_shows_who_asks_so_a_stranger_code_is_not_approved_blind() {
    let f = fixture().await;
    // An attacker registers an app whose name tries to pass for something else, starts a
    // grant and sends its code to a victim: the page names the app and every scope it asks.
    let evil = oasis_admin::NewClient {
        client_id: "free-movies".into(),
        name: "<b>Oasis</b> \"official\" <script>alert(1)</script>".into(),
        confidential: false,
        first_party: false,
        grant_types: vec!["urn:ietf:params:oauth:grant-type:device_code".into()],
        scopes: vec!["data:read".into(), "search".into()],
        refresh_in_cookie: false,
        allowed_origins: vec![],
        redirect_uris: vec![],
        legacy_password_grant: false,
    };
    oasis_admin::create_client(f.store.as_ref(), evil).await.unwrap();
    pending(&f, "CCDF-GHJK", "free-movies").await;
    let b = open(&f).await;
    let page = post(&f, &b, &[("user_code", "CCDF-GHJK"), ("action", "lookup")], Some(ISSUER)).await;
    assert!(page.text.contains("&lt;b&gt;Oasis&lt;/b&gt; &quot;official&quot; &lt;script&gt;"), "{}", page.text);
    assert!(!page.text.contains("<script>") && !page.text.contains("<b>Oasis"), "markup in a client name is text");
    assert!(page.text.contains("See your profile, entitlements and watchlist"), "the scopes are spelled out");
    assert!(page.text.contains("Only approve if you started this yourself"));
    assert!(page.text.contains("This app is not made by Oasis."), "a third-party app is said to be one");
}

#[tokio::test]
async fn a_typed_code_is_shown_back_as_text_never_as_markup() {
    let f = fixture().await;
    let b = open(&f).await;
    let r = post(&f, &b, &[("user_code", "\"><script>x</script>"), ("action", "lookup")], Some(ISSUER)).await;
    assert_eq!(r.status, 400);
    assert!(!r.text.contains("<script>x"), "{}", r.text);
    assert!(r.text.contains("&quot;&gt;&lt;script&gt;x"), "{}", r.text);
}

#[tokio::test]
async fn a_used_or_expired_code_cannot_be_approved_again() {
    let f = fixture().await;
    let code = pending(&f, "BCDF-GHJK", TV_CLIENT).await;
    let b = open(&f).await;
    assert_eq!(approve(&f, &b, "BCDF-GHJK", DEMO_USER, &f.creds.demo_password).await.status, 200);
    let again = approve(&f, &b, "BCDF-GHJK", oasis_admin::demo::ADMIN_USER, &f.creds.admin_password).await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert!(again.text.contains("already been used"), "{}", again.text);
    let demo = f.store.user_by_username(&Username::parse(DEMO_USER).unwrap()).await.unwrap().unwrap();
    let DeviceGrantState::Approved { user_id, .. } = state(&f, &code).await else { panic!("approved") };
    assert_eq!(user_id, demo.id, "still the first approver's");
}

#[tokio::test]
async fn the_stylesheet_is_served_by_the_function_and_bad_forms_get_a_page_not_a_panic() {
    let f = fixture().await;
    let css = get(&f, "/assets/signin.css", &[]).await;
    assert_eq!((css.status, css.header("content-type")), (200, Some("text/css; charset=utf-8")));
    let b = open(&f).await;
    let big = "x".repeat(10_000);
    for (body, want) in [(big.as_str(), 413), ("action=lookup&action=approve", 400)] {
        let headers = [FORM, ("Cookie", b.cookie.as_str()), ("Origin", ISSUER)];
        let r = reply(f.app.handle(request(&event("POST", "/device", &headers, Some(body)))).await);
        assert_eq!(r.status, want, "{}", r.text);
        assert!(r.text.contains("<!doctype html>"));
    }
    let json = reply(
        f.app.handle(request(&event("POST", "/device", &[("Content-Type", "application/json")], Some("{}")))).await,
    );
    assert_eq!(json.status, 400);
    let delete = reply(f.app.handle(request(&event("DELETE", "/device", &[], None))).await);
    assert_eq!(delete.status, 405);
}

#[tokio::test]
async fn a_tv_can_show_a_qr_code_of_its_sign_in_link_with_the_code_filled_in() {
    let f = fixture().await;
    let r = get(&f, "/device/qr?user_code=bcdf-ghjk", &[]).await;
    assert_eq!((r.status, r.header("content-type")), (200, Some("image/svg+xml")), "{}", r.text);
    let link = format!("{ISSUER}/device?user_code=BCDF-GHJK");
    let expected = qrcode::QrCode::new(link.as_bytes()).unwrap();
    let expected = expected.render::<qrcode::render::svg::Color<'_>>().min_dimensions(256, 256).build();
    assert_eq!(r.text, expected, "the SVG encodes exactly the verification link");
    assert!(r.text.starts_with("<?xml") && r.text.contains("<svg"));
    assert_ne!(get(&f, "/device/qr?user_code=CCDF-GHJK", &[]).await.text, r.text);
    for bad in
        ["/device/qr", "/device/qr?user_code=", "/device/qr?user_code=%3Cscript%3E", "/device/qr?user_code=BCDF-GHJ0"]
    {
        assert_eq!(get(&f, bad, &[]).await.status, 400, "{bad}");
    }
}
