//! Least privilege, checked against behaviour: each function's handler runs its scenarios
//! (every DynamoDB code path it has) on moto while an SDK interceptor records every
//! (table, action) it performs — transactions and batches unpacked into their item actions.
//! The DynamoDB grants in `terraform/iam.tf` must equal what was recorded: no missing grant
//! (the function would fail in AWS) and no extra one (least privilege).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_sdk_dynamodb::error::BoxError;
use oasis_admin::demo::{APP_CLIENT, APP_REDIRECT_URI, TV_CLIENT};
use oasis_auth::password::PasswordHasher;
use oasis_integration_tests::*;
use oasis_lambda::Cors;
use oasis_lambda::shell::Lambda;
use oasis_testkit::{AUDIENCE, ISSUER, World};
use oasis_testkit::{FORM, Reply, event, form, reply, request};
use oasis_token::LockoutPolicy;
use serde_json::Value;

type Grants = BTreeMap<String, BTreeSet<String>>;

#[derive(Debug, Clone, Default)]
struct Recorder {
    prefix: String,
    seen: Arc<Mutex<Grants>>,
}

impl Recorder {
    fn note(&self, table: &str, action: &str) {
        let table = table.strip_prefix(&format!("{}-", self.prefix)).unwrap_or(table).to_owned();
        self.seen.lock().unwrap().entry(table).or_default().insert(format!("dynamodb:{action}"));
    }

    fn take(&self) -> Grants {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "iam-recorder"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request();
        let op = req.headers().get("x-amz-target").and_then(|t| t.rsplit('.').next()).unwrap_or("?").to_owned();
        let body: Value = req.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        match op.as_str() {
            "TransactWriteItems" => {
                for item in body["TransactItems"].as_array().into_iter().flatten() {
                    for (kind, action) in [
                        ("Put", "PutItem"),
                        ("Update", "UpdateItem"),
                        ("Delete", "DeleteItem"),
                        ("ConditionCheck", "ConditionCheckItem"),
                    ] {
                        if let Some(t) = item[kind]["TableName"].as_str() {
                            self.note(t, action);
                        }
                    }
                }
            }
            "BatchWriteItem" | "BatchGetItem" => {
                for (table, reqs) in body["RequestItems"].as_object().into_iter().flatten() {
                    if op == "BatchGetItem" {
                        self.note(table, "GetItem");
                    }
                    for r in reqs.as_array().into_iter().flatten() {
                        if r.get("PutRequest").is_some() {
                            self.note(table, "PutItem");
                        }
                        if r.get("DeleteRequest").is_some() {
                            self.note(table, "DeleteItem");
                        }
                    }
                }
            }
            _ => {
                if let Some(t) = body["TableName"].as_str() {
                    self.note(t, &op);
                }
            }
        }
        Ok(())
    }
}

/// `local.dynamodb_grants` from terraform/iam.tf: function -> table -> actions.
fn terraform_grants() -> BTreeMap<String, Grants> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../terraform/iam.tf");
    let body: Value = hcl::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let grants = &body["locals"]["dynamodb_grants"];
    serde_json::from_value(grants.clone()).unwrap_or_else(|e| panic!("dynamodb_grants in iam.tf: {e}: {grants}"))
}

async fn post(app: &Lambda<oasis_token::App>, path: &str, pairs: &[(&str, &str)]) -> u16 {
    send(app, path, pairs).await.status
}

async fn send(app: &Lambda<oasis_token::App>, path: &str, pairs: &[(&str, &str)]) -> Reply {
    reply(app.handle(request(&event("POST", path, &[FORM], Some(&form(pairs))))).await)
}

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The TV's poll of the token endpoint with its device code.
async fn poll(app: &Lambda<oasis_token::App>, device_code: &str) -> Reply {
    send(app, "/token", &[("grant_type", DEVICE_CODE_GRANT), ("client_id", TV_CLIENT), ("device_code", device_code)])
        .await
}

