//! The embedded backend: one SQLite file in WAL mode, so several local function processes
//! (one per function under `cargo lambda watch`) share it safely.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::*;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    scopes TEXT NOT NULL,
    maturity INTEGER NOT NULL,
    tokens_valid_after INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY,
    secret_hash TEXT,
    name TEXT NOT NULL,
    first_party INTEGER NOT NULL,
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    refresh_in_cookie INTEGER NOT NULL,
    allowed_origins TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_families (
    family_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS refresh_families_by_user ON refresh_families(user_id);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families(family_id),
    issued_at INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS profiles (
    user_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    entitlements TEXT NOT NULL,
    watchlist TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS titles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    genre TEXT NOT NULL,
    year INTEGER NOT NULL,
    maturity INTEGER NOT NULL
);
-- The search index: one row per (word prefix, title), in result order, carrying what a result
-- shows, so a page is one range read of about `limit` rows whatever the catalog size.
CREATE TABLE IF NOT EXISTS title_index (
    prefix TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    genre TEXT NOT NULL,
    year INTEGER NOT NULL,
    maturity INTEGER NOT NULL,
    PRIMARY KEY (prefix, sort_key, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS login_attempts (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
";

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn classify(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => StoreError::Unavailable(Box::new(e)),
        _ => StoreError::Backend(Box::new(e)),
    }
}

fn unique_or(e: rusqlite::Error, what: &'static str) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
        StoreError::AlreadyExists(what)
    } else {
        classify(e)
    }
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn from_json_list(row: &Row<'_>, idx: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

// SQLite stores INTEGER as i64; our times and counters fit comfortably.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

const USER_COLUMNS: &str = "id, username, password_hash, disabled, scopes, maturity, tokens_valid_after, created_at";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        disabled: r.get(3)?,
        scopes: from_json_list(r, 4)?,
        maturity: r.get(5)?,
        tokens_valid_after: r.get::<_, i64>(6)? as u64,
        created_at: r.get::<_, i64>(7)? as u64,
    })
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
        conn.execute_batch(SCHEMA).map_err(classify)?;
        let store = Self { conn: Mutex::new(conn) };
        store.migrate_search_index()?;
        Ok(store)
    }

    /// Databases made before the prefix index kept one row per whole word (`title_terms`),
    /// which made every search read all titles of its word: rebuild the index from `titles`.
    fn migrate_search_index(&self) -> StoreResult<()> {
        const OLD: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'title_terms')";
        let mut c = self.conn();
        if !c.query_row(OLD, [], |r| r.get::<_, bool>(0)).map_err(classify)? {
            return Ok(());
        }
        // Another process opening the same file may be migrating too: decide inside the lock.
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
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
            index_titles(&tx, &chunk).map_err(classify)?;
        }
        tx.execute_batch("DROP TABLE IF EXISTS title_terms").map_err(classify)?;
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
        Ok(n)
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, u: &User) -> StoreResult<()> {
        self.conn()
            .execute(
                &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    u.id,
                    u.username,
                    u.password_hash,
                    u.disabled,
                    json_list(&u.scopes),
                    u.maturity,
                    int(u.tokens_valid_after),
                    int(u.created_at)
                ],
            )
            .map_err(|e| unique_or(e, "user"))?;
        Ok(())
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        self.conn()
            .query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"), [username], user_from_row)
            .optional()
            .map_err(classify)
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        self.conn()
            .query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"), [id], user_from_row)
            .optional()
            .map_err(classify)
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> StoreResult<()> {
        self.conn()
            .execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![id, hash])
            .map_err(classify)?;
        Ok(())
    }

    async fn set_disabled(&self, id: &str, disabled: bool) -> StoreResult<()> {
        self.conn().execute("UPDATE users SET disabled = ?2 WHERE id = ?1", params![id, disabled]).map_err(classify)?;
        Ok(())
    }

    async fn set_tokens_valid_after(&self, id: &str, at: u64) -> StoreResult<()> {
        self.conn()
            .execute("UPDATE users SET tokens_valid_after = ?2 WHERE id = ?1", params![id, int(at)])
            .map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn create_client(&self, c: &Client) -> StoreResult<()> {
        self.conn()
            .execute(
                "INSERT INTO clients (client_id, secret_hash, name, first_party, grant_types, scopes,
                     refresh_in_cookie, allowed_origins, disabled, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    c.client_id,
                    c.secret_hash,
                    c.name,
                    c.first_party,
                    json_list(&c.grant_types),
                    json_list(&c.scopes),
                    c.refresh_in_cookie,
                    json_list(&c.allowed_origins),
                    c.disabled,
                    int(c.created_at)
                ],
            )
            .map_err(|e| unique_or(e, "client"))?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.conn()
            .query_row(
                "SELECT client_id, secret_hash, name, first_party, grant_types, scopes, refresh_in_cookie,
                        allowed_origins, disabled, created_at
                 FROM clients WHERE client_id = ?1",
                [client_id],
                |r| {
                    Ok(Client {
                        client_id: r.get(0)?,
                        secret_hash: r.get(1)?,
                        name: r.get(2)?,
                        first_party: r.get(3)?,
                        grant_types: from_json_list(r, 4)?,
                        scopes: from_json_list(r, 5)?,
                        refresh_in_cookie: r.get(6)?,
                        allowed_origins: from_json_list(r, 7)?,
                        disabled: r.get(8)?,
                        created_at: r.get::<_, i64>(9)? as u64,
                    })
                },
            )
            .optional()
            .map_err(classify)
    }
}

