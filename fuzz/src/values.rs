//! `values`: the protocol values of [`oasis_domain`], each parsed once at the edge. A first
//! byte picks the parser; whatever parses, parses again from its canonical form to itself.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oasis_domain::{
    ClientId, CodeChallenge, CodeVerifier, Genre, GrantType, RedirectUri, ScopeSet, UserCode, UserId, Username,
};

use crate::seeds::Event;

/// The parameter each parser reads, in the order of the first byte.
pub const PARAMETERS: [&str; 10] = [
    "username",
    "client_id",
    "user_id",
    "scope",
    "grant_type",
    "genre",
    "user_code",
    "redirect_uri",
    "code_verifier",
    "code_challenge",
];

pub fn run(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match usize::from(which) % PARAMETERS.len() {
        0 => {
            if let Ok(u) = Username::parse(text) {
                assert_eq!(u.as_str(), text.to_ascii_lowercase());
                assert_eq!(Username::parse(u.as_str()).as_ref(), Ok(&u));
            }
        }
        1 => {
            if let Ok(c) = ClientId::parse(text) {
                assert_eq!(ClientId::parse(c.as_str()).as_ref(), Ok(&c));
            }
        }
        2 => {
            if let Ok(u) = UserId::parse(text) {
                assert_eq!(UserId::parse(u.as_str()).as_ref(), Ok(&u));
            }
        }
        3 => {
            if let Ok(s) = ScopeSet::parse(text) {
                assert!(!s.is_empty());
                assert_eq!(ScopeSet::parse(&s.to_string()).as_ref(), Ok(&s));
                assert!(text.split(' ').all(|t| s.contains(t)));
            }
        }
        4 => {
            if let Ok(g) = GrantType::parse(text) {
                assert_eq!(GrantType::parse(g.as_str()), Ok(g));
            }
        }
        5 => {
            if let Ok(g) = Genre::parse(text) {
                assert_eq!(Genre::parse(g.as_str()), Ok(g));
            }
        }
        6 => {
            if let Ok(c) = UserCode::parse(text) {
                assert_eq!(c.as_str().len(), UserCode::LEN);
                assert_eq!(UserCode::parse(c.as_str()).as_ref(), Ok(&c));
                assert_eq!(UserCode::parse(&c.display()).as_ref(), Ok(&c));
            }
        }
        7 => {
            if let Ok(r) = RedirectUri::parse(text) {
                assert_eq!(RedirectUri::parse(r.as_str()).as_ref(), Ok(&r));
                assert!(r.matches(text));
                assert!(!text.contains('#') && !text.contains('*'));
            }
        }
        8 => {
            if let Ok(v) = CodeVerifier::parse(text) {
                // The S256 challenge of any verifier is a challenge, and it matches that verifier.
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v.expose().as_bytes());
                let challenge = URL_SAFE_NO_PAD.encode(digest.as_ref());
                assert!(CodeChallenge::parse(&challenge).is_ok(), "{challenge}");
                assert!(oasis_auth::secret::pkce_s256_matches(&v, &challenge));
            }
        }
        _ => {
            if let Ok(c) = CodeChallenge::parse(text) {
                assert_eq!(CodeChallenge::parse(c.as_str()).as_ref(), Ok(&c));
            }
        }
    }
}

/// Every parameter of the events that one of the parsers reads, behind its selector byte.
pub fn seeds(events: &[Event]) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for e in events {
        for (name, value) in e.parameters() {
            if let Some(i) = PARAMETERS.iter().position(|p| *p == name) {
                seeds.push([&[i as u8][..], value.as_bytes()].concat());
            }
        }
    }
    let extra: [(usize, &str); 5] = [
        (2, "usr_0123456789abcdef"),
        (5, "scifi"),
        (7, "http://127.0.0.1:8080/cb?x=1"),
        (7, "com.example.tv:/callback"),
        (8, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    ];
    seeds.extend(extra.iter().map(|(i, v)| [&[*i as u8][..], v.as_bytes()].concat()));
    seeds
}
