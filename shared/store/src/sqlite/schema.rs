//! The database schema, created or migrated when the file is opened.

/// `PRAGMA user_version` of a file with [`SCHEMA`] and every migration applied. Bump it with
/// any change to either: a file at this version is opened without running them.
pub(super) const SCHEMA_VERSION: i64 = 3;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    scopes TEXT NOT NULL,
    maturity INTEGER NOT NULL,
    token_generation INTEGER NOT NULL DEFAULT 0,
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
    created_at INTEGER NOT NULL,
    redirect_uris TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS refresh_families (
    family_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL,
    user_generation INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS refresh_families_by_user ON refresh_families(user_id);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families(family_id),
    issued_at INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    expires_at INTEGER NOT NULL,
    -- Set with rotated_at: the successor's hash, and the successor sealed under this token.
    successor_hash TEXT,
    sealed_successor TEXT,
    reissued INTEGER NOT NULL DEFAULT 0
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
-- Device authorization grants (RFC 8628), by the hash of the device code; the user code is
-- unique among stored grants (an expired one is deleted before its code is given again).
CREATE TABLE IF NOT EXISTS device_grants (
    device_code_hash TEXT PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    poll_interval INTEGER NOT NULL,
    last_polled_at INTEGER,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'redeemed')),
    user_id TEXT,
    granted_scope TEXT,
    user_generation INTEGER
);
-- Authorization codes by hash; `used_at` and `family_id` are set once, by the first redemption.
CREATE TABLE IF NOT EXISTS auth_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    valid_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    family_id TEXT,
    user_generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS signin_sessions (
    session_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    user_generation INTEGER NOT NULL DEFAULT 0
);
";
