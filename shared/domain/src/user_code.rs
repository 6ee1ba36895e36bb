//! The short code a person types to approve a device (RFC 8628 §6.1).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Eight characters from [`UserCode::ALPHABET`], stored and compared in canonical form
/// (`BCDFGHJK`) and shown as `BCDF-GHJK`. [`UserCode::parse`] takes what a person types: any
/// case, with dashes and spaces anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserCode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a code is 8 letters, like BCDF-GHJK")]
pub struct UserCodeError;

impl UserCode {
    /// Consonants only, as RFC 8628 §6.1 suggests: no vowels (so no words, and no O or I to
    /// mistake for 0 or 1) and no digits. 20^8 ≈ 2^34.6 codes; guessing is rate-limited.
    pub const ALPHABET: &'static [u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
    pub const LEN: usize = 8;
    /// What a person may type, dashes and spaces included; anything longer is refused unread.
    pub const MAX_INPUT: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, UserCodeError> {
        if raw.len() > Self::MAX_INPUT {
            return Err(UserCodeError);
        }
        let code: String = raw
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '\u{2010}'..='\u{2015}'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let ok = code.len() == Self::LEN && code.bytes().all(|b| Self::ALPHABET.contains(&b));
        if ok { Ok(Self(code)) } else { Err(UserCodeError) }
    }

    /// A code from `random` bytes (one per character, rejection-sampled so every letter is
    /// equally likely); `None` when the bytes ran out first.
    pub fn from_random(random: &[u8]) -> Option<Self> {
        // 240 = 12 × 20: bytes at or above it would favour the first letters.
        let code: String = random
            .iter()
            .filter(|b| **b < 240)
            .take(Self::LEN)
            .map(|b| char::from(Self::ALPHABET[usize::from(*b) % Self::ALPHABET.len()]))
            .collect();
        (code.len() == Self::LEN).then_some(Self(code))
    }

    /// The canonical form: eight capital letters, no dash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How a person reads it: `BCDF-GHJK`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }
}

impl fmt::Display for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for UserCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserCode {
    type Error = UserCodeError;
    fn try_from(s: String) -> Result<Self, UserCodeError> {
        Self::parse(&s)
    }
}

impl From<UserCode> for String {
    fn from(c: UserCode) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_read_whatever_its_case_dashes_and_spaces() {
        for typed in ["BCDF-GHJK", "bcdfghjk", " bcdf ghjk ", "Bc-Df-Gh-Jk", "BCDF\u{2013}GHJK"] {
            assert_eq!(UserCode::parse(typed).map(|c| c.as_str().to_owned()), Ok("BCDFGHJK".to_owned()), "{typed:?}");
        }
        assert_eq!(UserCode::parse("bcdfghjk").unwrap().display(), "BCDF-GHJK");
    }

    #[test]
    fn codes_with_ambiguous_or_foreign_characters_or_the_wrong_length_are_refused() {
        let long = "B".repeat(40);
        for bad in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "BCDF-GH0K",
            "BCDF-GHIK",
            "BCDF-GHOK",
            "BCDF-GHAK",
            "BCDF-GH1K",
            "ВCDF-GHJK",
            &long,
        ] {
            assert_eq!(UserCode::parse(bad), Err(UserCodeError), "{bad:?}");
        }
    }

    #[test]
    fn random_codes_use_only_the_alphabet_and_skip_biased_bytes() {
        let bytes: Vec<u8> = (0..=255).collect();
        let code = UserCode::from_random(&bytes).unwrap();
        assert_eq!(code.as_str(), "BCDFGHJK");
        assert_eq!(UserCode::from_random(&[250, 251, 252, 0, 1, 2, 3, 4, 5, 6, 7]).unwrap().as_str(), "BCDFGHJK");
        assert_eq!(UserCode::from_random(&[0; 7]), None);
        assert_eq!(UserCode::from_random(&[255; 64]), None);
    }
}