/// A browser's CSRF token: the cookie's value, repeated in each form (any 43 URL-safe characters).
const CSRF: &str = "iamLeastPrivilegeCsrfTokenOfFortyThreeChars";

/// A sign-in page request from a browser on the issuer's origin holding the [`CSRF`] cookie;
/// a POST carries `pairs` as its form, with the CSRF field.
async fn page(app: &Lambda<oasis_signin::App>, method: &str, path: &str, pairs: &[(&str, &str)]) -> Reply {
    signed_in_page(app, method, path, pairs, None).await
}

/// [`page`] from a browser that also holds a sign-in session cookie (`name=value`).
async fn signed_in_page(
    app: &Lambda<oasis_signin::App>,
    method: &str,
    path: &str,
    pairs: &[(&str, &str)],
    session: Option<&str>,
) -> Reply {
    let cookie = match session {
        Some(s) => format!("__Host-oasis_csrf={CSRF}; {s}"),
        None => format!("__Host-oasis_csrf={CSRF}"),
    };
    let headers = [FORM, ("Cookie", cookie.as_str()), ("Origin", ISSUER)];
    let body = (method == "POST").then(|| form(&[&[("csrf", CSRF)][..], pairs].concat()));
    reply(app.handle(request(&event(method, path, &headers, body.as_deref()))).await)
}

/// RFC 7636 Appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The demo app's authorization request (code flow with PKCE), as form pairs.
const AUTHORIZE: [(&str, &str); 7] = [
    ("response_type", "code"),
    ("client_id", APP_CLIENT),
    ("redirect_uri", APP_REDIRECT_URI),
    ("scope", "search"),
    ("state", "iam-state"),
    ("code_challenge", CHALLENGE),
    ("code_challenge_method", "S256"),
];

/// The `code` of a 303 to the demo app's redirect URI (codes are base64url: nothing to decode).
fn code_of(r: &Reply) -> String {
    assert_eq!(r.status, 303, "{}", r.text);
    let location = r.header("location").unwrap_or_default();
    assert!(location.starts_with(&format!("{APP_REDIRECT_URI}?")), "{location}");
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let code = query.split('&').find_map(|p| p.strip_prefix("code="));
    code.unwrap_or_else(|| panic!("no code in {location}")).to_owned()
}

/// The sign-in session cookie (`name=value`) a response sets.
fn session_cookie(r: &Reply) -> String {
    let set = r.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok());
    let cookie = set.map(|c| c.split(';').next().unwrap_or_default()).find(|c| c.starts_with("__Host-oasis_session="));
    cookie.unwrap_or_else(|| panic!("no session cookie: {:?}", r.headers)).to_owned()
}

