//! OAuth2 grant types this service knows (RFC 6749 §4).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum GrantType {
    /// Legacy, first-party clients only (RFC 9700 §2.4).
    Password,
    RefreshToken,
    ClientCredentials,
    /// RFC 8628: a device without a keyboard polls while its user approves elsewhere.
    DeviceCode,
    /// RFC 6749 §4.1 with PKCE (RFC 7636): browsers and phones sign in on our pages.
    AuthorizationCode,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown grant type {0:?} (known: password, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code, authorization_code)"
)]
pub struct GrantTypeError(pub String);

impl GrantType {
    pub const ALL: [GrantType; 5] = [
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
        GrantType::AuthorizationCode,
    ];

    pub fn parse(raw: &str) -> Result<Self, GrantTypeError> {
        Self::ALL.into_iter().find(|g| g.as_str() == raw).ok_or_else(|| GrantTypeError(raw.to_owned()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            GrantType::AuthorizationCode => "authorization_code",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for GrantType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl AsRef<str> for GrantType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl TryFrom<String> for GrantType {
    type Error = GrantTypeError;
    fn try_from(s: String) -> Result<Self, GrantTypeError> {
        Self::parse(&s)
    }
}

impl From<GrantType> for String {
    fn from(g: GrantType) -> String {
        g.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types_round_trip_through_their_names_and_nothing_else_parses() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Ok(g));
        }
        for bad in ["", "Password", "implicit", "password ", "device_code", "Authorization_code"] {
            assert!(GrantType::parse(bad).is_err(), "{bad:?}");
        }
    }
}
