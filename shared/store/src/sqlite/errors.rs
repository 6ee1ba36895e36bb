//! How SQLite errors become [`StoreError`]s.

use super::*;

pub(super) fn classify(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => StoreError::Unavailable(Box::new(e)),
        _ => StoreError::Backend(Box::new(e)),
    }
}

pub(super) fn unique_or(e: rusqlite::Error, what: &'static str) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
        StoreError::AlreadyExists(what)
    } else {
        classify(e)
    }
}