/// The demo app redeeming a code at the token endpoint.
async fn redeem(app: &Lambda<oasis_token::App>, code: &str) -> Reply {
    let pairs = [
        ("grant_type", "authorization_code"),
        ("client_id", APP_CLIENT),
        ("code", code),
        ("redirect_uri", APP_REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    send(app, "/token", &pairs).await
}

fn merge(into: &mut Grants, more: Grants) {
    for (table, actions) in more {
        into.entry(table).or_default().extend(actions);
    }
}

#[tokio::test]
async fn each_functions_dynamodb_grants_equal_the_calls_its_code_makes() {
    let prefix = unique_prefix("iam");
    let recorder = Recorder { prefix: prefix.clone(), ..Recorder::default() };
    let store = dynamo(&endpoint(), &prefix, Some(SharedInterceptor::new(recorder.clone()))).await;
    let w = World::on(store, 50).await;
    let mut observed: BTreeMap<String, Grants> = BTreeMap::new();

    // token: every grant, refresh rotation, reuse, revocation, lock-out, expired counters, rehash.
    recorder.take();
    let mut settings = token_settings();
    settings.account_lockout = LockoutPolicy { threshold: 2, base_seconds: 1, cap_seconds: 1, window_seconds: 1 };
    let stronger = PasswordHasher::new(19_456, 3, 1).unwrap();
    let token = Lambda::new(oasis_token::App::new(w.store.clone(), &w.keys, stronger, settings).unwrap());
    let login = [
        ("grant_type", "password"),
        ("client_id", "oasis-demo"),
        ("username", "demo"),
        ("password", &w.creds.demo_password),
    ];
    let wrong = [("grant_type", "password"), ("client_id", "oasis-demo"), ("username", "demo"), ("password", "wrong")];
    assert_eq!(post(&token, "/token", &wrong).await, 400);
    tokio::time::sleep(Duration::from_millis(2100)).await; // the counter expires; TTL has not deleted it
    assert_eq!(post(&token, "/token", &wrong).await, 400);
    assert_eq!(post(&token, "/token", &wrong).await, 400); // second failure in the window: locked
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = reply(token.handle(request(&event("POST", "/token", &[FORM], Some(&form(&login))))).await);
    assert_eq!(r.status, 200, "{}", r.text);
    let first = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        post(
            &token,
            "/token",
            &[("grant_type", "refresh_token"), ("client_id", "oasis-demo"), ("refresh_token", &first)]
        )
        .await,
        200
    );
    assert_eq!(
        post(
            &token,
            "/token",
            &[("grant_type", "refresh_token"), ("client_id", "oasis-demo"), ("refresh_token", &first)]
        )
        .await,
        400
    );
    assert_eq!(post(&token, "/revoke", &[("client_id", "oasis-demo"), ("token", &first)]).await, 200);
    let cc = [
        ("grant_type", "client_credentials"),
        ("client_id", "oasis-demo-service"),
        ("client_secret", &w.creds.service_secret),
    ];
    assert_eq!(post(&token, "/token", &cc).await, 200);
    // The device flow (RFC 8628): two sign-ins started; one polled before its user decides,
    // then again too soon.
    let mut started = vec![];
    for _ in 0..2 {
        let r = send(&token, "/device_authorization", &[("client_id", TV_CLIENT), ("scope", "search")]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let field = |name: &str| r.json()[name].as_str().unwrap().to_owned();
        started.push((field("device_code"), field("user_code")));
    }
    let [(approved_device, approved_user), (denied_device, denied_user)] = <[_; 2]>::try_from(started).unwrap();
    assert_eq!(poll(&token, &denied_device).await.error().as_deref(), Some("authorization_pending"));
    assert_eq!(poll(&token, &denied_device).await.error().as_deref(), Some("slow_down"));
    let mut token_calls = recorder.take();

    // signin: the code from the TV's link filled in, posted and reviewed, a wrong code, a
    // wrong then (after its counter expired) a right password that rehashes and clears the
    // count, an approval and a denial.
    let mut signin_settings = oasis_signin::Settings::new(ISSUER);
    signin_settings.account_lockout =
        LockoutPolicy { threshold: 5, base_seconds: 1, cap_seconds: 1, window_seconds: 1 };
    let strongest = PasswordHasher::new(19_456, 4, 1).unwrap(); // above the token function's: a rehash again
    let signin = Lambda::new(oasis_signin::App::new(w.store.clone(), strongest, signin_settings));
    let r = page(&signin, "GET", "/device", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = page(&signin, "GET", &format!("/device?user_code={approved_user}"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = page(&signin, "POST", "/device", &[("action", "lookup"), ("user_code", &approved_user)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Approve this device?"), "{}", r.text);
    let r = page(&signin, "POST", "/device", &[("action", "lookup"), ("user_code", "BBBB-BBBB")]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let approve = [("action", "approve"), ("user_code", approved_user.as_str()), ("username", "demo")];
    let r = page(&signin, "POST", "/device", &[&approve[..], &[("password", "wrong")]].concat()).await;
    assert_eq!(r.status, 400, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(2100)).await; // the counter expires; TTL has not deleted it
    let right = [("password", w.creds.demo_password.as_str())];
    let r = page(&signin, "POST", "/device", &[&approve[..], &right].concat()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Device signed in"), "{}", r.text);
    let r = page(&signin, "POST", "/device", &[("action", "deny"), ("user_code", &denied_user)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Device not signed in"), "{}", r.text);
    // The code flow: the sign-in page, a password sign-in that starts a session and gets a
    // code, the signed-in browser's "continue" page (a loopback redirect URI gets no silent
    // code) and a second code from it, a second sign-in that ends the session the browser
    // brought, and signing out.
    let query = form(&AUTHORIZE);
    let r = page(&signin, "GET", &format!("/authorize?{query}"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Sign in to continue"), "{}", r.text);
    let password = [("action", "signin"), ("username", "demo"), ("password", w.creds.demo_password.as_str())];
    let r = page(&signin, "POST", "/authorize", &[&AUTHORIZE[..], &password].concat()).await;
    let first_code = code_of(&r);
    let session = session_cookie(&r);
    let r = signed_in_page(&signin, "GET", &format!("/authorize?{query}"), &[], Some(&session)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let allow = [("action", "allow")];
    let r = signed_in_page(&signin, "POST", "/authorize", &[&AUTHORIZE[..], &allow].concat(), Some(&session)).await;
    let second_code = code_of(&r);
    let r = signed_in_page(&signin, "POST", "/authorize", &[&AUTHORIZE[..], &password].concat(), Some(&session)).await;
    code_of(&r);
    let session = session_cookie(&r);
    let r = signed_in_page(&signin, "POST", "/signout", &[], Some(&session)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("You are signed out"), "{}", r.text);
    observed.insert("signin".into(), recorder.take());

    // token again: the approved device's first poll gets its tokens; the demo app redeems
    // its code, which a replay then finds used (and revokes what it issued) and another.
    let r = poll(&token, &approved_device).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["access_token"].is_string(), "{}", r.text);
    let r = redeem(&token, &first_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["access_token"].is_string(), "{}", r.text);
    let r = redeem(&token, &first_code).await;
    assert_eq!((r.status, r.error().as_deref()), (400, Some("invalid_grant")), "{}", r.text);
    let r = redeem(&token, &second_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    merge(&mut token_calls, recorder.take());
    observed.insert("token".into(), token_calls);

    // secure-data: own data, an admin reading another user, a client acting for itself.
    let data = Lambda::new(oasis_secure_data::App::new(w.store.clone(), w.verifier(), Cors::default()));
    let get = |path: String, token: String| {
        let data = &data;
        async move {
            let auth = format!("Bearer {token}");
            reply(data.handle(request(&event("GET", &path, &[("Authorization", &auth)], None))).await).status
        }
    };
    assert_eq!(get("/secure-data".into(), w.token(&w.demo, "data:read")).await, 200);
    assert_eq!(get(format!("/secure-data/{}", w.demo.id), w.token(&w.admin, "data:read admin")).await, 200);
    let client = w.token_with(ISSUER, AUDIENCE, "oasis-demo-service", "oasis-demo-service", "data:read", None);
    assert_eq!(get("/secure-data".into(), client).await, 404);
    observed.insert("secure-data".into(), recorder.take());

    // search: a user and a partner client.
    let key = oasis_search::CursorKey::new(&[5u8; 32]).unwrap();
    let search = Lambda::new(oasis_search::App::new(w.store.clone(), w.verifier(), key, Cors::default()));
    for t in [
        w.token(&w.demo, "search"),
        w.token_with(ISSUER, AUDIENCE, "oasis-demo-service", "oasis-demo-service", "search", None),
    ] {
        let auth = format!("Bearer {t}");
        let r = reply(search.handle(request(&event("GET", "/search?q=the", &[("Authorization", &auth)], None))).await);
        assert_eq!(r.status, 200, "{}", r.text);
    }
    observed.insert("search".into(), recorder.take());

    assert_eq!(observed, terraform_grants(), "observed DynamoDB calls (left) vs terraform/iam.tf grants (right)");
}
