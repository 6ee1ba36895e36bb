//! `jwt`: access tokens through the one verifier, [`oasis_auth::token::Verifier`].
//!
//! A first byte picks the mode. Even: the rest is the token as a client sends it. Odd: the rest
//! is a header line and the claims, signed here with a fixed test key that the verifier
//! trusts, so that mutated headers and claims reach the checks behind the signature. Whatever
//! is accepted must satisfy every rule the README claims for access tokens.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use aws_lc_rs::agreement::{ECDH_P256, PrivateKey};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oasis_auth::keys::{PublicJwk, PublicJwks};
use oasis_auth::token::{LEEWAY_SECONDS, MAX_LIFETIME_SECONDS, VerifiedClaims, Verifier};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::seeds::Event;

pub const ISSUER: &str = "https://auth.fuzz.example";
pub const AUDIENCE: &str = "oasis-api";
pub const KID: &str = "fuzz-key";

struct Fixture {
    pair: EcdsaKeyPair,
    verifier: Verifier,
}

/// A fixed key (a constant private scalar), so tokens signed for seeds in one process verify
/// in another, and a kept input replays the same way.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let d = [0x2au8; 32];
        let private = PrivateKey::from_private_key(&ECDH_P256, &d).expect("a valid P-256 scalar");
        let public = private.compute_public_key().expect("its public point");
        let pair = EcdsaKeyPair::from_private_key_and_public_key(&ECDSA_P256_SHA256_FIXED_SIGNING, &d, public.as_ref())
            .expect("a matching key pair");
        let point = pair.public_key().as_ref();
        let jwks = PublicJwks {
            keys: vec![PublicJwk {
                kty: "EC".into(),
                crv: "P-256".into(),
                alg: "ES256".into(),
                use_: "sig".into(),
                kid: KID.into(),
                x: URL_SAFE_NO_PAD.encode(&point[1..33]),
                y: URL_SAFE_NO_PAD.encode(&point[33..65]),
            }],
        };
        let verifier = Verifier::new(&jwks, ISSUER, AUDIENCE).expect("the test key verifies");
        Fixture { pair, verifier }
    })
}

/// `header.claims.signature`, the signature by the test key over the first two parts.
pub fn sign(header: &[u8], claims: &[u8]) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = fixture().pair.sign(&SystemRandom::new(), input.as_bytes()).expect("signing works");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

pub fn run(data: &[u8]) {
    accepted(data);
}

/// Whether the token of `data` is accepted (after checking what an accepted token must be).
pub fn accepted(data: &[u8]) -> bool {
    let Some((&mode, rest)) = data.split_first() else { return false };
    let token = if mode % 2 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else { return false };
        token.to_owned()
    } else {
        let (header, claims) = crate::split_line(rest);
        sign(header, claims)
    };
    let now = oasis_auth::now();
    let Ok(claims) = fixture().verifier.verify_at(&token, now) else { return false };
    check_accepted(&token, &claims, now);
    true
}

/// The members of a JWT part the checks look at, as JSON values (absent is null); others are
/// skipped as the verifier skips them.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Members {
    alg: Value,
    typ: Value,
    kid: Value,
    jku: Value,
    jwk: Value,
    x5u: Value,
    x5c: Value,
    crit: Value,
    iss: Value,
    aud: Value,
    iat: Value,
    exp: Value,
    nbf: Value,
    sub: Value,
    client_id: Value,
    jti: Value,
    scope: Value,
    maturity: Value,
}

