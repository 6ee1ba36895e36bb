//! Opaque identifiers: a user's id (the `sub` of their tokens) and an OAuth2 client's id.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `usr_` and up to 64 characters of `A-Z a-z 0-9 _ -`: what the admin tool generates, and
/// the only shape a path or a token subject may name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a user id is usr_ and up to 64 characters of A-Z, a-z, 0-9, '_', '-'")]
pub struct UserIdError;

impl UserId {
    pub const PREFIX: &'static str = "usr_";
    pub const MAX_LEN: usize = 68;

    pub fn parse(raw: &str) -> Result<Self, UserIdError> {
        let ok = raw.len() > Self::PREFIX.len()
            && raw.starts_with(Self::PREFIX)
            && raw.len() <= Self::MAX_LEN
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok { Ok(Self(raw.to_owned())) } else { Err(UserIdError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 3–64 characters of `a-z 0-9 - _ .`, not starting with a user id's `usr_`: chosen by an
/// operator, public (it is in every token). A client id that could equal a user id would make
/// that user's tokens through it look like the client's own (`sub == client_id`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("client id must be 3-64 characters of a-z, 0-9, '-', '_', '.', not starting with usr_")]
pub struct ClientIdError;

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, ClientIdError> {
        let ok = (3..=64).contains(&raw.len())
            && !raw.starts_with(UserId::PREFIX)
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
        if ok { Ok(Self(raw.to_owned())) } else { Err(ClientIdError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_conversions {
    ($t:ty, $e:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl TryFrom<String> for $t {
            type Error = $e;
            fn try_from(s: String) -> Result<Self, $e> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    };
}
text_conversions!(UserId, UserIdError);
text_conversions!(ClientId, ClientIdError);
pub(crate) use text_conversions;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_have_one_shape() {
        assert!(UserId::parse("usr_AbC-9_x").is_ok());
        let too_long = format!("usr_{}", "a".repeat(65));
        for bad in ["", "usr_", "usr_x/y", "usr_ x", "admin", "USR_x", "usr_é", too_long.as_str()] {
            assert_eq!(UserId::parse(bad), Err(UserIdError), "{bad:?}");
        }
    }

    #[test]
    fn client_ids_have_one_shape() {
        assert!(ClientId::parse("oasis-demo.web_1").is_ok());
        let too_long = "a".repeat(65);
        for bad in ["", "ab", "Oasis", "a b", "a:b", "a\0b", too_long.as_str(), "usr_abcdefghijklmnop"] {
            assert_eq!(ClientId::parse(bad), Err(ClientIdError), "{bad:?}");
        }
    }

    #[test]
    fn ids_from_storage_or_json_are_parsed_too() {
        assert!(serde_json::from_str::<UserId>("\"usr_ok\"").is_ok());
        assert!(serde_json::from_str::<UserId>("\"robert'); drop table\"").is_err());
    }
}
