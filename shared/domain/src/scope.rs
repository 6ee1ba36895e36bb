//! OAuth2 scopes (RFC 6749 §3.3): a space-delimited set of case-sensitive tokens.

use std::collections::BTreeSet;
use std::fmt;

/// Reads the caller's own profile and data (`GET /secure-data`).
pub const DATA_READ: &str = "data:read";
/// Searches the catalog (`/search`).
pub const SEARCH: &str = "search";
/// Reads any user's data (`GET /secure-data/{user_id}`).
pub const ADMIN: &str = "admin";

/// Every scope this service knows. Requests for others are `invalid_scope`.
pub const KNOWN: [&str; 3] = [DATA_READ, SEARCH, ADMIN];

const MAX_SCOPE_LEN: usize = 64;
const MAX_SCOPES: usize = 16;

/// A validated, de-duplicated, ordered set of scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed scope")]
pub struct ScopeError;

impl ScopeSet {
    /// Parses a `scope` parameter. Characters outside RFC 6749's NQCHAR, empty tokens from
    /// repeated spaces, overlong tokens and too many tokens are refused.
    pub fn parse(raw: &str) -> Result<Self, ScopeError> {
        Self::from_tokens(raw.split(' '))
    }

    /// A set from separate tokens (a stored list), each checked as [`ScopeSet::parse`] checks
    /// the tokens of a parameter.
    pub fn from_tokens<I: IntoIterator<Item = S>, S: AsRef<str>>(tokens: I) -> Result<Self, ScopeError> {
        let mut set = BTreeSet::new();
        for token in tokens {
            let token = token.as_ref();
            let valid_char = |c: char| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c);
            if token.is_empty() || token.len() > MAX_SCOPE_LEN || !token.chars().all(valid_char) {
                return Err(ScopeError);
            }
            set.insert(token.to_owned());
        }
        if set.len() > MAX_SCOPES {
            return Err(ScopeError);
        }
        Ok(Self(set))
    }

    pub fn from_known<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Self {
        Self(items.into_iter().map(Into::into).collect())
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Stored as a list of tokens; read back through [`ScopeSet::from_tokens`].
impl serde::Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> serde::Deserialize<'de> for ScopeSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let tokens = Vec::<String>::deserialize(d)?;
        ScopeSet::from_tokens(&tokens).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parameters_are_split_deduplicated_and_ordered() {
        let s = ScopeSet::parse("search data:read search").unwrap();
        assert_eq!(s.to_string(), "data:read search");
    }

    #[test]
    fn malformed_scope_parameters_are_refused() {
        for bad in ["", " ", "a  b", "quote\"", "back\\slash", "tab\tx", "é", &"x".repeat(65)] {
            assert_eq!(ScopeSet::parse(bad), Err(ScopeError), "{bad:?}");
        }
    }

    #[test]
    fn a_stored_list_is_checked_token_by_token() {
        let set: ScopeSet = serde_json::from_str(r#"["search","data:read","search"]"#).unwrap();
        assert_eq!(
            (set.to_string(), serde_json::to_string(&set).unwrap()),
            ("data:read search".into(), r#"["data:read","search"]"#.into())
        );
        for bad in [r#"["a b"]"#, r#"[""]"#, r#"["quote\""]"#] {
            assert!(serde_json::from_str::<ScopeSet>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn too_many_scopes_are_refused() {
        let many: Vec<String> = (0..17).map(|i| format!("s{i}")).collect();
        assert!(ScopeSet::parse(&many.join(" ")).is_err());
    }
}