fn insert_token(c: &Connection, t: &RefreshToken) -> rusqlite::Result<usize> {
    c.execute(
        "INSERT INTO refresh_tokens (token_hash, family_id, issued_at, idle_expires_at, rotated_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            t.token_hash,
            t.family_id,
            int(t.issued_at),
            int(t.idle_expires_at),
            t.rotated_at.map(int),
            int(t.expires_at)
        ],
    )
}

#[async_trait]
impl RefreshStore for SqliteStore {
    async fn create_family(&self, f: &RefreshFamily, first: &RefreshToken) -> StoreResult<()> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        tx.execute(
            "INSERT INTO refresh_families (family_id, user_id, client_id, scope, created_at, expires_at, revoked)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![f.family_id, f.user_id, f.client_id, f.scope, int(f.created_at), int(f.expires_at), f.revoked],
        )
        .map_err(|e| unique_or(e, "refresh family"))?;
        insert_token(&tx, first).map_err(|e| unique_or(e, "refresh token"))?;
        tx.commit().map_err(classify)
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
        self.conn()
            .query_row(
                "SELECT t.token_hash, t.family_id, t.issued_at, t.idle_expires_at, t.rotated_at, t.expires_at,
                        f.user_id, f.client_id, f.scope, f.created_at, f.expires_at, f.revoked
                 FROM refresh_tokens t JOIN refresh_families f ON f.family_id = t.family_id
                 WHERE t.token_hash = ?1",
                [token_hash],
                |r| {
                    let token = RefreshToken {
                        token_hash: r.get(0)?,
                        family_id: r.get(1)?,
                        issued_at: r.get::<_, i64>(2)? as u64,
                        idle_expires_at: r.get::<_, i64>(3)? as u64,
                        rotated_at: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                        expires_at: r.get::<_, i64>(5)? as u64,
                    };
                    let family = RefreshFamily {
                        family_id: token.family_id.clone(),
                        user_id: r.get(6)?,
                        client_id: r.get(7)?,
                        scope: r.get(8)?,
                        created_at: r.get::<_, i64>(9)? as u64,
                        expires_at: r.get::<_, i64>(10)? as u64,
                        revoked: r.get(11)?,
                    };
                    Ok((token, family))
                },
            )
            .optional()
            .map_err(classify)
    }

    async fn rotate(&self, old_hash: &str, new: &RefreshToken, now: u64) -> StoreResult<Rotation> {
        let mut c = self.conn();
        // IMMEDIATE takes the write lock up front, so two processes cannot both read
        // "not rotated" and both win.
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        let changed = tx
            .execute(
                "UPDATE refresh_tokens SET rotated_at = ?2
                 WHERE token_hash = ?1 AND rotated_at IS NULL
                   AND family_id IN (SELECT family_id FROM refresh_families WHERE revoked = 0)",
                params![old_hash, int(now)],
            )
            .map_err(classify)?;
        if changed == 0 {
            return Ok(Rotation::AlreadyUsed);
        }
        insert_token(&tx, new).map_err(|e| unique_or(e, "refresh token"))?;
        tx.commit().map_err(classify)?;
        Ok(Rotation::Rotated)
    }

    async fn revoke_family(&self, family_id: &str) -> StoreResult<()> {
        self.conn()
            .execute("UPDATE refresh_families SET revoked = 1 WHERE family_id = ?1", [family_id])
            .map_err(classify)?;
        Ok(())
    }

    async fn revoke_user_families(&self, user_id: &str) -> StoreResult<u32> {
        let n = self
            .conn()
            .execute("UPDATE refresh_families SET revoked = 1 WHERE user_id = ?1 AND revoked = 0", [user_id])
            .map_err(classify)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

fn attempts_from_row(r: &Row<'_>) -> rusqlite::Result<Attempts> {
    Ok(Attempts {
        failures: r.get(0)?,
        locked_until: r.get::<_, i64>(1)? as u64,
        expires_at: r.get::<_, i64>(2)? as u64,
    })
}

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn attempts(&self, key: &str, now: u64) -> StoreResult<Option<Attempts>> {
        self.conn()
            .query_row(
                "SELECT failures, locked_until, expires_at FROM login_attempts WHERE key = ?1 AND expires_at > ?2",
                params![key, int(now)],
                attempts_from_row,
            )
            .optional()
            .map_err(classify)
    }

    async fn record_failure(&self, key: &str, now: u64, expires_at: u64) -> StoreResult<Attempts> {
        // An expired counter starts again from one, as a DynamoDB TTL deletion would.
        self.conn()
            .query_row(
                "INSERT INTO login_attempts (key, failures, locked_until, expires_at) VALUES (?1, 1, 0, ?3)
                 ON CONFLICT(key) DO UPDATE SET
                    failures = CASE WHEN login_attempts.expires_at <= ?2 THEN 1 ELSE login_attempts.failures + 1 END,
                    locked_until = CASE WHEN login_attempts.expires_at <= ?2 THEN 0 ELSE login_attempts.locked_until END,
                    expires_at = ?3
                 RETURNING failures, locked_until, expires_at",
                params![key, int(now), int(expires_at)],
                attempts_from_row,
            )
            .map_err(classify)
    }

    async fn try_lock(&self, key: &str, now: u64, locked_until: u64, expires_at: u64) -> StoreResult<bool> {
        let changed = self
            .conn()
            .execute(
                "UPDATE login_attempts SET locked_until = ?2, expires_at = MAX(expires_at, ?3)
                 WHERE key = ?1 AND locked_until <= ?4 AND expires_at > ?4",
                params![key, int(locked_until), int(expires_at), int(now)],
            )
            .map_err(classify)?;
        Ok(changed == 1)
    }

    async fn clear_attempts(&self, key: &str) -> StoreResult<()> {
        self.conn().execute("DELETE FROM login_attempts WHERE key = ?1", [key]).map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl ProfileStore for SqliteStore {
    async fn put_profile(&self, p: &Profile) -> StoreResult<()> {
        self.conn()
            .execute(
                "INSERT INTO profiles (user_id, display_name, entitlements, watchlist) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(user_id) DO UPDATE SET display_name = ?2, entitlements = ?3, watchlist = ?4",
                params![p.user_id, p.display_name, json_list(&p.entitlements), json_list(&p.watchlist)],
            )
            .map_err(classify)?;
        Ok(())
    }

    async fn profile(&self, user_id: &str) -> StoreResult<Option<Profile>> {
        self.conn()
            .query_row(
                "SELECT user_id, display_name, entitlements, watchlist FROM profiles WHERE user_id = ?1",
                [user_id],
                |r| {
                    Ok(Profile {
                        user_id: r.get(0)?,
                        display_name: r.get(1)?,
                        entitlements: from_json_list(r, 2)?,
                        watchlist: from_json_list(r, 3)?,
                    })
                },
            )
            .optional()
            .map_err(classify)
    }
}

fn title_from_row(r: &Row<'_>) -> rusqlite::Result<Title> {
    Ok(Title { id: r.get(0)?, title: r.get(1)?, genre: r.get(2)?, year: r.get(3)?, maturity: r.get(4)? })
}

/// Adds the index rows of `titles` (the caller has removed any old ones), in key order: a
/// batch's rows then land on neighbouring B-tree pages instead of scattered ones.
fn index_titles(c: &Connection, titles: &[Title]) -> rusqlite::Result<()> {
    let mut rows: Vec<(String, String, &Title)> = Vec::with_capacity(titles.len() * 16);
    for t in titles {
        let sort_key = t.sort_key();
        rows.extend(index_prefixes(&t.title).into_iter().map(|p| (p, sort_key.clone(), t)));
    }
    rows.sort_unstable_by(|a, b| (&a.0, &a.1, &a.2.id).cmp(&(&b.0, &b.1, &b.2.id)));
    let mut put = c.prepare_cached(
        "INSERT OR REPLACE INTO title_index (prefix, sort_key, id, title, genre, year, maturity)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (prefix, sort_key, t) in rows {
        put.execute(params![prefix, sort_key, t.id, t.title, t.genre, t.year, t.maturity])?;
    }
    Ok(())
}

/// Removes the index rows of the title stored under `id`, if there is one.
fn unindex_title(c: &Connection, id: &str) -> rusqlite::Result<()> {
    let old: Option<String> =
        c.prepare_cached("SELECT title FROM titles WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
    let Some(old) = old else { return Ok(()) };
    let sort_key = oasis_text::fold(&old);
    let mut delete = c.prepare_cached("DELETE FROM title_index WHERE prefix = ?1 AND sort_key = ?2 AND id = ?3")?;
    for prefix in index_prefixes(&old) {
        delete.execute(params![prefix, sort_key, id])?;
    }
    Ok(())
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn put_titles(&self, titles: &[Title]) -> StoreResult<()> {
        self.load_titles(titles, &mut |_| {}).await
    }

    async fn load_titles(&self, titles: &[Title], progress: &mut (dyn FnMut(usize) + Send)) -> StoreResult<()> {
        let mut c = self.conn();
        // A load writes ~16 index rows per title at keys spread over the whole index. In one
        // transaction with a page cache to match (this connection only: the process that
        // loads), each index page is written about once instead of once per batch.
        c.pragma_update(None, "cache_size", -262_144).map_err(classify)?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        let mut done = 0;
        for chunk in titles.chunks(LOAD_BATCH) {
            check_titles(chunk)?;
            // A title given twice in one chunk: the last copy wins, as it would across chunks.
            let chunk = last_copies(chunk);
            let chunk = chunk.as_slice();
            {
                let mut put = tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO titles (id, title, sort_key, genre, year, maturity) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .map_err(classify)?;
                for t in chunk {
                    unindex_title(&tx, &t.id).map_err(classify)?;
                    put.execute(params![t.id, t.title, t.sort_key(), t.genre, t.year, t.maturity]).map_err(classify)?;
                }
            }
            index_titles(&tx, chunk).map_err(classify)?;
            done += chunk.len();
            progress(done);
        }
        tx.commit().map_err(classify)
    }

    async fn title_count(&self) -> StoreResult<u64> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM titles", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(classify)
    }

    async fn search(&self, q: &CatalogQuery) -> StoreResult<SearchPage> {
        search::search(self, q).await
    }
}

impl search::IndexReader for SqliteStore {
    fn read(
        &self,
        key: &str,
        from: search::From<'_>,
        n: usize,
    ) -> impl std::future::Future<Output = StoreResult<Vec<search::Entry>>> + Send {
        std::future::ready(self.read_index(key, from, n))
    }
}

impl SqliteStore {
    fn read_index(&self, key: &str, from: search::From<'_>, n: usize) -> StoreResult<Vec<search::Entry>> {
        // The statement text holds only placeholders: user text is always a bound value.
        let (sql, k, id) = match from {
            search::From::Start => ("prefix = ?1 AND ?2 IS NULL AND ?3 IS NULL", None, None),
            search::From::After(k, id) => ("prefix = ?1 AND (sort_key, id) > (?2, ?3)", Some(k), Some(id)),
            search::From::AtOrAfter(k, id) => ("prefix = ?1 AND (sort_key, id) >= (?2, ?3)", Some(k), Some(id)),
        };
        let c = self.conn();
        let mut stmt = c
            .prepare_cached(&format!(
                "SELECT sort_key, id, title, genre, year, maturity FROM title_index
                 WHERE {sql} ORDER BY sort_key, id LIMIT ?4"
            ))
            .map_err(classify)?;
        let rows = stmt
            .query_map(params![key, k, id, i64::try_from(n).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Title { id: r.get(1)?, title: r.get(2)?, genre: r.get(3)?, year: r.get(4)?, maturity: r.get(5)? },
                ))
            })
            .map_err(classify)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(classify)
    }
}
