//! The oasis-admin binary as an operator uses it: passwords on stdin, clear errors, and every
//! flag the README, the scripts and the e2e tests use accepted, listed by `--help` and effective.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use oasis_auth::password::{PasswordHasher, Verification};
use oasis_store::sqlite::SqliteStore;
use oasis_store::{CatalogStore, ClientStore, UserStore};

const PASSWORD: &str = "a long enough password\n";

/// Runs the binary with only `env` for an environment, so no OASIS_* or AWS_* variable of the
/// machine running the tests changes what it does. Returns (exit code, stdout, stderr).
fn run(args: &[&str], env: &[(&str, &str)], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oasis-admin"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that fails before reading stdin closes it; that is not the test's failure.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn admin(db: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    run(args, &[("OASIS_SQLITE_PATH", db.to_str().unwrap())], stdin)
}

/// A fresh directory, removed when the test ends (passed or not).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("oasis-cli-{}", oasis_auth::secret::random_token(6)));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn str(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn user_create_reads_the_password_from_stdin_and_stores_only_its_hash() {
    let dir = std::env::temp_dir().join(format!("oasis-cli-{}", oasis_auth::secret::random_token(6)));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("oasis.db");
    let (code, out, err) =
        admin(&db, &["user", "create", "Alice", "--scopes", "search", "--maturity", "16"], "a long enough password\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created user alice"), "{out}");
    assert!(!out.contains("a long enough password") && !err.contains("a long enough password"));
    let user = SqliteStore::open(&db)
        .unwrap()
        .user_by_username(&oasis_domain::Username::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((user.maturity.age(), user.scopes.to_string()), (16, "search".to_owned()));
    let hasher = PasswordHasher::default_params().unwrap();
    assert!(matches!(hasher.verify("a long enough password", &user.password_hash), Verification::Valid { .. }));

    for (args, stdin, says) in [
        (vec!["user", "create", "bob"], "short\n", "at least 12"),
        (vec!["user", "create", "b"], "a long enough password\n", "username must be"),
        (vec!["user", "create", "carol", "--scopes", "root"], "a long enough password\n", "unknown scope"),
        (vec!["user", "create", "alice"], "a long enough password\n", "already exists"),
        (vec!["user", "create", "dave", "--password", "x"], "", "unexpected argument '--password'"),
        (
            vec!["client", "create", "tv-app", "--name", "TV", "--grants", "password", "--legacy-password-grant"],
            "",
            "first-party",
        ),
        (vec!["frobnicate"], "", "unrecognized subcommand 'frobnicate'"),
    ] {
        let (code, _, err) = admin(&db, &args, stdin);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_confidential_clients_secret_is_printed_once_and_stored_only_as_a_hash() {
    use oasis_store::ClientStore;
    let dir = std::env::temp_dir().join(format!("oasis-cli-{}", oasis_auth::secret::random_token(6)));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("oasis.db");
    let args = ["client", "create", "partner", "--name", "Partner", "--confidential", "--grants", "client_credentials"];

    let (code, out, err) = admin(&db, &args, "");

    assert_eq!(code, 0, "{err}");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client secret (shown once, stored only as a hash): "))
        .expect("the secret is printed")
        .to_owned();
    assert!(secret.len() >= 43, "at least 256 random bits: {secret}");
    assert_eq!(out.matches(&secret).count(), 1);
    let client = SqliteStore::open(&db)
        .unwrap()
        .client(&oasis_domain::ClientId::parse("partner").unwrap())
        .await
        .unwrap()
        .unwrap();
    let stored = client.secret_hash.expect("a confidential client has a secret hash");
    assert_ne!(stored, secret);
    assert!(!stored.contains(&secret));
    assert_eq!(stored, oasis_auth::secret::token_hash(&secret));
    std::fs::remove_dir_all(dir).unwrap();
}

type Flags = Vec<(&'static str, Option<&'static str>)>;

const STORE: [(&str, Option<&str>); 4] = [
    ("--db", Some("OASIS_SQLITE_PATH")),
    ("--store", Some("OASIS_STORE")),
    ("--table-prefix", Some("OASIS_TABLE_PREFIX")),
    ("--endpoint", Some("OASIS_AWS_ENDPOINT")),
];
const KEYS: [(&str, Option<&str>); 5] = [
    ("--keys", Some("OASIS_KEYS_FILE")),
    ("--jwks", Some("OASIS_JWKS_FILE")),
    ("--keys-secret-id", Some("OASIS_KEYS_SECRET_ID")),
    ("--jwks-parameter", Some("OASIS_JWKS_PARAMETER")),
    ("--endpoint", Some("OASIS_AWS_ENDPOINT")),
];

/// Every command with the flags it documents and the environment variable each defaults to.
fn documented() -> Vec<(&'static str, Flags)> {
    let with = |own: &[(&'static str, Option<&'static str>)], shared: &[(&'static str, Option<&'static str>)]| {
        own.iter().chain(shared).copied().collect::<Flags>()
    };
    vec![
        ("user create", with(&[("--scopes", None), ("--maturity", None)], &STORE)),
        ("user set-password", STORE.to_vec()),
        ("user disable", STORE.to_vec()),
        ("user enable", STORE.to_vec()),
        ("user revoke-tokens", STORE.to_vec()),
        ("user unlock", STORE.to_vec()),
        ("address unlock", STORE.to_vec()),
        (
            "client create",
            with(
                &[
                    ("--name", None),
                    ("--confidential", None),
                    ("--first-party", None),
                    ("--grants", None),
                    ("--scopes", None),
                    ("--cookie", None),
                    ("--origins", None),
                    ("--redirect-uris", None),
                    ("--legacy-password-grant", None),
                ],
                &STORE,
            ),
        ),
        ("client disable", STORE.to_vec()),
        ("client enable", STORE.to_vec()),
        ("keys init", KEYS.to_vec()),
        ("keys list", KEYS.to_vec()),
        ("keys jwks", KEYS.to_vec()),
        ("keys stage", KEYS.to_vec()),
        ("keys promote", with(&[("--max-token-lifetime", None), ("--signing-cache", None)], &KEYS)),
        ("keys prune", KEYS.to_vec()),
        ("catalog generate", vec![("--count", None), ("--seed", None)]),
        ("catalog load", with(&[("--if-empty", None)], &STORE)),
        ("dev-seed", with(&[("--out", None)], &STORE)),
        ("tables create", STORE[1..].to_vec()),
        ("tables describe", vec![]),
        ("purge", STORE[..1].to_vec()),
    ]
}

fn help(command: &str) -> String {
    let mut args: Vec<&str> = command.split_whitespace().collect();
    args.push("--help");
    let (code, out, err) = run(&args, &[], "");
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

#[test]
fn every_documented_flag_is_in_the_help_of_its_command_with_its_environment_variable() {
    for (command, flags) in documented() {
        let help = help(command);
        for (flag, env) in flags {
            let line = help
                .lines()
                .map(str::trim_start)
                .find(|l| l.strip_prefix(flag).is_some_and(|rest| rest.starts_with(' ')))
                .unwrap_or_else(|| panic!("{command} --help lacks {flag}:\n{help}"));
            match env {
                Some(env) => assert!(line.contains(&format!("[env: {env}=")), "{command} {flag}: {line}"),
                None => assert!(!line.contains("[env:"), "{command} {flag} reads no variable: {line}"),
            }
        }
    }
}

#[test]
fn the_top_level_help_lists_every_command_and_every_documented_flag() {
    let help = help("");
    let words: Vec<&str> = help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).collect();
    for (command, flags) in documented() {
        assert!(help.contains(command), "oasis-admin --help lacks {command}:\n{help}");
        for (flag, env) in flags {
            assert!(words.contains(&flag), "oasis-admin --help lacks {flag} ({command}):\n{help}");
            if let Some(env) = env {
                assert!(help.contains(env), "oasis-admin --help lacks {env}:\n{help}");
            }
        }
    }
}

const GROUPS: [&str; 6] = ["user", "address", "client", "keys", "catalog", "tables"];

/// The command and flags of an invocation's words, if they start with a command.
fn invocation(words: &[String]) -> Option<(String, Vec<String>)> {
    let first = words.first()?;
    let command = if GROUPS.contains(&first.as_str()) {
        format!("{first} {}", words.get(1)?)
    } else if ["dev-seed", "purge"].contains(&first.as_str()) {
        first.clone()
    } else {
        return None;
    };
    Some((command, words.iter().filter(|w| w.len() > 2 && w.starts_with("--")).cloned().collect()))
}

/// oasis-admin invocations in a line of shell or Markdown (`oasis-admin keys init`, `"$admin"
/// dev-seed --out "$state"`, `$admin user unlock alice`) and, in Python, argument lists (`["dev-seed", "--out", ...]`).
fn invocations(line: &str, python: bool) -> Vec<(String, Vec<String>)> {
    let mut found = vec![];
    for marker in ["oasis-admin ", "\"$admin\" ", "$admin "] {
        for (at, _) in line.match_indices(marker) {
            let rest = line[at + marker.len()..].split(['#', '`', ';', '|', '>', ')']).next().unwrap_or("");
            let words: Vec<String> = rest.split_whitespace().map(|w| w.trim_matches('"').to_owned()).collect();
            found.extend(invocation(&words));
        }
    }
    if python {
        for (at, _) in line.match_indices("[\"") {
            let list = line[at + 1..].split(']').next().unwrap_or("");
            let words: Vec<String> = list.split(',').map(|w| w.trim().trim_matches('"').to_owned()).collect();
            found.extend(invocation(&words));
        }
    }
    found
}

#[test]
fn the_readme_scripts_and_e2e_tests_call_only_commands_and_flags_of_the_documented_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md"), root.join("Makefile")];
    for dir in [".ci", "scripts", "tests/e2e"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    let table = documented();
    let mut seen = vec![];
    for file in files.iter().filter(|f| f.is_file()) {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let python = file.extension().is_some_and(|e| e == "py") && text.contains("oasis-admin");
        for (n, line) in text.lines().enumerate() {
            for (command, flags) in invocations(line, python) {
                let at = format!("{}:{}", file.display(), n + 1);
                let known = table
                    .iter()
                    .find(|(c, _)| *c == command)
                    .unwrap_or_else(|| panic!("{at}: oasis-admin {command} is not in the table"));
                for flag in flags {
                    assert!(known.1.iter().any(|(f, _)| *f == flag), "{at}: {command} {flag} is not in the table");
                    seen.push(format!("{command} {flag}"));
                }
                seen.push(command);
            }
        }
    }
    // The scan finds what is known to be there, in each form, or it found nothing at all.
    for call in ["keys promote --signing-cache", "client create --first-party", "catalog load --if-empty", "keys list"]
    {
        assert!(seen.iter().any(|s| s == call), "{call} not found; found {seen:?}");
    }
    assert!(seen.iter().filter(|s| *s == "dev-seed --out").count() >= 2, "dev.sh and measure-startup.py: {seen:?}");
}

#[test]
fn catalog_generate_prints_count_titles_and_the_same_seed_gives_the_same_catalog() {
    let generate = |args: &[&str]| {
        let (code, out, err) = run(&[&["catalog", "generate"], args].concat(), &[], "");
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    let three = generate(&["--count", "3", "--seed", "7"]);
    assert_eq!(three.lines().count(), 3, "{three}");
    assert_eq!(three, oasis_admin::catalog::to_jsonl(&oasis_admin::catalog::generate(3, 7)));
    // The first six titles are fixed classics; the seed shows from the seventh on.
    let seven = generate(&["--count", "8", "--seed", "7"]);
    assert_eq!(seven, oasis_admin::catalog::to_jsonl(&oasis_admin::catalog::generate(8, 7)));
    assert_eq!(generate(&["--seed", "7", "--count", "8"]), seven, "the same seed, the same catalog");
    let eight = generate(&["--count", "8", "--seed", "8"]);
    assert_eq!(eight, oasis_admin::catalog::to_jsonl(&oasis_admin::catalog::generate(8, 8)));
    assert_ne!(eight, seven, "another seed, another catalog");
    // Without flags: the committed catalog (10,000 titles, seed 42).
    assert_eq!(generate(&[]), include_str!("../../data/catalog.jsonl"));
}

#[tokio::test]
async fn db_and_store_flags_choose_the_database_of_every_store_command_over_the_environment() {
    let dir = TempDir::new();
    let (db, elsewhere) = (dir.str("flag.db"), dir.str("env.db"));
    // The environment says DynamoDB at another database; the flags must win.
    let env = [("OASIS_SQLITE_PATH", elsewhere.as_str()), ("OASIS_STORE", "dynamodb")];
    let store = ["--store", "sqlite", "--db", db.as_str()];
    for (args, stdin, says) in [
        (vec!["user", "create", "erin"], PASSWORD, "created user erin"),
        (vec!["user", "set-password", "erin"], "another long password\n", "password changed for erin"),
        (vec!["user", "disable", "erin"], "", "disabled erin"),
        (vec!["user", "enable", "erin"], "", "enabled erin"),
        (vec!["user", "revoke-tokens", "erin"], "", "revoked 0 refresh-token families of erin"),
        (vec!["client", "create", "erin-app", "--name", "Erin"], "", "created client erin-app"),
    ] {
        let (code, out, err) = run(&[&args[..], &store[..]].concat(), &env, stdin);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains(says), "{args:?}: {out}");
    }
    assert!(!dir.path("env.db").exists(), "the environment's database was opened");
    let sqlite = SqliteStore::open(&db).unwrap();
    let user = sqlite.user_by_username(&oasis_domain::Username::parse("erin").unwrap()).await.unwrap().unwrap();
    let hasher = PasswordHasher::default_params().unwrap();
    assert!(matches!(hasher.verify("another long password", &user.password_hash), Verification::Valid { .. }));
    assert!(sqlite.client(&oasis_domain::ClientId::parse("erin-app").unwrap()).await.unwrap().is_some());

    // With no flags, the environment decides.
    let (code, _, err) = run(&["user", "enable", "erin"], &[("OASIS_SQLITE_PATH", db.as_str())], "");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["user", "enable", "erin"], &[], "");
    assert_eq!((code, err.contains("set OASIS_SQLITE_PATH or pass --db")), (2, true), "{err}");
}

#[tokio::test]
async fn the_password_grant_needs_the_operators_explicit_legacy_flag_and_the_code_flow_a_redirect_uri() {
    let dir = TempDir::new();
    let db = dir.path("oasis.db");
    let base = ["client", "create", "old-app", "--name", "Old", "--first-party", "--grants", "password"];
    let (code, _, err) = admin(&db, &base, "");
    assert_eq!(code, 2);
    assert!(err.contains("the password grant is legacy") && err.contains("--legacy-password-grant"), "{err}");
    let (code, _, err) = admin(&db, &[&base[..], &["--legacy-password-grant"]].concat(), "");
    assert_eq!(code, 0, "{err}");
    let code_flow = ["client", "create", "spa-app", "--name", "SPA", "--grants", "authorization_code"];
    let (code, _, err) = admin(&db, &code_flow, "");
    assert_eq!(code, 2);
    assert!(err.contains("needs at least one --redirect-uris"), "{err}");
    for bad in ["http://app.example/cb", "https://app.example/cb#x", "https://*.app.example/cb", "javascript:alert(1)"]
    {
        let (code, _, err) = admin(&db, &[&code_flow[..], &["--redirect-uris", bad]].concat(), "");
        assert_eq!(code, 2, "{bad}");
        assert!(err.contains("redirect URI"), "{bad}: {err}");
    }
    let uris = "https://app.example/cb, http://127.0.0.1/callback, com.example.app:/cb";
    let (code, _, err) = admin(&db, &[&code_flow[..], &["--redirect-uris", uris]].concat(), "");
    assert_eq!(code, 0, "{err}");
    let tv = ["client", "create", "tv-box", "--name", "TV", "--grants", "device_code,refresh_token"];
    let (code, _, err) = admin(&db, &tv, "");
    assert_eq!(code, 0, "{err}");
    let store = SqliteStore::open(&db).unwrap();
    let spa = store.client(&oasis_domain::ClientId::parse("spa-app").unwrap()).await.unwrap().unwrap();
    assert_eq!(
        spa.redirect_uris.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        ["https://app.example/cb", "http://127.0.0.1/callback", "com.example.app:/cb"]
    );
    let tv = store.client(&oasis_domain::ClientId::parse("tv-box").unwrap()).await.unwrap().unwrap();
    assert_eq!(tv.grant_types, [oasis_domain::GrantType::DeviceCode, oasis_domain::GrantType::RefreshToken]);
}

#[tokio::test]
async fn client_create_flags_are_stored_and_omitted_ones_take_their_defaults() {
    let dir = TempDir::new();
    let db = dir.path("oasis.db");
    let args = [
        "client",
        "create",
        "web-app",
        "--name",
        "Web app",
        "--first-party",
        "--grants",
        "password,refresh_token",
        "--scopes",
        "data:read,search",
        "--cookie",
        "--origins",
        "https://app.example, http://localhost:5173",
        "--legacy-password-grant",
    ];
    let (code, out, err) = admin(&db, &args, "");
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("client secret"), "a public client has no secret: {out}");
    let (code, _, err) = admin(&db, &["client", "create", "plain-app", "--name", "Plain"], "");
    assert_eq!(code, 0, "{err}");

    let store = SqliteStore::open(&db).unwrap();
    let web = store.client(&oasis_domain::ClientId::parse("web-app").unwrap()).await.unwrap().unwrap();
    assert_eq!(web.name, "Web app");
    assert!(web.first_party && web.refresh_in_cookie && web.secret_hash.is_none());
    assert_eq!(web.grant_types, ["password", "refresh_token"]);
    assert_eq!(web.scopes.to_string(), "data:read search");
    assert_eq!(web.allowed_origins, ["https://app.example", "http://localhost:5173"]);
    let plain = store.client(&oasis_domain::ClientId::parse("plain-app").unwrap()).await.unwrap().unwrap();
    assert!(!plain.first_party && !plain.refresh_in_cookie && plain.allowed_origins.is_empty());
    assert_eq!(
        (plain.grant_types, plain.scopes.to_string()),
        (vec![oasis_domain::GrantType::RefreshToken], "search".to_owned())
    );
}

