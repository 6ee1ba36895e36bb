//! Catalog values: genres (a closed list, so a filter is never free text) and maturity
//! ratings (minimum viewer ages).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Genre(&'static str);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown genre (known: {})", Genre::ALL.join(", "))]
pub struct GenreError;

impl Genre {
    pub const ALL: [&'static str; 10] =
        ["action", "animation", "comedy", "documentary", "drama", "family", "horror", "romance", "scifi", "thriller"];

    /// Case-insensitive: `Drama` is `drama`.
    pub fn parse(raw: &str) -> Result<Self, GenreError> {
        Self::ALL.iter().find(|g| g.eq_ignore_ascii_case(raw)).map(|g| Genre(g)).ok_or(GenreError)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Genre {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl AsRef<str> for Genre {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl TryFrom<String> for Genre {
    type Error = GenreError;
    fn try_from(s: String) -> Result<Self, GenreError> {
        Self::parse(&s)
    }
}

impl From<Genre> for String {
    fn from(g: Genre) -> String {
        g.0.to_owned()
    }
}

impl Serialize for Genre {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Genre {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Genre::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A maturity ceiling or rating: an age from 0 to 18. Titles carry one of
/// [`Maturity::RATINGS`]; a user's ceiling may be any age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Maturity(u8);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("maturity must be an age from 0 to 18")]
pub struct MaturityError;

impl Maturity {
    /// The ratings a title may carry.
    pub const RATINGS: [u8; 5] = [0, 7, 13, 16, 18];
    pub const ALL_AGES: Maturity = Maturity(0);
    pub const ADULT: Maturity = Maturity(18);

    pub fn parse(age: u8) -> Result<Self, MaturityError> {
        if age <= 18 { Ok(Self(age)) } else { Err(MaturityError) }
    }

    /// A title's rating: one of [`Maturity::RATINGS`].
    pub fn rating(age: u8) -> Result<Self, MaturityError> {
        if Self::RATINGS.contains(&age) { Ok(Self(age)) } else { Err(MaturityError) }
    }

    pub fn age(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Maturity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl PartialEq<u8> for Maturity {
    fn eq(&self, age: &u8) -> bool {
        self.0 == *age
    }
}

impl TryFrom<u8> for Maturity {
    type Error = MaturityError;
    fn try_from(age: u8) -> Result<Self, MaturityError> {
        Self::parse(age)
    }
}

impl From<Maturity> for u8 {
    fn from(m: Maturity) -> u8 {
        m.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genres_are_a_closed_case_insensitive_list() {
        assert_eq!(Genre::parse("SciFi").map(Genre::as_str), Ok("scifi"));
        for bad in ["", "sci-fi", "drama ", "western", "' or 1=1"] {
            assert_eq!(Genre::parse(bad), Err(GenreError), "{bad:?}");
        }
    }

    #[test]
    fn maturity_is_an_age_up_to_18_and_ratings_are_five_of_them() {
        assert_eq!(Maturity::parse(18).map(Maturity::age), Ok(18));
        assert_eq!(Maturity::parse(19), Err(MaturityError));
        assert!(Maturity::rating(13).is_ok());
        assert_eq!(Maturity::rating(12), Err(MaturityError));
        assert!(serde_json::from_str::<Maturity>("200").is_err());
    }
}
