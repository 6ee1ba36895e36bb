//! Column values to and from Rust values.

use super::*;

pub(super) fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// A JSON list column; each element is parsed into its type (a domain value re-checks itself).
pub(super) fn from_json_list<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

/// A scope column (space-separated text), parsed again when read.
pub(super) fn scope_column(row: &Row<'_>, idx: usize) -> rusqlite::Result<ScopeSet> {
    let text: String = row.get(idx)?;
    ScopeSet::parse(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

// SQLite stores INTEGER as i64; our times and counters fit comfortably.
pub(super) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