fn jwks_kids(path: &Path) -> usize {
    let jwks: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jwks["keys"].as_array().unwrap().len()
}

#[test]
fn keys_and_jwks_flags_write_where_told_through_a_whole_rotation() {
    let dir = TempDir::new();
    let (keys, jwks, other_jwks) = (dir.str("keys.json"), dir.str("public/jwks.json"), dir.str("other.json"));
    // The environment names other files; the flags must win.
    let env = [("OASIS_KEYS_FILE", dir.str("env-keys.json")), ("OASIS_JWKS_FILE", dir.str("env-jwks.json"))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let files = ["--keys", keys.as_str(), "--jwks", jwks.as_str()];
    let keys_run = |args: &[&str], files: &[&str]| {
        let (code, out, err) = run(&[&["keys"], args, files].concat(), &env, "");
        assert_eq!(code, 0, "keys {args:?}: {err}");
        out
    };

    assert!(keys_run(&["init"], &files).starts_with("created a key set with active key "));
    assert!(dir.path("keys.json").exists());
    assert_eq!(jwks_kids(&dir.path("public/jwks.json")), 1);
    assert!(keys_run(&["stage"], &files).starts_with("staged "));
    assert_eq!(jwks_kids(&dir.path("public/jwks.json")), 2, "the staged key is published");
    let promoted = keys_run(&["promote", "--max-token-lifetime", "60", "--signing-cache", "10"], &files);
    let keep = oasis_admin::keys::retirement_delay(60, 10);
    assert!(
        promoted.contains(&format!("verifies for {keep} more seconds (token lifetime 60 + signing cache 10 + leeway)")),
        "{promoted}"
    );
    let listed = keys_run(&["list"], &["--keys", keys.as_str()]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("\tActive") && listed.contains("\tRetiring"), "{listed}");
    let printed = keys_run(&["jwks"], &["--keys", keys.as_str(), "--jwks", other_jwks.as_str()]);
    assert_eq!(printed.trim_end(), std::fs::read_to_string(&other_jwks).unwrap());
    assert!(keys_run(&["prune"], &files).starts_with("no retired key is due"), "still within its retirement");
    for unused in ["env-keys.json", "env-jwks.json"] {
        assert!(!dir.path(unused).exists(), "{unused} was written");
    }
}

#[tokio::test]
async fn catalog_load_if_empty_dev_seed_out_and_purge_db_do_what_they_say() {
    let dir = TempDir::new();
    let db = dir.path("oasis.db");
    let file = dir.path("five.jsonl");
    std::fs::write(&file, oasis_admin::catalog::to_jsonl(&oasis_admin::catalog::generate(5, 1))).unwrap();
    let file = file.to_str().unwrap();
    let seeded = dir.path("state/demo.env");

    for (args, says) in [
        (vec!["catalog", "load", file], "catalog loaded: 5 titles"),
        (vec!["catalog", "load", "--if-empty", file], "catalog already loaded"),
        (vec!["catalog", "load", file, "--if-empty"], "catalog already loaded"),
        (vec!["dev-seed", "--out", seeded.parent().unwrap().to_str().unwrap()], "demo data created"),
        (vec!["dev-seed", "--out", seeded.parent().unwrap().to_str().unwrap()], "demo data already present"),
        (vec!["purge", "--db", db.to_str().unwrap()], "purged 0 expired rows"),
    ] {
        let (code, out, err) = admin(&db, &args, "");
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains(says), "{args:?}: {out}");
    }
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.title_count().await.unwrap(), 5);
    let creds = std::fs::read_to_string(&seeded).unwrap();
    assert!(creds.contains("OASIS_DEMO_PASSWORD="), "{creds}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&seeded).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(store.client(&oasis_admin::demo::demo_client_id()).await.unwrap().is_some());

    let (code, _, err) = run(&["dev-seed"], &[("OASIS_SQLITE_PATH", db.to_str().unwrap())], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--out <DIR>"), "{err}");
}

/// A stand-in for AWS on loopback that records every request (lower-cased) and answers each
/// with a non-retryable error, so a command shows where it sent what and then fails at once.
struct FakeAws {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeAws {
    fn start() -> Self {
        Self::refusing("ValidationException")
    }

    /// Answers every call with the service error `code`.
    fn refusing(code: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(vec![]));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let request = read_request(&mut stream);
                seen.lock().unwrap().push(request.to_lowercase());
                let body = format!(r#"{{"__type":"{code}","message":"the test's fake AWS refuses every call"}}"#);
                let _ = write!(
                    stream,
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.1\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// What the SDK needs to sign requests, and nothing that sends it anywhere but `url`.
    fn env(&self, dir: &TempDir) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", dir.str("no-aws-config")),
            ("AWS_SHARED_CREDENTIALS_FILE", dir.str("no-aws-credentials")),
        ]
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let mut bytes = vec![];
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return text;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&bytes).into_owned(),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
}

fn with_env<'a>(base: &'a [(&'static str, String)], more: &[(&'static str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    base.iter().map(|(k, v)| (*k, v.as_str())).chain(more.iter().copied()).collect()
}

#[test]
fn dynamodb_flags_send_the_store_commands_to_the_endpoint_and_tables_they_name() {
    let dir = TempDir::new();
    let aws = FakeAws::start();
    let base = aws.env(&dir);
    let flags = ["--store", "dynamodb", "--table-prefix", "oasis-flag", "--endpoint", aws.url.as_str()];
    let env_only = [("OASIS_STORE", "dynamodb"), ("OASIS_TABLE_PREFIX", "oasis-env"), ("OASIS_AWS_ENDPOINT", &aws.url)];
    let (file, out) = (dir.str("titles.jsonl"), dir.str("state"));
    std::fs::write(&file, oasis_admin::catalog::to_jsonl(&oasis_admin::catalog::generate(2, 1))).unwrap();
    for (args, stdin) in [
        (vec!["user", "create", "frank"], PASSWORD),
        (vec!["user", "set-password", "frank"], PASSWORD),
        (vec!["user", "disable", "frank"], ""),
        (vec!["user", "enable", "frank"], ""),
        (vec!["user", "revoke-tokens", "frank"], ""),
        (vec!["client", "create", "frank-app", "--name", "Frank"], ""),
        (vec!["catalog", "load", file.as_str()], ""),
        (vec!["dev-seed", "--out", out.as_str()], ""),
        (vec!["tables", "create"], ""),
    ] {
        // Flags over a contrary environment, then the environment alone.
        for (prefix, args, env) in [
            ("oasis-flag", [&args[..], &flags[..]].concat(), with_env(&base, &env_only)),
            ("oasis-env", args.clone(), with_env(&base, &env_only)),
        ] {
            let before = aws.requests().len();
            let (code, _, err) = run(&args, &env, stdin);
            assert_eq!(code, 2, "{args:?}: the fake refuses every call: {err}");
            assert!(err.starts_with("error: ") && !err.contains("unexpected argument"), "{args:?}: {err}");
            let sent = aws.requests().split_off(before);
            assert!(!sent.is_empty(), "{args:?}: nothing reached --endpoint: {err}");
            for request in &sent {
                assert!(request.contains("x-amz-target: dynamodb_20120810."), "{args:?}: {request}");
                assert!(request.contains(&format!("\"{prefix}-")), "{args:?}: not the {prefix} tables: {request}");
            }
        }
    }
    let (code, _, err) = run(&["user", "enable", "frank", "--store", "dynamodb"], &with_env(&base, &[]), "");
    assert_eq!((code, err.contains("set OASIS_TABLE_PREFIX or pass --table-prefix")), (2, true), "{err}");
    let (code, _, err) = run(&["user", "enable", "frank", "--store", "mongodb"], &with_env(&base, &[]), "");
    assert_eq!((code, err.contains("unknown store \"mongodb\"")), (2, true), "{err}");
}

#[test]
fn aws_key_flags_send_the_key_set_to_the_secret_and_the_jwks_to_the_parameter_they_name() {
    let dir = TempDir::new();
    let aws = FakeAws::start();
    let base = aws.env(&dir);
    let flags =
        ["--keys-secret-id", "flag-secret", "--jwks-parameter", "/oasis/flag/jwks", "--endpoint", aws.url.as_str()];
    let env_only = [
        ("OASIS_KEYS_SECRET_ID", "env-secret"),
        ("OASIS_JWKS_PARAMETER", "/oasis/env/jwks"),
        ("OASIS_AWS_ENDPOINT", aws.url.as_str()),
        // A key file too: the secret takes precedence, as in the token function.
        ("OASIS_KEYS_FILE", "/nonexistent/keys.json"),
    ];
    for (secret, parameter, args) in [
        ("flag-secret", "/oasis/flag/jwks", [&["keys", "init"][..], &flags[..]].concat()),
        ("env-secret", "/oasis/env/jwks", vec!["keys", "init"]),
    ] {
        let before = aws.requests().len();
        let (code, _, err) = run(&args, &with_env(&base, &env_only), "");
        assert_eq!(code, 2, "{args:?}: the fake refuses every call: {err}");
        assert!(!err.contains("unexpected argument"), "{err}");
        let sent = aws.requests().split_off(before);
        // init looks for an existing secret, then publishes the public keys first: it asks
        // for the parameter's KMS key (the fake refuses), then would write under it.
        let read = sent.iter().find(|r| r.contains("x-amz-target: secretsmanager.getsecretvalue"));
        assert!(read.is_some_and(|r| r.contains(&format!("\"secretid\":\"{secret}\""))), "{args:?}: {sent:?}");
        let publish = sent.iter().find(|r| r.contains("x-amz-target: amazonssm.describeparameters"));
        assert!(publish.is_some_and(|r| r.contains(&format!("\"values\":[\"{parameter}\"]"))), "{args:?}: {sent:?}");
    }
    for command in ["list", "jwks", "stage", "promote", "prune"] {
        let before = aws.requests().len();
        let (code, _, err) = run(&[&["keys", command][..], &flags[..]].concat(), &with_env(&base, &[]), "");
        assert_eq!(code, 2, "keys {command}: {err}");
        let sent = aws.requests().split_off(before);
        assert!(sent.iter().any(|r| r.contains("\"secretid\":\"flag-secret\"")), "keys {command}: {sent:?}");
    }
    let (code, _, err) = run(&["keys", "list", "--keys-secret-id", "s"], &with_env(&base, &[]), "");
    assert_eq!((code, err.contains("set OASIS_JWKS_PARAMETER or pass --jwks-parameter")), (2, true), "{err}");
}

#[tokio::test]
async fn an_invalid_argon2_variable_fails_every_hashing_command_naming_it_before_anything_is_written() {
    let dir = TempDir::new();
    let db = dir.str("oasis.db");
    let (code, _, err) = run(&["user", "create", "grace"], &[("OASIS_SQLITE_PATH", &db)], PASSWORD);
    assert_eq!(code, 0, "{err}");
    let out = dir.str("state");
    for (var, value, says) in [
        ("OASIS_ARGON2_M_KIB", "lots", "environment variable OASIS_ARGON2_M_KIB is invalid"),
        ("OASIS_ARGON2_T", "-2", "environment variable OASIS_ARGON2_T is invalid"),
        ("OASIS_ARGON2_P", "1.0", "environment variable OASIS_ARGON2_P is invalid"),
        ("OASIS_ARGON2_M_KIB", "1024", "(OASIS_ARGON2_M_KIB=1024) refused"),
        ("OASIS_ARGON2_T", "1", "(OASIS_ARGON2_T=1) refused"),
    ] {
        for args in
            [vec!["user", "create", "henry"], vec!["user", "set-password", "grace"], vec!["dev-seed", "--out", &out]]
        {
            let (code, stdout, err) = run(&args, &[("OASIS_SQLITE_PATH", &db), (var, value)], PASSWORD);
            assert_eq!(code, 2, "{args:?} with {var}={value}: {stdout}");
            assert!(err.starts_with("error: ") && err.contains(says), "{args:?} with {var}={value}: {err}");
        }
    }
    let store = SqliteStore::open(&db).unwrap();
    assert!(store.user_by_username(&oasis_domain::Username::parse("henry").unwrap()).await.unwrap().is_none());
    assert!(store.client(&oasis_admin::demo::demo_client_id()).await.unwrap().is_none());
    let grace = store.user_by_username(&oasis_domain::Username::parse("grace").unwrap()).await.unwrap().unwrap();
    assert!(grace.password_hash.contains("m=19456,t=2,p=1"), "{}", grace.password_hash);

    // A valid, stronger cost is the one users are hashed with.
    let env = [("OASIS_SQLITE_PATH", db.as_str()), ("OASIS_ARGON2_T", "3"), ("OASIS_ARGON2_M_KIB", " ")];
    let (code, _, err) = run(&["user", "create", "henry"], &env, PASSWORD);
    assert_eq!(code, 0, "{err}");
    let henry = store.user_by_username(&oasis_domain::Username::parse("henry").unwrap()).await.unwrap().unwrap();
    assert!(henry.password_hash.contains("m=19456,t=3,p=1"), "{}", henry.password_hash);
}

#[test]
fn unknown_flags_missing_values_and_bad_values_fail_with_exit_2_and_a_usage_error() {
    for (args, says) in [
        (vec!["catalog", "generate", "--bogus"], "unexpected argument '--bogus'"),
        (vec!["catalog", "generate", "--count"], "a value is required for '--count <N>'"),
        (vec!["catalog", "generate", "--count", "ten"], "invalid value 'ten' for '--count <N>'"),
        (vec!["catalog", "generate", "--count", "3", "--count", "4"], "cannot be used multiple times"),
        (vec!["keys", "promote", "--signing-cache", "soon"], "invalid value 'soon' for '--signing-cache <SECONDS>'"),
        (vec!["user", "create", "ivy", "--maturity", "19"], "maturity must be an age from 0 to 18"),
        (vec!["user", "create", "ivy", "--password", "hunter2"], "unexpected argument '--password'"),
        // A flag of another command is refused, not silently ignored.
        (vec!["keys", "init", "--db", "x.db"], "unexpected argument '--db'"),
        (vec!["purge", "--store", "dynamodb"], "unexpected argument '--store'"),
        (vec!["tables", "describe", "--endpoint", "http://127.0.0.1:1"], "unexpected argument '--endpoint'"),
        (vec!["client", "create", "no-name"], "--name <NAME>"),
        (vec!["user", "create"], "<USERNAME>"),
        (vec!["user", "create", "ivy", "extra"], "unexpected argument 'extra'"),
        (vec!["user"], "Usage: oasis-admin user <COMMAND>"),
        (vec![], "Usage: oasis-admin <COMMAND>"),
    ] {
        let (code, out, err) = run(&args, &[], "");
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: usage errors go to stderr: {out}");
    }
}

/// The local run's walk-through: `keys stage` with only the key file named must publish where
/// the verifiers look (the JWKS beside the key file), or a promote leaves them with `unknown_key`.
#[test]
fn a_rotation_with_only_the_key_file_named_publishes_to_the_jwks_beside_it_and_says_so() {
    let dir = TempDir::new();
    let keys = dir.str("keys.json");
    let env = [("OASIS_KEYS_FILE", keys.as_str())];
    let keys_run = |args: &[&str]| {
        let (code, out, err) = run(&[&["keys"], args].concat(), &env, "");
        assert_eq!(code, 0, "keys {args:?}: {err}");
        out
    };
    keys_run(&["init"]);
    assert_eq!(jwks_kids(&dir.path("jwks.json")), 1, "init publishes beside the key file");
    let staged = keys_run(&["stage"]);
    let beside = dir.str("jwks.json");
    assert!(staged.contains(&format!("published to the JWKS file {beside}")), "{staged}");
    assert_eq!(jwks_kids(&dir.path("jwks.json")), 2, "the staged key is where the verifiers read");
    let promoted = keys_run(&["promote"]);
    assert!(promoted.contains("within its 300 s key cache"), "{promoted}");
    let listed = keys_run(&["list"]);
    let retiring = listed.lines().find(|l| l.contains("\tRetiring")).unwrap_or_else(|| panic!("{listed}"));
    // `prune after 2026-12-01T14:00:00Z`: a time an operator can compare with a clock.
    let time = retiring.split("prune after ").nth(1).unwrap_or_else(|| panic!("{retiring}")).trim_end_matches(')');
    assert!(time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T', "{retiring}");
}

#[tokio::test]
async fn user_unlock_and_address_unlock_lift_a_lock_out_the_token_function_counted() {
    use oasis_store::{ThrottleStore, throttle_key};
    let dir = TempDir::new();
    let db = dir.path("oasis.db");
    let store = SqliteStore::open(&db).unwrap();
    let now = oasis_auth::now();
    let alice = throttle_key::account(&oasis_domain::Username::parse("alice").unwrap());
    let address = throttle_key::address("2001:db8::7");
    for key in [&alice, &address] {
        for _ in 0..5 {
            store.record_failure(key, now, now + 900).await.unwrap();
        }
        assert!(store.try_lock(key, now, now + 600, now + 900).await.unwrap());
    }

    let (code, out, err) = admin(&db, &["user", "unlock", "Alice"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("unlocked user Alice (was locked until ") && out.contains("after 5 failures"), "{out}");
    assert_eq!(store.attempts(&alice, now).await.unwrap(), None, "the counter is gone");
    assert!(store.attempts(&address, now).await.unwrap().is_some(), "only the account was unlocked");

    // Written as an operator might, not as API Gateway does.
    let (code, out, err) = admin(&db, &["address", "unlock", "2001:DB8:0::7"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("unlocked address 2001:DB8:0::7"), "{out}");
    assert_eq!(store.attempts(&address, now).await.unwrap(), None);

    for (args, code_wanted, says) in [
        (vec!["user", "unlock", "alice"], 0, "user alice has no failed sign-ins on record"),
        (vec!["address", "unlock", "203.0.113.9"], 0, "has no failed sign-ins on record"),
        (vec!["address", "unlock", "203.0.113"], 2, "\"203.0.113\" is not an IP address"),
        (vec!["user", "unlock", "a"], 2, "username must be"),
    ] {
        let (code, out, err) = admin(&db, &args, "");
        assert_eq!(code, code_wanted, "{args:?}: {err}");
        assert!(out.contains(says) || err.contains(says), "{args:?}: {out}{err}");
    }
}

/// Before any request: without a region or credentials every DynamoDB or key command would
/// fail, after the SDK's retries, as "storage temporarily unavailable".
#[test]
fn aws_commands_without_a_region_or_credentials_say_which_is_missing() {
    let no_imds = ("AWS_EC2_METADATA_DISABLED", "true");
    let dynamo = ["user", "enable", "frank", "--store", "dynamodb", "--table-prefix", "oasis-x"];
    let keys = ["keys", "list", "--keys-secret-id", "s", "--jwks-parameter", "/p"];
    for args in [&dynamo[..], &keys[..]] {
        let (code, _, err) = run(args, &[no_imds], "");
        assert_eq!(code, 2, "{err}");
        assert!(err.starts_with("error: no AWS region: set AWS_REGION"), "{args:?}: {err}");
        let (code, _, err) = run(args, &[no_imds, ("AWS_REGION", "eu-west-1")], "");
        assert_eq!(code, 2, "{err}");
        assert!(err.starts_with("error: no AWS credentials found"), "{args:?}: {err}");
        assert!(err.len() < 300, "one clear line, not the SDK's provider dump: {err}");
    }
}

#[test]
fn catalog_load_names_a_file_it_cannot_read_and_counts_in_words() {
    let dir = TempDir::new();
    let db = dir.path("oasis.db");
    let missing = dir.str("no-such-catalog.jsonl");
    let (code, _, err) = admin(&db, &["catalog", "load", &missing], "");
    assert_eq!(code, 2);
    assert!(err.starts_with(&format!("error: cannot read {missing}: ")), "{err}");
    let one = dir.str("one.jsonl");
    std::fs::write(&one, oasis_admin::catalog::to_jsonl(&oasis_admin::catalog::generate(1, 1))).unwrap();
    let (code, out, err) = admin(&db, &["catalog", "load", &one], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("catalog loaded: 1 title ("), "{out}");
}

/// The table is named only when a call failed for want of it, and asked about only then (an
/// operator role may lack `dynamodb:DescribeTable`).
#[test]
fn a_dynamodb_command_names_a_missing_table_and_describes_tables_only_after_such_a_failure() {
    let dir = TempDir::new();
    let args = ["user", "disable", "frank", "--store", "dynamodb", "--table-prefix", "oasis-x"];
    let missing = FakeAws::refusing("ResourceNotFoundException");
    let base = missing.env(&dir);
    let env = with_env(&base, &[("OASIS_AWS_ENDPOINT", missing.url.as_str())]);
    let (code, _, err) = run(&args, &env, "");
    assert_eq!(code, 2);
    assert!(err.starts_with("error: table oasis-x-users does not exist (prefix oasis-x; 7 more missing;"), "{err}");
    assert!(missing.requests().iter().any(|r| r.contains("dynamodb_20120810.describetable")));

    let other = FakeAws::start();
    let base = other.env(&dir);
    let env = with_env(&base, &[("OASIS_AWS_ENDPOINT", other.url.as_str())]);
    let (code, _, err) = run(&args, &env, "");
    assert_eq!(code, 2);
    assert!(!err.contains("does not exist") && err.contains("ValidationException"), "{err}");
    assert!(!other.requests().iter().any(|r| r.contains("describetable")), "no extra calls for another failure");
}
