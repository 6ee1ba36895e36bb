//! SQLite columns: every value is stored as its text (or age) and parsed again when read, so a
//! corrupt row is an error, never a value that skipped its check.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::{ClientId, Genre, GrantType, Maturity, UserCode, UserId, Username};

macro_rules! text_column {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_ref()))
            }
        }
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                <$t>::parse(value.as_str()?).map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    )*};
}
text_column!(UserId, ClientId, Username, Genre, GrantType, UserCode);

impl ToSql for Maturity {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.age()))
    }
}

impl FromSql for Maturity {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let age = u8::try_from(value.as_i64()?).map_err(|_| FromSqlError::OutOfRange(0))?;
        Maturity::parse(age).map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}
