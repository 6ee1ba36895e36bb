//! Redirect URIs (RFC 6749 §3.1.2, RFC 8252) and PKCE values (RFC 7636).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A redirect URI a client registered: `https://host/path`, a loopback `http://127.0.0.1`,
/// `http://[::1]` or `http://localhost` one (native apps, RFC 8252 §7.3), or a private-use
/// scheme in reverse-domain form (`com.example.tv:/callback`, §7.1). Never a fragment, never
/// a wildcard; at most 512 bytes of visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a redirect URI is https://…, a loopback http://127.0.0.1, http://[::1] or http://localhost one, or a reverse-domain private-use scheme, without fragment or wildcard"
)]
pub struct RedirectUriError;

const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

impl RedirectUri {
    pub const MAX_LEN: usize = 512;

    pub fn parse(raw: &str) -> Result<Self, RedirectUriError> {
        let visible = !raw.is_empty() && raw.len() <= Self::MAX_LEN && raw.bytes().all(|b| b.is_ascii_graphic());
        if !visible || raw.contains(['#', '*', '\\']) {
            return Err(RedirectUriError);
        }
        let (scheme, rest) = raw.split_once(':').ok_or(RedirectUriError)?;
        let ok = match scheme {
            "https" => authority(rest).is_some_and(|(host, _)| !host.is_empty() && !host.contains('@')),
            "http" => authority(rest).is_some_and(|(host, _)| LOOPBACK_HOSTS.contains(&host)),
            // Reverse-domain private-use schemes only (RFC 8252 §7.1): not `javascript:`, `data:`.
            s => {
                s.contains('.')
                    && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
                    && rest.starts_with('/')
                    && !rest.starts_with("//")
            }
        };
        if ok { Ok(Self(raw.to_owned())) } else { Err(RedirectUriError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a redirect URI presented in a request is this registered one: the same string,
    /// except that a loopback IP literal URI matches on any port (RFC 8252 §7.3: a native app
    /// takes whatever port is free when it starts). `localhost` is matched exactly: §8.3
    /// advises against it, and a web app's `http://localhost:5173` must not stand for every
    /// port of the machine.
    pub fn matches(&self, presented: &str) -> bool {
        if self.0 == presented {
            return true;
        }
        match (loopback_without_port(&self.0), loopback_without_port(presented)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

/// `(host, port-and-path)` of `//host[:port]/path…`.
fn authority(rest: &str) -> Option<(&str, &str)> {
    let rest = rest.strip_prefix("//")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (auth, path) = rest.split_at(end);
    let host = match auth.strip_prefix('[') {
        Some(v6) => &auth[..v6.find(']')? + 2],
        None => auth.split(':').next()?,
    };
    let port = &auth[host.len()..];
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok.then_some((host, path))
}

/// A loopback IP literal `http` URI with its port removed, for matching on any port.
fn loopback_without_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http:")?;
    let (host, path) = authority(rest)?;
    ["127.0.0.1", "[::1]"].contains(&host).then(|| format!("http://{host}{path}"))
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RedirectUri {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = RedirectUriError;
    fn try_from(s: String) -> Result<Self, RedirectUriError> {
        Self::parse(&s)
    }
}

impl From<RedirectUri> for String {
    fn from(r: RedirectUri) -> String {
        r.0
    }
}

/// A PKCE `code_challenge` (RFC 7636 §4.2) for the S256 method: the base64url SHA-256 of the
/// verifier, 43 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

/// A PKCE `code_verifier` (RFC 7636 §4.1): 43–128 unreserved characters.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed PKCE value")]
pub struct PkceError;

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

impl CodeChallenge {
    pub fn parse(raw: &str) -> Result<Self, PkceError> {
        let ok = raw.len() == 43 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok { Ok(Self(raw.to_owned())) } else { Err(PkceError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl CodeVerifier {
    pub fn parse(raw: &str) -> Result<Self, PkceError> {
        if (43..=128).contains(&raw.len()) && raw.bytes().all(unreserved) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(PkceError)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_redirect_uris_are_https_loopback_or_reverse_domain_schemes_only() {
        for good in [
            "https://app.example/callback",
            "https://app.example:8443/cb?x=1",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8765/callback",
            "http://[::1]:8765/cb",
            "http://localhost:3000/cb",
            "com.example.tv:/oauth/callback",
        ] {
            assert!(RedirectUri::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/callback",
            "http://app.example/callback",
            "http://localhost.attacker.example/cb",
            "http://127.0.0.1.attacker.example/cb",
            "https://app.example/cb#frag",
            "https://*.app.example/cb",
            "https://user@evil.example/cb",
            "https:///cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "com.example.tv://host/cb",
            "https://app.example/c b",
            "https://app.example:/cb",
        ] {
            assert_eq!(RedirectUri::parse(bad), Err(RedirectUriError), "{bad}");
        }
    }

    #[test]
    fn a_redirect_uri_matches_exactly_and_a_loopback_one_on_any_port() {
        let web = RedirectUri::parse("https://app.example/callback").unwrap();
        assert!(web.matches("https://app.example/callback"));
        for other in [
            "https://app.example/callback/",
            "https://app.example/callback/../evil",
            "https://app.example/callbackx",
            "https://app.example/callback?next=https://evil.example",
            "https://APP.example/callback",
            "https://app.example:443/callback",
            "https://evil.example/callback",
        ] {
            assert!(!web.matches(other), "{other}");
        }
        let native = RedirectUri::parse("http://127.0.0.1/callback").unwrap();
        assert!(native.matches("http://127.0.0.1:51234/callback"));
        assert!(!native.matches("http://127.0.0.1:51234/other"));
        assert!(!native.matches("http://localhost:51234/callback"), "another host is another URI");
        let dev = RedirectUri::parse("http://localhost:5173/callback").unwrap();
        assert!(dev.matches("http://localhost:5173/callback"));
        assert!(!dev.matches("http://localhost:31337/callback"), "localhost is matched exactly (RFC 8252 §8.3)");
        assert!(!web.matches("https://app.example:8443/callback"), "only loopback ports float");
    }

    #[test]
    fn pkce_values_have_their_rfc_7636_shapes() {
        assert!(CodeChallenge::parse(&"a".repeat(43)).is_ok());
        assert!(CodeChallenge::parse(&"a".repeat(42)).is_err());
        assert!(CodeChallenge::parse(&format!("{}=", "a".repeat(42))).is_err());
        assert!(CodeVerifier::parse(&"a~._-".repeat(9)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(42)).is_err());
        assert!(CodeVerifier::parse(&"a".repeat(129)).is_err());
        assert!(CodeVerifier::parse(&format!("{}+", "a".repeat(43))).is_err());
        assert_eq!(format!("{:?}", CodeVerifier::parse(&"a".repeat(43)).unwrap()), "[redacted]");
    }
}
