//! RFC 9068 access tokens: issuing and the one verifier (RFC 8725 rules).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::keys::{ALGORITHM, PublicJwks, SigningKey};
use oasis_domain::Maturity;
use oasis_domain::scope::ScopeSet;

/// The JWT `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 30;
/// The longest an access token may live (`exp - iat`): the token function issues at most this
/// (`OASIS_ACCESS_TOKEN_TTL`), and verifiers refuse anything longer, such as a token minted
/// with a leaked key to last a year.
pub const MAX_LIFETIME_SECONDS: u64 = 3600;

/// `aud` as RFC 7519 §4.1.3 allows it: one audience or several. Oasis issues one; a token
/// naming several is accepted when ours is among them (jsonwebtoken checks that).
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Claims not understood are ignored (RFC 7519 §4): the signature already proves we wrote
/// them, and a verifier that refused them would refuse every token of a newer token function
/// while a deploy rolls out (the `gen` claim was such a one).
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    client_id: String,
    iat: u64,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    jti: String,
    scope: String,
    /// The highest content maturity rating (an age, 0–18) the subject may see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    maturity: Option<u8>,
    /// The user's token generation at issue: a cut-off raises it, and verifiers refuse
    /// tokens of an older one. Absent (0) in tokens a client holds for itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r#gen: Option<u64>,
}

/// What an access token is issued for.
pub struct Grant<'a> {
    pub subject: &'a str,
    pub client_id: &'a str,
    pub scope: &'a ScopeSet,
    pub maturity: Option<Maturity>,
    /// The user's [`token generation`](VerifiedClaims::generation); `None` for a client.
    pub generation: Option<u64>,
}

pub struct IssuedToken {
    pub token: String,
    pub expires_in: u64,
    pub jti: String,
}

#[derive(Debug, thiserror::Error)]
#[error("signing the access token failed")]
pub struct IssueError(#[source] jsonwebtoken::errors::Error);

/// Signs access tokens with the active key.
pub struct Issuer {
    key: SigningKey,
    issuer: String,
    audience: String,
    ttl_seconds: u64,
}

impl Issuer {
    pub fn new(key: SigningKey, issuer: impl Into<String>, audience: impl Into<String>, ttl_seconds: u64) -> Self {
        Self { key, issuer: issuer.into(), audience: audience.into(), ttl_seconds }
    }

    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    pub fn issue(&self, grant: &Grant<'_>, now: u64) -> Result<IssuedToken, IssueError> {
        let mut header = Header::new(ALGORITHM);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(self.key.kid.clone());
        let jti = crate::secret::random_token(16);
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: grant.subject.to_owned(),
            aud: Audience::One(self.audience.clone()),
            client_id: grant.client_id.to_owned(),
            iat: now,
            exp: now + self.ttl_seconds,
            nbf: None,
            jti: jti.clone(),
            scope: grant.scope.to_string(),
            maturity: grant.maturity.map(Maturity::age),
            r#gen: grant.generation,
        };
        let token = jsonwebtoken::encode(&header, &claims, &self.key.key).map_err(IssueError)?;
        Ok(IssuedToken { token, expires_in: self.ttl_seconds, jti })
    }
}

/// Why a token was refused. `reason()` is the low-cardinality label used in logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("token too large")]
    TooLarge,
    #[error("token malformed")]
    Malformed,
    #[error("token type is not at+jwt")]
    WrongType,
    #[error("token algorithm not accepted")]
    WrongAlgorithm,
    #[error("token header carries key material or critical extensions")]
    ForbiddenHeader,
    #[error("token signed by an unknown key")]
    UnknownKey,
    #[error("token signature invalid")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("token issuer not accepted")]
    WrongIssuer,
    #[error("token audience not accepted")]
    WrongAudience,
    #[error("token lacks a required claim")]
    MissingClaim,
    #[error("token lives longer than any token issued here")]
    TooLongLived,
}

