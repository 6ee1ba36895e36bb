//! The oasis-admin binary as an operator uses it: passwords on stdin, clear errors.

use std::io::Write;
use std::process::{Command, Stdio};

use oasis_auth::password::{PasswordHasher, Verification};
use oasis_store::UserStore;
use oasis_store::sqlite::SqliteStore;

fn admin(db: &std::path::Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oasis-admin"))
        .args(args)
        .env("OASIS_SQLITE_PATH", db)
        .env_remove("OASIS_STORE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    let user = SqliteStore::open(&db).unwrap().user_by_username("alice").await.unwrap().unwrap();
    assert_eq!((user.maturity, user.scopes.clone()), (16, vec!["search".to_owned()]));
    let hasher = PasswordHasher::default_params().unwrap();
    assert!(matches!(hasher.verify("a long enough password", &user.password_hash), Verification::Valid { .. }));

    for (args, stdin, says) in [
        (vec!["user", "create", "bob"], "short\n", "at least 12"),
        (vec!["user", "create", "b"], "a long enough password\n", "username must be"),
        (vec!["user", "create", "carol", "--scopes", "root"], "a long enough password\n", "unknown scope"),
        (vec!["user", "create", "alice"], "a long enough password\n", "already exists"),
        (vec!["user", "create", "dave", "--password", "x"], "", "unexpected argument '--password'"),
        (vec!["client", "create", "tv-app", "--name", "TV", "--grants", "password"], "", "first-party"),
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
    let client = SqliteStore::open(&db).unwrap().client("partner").await.unwrap().unwrap();
    let stored = client.secret_hash.expect("a confidential client has a secret hash");
    assert_ne!(stored, secret);
    assert!(!stored.contains(&secret));
    assert_eq!(stored, oasis_auth::secret::token_hash(&secret));
    std::fs::remove_dir_all(dir).unwrap();
}
