//! `oasis-admin`: users, OAuth2 clients, signing keys and demo data.
//!
//! Passwords are read from standard input (piped) or an interactive prompt without echo,
//! never from the command line, where they would land in shell history and `ps`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use oasis_admin::keys::KeyStorage;
use oasis_admin::{AdminError, NewClient, NewUser};
use oasis_auth::aws::{SecretsManagerKeySet, SsmJwks};
use oasis_auth::keys::LocalKeyFile;
use oasis_auth::password::PasswordHasher;
use std::sync::Arc;

use oasis_store::Store;
use oasis_store::dynamodb::{DynamoConfig, DynamoStore};
use oasis_store::sqlite::SqliteStore;

const USAGE: &str = "usage: oasis-admin <command> [options]

Keys: a local file (OASIS_KEYS_FILE, public JWKS to OASIS_JWKS_FILE) or, in AWS, Secrets Manager
(OASIS_KEYS_SECRET_ID) and SSM (OASIS_JWKS_PARAMETER).
Storage: OASIS_STORE=sqlite (default) with OASIS_SQLITE_PATH (or --db), or OASIS_STORE=dynamodb
with OASIS_TABLE_PREFIX and, for a local server, OASIS_AWS_ENDPOINT (or --store, --table-prefix,
--endpoint). Keys come from OASIS_KEYS_FILE (or --keys). When
OASIS_JWKS_FILE (or --jwks) is set, every key change also rewrites that public JWKS, which
the verifying functions read.

  user create <username> [--scopes data:read,search] [--maturity 13]   password on stdin
  user set-password <username>                                        password on stdin
  user disable <username> | user enable <username>
  user revoke-tokens <username>
  client create <client_id> --name NAME [--confidential] [--first-party]
         [--grants password,refresh_token] [--scopes search] [--cookie --origins https://app.example]
  keys init | keys list | keys jwks
  keys stage                      rotation phase 1: publish a new key
  keys promote [--max-token-lifetime 900] [--signing-cache 300]   phase 2: sign with it
  keys prune                      phase 3: drop retired keys whose tokens have expired
  catalog generate [--count 10000] [--seed 42]   JSON Lines on stdout
  catalog load FILE [--if-empty]  validate and load titles (batched, with progress)
  dev-seed --out DIR              demo clients and users for a local run (skipped when present)
  tables create                   create the DynamoDB tables (local servers; Terraform does it in AWS)
  tables describe                 the table design as JSON (what Terraform must create)
  purge                           delete expired refresh tokens and counters (SQLite)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] oasis_store::StoreError),
    #[error(transparent)]
    Keys(#[from] oasis_auth::keys::KeyError),
    #[error(transparent)]
    Password(#[from] oasis_auth::password::PasswordError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Options after the positional words: `--flag` or `--key value`.
struct Opts {
    positional: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

const VALUED: [&str; 12] = [
    "--count",
    "--seed",
    "--db",
    "--keys",
    "--scopes",
    "--maturity",
    "--name",
    "--grants",
    "--origins",
    "--out",
    "--max-token-lifetime",
    "--signing-cache",
];

impl Opts {
    fn parse(args: Vec<String>) -> Result<Self, CliError> {
        let mut positional = vec![];
        let mut flags = vec![];
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            if a.starts_with("--") {
                if VALUED.contains(&a.as_str()) {
                    let v = it.next().ok_or_else(|| CliError::Usage(format!("{a} needs a value")))?;
                    flags.push((a, Some(v)));
                } else if ["--confidential", "--first-party", "--cookie", "--if-empty"].contains(&a.as_str()) {
                    flags.push((a, None));
                } else {
                    return Err(CliError::Usage(format!("unknown option {a}")));
                }
            } else {
                positional.push(a);
            }
        }
        Ok(Self { positional, flags })
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.flags.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.as_deref())
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|(k, _)| k == name)
    }

    fn list(&self, name: &str, default: &[&str]) -> Vec<String> {
        match self.value(name) {
            Some(v) => v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            None => default.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn path(&self, flag: &str, env: &str) -> Result<PathBuf, CliError> {
        self.value(flag)
            .map(PathBuf::from)
            .or_else(|| std::env::var_os(env).map(PathBuf::from))
            .ok_or_else(|| CliError::Usage(format!("set {env} or pass {flag}")))
    }

    fn setting(&self, flag: &str, env: &str) -> Option<String> {
        self.value(flag).map(str::to_owned).or_else(|| std::env::var(env).ok()).filter(|v| !v.is_empty())
    }

    fn dynamodb(&self) -> Result<Option<DynamoConfig>, CliError> {
        match self.setting("--store", "OASIS_STORE").as_deref().unwrap_or("sqlite") {
            "sqlite" => Ok(None),
            "dynamodb" => Ok(Some(DynamoConfig {
                table_prefix: self
                    .setting("--table-prefix", "OASIS_TABLE_PREFIX")
                    .ok_or_else(|| CliError::Usage("set OASIS_TABLE_PREFIX or pass --table-prefix".into()))?,
                endpoint: self.setting("--endpoint", "OASIS_AWS_ENDPOINT"),
            })),
            other => Err(CliError::Usage(format!("unknown store {other:?} (sqlite or dynamodb)"))),
        }
    }

    async fn store(&self) -> Result<Arc<dyn Store>, CliError> {
        Ok(match self.dynamodb()? {
            Some(cfg) => Arc::new(DynamoStore::connect(&cfg).await),
            None => Arc::new(self.sqlite()?),
        })
    }

    fn sqlite(&self) -> Result<SqliteStore, CliError> {
        Ok(SqliteStore::open(self.path("--db", "OASIS_SQLITE_PATH")?)?)
    }

    /// Local files (`--keys`/`OASIS_KEYS_FILE`, public JWKS to `--jwks`/`OASIS_JWKS_FILE`) or,
    /// with `--keys-secret-id`/`OASIS_KEYS_SECRET_ID`, Secrets Manager plus the SSM parameter
    /// `--jwks-parameter`/`OASIS_JWKS_PARAMETER`.
    async fn key_storage(&self) -> Result<KeyStorage, CliError> {
        if let Some(secret_id) = self.setting("--keys-secret-id", "OASIS_KEYS_SECRET_ID") {
            let parameter = self
                .setting("--jwks-parameter", "OASIS_JWKS_PARAMETER")
                .ok_or_else(|| CliError::Usage("set OASIS_JWKS_PARAMETER or pass --jwks-parameter".into()))?;
            let sdk =
                oasis_store::dynamodb::sdk_config(self.setting("--endpoint", "OASIS_AWS_ENDPOINT").as_deref()).await;
            return Ok(KeyStorage::Aws {
                secret: SecretsManagerKeySet::new(&sdk, secret_id),
                jwks: SsmJwks::new(&sdk, parameter),
            });
        }
        Ok(KeyStorage::File {
            keys: LocalKeyFile::new(self.path("--keys", "OASIS_KEYS_FILE")?),
            jwks: self.path("--jwks", "OASIS_JWKS_FILE").ok(),
        })
    }
}

fn read_password() -> Result<String, CliError> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            return Err(CliError::Usage("passwords differ".into()));
        }
        first
    } else {
        let mut s = String::new();
        std::io::stdin().take(4096).read_to_string(&mut s)?;
        s.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(password)
}

