//! The embedded backend: one SQLite file in WAL mode, so several local function processes
//! (one per function under `cargo lambda watch`) share it safely.
//! One module per store trait; `codec` and `errors` are what they share.

mod catalog;
mod clients;
mod codec;
mod codes;
mod device;
mod errors;
mod profiles;
mod refresh;
mod schema;
mod throttle;
mod users;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::*;
use catalog::{index_titles, title_from_row};
use codec::*;
use errors::*;
use schema::*;

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its schema.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(classify)?;
        Self::init(conn)
    }

    /// A private in-memory database, for tests and benchmarks.
    pub fn open_in_memory() -> StoreResult<Self> {
        Self::init(Connection::open_in_memory().map_err(classify)?)
    }

    fn init(conn: Connection) -> StoreResult<Self> {
        conn.busy_timeout(Duration::from_secs(5)).map_err(classify)?;
        // WAL lets readers in other processes proceed while one writes.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(classify)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(classify)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(classify)?;
        let store = Self { conn: Mutex::new(conn) };
        store.ensure_schema()?;
        Ok(store)
    }

    /// Every start of every function opens the store, so a file already at [`SCHEMA_VERSION`]
    /// costs one read of its header; anything older gets the schema and the migrations in one
    /// write transaction (another process opening the same file may be migrating too: the
    /// version is checked again inside the lock).
    fn ensure_schema(&self) -> StoreResult<()> {
        let version =
            |c: &Connection| c.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0)).map_err(classify);
        let mut c = self.conn();
        if current(version(&c)?)? {
            return Ok(());
        }
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        if current(version(&tx)?)? {
            return Ok(());
        }
        tx.execute_batch(SCHEMA).map_err(classify)?;
        migrate_search_index(&tx)?;
        migrate_redirect_uris(&tx)?;
        migrate_token_generations(&tx)?;
        migrate_refresh_successors(&tx)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(classify)?;
        tx.commit().map_err(classify)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (statements are
        // atomic), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Deletes expired refresh tokens, families and counters (DynamoDB does this with TTL).
    pub fn purge_expired(&self, now: u64) -> StoreResult<usize> {
        let c = self.conn();
        let mut n = c.execute("DELETE FROM refresh_tokens WHERE expires_at <= ?1", [int(now)]).map_err(classify)?;
        n += c
            .execute(
                "DELETE FROM refresh_families WHERE expires_at <= ?1 AND family_id NOT IN (SELECT family_id FROM refresh_tokens)",
                [int(now)],
            )
            .map_err(classify)?;
        n += c.execute("DELETE FROM login_attempts WHERE expires_at <= ?1", [int(now)]).map_err(classify)?;
        n += c.execute("DELETE FROM device_grants WHERE expires_at <= ?1", [int(now)]).map_err(classify)?;
        n += c.execute("DELETE FROM auth_codes WHERE expires_at <= ?1", [int(now)]).map_err(classify)?;
        n += c.execute("DELETE FROM signin_sessions WHERE expires_at <= ?1", [int(now)]).map_err(classify)?;
        Ok(n)
    }
}

/// Whether a file at `version` needs nothing; a file a newer build migrated is refused, not
/// guessed at (its columns may no longer be the ones this build reads and writes).
fn current(version: i64) -> StoreResult<bool> {
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(Box::new(NewerSchema(version))));
    }
    Ok(version == SCHEMA_VERSION)
}

#[derive(Debug, thiserror::Error)]
#[error(
    "the SQLite file has schema version {0}, newer than this build's {SCHEMA_VERSION}: run a newer build, or start from a new file"
)]
struct NewerSchema(i64);