/// An accepted token's header and claims are UTF-8 JSON; it is ES256 with `typ` at+jwt, the
/// test key's `kid` and no key material in its header; our issuer and audience; `sub`,
/// `client_id` and `jti` present; not expired, not from the future, living at most an hour;
/// and the claims handed out are the token's own.
fn check_accepted(token: &str, claims: &VerifiedClaims, now: u64) {
    let mut parts = token.split('.');
    let mut part = || -> Members {
        let bytes = URL_SAFE_NO_PAD.decode(parts.next().unwrap_or_default()).expect("an accepted part is base64url");
        let text = std::str::from_utf8(&bytes).expect("an accepted part is UTF-8");
        serde_json::from_str(text).expect("an accepted part is a JSON object")
    };
    let (h, c) = (part(), part());
    assert_eq!(h.alg, "ES256");
    let typ = h.typ.as_str().unwrap_or_default();
    assert!(typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt"), "typ {typ}");
    assert_eq!(h.kid, KID);
    for (name, value) in [("jku", &h.jku), ("jwk", &h.jwk), ("x5u", &h.x5u), ("x5c", &h.x5c), ("crit", &h.crit)] {
        assert!(value.is_null(), "accepted with {name}: {value}");
    }
    assert_eq!(c.iss, ISSUER);
    let aud_ok = match &c.aud {
        Value::String(a) => a == AUDIENCE,
        Value::Array(list) => list.iter().any(|a| a == AUDIENCE),
        _ => false,
    };
    assert!(aud_ok, "aud {}", c.aud);
    let (iat, exp) = (c.iat.as_u64().expect("iat"), c.exp.as_u64().expect("exp"));
    // One second of slack: jsonwebtoken reads the clock again.
    assert!(exp + LEEWAY_SECONDS + 1 >= now, "expired: exp {exp}, now {now}");
    assert!(iat <= now + LEEWAY_SECONDS, "issued in the future: iat {iat}, now {now}");
    assert!(exp.saturating_sub(iat) <= MAX_LIFETIME_SECONDS, "too long-lived: {iat}..{exp}");
    if let Some(nbf) = c.nbf.as_u64() {
        assert!(nbf <= now + LEEWAY_SECONDS + 1, "not yet valid: nbf {nbf}, now {now}");
    }
    for (name, value, seen) in [
        ("sub", claims.subject(), &c.sub),
        ("client_id", claims.client_id(), &c.client_id),
        ("jti", claims.jti(), &c.jti),
    ] {
        assert!(!value.is_empty(), "empty {name}");
        assert_eq!(seen, value, "{name}");
    }
    assert_eq!((claims.issued_at(), claims.expires_at()), (iat, exp));
    let scope: BTreeSet<&str> = c.scope.as_str().expect("scope").split(' ').filter(|s| !s.is_empty()).collect();
    assert_eq!(claims.scope().iter().collect::<BTreeSet<_>>(), scope, "scope");
    if let Some(age) = c.maturity.as_u64() {
        assert_eq!(u64::from(claims.maturity().age()), age, "maturity");
    }
}

fn header(kid: &str) -> Value {
    json!({"alg": "ES256", "typ": "at+jwt", "kid": kid})
}

fn claims(now: u64) -> Value {
    json!({"iss": ISSUER, "sub": "usr_demo", "aud": AUDIENCE, "client_id": "oasis-demo", "iat": now,
           "exp": now + 600, "jti": "j-1", "scope": "search data:read", "maturity": 13})
}

/// Tokens as issued (the clock of the moment, so they verify while the seeds are fresh), the
/// classic attacks on each rule, and the bearer tokens the events carry.
pub fn seeds(events: &[Event]) -> Vec<Vec<u8>> {
    let now = oasis_auth::now();
    let mut variants: Vec<(Value, Value)> = vec![(header(KID), claims(now))];
    let mut with = |h: &dyn Fn(&mut Value), c: &dyn Fn(&mut Value)| {
        let (mut header, mut body) = (header(KID), claims(now));
        h(&mut header);
        c(&mut body);
        variants.push((header, body));
    };
    with(&|h| h["typ"] = "application/at+jwt".into(), &|c| c["aud"] = json!(["another-api", AUDIENCE]));
    with(&|_| {}, &|c| c["nbf"] = now.into());
    with(&|h| h["alg"] = "none".into(), &|_| {});
    with(&|h| h["alg"] = "HS256".into(), &|_| {});
    with(&|h| h["typ"] = "JWT".into(), &|_| {});
    with(&|h| h["jku"] = "https://evil.example/jwks.json".into(), &|_| {});
    with(&|h| h["kid"] = "another-key".into(), &|_| {});
    with(&|_| {}, &|c| c["exp"] = (now + 365 * 86_400).into());
    with(&|_| {}, &|c| c["exp"] = (now - 120).into());
    with(&|_| {}, &|c| c["iss"] = "https://evil.example".into());
    with(&|_| {}, &|c| {
        c.as_object_mut().map(|o| o.remove("sub"));
    });
    with(&|_| {}, &|c| c["scope"] = "".into());
    let mut seeds = Vec::new();
    for (h, c) in &variants {
        let (h, c) = (h.to_string(), c.to_string());
        seeds.push([&[1u8][..], &crate::join_line(h.as_bytes(), c.as_bytes())].concat());
        seeds.push([&[0u8][..], sign(h.as_bytes(), c.as_bytes()).as_bytes()].concat());
    }
    for e in events {
        let bearer = e.header("authorization").and_then(|a| a.strip_prefix("Bearer "));
        let in_query = e.query().into_iter().find(|(k, _)| k == "access_token").map(|(_, v)| v);
        for token in bearer.map(str::to_owned).into_iter().chain(in_query) {
            seeds.push([&[0u8][..], token.as_bytes()].concat());
        }
    }
    seeds
}