impl Rejection {
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::TooLarge => "too_large",
            Rejection::Malformed => "malformed",
            Rejection::WrongType => "wrong_type",
            Rejection::WrongAlgorithm => "wrong_algorithm",
            Rejection::ForbiddenHeader => "forbidden_header",
            Rejection::UnknownKey => "unknown_key",
            Rejection::BadSignature => "bad_signature",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not_yet_valid",
            Rejection::WrongIssuer => "wrong_issuer",
            Rejection::WrongAudience => "wrong_audience",
            Rejection::TooLongLived => "too_long_lived",
            Rejection::MissingClaim => "missing_claim",
        }
    }
}

/// Claims of a token whose signature, type, issuer, audience and lifetime were checked.
/// Only [`Verifier::verify`] constructs it: holding one proves the checks ran.
#[derive(Debug, Clone)]
pub struct VerifiedClaims {
    subject: String,
    client_id: String,
    scope: ScopeSet,
    issued_at: u64,
    expires_at: u64,
    jti: String,
    maturity: Option<Maturity>,
    generation: u64,
}

impl VerifiedClaims {
    pub fn subject(&self) -> &str {
        &self.subject
    }
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    pub fn scope(&self) -> &ScopeSet {
        &self.scope
    }
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.contains(scope)
    }
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
    pub fn jti(&self) -> &str {
        &self.jti
    }
    /// The user's token generation the token was issued at (0 when it carries none).
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// The maturity ceiling; tokens without one (client credentials) see only all-ages content.
    pub fn maturity(&self) -> Maturity {
        self.maturity.unwrap_or(Maturity::ALL_AGES)
    }
}

/// How many verified tokens a [`Verifier`] remembers; past it, it forgets them all and starts
/// again (a bound on memory, ~1 MB, not an eviction policy).
pub const REMEMBERED_TOKENS: usize = 4096;

/// Verifies access tokens against a fixed set of known public keys.
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    /// Tokens this verifier has verified, by SHA-256: a client sends the same token for its
    /// whole lifetime, and the signature check is most of a warm request. It lives and dies
    /// with this key set (a reload makes a new verifier), and holds only what verified.
    remembered: Mutex<HashMap<[u8; 32], VerifiedClaims>>,
}

impl Verifier {
    pub fn new(jwks: &PublicJwks, issuer: &str, audience: &str) -> Result<Self, crate::keys::KeyError> {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        Ok(Self { keys: jwks.decoding_keys()?.into_iter().collect(), validation, remembered: Mutex::default() })
    }

    /// [`Verifier::verify`], remembering what verified: a token this verifier verified before
    /// skips the parsing and the signature, and its clock checks (expiry, issued in the future)
    /// run again. Refusals are never remembered, so a forged token is checked in full each time.
    pub fn verify_remembered(&self, token: &str) -> Result<VerifiedClaims, Rejection> {
        let now = crate::now();
        let key: [u8; 32] =
            match aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref().try_into() {
                Ok(k) => k,
                Err(_) => return self.verify_at(token, now),
            };
        let seen = self.remembered.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
        if let Some(claims) = seen {
            if claims.expires_at.saturating_add(LEEWAY_SECONDS) < now {
                return Err(Rejection::Expired);
            }
            if claims.issued_at > now + LEEWAY_SECONDS {
                return Err(Rejection::NotYetValid);
            }
            return Ok(claims);
        }
        let claims = self.verify_at(token, now)?;
        let mut remembered = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        if remembered.len() >= REMEMBERED_TOKENS {
            remembered.clear();
        }
        remembered.insert(key, claims.clone());
        Ok(claims)
    }