/// Databases made before the prefix index kept one row per whole word (`title_terms`), which
/// made every search read all titles of its word: rebuild the index from `titles`.
fn migrate_search_index(tx: &Connection) -> StoreResult<()> {
    const OLD: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'title_terms')";
    if !tx.query_row(OLD, [], |r| r.get::<_, bool>(0)).map_err(classify)? {
        return Ok(());
    }
    // Rows left by an earlier migration (then an older binary ran) may be stale.
    tx.execute_batch("DELETE FROM title_index").map_err(classify)?;
    let mut after: Option<String> = None;
    loop {
        let chunk = {
            let mut page = tx
                .prepare_cached(
                    "SELECT id, title, genre, year, maturity FROM titles WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2",
                )
                .map_err(classify)?;
            page.query_map(params![after, LOAD_BATCH as i64], title_from_row)
                .map_err(classify)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(classify)?
        };
        let Some(last) = chunk.last() else { break };
        after = Some(last.id.clone());
        index_titles(tx, &chunk).map_err(classify)?;
    }
    tx.execute_batch("DROP TABLE IF EXISTS title_terms").map_err(classify)
}

/// Databases made before the generation counter kept a cut-off time per user: a user who had
/// been cut off starts at generation 1 (so what was cut off stays so), and every refresh
/// family, code, approval and sign-in session recorded before reads as generation 0.
fn migrate_token_generations(tx: &Connection) -> StoreResult<()> {
    let has = |table: &str, column: &str| {
        tx.query_row("SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)", [table, column], |r| {
            r.get::<_, bool>(0)
        })
        .map_err(classify)
    };
    for (table, column) in [
        ("refresh_families", "user_generation INTEGER NOT NULL DEFAULT 0"),
        ("device_grants", "user_generation INTEGER"),
        ("auth_codes", "user_generation INTEGER NOT NULL DEFAULT 0"),
        ("signin_sessions", "user_generation INTEGER NOT NULL DEFAULT 0"),
    ] {
        if !has(table, "user_generation")? {
            tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column}")).map_err(classify)?;
        }
    }
    if !has("users", "tokens_valid_after")? {
        return Ok(());
    }
    tx.execute_batch(
        "ALTER TABLE users ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0;
         UPDATE users SET token_generation = 1 WHERE tokens_valid_after > 0;",
    )
    .map_err(classify)?;
    // What the old check let through (made at or after its user's cut-off) stays valid.
    for table in ["refresh_families", "device_grants", "auth_codes", "signin_sessions"] {
        tx.execute_batch(&format!(
            "UPDATE {table} SET user_generation = 1
             WHERE created_at >= (SELECT tokens_valid_after FROM users WHERE users.id = {table}.user_id AND tokens_valid_after > 0)"
        ))
        .map_err(classify)?;
    }
    tx.execute_batch("ALTER TABLE users DROP COLUMN tokens_valid_after").map_err(classify)
}

/// Databases made before the refresh grace window kept no successor of a rotated token: such a
/// token, presented again, is reuse (as it was when it was rotated).
fn migrate_refresh_successors(tx: &Connection) -> StoreResult<()> {
    const HAS: &str = "SELECT EXISTS (SELECT 1 FROM pragma_table_info('refresh_tokens') WHERE name = ?1)";
    for (column, kind) in
        [("successor_hash", "TEXT"), ("sealed_successor", "TEXT"), ("reissued", "INTEGER NOT NULL DEFAULT 0")]
    {
        if !tx.query_row(HAS, [column], |r| r.get::<_, bool>(0)).map_err(classify)? {
            tx.execute_batch(&format!("ALTER TABLE refresh_tokens ADD COLUMN {column} {kind}")).map_err(classify)?;
        }
    }
    Ok(())
}

/// Databases made before the code flow have clients without redirect URIs: none, then.
fn migrate_redirect_uris(tx: &Connection) -> StoreResult<()> {
    const HAS: &str = "SELECT EXISTS (SELECT 1 FROM pragma_table_info('clients') WHERE name = 'redirect_uris')";
    if !tx.query_row(HAS, [], |r| r.get::<_, bool>(0)).map_err(classify)? {
        tx.execute_batch("ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]'")
            .map_err(classify)?;
    }
    Ok(())
}