fn hasher() -> Result<PasswordHasher, CliError> {
    let get = |name: &str, default: u32| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    Ok(PasswordHasher::new(get("OASIS_ARGON2_M_KIB", 19_456), get("OASIS_ARGON2_T", 2), get("OASIS_ARGON2_P", 1))?)
}

async fn run(args: Vec<String>) -> Result<(), CliError> {
    let opts = Opts::parse(args)?;
    let words: Vec<&str> = opts.positional.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["user", "create", username] => {
            let maturity = match opts.value("--maturity") {
                Some(m) => m.parse().map_err(|_| AdminError::BadMaturity)?,
                None => 13,
            };
            let password = read_password()?;
            let user = oasis_admin::create_user(
                opts.store().await?.as_ref(),
                &hasher()?,
                NewUser {
                    username,
                    password: &password,
                    scopes: opts.list("--scopes", &["data:read", "search"]),
                    maturity,
                },
            )
            .await?;
            println!("created user {} ({})", user.username, user.id);
        }
        ["user", "set-password", username] => {
            let password = read_password()?;
            oasis_admin::set_password(opts.store().await?.as_ref(), &hasher()?, username, &password).await?;
            println!("password changed for {username}; their tokens were revoked");
        }
        ["user", "disable", username] => {
            oasis_admin::set_disabled(opts.store().await?.as_ref(), username, true).await?;
            println!("disabled {username}; their tokens were revoked");
        }
        ["user", "enable", username] => {
            oasis_admin::set_disabled(opts.store().await?.as_ref(), username, false).await?;
            println!("enabled {username}");
        }
        ["user", "revoke-tokens", username] => {
            let n = oasis_admin::revoke_user_tokens(opts.store().await?.as_ref(), username).await?;
            println!("revoked {n} refresh-token families of {username}; older access tokens are refused");
        }
        ["client", "create", client_id] => {
            let name = opts.value("--name").ok_or_else(|| CliError::Usage("--name is required".into()))?;
            let (client, secret) = oasis_admin::create_client(
                opts.store().await?.as_ref(),
                NewClient {
                    client_id: (*client_id).to_owned(),
                    name: name.to_owned(),
                    confidential: opts.flag("--confidential"),
                    first_party: opts.flag("--first-party"),
                    grant_types: opts.list("--grants", &["refresh_token"]),
                    scopes: opts.list("--scopes", &["search"]),
                    refresh_in_cookie: opts.flag("--cookie"),
                    allowed_origins: opts.list("--origins", &[]),
                },
            )
            .await?;
            println!("created client {}", client.client_id);
            if let Some(secret) = secret {
                println!("client secret (shown once, stored only as a hash): {secret}");
            }
        }
        ["keys", "init"] => {
            let set = oasis_admin::keys::init(&opts.key_storage().await?).await?;
            println!("created a key set with active key {}", set.summary()[0].0);
        }
        ["keys", "list"] => {
            for (kid, status, retire_after) in opts.key_storage().await?.read().await?.summary() {
                let until = retire_after.map(|t| format!(" (retire after {t})")).unwrap_or_default();
                println!("{kid}\t{status:?}{until}");
            }
        }
        ["keys", "jwks"] => {
            let storage = opts.key_storage().await?;
            let set = storage.read().await?;
            storage.write(&set).await?;
            println!("{}", set.public_jwks().to_json());
        }
        ["keys", "stage"] => {
            let kid = oasis_admin::keys::stage(&opts.key_storage().await?).await?;
            println!("staged {kid}: published to verifiers, not signing yet. Promote once verifiers have it.");
        }
        ["keys", "promote"] => {
            let seconds = |flag: &str, default: u64| -> Result<u64, CliError> {
                match opts.value(flag) {
                    Some(v) => v.parse().map_err(|_| CliError::Usage(format!("{flag} takes seconds"))),
                    None => Ok(default),
                }
            };
            let lifetime = seconds("--max-token-lifetime", 900)?;
            let cache = seconds("--signing-cache", oasis_admin::keys::DEFAULT_SIGNING_CACHE_SECONDS)?;
            let (kid, keep) = oasis_admin::keys::promote(&opts.key_storage().await?, lifetime, cache).await?;
            println!(
                "{kid} now signs; the previous key verifies for {keep} more seconds \
                 (token lifetime {lifetime} + signing cache {cache} + leeway); prune after that"
            );
        }
        ["keys", "prune"] => {
            let gone = oasis_admin::keys::prune(&opts.key_storage().await?, oasis_auth::now()).await?;
            println!("removed {} retired key(s) {gone:?}", gone.len());
        }
        ["catalog", "generate"] => {
            let number = |flag: &str, default: u64| -> Result<u64, CliError> {
                opts.value(flag)
                    .map_or(Ok(default), |v| v.parse().map_err(|_| CliError::Usage(format!("{flag} takes a number"))))
            };
            let count = number("--count", oasis_admin::catalog::DEFAULT_COUNT as u64)? as usize;
            let titles = oasis_admin::catalog::generate(count, number("--seed", oasis_admin::catalog::DEFAULT_SEED)?);
            print!("{}", oasis_admin::catalog::to_jsonl(&titles));
        }
        ["catalog", "load", file] => {
            let reader = std::io::BufReader::new(std::fs::File::open(file)?);
            let titles = oasis_admin::catalog::parse(reader)?;
            let store = opts.store().await?;
            if opts.flag("--if-empty") && store.title_count().await? > 0 {
                println!("catalog already loaded");
                return Ok(());
            }
            let mut progress = LoadProgress::new(titles.len());
            oasis_admin::catalog::load(store.as_ref(), &titles, |done, _| progress.update(done)).await?;
            let rate = progress.finish();
            println!("catalog loaded: {} titles ({rate:.0} titles/s)", titles.len());
        }
        ["dev-seed"] => {
            let out =
                PathBuf::from(opts.value("--out").ok_or_else(|| CliError::Usage("--out DIR is required".into()))?);
            let store = opts.store().await?;
            if store.client(&oasis_admin::demo::demo_client_id()).await?.is_some() {
                if out.join("demo.env").exists() {
                    println!("demo data already present");
                    return Ok(());
                }
                return Err(CliError::Usage(format!(
                    "demo data exists but {} is missing: start from empty tables or a new database",
                    out.join("demo.env").display()
                )));
            }
            let creds = oasis_admin::demo::seed(store.as_ref(), &hasher()?).await?;
            write_private(&out.join("demo.env"), &creds.to_env())?;
            println!("demo data created; credentials in {}", out.join("demo.env").display());
        }
        ["tables", "describe"] => {
            println!("{}", serde_json::to_string(&oasis_store::dynamodb::schema::ALL).unwrap_or_default());
        }
        ["tables", "create"] => {
            let cfg =
                opts.dynamodb()?.ok_or_else(|| CliError::Usage("tables create is for OASIS_STORE=dynamodb".into()))?;
            DynamoStore::connect(&cfg).await.create_tables().await?;
            println!("tables with prefix {} are ready", cfg.table_prefix);
        }
        ["purge"] => {
            let n = opts.sqlite()?.purge_expired(oasis_auth::now())?;
            println!("purged {n} expired rows");
        }
        _ => {
            return Err(CliError::Usage(if words.is_empty() {
                "no command".into()
            } else {
                format!("unknown command {:?}", words.join(" "))
            }));
        }
    }
    Ok(())
}

fn write_private(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Progress of a catalog load: a bar with rate and ETA on a terminal, a plain line per tenth
/// of the load otherwise (logs and CI keep readable text, not carriage returns).
struct LoadProgress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    started: std::time::Instant,
    next_line: usize,
}

impl LoadProgress {
    fn new(total: usize) -> Self {
        use std::io::IsTerminal as _;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} titles  {per_sec}  ETA {eta}")
            {
                bar.set_style(style);
            }
            bar
        });
        Self { bar, total, started: std::time::Instant::now(), next_line: total.div_ceil(10) }
    }

    fn update(&mut self, done: usize) {
        match &self.bar {
            Some(bar) => bar.set_position(done as u64),
            None if done >= self.next_line || done == self.total => {
                let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                eprintln!("loaded {done}/{} titles ({rate:.0} titles/s)", self.total);
                self.next_line = done + self.total.div_ceil(10);
            }
            None => {}
        }
    }

    /// Titles per second over the whole load.
    fn finish(&self) -> f64 {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.total as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
    }
}
