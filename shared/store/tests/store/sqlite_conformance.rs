//! The shared conformance suite on the embedded SQLite backend, plus what only a file-backed
//! store can show: several processes' connections racing on one database.

use oasis_store::sqlite::SqliteStore;
use oasis_store::*;

async fn fresh() -> SqliteStore {
    SqliteStore::open_in_memory().unwrap()
}

oasis_store::conformance_tests!(fresh());

fn temp_db() -> std::path::PathBuf {
    let n: u64 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    std::env::temp_dir().join(format!("oasis-race-{}-{n}.db", std::process::id()))
}

#[test]
fn two_connections_racing_to_rotate_one_refresh_token_produce_exactly_one_winner() {
    // Each thread has its own connection, like two function processes sharing the file.
    let path = temp_db();
    let setup = SqliteStore::open(&path).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for round in 0..20 {
        let fam = format!("f{round}");
        let family = RefreshFamily {
            family_id: fam.clone(),
            user_id: oasis_store::UserId::parse("usr_u").unwrap(),
            client_id: oasis_store::ClientId::parse("web").unwrap(),
            scope: "search".into(),
            user_generation: 0,
            created_at: 0,
            expires_at: u64::MAX / 4,
            revoked: false,
        };
        let first = RefreshToken {
            token_hash: format!("old{round}"),
            family_id: fam.clone(),
            issued_at: 0,
            idle_expires_at: u64::MAX / 4,
            rotated_at: None,
            expires_at: u64::MAX / 4,
            successor: None,
            reissued: false,
        };
        rt.block_on(setup.create_family(&family, &first)).unwrap();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let (path, barrier, mut next) = (path.clone(), barrier.clone(), first.clone());
                next.token_hash = format!("new{round}-{i}");
                let old = first.token_hash.clone();
                std::thread::spawn(move || {
                    let store = SqliteStore::open(&path).unwrap();
                    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
                    barrier.wait();
                    rt.block_on(store.rotate(&old, &next, "sealed", 1)).unwrap()
                })
            })
            .collect();
        let results: Vec<Rotation> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners = results.iter().filter(|r| **r == Rotation::Rotated).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_database_from_before_the_prefix_index_is_reindexed_when_opened() {
    // The layout of earlier versions: titles plus one `title_terms` row per whole word.
    let path = temp_db();
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE titles (id TEXT PRIMARY KEY, title TEXT NOT NULL, sort_key TEXT NOT NULL,
                 genre TEXT NOT NULL, year INTEGER NOT NULL, maturity INTEGER NOT NULL);
             CREATE TABLE title_terms (term TEXT NOT NULL, title_id TEXT NOT NULL,
                 PRIMARY KEY (term, title_id)) WITHOUT ROWID;
             INSERT INTO titles VALUES ('tt1', 'Amélie', 'amelie', 'comedy', 2001, 13);
             INSERT INTO titles VALUES ('tt2', 'The Matrix', 'the matrix', 'scifi', 1999, 16);
             INSERT INTO title_terms VALUES ('amelie', 'tt1'), ('the', 'tt2'), ('matrix', 'tt2');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let q = |term: &str| CatalogQuery {
        terms: vec![term.into()],
        genre: None,
        year_from: None,
        year_to: None,
        max_maturity: oasis_store::Maturity::ADULT,
        after: None,
        limit: 10,
    };
    let ids = |term| rt.block_on(store.search(&q(term))).unwrap().titles.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids("ame"), ["tt1"]);
    assert_eq!(ids("matr"), ["tt2"]);
    drop(store);
    let reopened = rusqlite::Connection::open(&path).unwrap();
    let left: i64 =
        reopened.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'title_terms'", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0, "the old index is dropped");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_database_whose_clients_predate_redirect_uris_opens_with_none_registered() {
    let path = temp_db();
    {
        // The clients table as it was before the code flow.
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE clients (client_id TEXT PRIMARY KEY, secret_hash TEXT, name TEXT NOT NULL,
                 first_party INTEGER NOT NULL, grant_types TEXT NOT NULL, scopes TEXT NOT NULL,
                 refresh_in_cookie INTEGER NOT NULL, allowed_origins TEXT NOT NULL, disabled INTEGER NOT NULL,
                 created_at INTEGER NOT NULL);
             INSERT INTO clients VALUES ('old-app', NULL, 'Old app', 1, '[\"password\"]', '[\"search\"]', 0, '[]', 0, 1);",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let client = rt.block_on(store.client(&ClientId::parse("old-app").unwrap())).unwrap().unwrap();
    assert!(client.redirect_uris.is_empty());
    drop(SqliteStore::open(&path).unwrap());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_database_at_the_current_schema_version_is_opened_without_running_the_migrations() {
    // Every function start opens the store: a current file must cost a header read, not the
    // schema and every migration. An old-layout table planted after the first open shows
    // whether the search-index migration ran again (it would drop it).
    let path = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = raw.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert!(version > 0, "the first open records the schema version");
    raw.execute_batch("CREATE TABLE title_terms (term TEXT NOT NULL, title_id TEXT NOT NULL)").unwrap();
    drop(SqliteStore::open(&path).unwrap());
    let planted: i64 =
        raw.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'title_terms'", [], |r| r.get(0)).unwrap();
    assert_eq!(planted, 1, "a current file is not migrated again");
    // The same file marked as older is migrated on its next open.
    raw.pragma_update(None, "user_version", 0).unwrap();
    drop(SqliteStore::open(&path).unwrap());
    let left: i64 =
        raw.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'title_terms'", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_database_from_before_the_generation_counter_keeps_its_cut_offs_and_what_survived_them() {
    let path = temp_db();
    {
        // Users with a cut-off time, and refresh families and sessions without a generation.
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
                 disabled INTEGER NOT NULL, scopes TEXT NOT NULL, maturity INTEGER NOT NULL,
                 tokens_valid_after INTEGER NOT NULL, created_at INTEGER NOT NULL);
             INSERT INTO users VALUES ('usr_cut', 'cut', 'h', 0, '[\"search\"]', 13, 1700000000, 1);
             INSERT INTO users VALUES ('usr_never', 'never', 'h', 0, '[\"search\"]', 13, 0, 1);
             CREATE TABLE refresh_families (family_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL,
                 scope TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL);
             INSERT INTO refresh_families VALUES ('before', 'usr_cut', 'web', 'search', 1699999999, 4000000000, 0);
             INSERT INTO refresh_families VALUES ('after', 'usr_cut', 'web', 'search', 1700000000, 4000000000, 0);
             INSERT INTO refresh_families VALUES ('never', 'usr_never', 'web', 'search', 1, 4000000000, 0);
             CREATE TABLE signin_sessions (session_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL,
                 idle_expires_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
             INSERT INTO signin_sessions VALUES ('s-before', 'usr_cut', 1699999000, 4000000000, 4000000000);
             INSERT INTO signin_sessions VALUES ('s-after', 'usr_cut', 1700000100, 4000000000, 4000000000);",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let generation = |id: &str| {
        rt.block_on(store.user_by_id(&oasis_store::UserId::parse(id).unwrap())).unwrap().unwrap().token_generation
    };
    assert_eq!((generation("usr_cut"), generation("usr_never")), (1, 0), "what was cut off stays cut off");
    // The old check (made at or after the cut-off) and the new one (same generation) agree.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let recorded = |sql: &str| raw.query_row(sql, [], |r| r.get::<_, String>(0)).unwrap();
    let families = "SELECT group_concat(family_id || '=' || user_generation, ' ') FROM (SELECT * FROM refresh_families ORDER BY family_id)";
    assert_eq!(recorded(families), "after=1 before=0 never=0");
    let sessions = "SELECT group_concat(session_hash || '=' || user_generation, ' ') FROM (SELECT * FROM signin_sessions ORDER BY session_hash)";
    assert_eq!(recorded(sessions), "s-after=1 s-before=0");
    rt.block_on(store.cut_off_tokens(&oasis_store::UserId::parse("usr_cut").unwrap())).unwrap();
    assert_eq!(generation("usr_cut"), 2);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_database_from_before_the_refresh_grace_window_reads_its_rotated_tokens_as_without_successor() {
    let path = temp_db();
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE refresh_families (family_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL,
                 scope TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL,
                 user_generation INTEGER NOT NULL DEFAULT 0);
             INSERT INTO refresh_families VALUES ('f', 'usr_u', 'web', 'search', 1, 4000000000, 0, 0);
             CREATE TABLE refresh_tokens (token_hash TEXT PRIMARY KEY, family_id TEXT NOT NULL, issued_at INTEGER NOT NULL,
                 idle_expires_at INTEGER NOT NULL, rotated_at INTEGER, expires_at INTEGER NOT NULL);
             INSERT INTO refresh_tokens VALUES ('old', 'f', 1, 4000000000, 5, 4000000000);
             INSERT INTO refresh_tokens VALUES ('live', 'f', 5, 4000000000, NULL, 4000000000);
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (old, _) = rt.block_on(store.refresh_token("old")).unwrap().unwrap();
    assert_eq!((old.rotated_at, old.successor), (Some(5), None), "presented again, it is reuse as before");
    let (live, _) = rt.block_on(store.refresh_token("live")).unwrap().unwrap();
    let mut next = live.clone();
    next.token_hash = "next".into();
    assert_eq!(rt.block_on(store.rotate("live", &next, "sealed", 6)).unwrap(), Rotation::Rotated);
    let (live, _) = rt.block_on(store.refresh_token("live")).unwrap().unwrap();
    assert_eq!(live.successor, Some(Successor { token_hash: "next".into(), sealed: "sealed".into() }));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_database_a_newer_build_migrated_is_refused_with_a_clear_error_not_misread() {
    let path = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 1_000).unwrap();
    let Err(e) = SqliteStore::open(&path) else { panic!("a newer file was opened") };
    let cause = std::error::Error::source(&e).map(|c| c.to_string()).unwrap_or_default();
    assert!(cause.contains("schema version 1000, newer than this build's"), "{cause}");
    let _ = std::fs::remove_file(&path);
}