    pub fn knows_kid(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    pub fn verify(&self, token: &str) -> Result<VerifiedClaims, Rejection> {
        self.verify_at(token, crate::now())
    }

    /// Verification with an explicit clock for the `iat` check (`exp`/`nbf` use the system
    /// clock inside jsonwebtoken).
    pub fn verify_at(&self, token: &str, now: u64) -> Result<VerifiedClaims, Rejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::TooLarge);
        }
        let well_formed = token.bytes().filter(|b| *b == b'.').count() == 2
            && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !well_formed {
            return Err(Rejection::Malformed);
        }
        // JWS header and claims are UTF-8 JSON (RFC 7515 §4, RFC 7519 §7.2). serde skips the
        // string of a member it ignores without checking its bytes, so a payload that is no
        // JSON text at all (a stray 0x86 in an unknown claim) would otherwise verify.
        let utf8 = |part: &str| URL_SAFE_NO_PAD.decode(part).is_ok_and(|b| std::str::from_utf8(&b).is_ok());
        if !token.split('.').take(2).all(utf8) {
            return Err(Rejection::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Malformed)?;
        let typ_ok = header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE) || t.eq_ignore_ascii_case("application/at+jwt"));
        if !typ_ok {
            return Err(Rejection::WrongType);
        }
        // Keys come only from the known set: a token naming its own key or key URL is refused.
        if header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
            || header.crit.is_some()
        {
            return Err(Rejection::ForbiddenHeader);
        }
        if header.alg != ALGORITHM {
            return Err(Rejection::WrongAlgorithm);
        }
        let key = header.kid.as_deref().and_then(|kid| self.keys.get(kid)).ok_or(Rejection::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidEcdsaKey => Rejection::BadSignature,
            ErrorKind::ExpiredSignature => Rejection::Expired,
            ErrorKind::ImmatureSignature => Rejection::NotYetValid,
            ErrorKind::InvalidIssuer => Rejection::WrongIssuer,
            ErrorKind::InvalidAudience => Rejection::WrongAudience,
            ErrorKind::MissingRequiredClaim(_) => Rejection::MissingClaim,
            ErrorKind::InvalidAlgorithm => Rejection::WrongAlgorithm,
            ErrorKind::Json(e) if e.to_string().starts_with("missing field") => Rejection::MissingClaim,
            _ => Rejection::Malformed,
        })?;
        let c = data.claims;
        if c.iat > now + LEEWAY_SECONDS {
            return Err(Rejection::NotYetValid);
        }
        if c.exp.saturating_sub(c.iat) > MAX_LIFETIME_SECONDS {
            return Err(Rejection::TooLongLived);
        }
        if c.sub.is_empty() || c.client_id.is_empty() || c.jti.is_empty() {
            return Err(Rejection::MissingClaim);
        }
        let scope = if c.scope.is_empty() {
            ScopeSet::default()
        } else {
            ScopeSet::parse(&c.scope).map_err(|_| Rejection::Malformed)?
        };
        Ok(VerifiedClaims {
            subject: c.sub,
            client_id: c.client_id,
            scope,
            issued_at: c.iat,
            expires_at: c.exp,
            jti: c.jti,
            maturity: c.maturity.map(Maturity::parse).transpose().map_err(|_| Rejection::Malformed)?,
            generation: c.r#gen.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeySet;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};

    const ISS: &str = "https://auth.test";
    const AUD: &str = "oasis-api";

    struct Fixture {
        set: KeySet,
        issuer: Issuer,
        verifier: Verifier,
    }

    fn fixture() -> Fixture {
        let set = KeySet::generate(1).unwrap();
        let issuer = Issuer::new(set.signing_key().unwrap(), ISS, AUD, 600);
        let verifier = Verifier::new(&set.public_jwks(), ISS, AUD).unwrap();
        Fixture { set, issuer, verifier }
    }

    fn issue(f: &Fixture) -> String {
        let scope = ScopeSet::parse("search data:read").unwrap();
        let grant = Grant {
            subject: "u-1",
            client_id: "web",
            scope: &scope,
            maturity: Some(Maturity::parse(13).unwrap()),
            generation: Some(3),
        };
        f.issuer.issue(&grant, crate::now()).unwrap().token
    }

    /// Signs arbitrary header and claims with the fixture's real key, to build attacks that
    /// only the verifier's rules (not the signature) can stop.
    fn forge(f: &Fixture, header: Value, claims: Value) -> String {
        let h: Header = serde_json::from_value(header).unwrap();
        let key = f.set.signing_key().unwrap();
        jsonwebtoken::encode(&h, &claims, &key.key).unwrap()
    }

    #[test]
    fn a_remembered_token_is_still_refused_once_it_expires() {
        let f = fixture();
        let now = crate::now();
        // Valid for one more second, leeway included.
        let claims = json!({"iss": ISS, "sub": "u-1", "aud": AUD, "client_id": "web", "iat": now - 60,
                            "exp": now + 1 - LEEWAY_SECONDS, "jti": "j", "scope": "search"});
        let token = forge(&f, good_header(&f), claims);
        assert!(f.verifier.verify_remembered(&token).is_ok());
        assert!(f.verifier.verify_remembered(&token).is_ok(), "remembered");
        std::thread::sleep(std::time::Duration::from_millis(2_100));
        assert_eq!(f.verifier.verify_remembered(&token).unwrap_err(), Rejection::Expired);
    }

    #[test]
    fn refusals_are_never_remembered_and_a_remembered_token_changed_by_one_byte_is_checked_in_full() {
        let f = fixture();
        let good = issue(&f);
        let claims = f.verifier.verify_remembered(&good).unwrap();
        assert_eq!(f.verifier.verify_remembered(&good).unwrap().jti(), claims.jti());
        let mut tampered = good.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        for _ in 0..2 {
            assert_eq!(f.verifier.verify_remembered(&tampered).unwrap_err(), Rejection::BadSignature);
        }
        let other = Verifier::new(&KeySet::generate(2).unwrap().public_jwks(), ISS, AUD).unwrap();
        assert_eq!(
            other.verify_remembered(&good).unwrap_err(),
            Rejection::UnknownKey,
            "each key set remembers its own"
        );
    }

    fn good_claims() -> Value {
        let now = crate::now();
        json!({"iss": ISS, "sub": "u-1", "aud": AUD, "client_id": "web", "iat": now, "exp": now + 600, "jti": "j", "scope": "search"})
    }

    fn good_header(f: &Fixture) -> Value {
        json!({"alg": "ES256", "typ": "at+jwt", "kid": f.set.signing_key().unwrap().kid()})
    }

    #[test]
    fn a_claim_this_verifier_does_not_know_is_ignored_so_a_newer_issuer_can_add_one() {
        let f = fixture();
        let mut claims = good_claims();
        claims["a_claim_from_a_newer_release"] = json!({"any": "shape"});
        let verified = f.verifier.verify(&forge(&f, good_header(&f), claims)).unwrap();
        assert_eq!(verified.subject(), "u-1");
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let f = fixture();
        let claims = f.verifier.verify(&issue(&f)).unwrap();
        assert_eq!(claims.subject(), "u-1");
        assert_eq!(claims.client_id(), "web");
        assert!(claims.has_scope("search") && claims.has_scope("data:read"));
        assert_eq!(claims.maturity(), 13);
        assert_eq!(claims.generation(), 3, "the user's token generation rides in the token");
        let header = jsonwebtoken::decode_header(issue(&f)).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(f.set.signing_key().unwrap().kid()));
    }

    #[test]
    fn alg_none_tokens_are_refused() {
        let f = fixture();
        let token = issue(&f);
        let mut parts = token.split('.');
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
        let forged = format!("{header}.{}.", parts.nth(1).unwrap());
        assert!(f.verifier.verify(&forged).is_err());
    }

    #[test]
    fn hs256_tokens_keyed_with_the_public_key_are_refused() {
        // Algorithm confusion: an HMAC "signed" with the published public key material.
        let f = fixture();
        let jwk = &f.set.public_jwks().keys[0];
        let header = Header {
            typ: Some("at+jwt".into()),
            kid: Some(jwk.kid.clone()),
            ..Header::new(jsonwebtoken::Algorithm::HS256)
        };
        let forged = jsonwebtoken::encode(
            &header,
            &good_claims(),
            &jsonwebtoken::EncodingKey::from_secret(jwk.x.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(f.verifier.verify(&forged).unwrap_err(), Rejection::WrongAlgorithm);
    }

    #[test]
    fn tokens_from_another_key_are_refused_even_with_a_known_kid() {
        let f = fixture();
        let other = fixture();
        let token = forge(&other, good_header(&f), good_claims());
        assert_eq!(f.verifier.verify(&token).unwrap_err(), Rejection::BadSignature);
    }

    #[test]
    fn tokens_with_an_unknown_or_missing_kid_are_refused() {
        let f = fixture();
        let mut h = good_header(&f);
        h["kid"] = "someone-elses-key".into();
        assert_eq!(f.verifier.verify(&forge(&f, h.clone(), good_claims())).unwrap_err(), Rejection::UnknownKey);
        h.as_object_mut().unwrap().remove("kid");
        assert_eq!(f.verifier.verify(&forge(&f, h, good_claims())).unwrap_err(), Rejection::UnknownKey);
    }

    #[test]
    fn tokens_that_carry_their_own_key_or_key_url_are_refused() {
        let f = fixture();
        for (field, value) in [
            ("jku", json!("https://evil.example/jwks.json")),
            ("x5u", json!("https://evil.example/cert.pem")),
            ("jwk", serde_json::to_value(&f.set.public_jwks().keys[0]).unwrap()),
        ] {
            let mut h = good_header(&f);
            h[field] = value;
            let Ok(h) = serde_json::from_value::<Header>(h) else {
                continue;
            };
            let token = jsonwebtoken::encode(&h, &good_claims(), &f.set.signing_key().unwrap().key).unwrap();
            assert_eq!(f.verifier.verify(&token).unwrap_err(), Rejection::ForbiddenHeader, "{field}");
        }
    }

    #[test]
    fn id_tokens_and_other_jwt_types_are_refused_as_access_tokens() {
        let f = fixture();
        for typ in [Some("JWT"), Some("id_token+jwt"), None] {
            let mut h = good_header(&f);
            match typ {
                Some(t) => h["typ"] = t.into(),
                None => {
                    h.as_object_mut().unwrap().remove("typ");
                }
            }
            assert_eq!(f.verifier.verify(&forge(&f, h, good_claims())).unwrap_err(), Rejection::WrongType, "{typ:?}");
        }
    }

    type Mutation = Box<dyn Fn(&mut Value)>;

    #[test]
    fn claims_are_checked_table_driven() {
        let f = fixture();
        let now = crate::now();
        let cases: Vec<(&str, Mutation, Rejection)> = vec![
            ("expired", Box::new(move |c| c["exp"] = (now - 120).into()), Rejection::Expired),
            ("not yet valid", Box::new(move |c| c["nbf"] = (now + 300).into()), Rejection::NotYetValid),
            ("issued in the future", Box::new(move |c| c["iat"] = (now + 300).into()), Rejection::NotYetValid),
            ("another issuer", Box::new(|c| c["iss"] = "https://evil.example".into()), Rejection::WrongIssuer),
            ("another audience", Box::new(|c| c["aud"] = "other-api".into()), Rejection::WrongAudience),
            (
                "other audiences only",
                Box::new(|c| c["aud"] = json!(["other-api", "third-api"])),
                Rejection::WrongAudience,
            ),
            ("an empty audience list", Box::new(|c| c["aud"] = json!([])), Rejection::WrongAudience),
            (
                "a year's lifetime (a token minted with a leaked key)",
                Box::new(move |c| c["exp"] = (now + 365 * 86_400).into()),
                Rejection::TooLongLived,
            ),
            (
                "no sub",
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("sub");
                }),
                Rejection::MissingClaim,
            ),
            (
                "no exp",
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
                Rejection::MissingClaim,
            ),
            (
                "no aud",
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("aud");
                }),
                Rejection::MissingClaim,
            ),
            (
                "no iss",
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("iss");
                }),
                Rejection::MissingClaim,
            ),
            (
                "no client_id",
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("client_id");
                }),
                Rejection::MissingClaim,
            ),
            (
                "no iat",
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("iat");
                }),
                Rejection::MissingClaim,
            ),
            ("iat of the wrong type", Box::new(|c| c["iat"] = "yesterday".into()), Rejection::Malformed),
            ("empty sub", Box::new(|c| c["sub"] = "".into()), Rejection::MissingClaim),
        ];
        for (name, mutate, want) in cases {
            let mut c = good_claims();
            mutate(&mut c);
            assert_eq!(f.verifier.verify(&forge(&f, good_header(&f), c)).unwrap_err(), want, "{name}");
        }
    }

    /// RFC 7519 §4.1.3: `aud` may be an array; refusing one as malformed turned away tokens
    /// another authorization server in a federation would issue correctly.
    #[test]
    fn an_audience_list_that_names_us_is_accepted_and_the_longest_lifetime_is_too() {
        let f = fixture();
        let mut c = good_claims();
        c["aud"] = json!(["another-api", AUD]);
        assert!(f.verifier.verify(&forge(&f, good_header(&f), c)).is_ok());
        let mut c = good_claims();
        c["exp"] = (c["iat"].as_u64().unwrap() + MAX_LIFETIME_SECONDS).into();
        assert!(f.verifier.verify(&forge(&f, good_header(&f), c)).is_ok(), "exactly the maximum lifetime");
    }

    #[test]
    fn a_small_clock_skew_is_tolerated() {
        let f = fixture();
        let mut c = good_claims();
        c["exp"] = (crate::now() - 5).into();
        assert!(f.verifier.verify(&forge(&f, good_header(&f), c)).is_ok());
    }

    #[test]
    fn oversized_and_garbage_tokens_are_refused_before_parsing() {
        let f = fixture();
        assert_eq!(f.verifier.verify(&"a".repeat(MAX_TOKEN_BYTES + 1)).unwrap_err(), Rejection::TooLarge);
        for junk in ["", "a.b", "a.b.c.d", "é.b.c", "a b.c.d", "..", "eyJ.eyJ.sig"] {
            assert!(f.verifier.verify(junk).is_err(), "{junk:?}");
        }
    }

    /// Found by fuzzing (`fuzz/`, target `jwt`): a signed payload holding invalid UTF-8 in a
    /// claim the verifier ignores was accepted, though it is no JSON text.
    #[test]
    fn a_signed_token_whose_header_or_claims_are_not_utf8_json_is_refused_as_malformed() {
        let f = fixture();
        let key = f.set.signing_key().unwrap();
        let sign = |header: &[u8], claims: &[u8]| {
            let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
            let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key.key, ALGORITHM).unwrap();
            format!("{input}.{signature}")
        };
        let header = good_header(&f).to_string();
        let claims = good_claims().to_string();
        assert!(f.verifier.verify(&sign(header.as_bytes(), claims.as_bytes())).is_ok(), "the control verifies");
        let with_stray_byte = |json: &str| {
            let mut bytes = json.trim_end_matches('}').as_bytes().to_vec();
            bytes.extend_from_slice(b",\"note\":\"caf\x86\"}");
            bytes
        };
        for (h, c) in [
            (header.as_bytes().to_vec(), with_stray_byte(&claims)),
            (with_stray_byte(&header), claims.as_bytes().to_vec()),
        ] {
            assert_eq!(f.verifier.verify(&sign(&h, &c)).unwrap_err(), Rejection::Malformed);
        }
    }

    #[test]
    fn a_tampered_payload_breaks_the_signature() {
        let f = fixture();
        let token = issue(&f);
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["scope"] = "admin".into();
        let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2]);
        assert_eq!(f.verifier.verify(&forged).unwrap_err(), Rejection::BadSignature);
    }
}
