//! Login names: validated once, at the edge, into a [`Username`].

use std::fmt;

pub const MIN_USERNAME_LEN: usize = 3;
pub const MAX_USERNAME_LEN: usize = 64;

/// A lower-case login name of 3–64 characters from `a-z 0-9 . _ @ + -`, starting with a
/// letter or digit. Case-folded so `Alice` and `alice` are one account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("username must be 3-64 characters of a-z, 0-9, '.', '_', '@', '+', '-', starting with a letter or digit")]
pub struct UsernameError;

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let lower = raw.to_ascii_lowercase();
        let ok_len = (MIN_USERNAME_LEN..=MAX_USERNAME_LEN).contains(&lower.len());
        let ok_chars = lower.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@+-".contains(&b));
        let ok_start = lower.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if ok_len && ok_chars && ok_start { Ok(Self(lower)) } else { Err(UsernameError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::ids::text_conversions!(Username, UsernameError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_case_folded() {
        assert_eq!(Username::parse("Alice.Smith@Example.com").unwrap().as_str(), "alice.smith@example.com");
    }

    #[test]
    fn malformed_usernames_are_refused() {
        for bad in ["", "ab", "-alice", "al ice", "alice\0", "ålice", "alice'--", &"a".repeat(65), "аlice"] {
            assert_eq!(Username::parse(bad), Err(UsernameError), "{bad:?}");
        }
    }
}
