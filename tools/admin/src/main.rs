//! `oasis-admin`: users, OAuth2 clients, signing keys and demo data.
//!
//! Passwords are read from standard input (piped) or an interactive prompt without echo,
//! never from the command line, where they would land in shell history and `ps`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use oasis_admin::keys::KeyStorage;
use oasis_admin::{AdminError, NewClient, NewUser};
use oasis_auth::aws::{SecretsManagerKeySet, SsmJwks};
use oasis_auth::keys::LocalKeyFile;
use oasis_lambda::config::Aws;
use oasis_store::Store;
use oasis_store::dynamodb::DynamoStore;
use oasis_store::sqlite::SqliteStore;

/// Every command with its options on one screen; a unit test keeps every option of every
/// command in it.
const OVERVIEW: &str = "\
Commands and their options:
  user create <USERNAME> [--scopes data:read,search] [--maturity 13]   password on stdin
  user set-password <USERNAME>                                        password on stdin
  user disable <USERNAME> | user enable <USERNAME>
  user revoke-tokens <USERNAME>
  user unlock <USERNAME>          lift a lock-out after wrong passwords
  address unlock <ADDRESS>        lift a source address's lock-out
  client create <CLIENT_ID> --name NAME [--confidential] [--first-party]
         [--grants authorization_code,refresh_token] [--scopes search] [--cookie --origins https://app.example]
         [--redirect-uris https://app.example/cb] [--legacy-password-grant]
  client disable <CLIENT_ID> | client enable <CLIENT_ID>   its tokens refused while disabled
  keys init | keys list | keys jwks
  keys stage                      rotation phase 1: publish a new key
  keys promote [--max-token-lifetime 900] [--signing-cache 300]   phase 2: sign with it
  keys prune                      phase 3: drop retired keys whose tokens have expired
  catalog generate [--count 10000] [--seed 42]   JSON Lines on stdout
  catalog load FILE [--if-empty]  validate and load titles (batched, with progress)
  dev-seed --out DIR              demo clients and users for a local run (skipped when present)
  tables create                   create the DynamoDB tables (local servers; Terraform does it in AWS)
  tables describe                 the table design as JSON (what Terraform must create)
  purge                           delete expired refresh tokens and counters (SQLite)

Storage (user, client, catalog load, dev-seed): --store sqlite (default) with --db FILE, or
--store dynamodb with --table-prefix PREFIX and, for a local server, --endpoint URL.
Keys (keys ...): a local file (--keys FILE; every key change also rewrites the public JWKS
the verifying functions read, --jwks FILE, by default jwks.json beside the key file) or, in
AWS, Secrets Manager (--keys-secret-id ID) and SSM (--jwks-parameter NAME).
Each of these options defaults to an environment variable (OASIS_SQLITE_PATH, OASIS_STORE,
OASIS_TABLE_PREFIX, OASIS_AWS_ENDPOINT, OASIS_KEYS_FILE, OASIS_JWKS_FILE,
OASIS_KEYS_SECRET_ID, OASIS_JWKS_PARAMETER); `oasis-admin <command> --help` names each.
Passwords are hashed with the argon2id cost of OASIS_ARGON2_M_KIB, OASIS_ARGON2_T and
OASIS_ARGON2_P, as the token function reads them.";

/// Operator tool: users, OAuth2 clients, signing keys and demo data.
///
/// Passwords are read from standard input (piped) or a prompt without echo, never from the
/// command line.
#[derive(Debug, Parser)]
#[command(name = "oasis-admin", after_help = OVERVIEW, subcommand_required = true, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Users: create, change a password, disable, enable, cut off tokens
    #[command(subcommand)]
    User(UserCommand),
    /// OAuth2 clients
    #[command(subcommand)]
    Client(ClientCommand),
    /// Lock-outs of source addresses
    #[command(subcommand)]
    Address(AddressCommand),
    /// Signing keys and their rotation: stage, promote, prune
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The title catalog: generate a demo one, load one
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Demo clients and users for a local run (skipped when present)
    DevSeed {
        /// Directory for demo.env, the generated credentials (readable by the owner only)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// DynamoDB tables
    #[command(subcommand)]
    Tables(TablesCommand),
    /// Delete expired refresh tokens and counters (SQLite)
    Purge {
        #[command(flatten)]
        sqlite: SqliteArgs,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from stdin or a prompt
    Create {
        /// The login name (stored lower-cased)
        username: String,
        /// Comma-separated scopes
        #[arg(long, value_name = "SCOPES", default_value = "data:read,search")]
        scopes: String,
        /// Age rating the user may watch, 0 to 18
        #[arg(long, value_name = "AGE", default_value_t = 13, value_parser = maturity)]
        maturity: u8,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Change a user's password (read from stdin or a prompt) and revoke their tokens
    SetPassword {
        /// The login name
        username: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable a user and revoke their tokens
    Disable {
        /// The login name
        username: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Enable a disabled user
    Enable {
        /// The login name
        username: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Cut off every token of a user now
    RevokeTokens {
        /// The login name
        username: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Lift a lock-out after wrong passwords and forget the failures (the name need not exist)
    Unlock {
        /// The login name
        username: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AddressCommand {
    /// Lift a source address's lock-out after wrong passwords and forget its failures
    Unlock {
        /// An IPv4 or IPv6 address, as API Gateway saw it
        address: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Create an OAuth2 client; a confidential client's secret is printed once
    Create {
        /// 3-64 characters of a-z, 0-9, '-', '_', '.', not starting with usr_
        client_id: String,
        /// Display name
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Give the client a secret (required for client_credentials)
        #[arg(long)]
        confidential: bool,
        /// One of ours (required for the password grant)
        #[arg(long)]
        first_party: bool,
        /// Comma-separated grant types: authorization_code, refresh_token, device_code (RFC 8628),
        /// client_credentials, password (legacy: needs --legacy-password-grant)
        #[arg(long, value_name = "GRANTS", default_value = "refresh_token")]
        grants: String,
        /// Comma-separated scopes
        #[arg(long, value_name = "SCOPES", default_value = "search")]
        scopes: String,
        /// Send the refresh token in a cookie (browser clients; needs --origins)
        #[arg(long)]
        cookie: bool,
        /// Comma-separated browser origins allowed to call with the cookie
        #[arg(long, value_name = "ORIGINS")]
        origins: Option<String>,
        /// Comma-separated redirect URIs for the authorization_code grant, matched exactly
        /// (https://…, loopback http://127.0.0.1/… on any port, or com.example.app:/…)
        #[arg(long, value_name = "URIS")]
        redirect_uris: Option<String>,
        /// Allow the password grant for this client (legacy, RFC 9700 §2.4; migrate its users
        /// to the authorization code or device flow)
        #[arg(long)]
        legacy_password_grant: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable a client: it cannot authenticate and every token issued to it is refused
    Disable {
        client_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Enable a disabled client
    Enable {
        client_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create the first key set (refuses to overwrite one)
    Init(KeyArgs),
    /// Each key's id and status
    List(KeyArgs),
    /// Print the public JWKS (and rewrite it where keys are published)
    Jwks(KeyArgs),
    /// Rotation phase 1: publish a new key to verifiers, not signing yet
    Stage(KeyArgs),
    /// Rotation phase 2: sign with the staged key; the previous one keeps verifying
    Promote {
        /// The longest access-token lifetime, in seconds: the token function's OASIS_ACCESS_TOKEN_TTL
        #[arg(long, value_name = "SECONDS", default_value_t = 900)]
        max_token_lifetime: u64,
        /// How long the token function caches its keys, in seconds: its OASIS_KEYS_CACHE_SECONDS
        #[arg(long, value_name = "SECONDS", default_value_t = oasis_admin::keys::DEFAULT_SIGNING_CACHE_SECONDS)]
        signing_cache: u64,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Rotation phase 3: drop retired keys whose tokens have expired
    Prune(KeyArgs),
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// A seeded demo catalog as JSON Lines on stdout
    Generate {
        /// How many titles
        #[arg(long, value_name = "N", default_value_t = oasis_admin::catalog::DEFAULT_COUNT)]
        count: usize,
        /// The same seed gives the same catalog
        #[arg(long, value_name = "N", default_value_t = oasis_admin::catalog::DEFAULT_SEED)]
        seed: u64,
    },
    /// Validate and load a JSON Lines catalog (batched, with progress)
    Load {
        /// JSON Lines, one title object a line (as `catalog generate` writes)
        file: PathBuf,
        /// Do nothing when the store already has titles
        #[arg(long)]
        if_empty: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TablesCommand {
    /// Create the DynamoDB tables (local servers; Terraform does it in AWS)
    Create(DynamoArgs),
    /// The table design as JSON (what Terraform must create)
    Describe,
}

/// Where users, clients and titles live.
#[derive(Debug, Args)]
#[command(next_help_heading = "Storage")]
struct StoreArgs {
    #[command(flatten)]
    sqlite: SqliteArgs,
    #[command(flatten)]
    dynamo: DynamoArgs,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Storage")]
struct SqliteArgs {
    /// The SQLite database file
    #[arg(long, env = "OASIS_SQLITE_PATH", value_name = "FILE", value_parser = any_path())]
    db: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Storage")]
struct DynamoArgs {
    /// sqlite (default) or dynamodb
    #[arg(long, env = "OASIS_STORE", value_name = "BACKEND")]
    store: Option<String>,
    /// Prefix of the DynamoDB table names
    #[arg(long, env = "OASIS_TABLE_PREFIX", value_name = "PREFIX")]
    table_prefix: Option<String>,
    /// A local DynamoDB-API server instead of AWS, e.g. http://127.0.0.1:8000
    #[arg(long, env = "OASIS_AWS_ENDPOINT", value_name = "URL")]
    endpoint: Option<String>,
}

/// Where the signing keys live.
#[derive(Debug, Args)]
#[command(next_help_heading = "Keys")]
struct KeyArgs {
    /// The private key set file (development)
    #[arg(long, env = "OASIS_KEYS_FILE", value_name = "FILE", value_parser = any_path())]
    keys: Option<PathBuf>,
    /// The public JWKS file rewritten on every key change (the verifiers read it); default: jwks.json beside --keys
    #[arg(long, env = "OASIS_JWKS_FILE", value_name = "FILE", value_parser = any_path())]
    jwks: Option<PathBuf>,
    /// The Secrets Manager secret holding the key set (in AWS; instead of --keys)
    #[arg(long, env = "OASIS_KEYS_SECRET_ID", value_name = "ID")]
    keys_secret_id: Option<String>,
    /// The SSM parameter the public JWKS is published to (with --keys-secret-id)
    #[arg(long, env = "OASIS_JWKS_PARAMETER", value_name = "NAME")]
    jwks_parameter: Option<String>,
    /// A local AWS-API server instead of AWS, e.g. http://127.0.0.1:8000
    #[arg(long, env = "OASIS_AWS_ENDPOINT", value_name = "URL")]
    endpoint: Option<String>,
}

fn maturity(v: &str) -> Result<u8, AdminError> {
    v.parse().ok().filter(|m| *m <= 18).ok_or(AdminError::BadMaturity)
}

fn main() -> ExitCode {
    // Help goes to stdout with 0; a usage error goes to stderr as `error: ...` with 2.
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let dynamo = cli.command.dynamo();
    let outcome = rt.block_on(async {
        match (run(cli.command).await, dynamo) {
            (Err(e), Some(dynamo)) => Err(dynamo.explain(e).await),
            (outcome, _) => outcome,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // With its causes (the store's "temporarily unavailable" says nothing without
            // "connection refused" beneath it), each said once.
            eprintln!("error: {}", oasis_lambda::error::cause_chain(&e));
            ExitCode::from(2)
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}\n\nFor more information, try '--help'.")]
    Usage(String),
    #[error("passwords differ")]
    PasswordsDiffer,
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] oasis_store::StoreError),
    #[error(transparent)]
    Keys(#[from] oasis_auth::keys::KeyError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Aws(#[from] oasis_admin::AwsSetupError),
    #[error(
        "table {} does not exist (prefix {prefix}; {more}create the tables with `terraform apply`, or \
         `oasis-admin tables create` on a local server)",
        .missing[0],
        more = if .missing.len() > 1 { format!("{} more missing; ", .missing.len() - 1) } else { String::new() }
    )]
    MissingTables { prefix: String, missing: Vec<String> },
}

/// A comma-separated list, blanks dropped: `--origins ""` is no origins.
fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A blank setting counts as not given, as the functions read a blank variable: an
/// `OASIS_SQLITE_PATH=` left in a shell must not open SQLite's throwaway temporary database.
fn setting(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.is_empty())
}

/// Paths as given, blank included: clap's own path parser refuses a blank variable outright,
/// even for a command that does not use it.
fn any_path() -> impl clap::builder::TypedValueParser<Value = PathBuf> {
    use clap::builder::TypedValueParser as _;
    clap::builder::OsStringValueParser::new().map(PathBuf::from)
}

fn path(value: &Option<PathBuf>) -> Option<PathBuf> {
    value.clone().filter(|p| !p.as_os_str().is_empty())
}

impl SqliteArgs {
    fn open(&self) -> Result<SqliteStore, CliError> {
        let db = path(&self.db).ok_or_else(|| CliError::Usage("set OASIS_SQLITE_PATH or pass --db".into()))?;
        Ok(SqliteStore::open(db)?)
    }
}

impl DynamoArgs {
    /// `None` for SQLite.
    fn config(&self) -> Result<Option<Dynamo>, CliError> {
        match setting(&self.store).as_deref().unwrap_or("sqlite") {
            "sqlite" => Ok(None),
            "dynamodb" => {
                let table_prefix = setting(&self.table_prefix)
                    .ok_or_else(|| CliError::Usage("set OASIS_TABLE_PREFIX or pass --table-prefix".into()))?;
                // The functions' own check, so the tool cannot create tables they would refuse.
                oasis_lambda::config::check_table_prefix(&table_prefix).map_err(|e| CliError::Usage(e.to_string()))?;
                Ok(Some(Dynamo { table_prefix, aws: Aws::with_endpoint(setting(&self.endpoint)) }))
            }
            other => Err(CliError::Usage(format!("unknown store {other:?} (sqlite or dynamodb)"))),
        }
    }
}

/// The DynamoDB tables a command works on, through the functions' SDK configuration.
struct Dynamo {
    table_prefix: String,
    aws: Aws,
}

impl Dynamo {
    /// The store, once region and credentials are known to be there: without them every
    /// request would fail as "temporarily unavailable" after the SDK's retries.
    async fn store(&self) -> Result<DynamoStore, CliError> {
        let sdk = self.aws.config().await;
        oasis_admin::check_aws_setup(sdk).await?;
        Ok(DynamoStore::new(oasis_store::dynamodb::Client::new(sdk), &self.table_prefix))
    }

    /// Which tables are missing, once a command has failed for want of one (asked only then:
    /// an operator role may lack `dynamodb:DescribeTable`, and a working command needs no
    /// extra calls).
    async fn explain(&self, e: CliError) -> CliError {
        let missing_table = |e: &CliError| {
            let mut next: Option<&dyn std::error::Error> = Some(e);
            while let Some(cause) = next {
                if cause.is::<oasis_store::dynamodb::MissingTable>() {
                    return true;
                }
                next = cause.source();
            }
            false
        };
        if !missing_table(&e) {
            return e;
        }
        match self.store().await {
            Ok(store) => match store.missing_tables().await {
                Ok(missing) if !missing.is_empty() => {
                    CliError::MissingTables { prefix: self.table_prefix.clone(), missing }
                }
                _ => e,
            },
            Err(_) => e,
        }
    }
}

impl StoreArgs {
    async fn open(&self) -> Result<Arc<dyn Store>, CliError> {
        Ok(match self.dynamo.config()? {
            Some(dynamo) => Arc::new(dynamo.store().await?),
            None => Arc::new(self.sqlite.open()?),
        })
    }
}

impl DynamoArgs {
    /// A command's failure, with the missing table named when that was the cause.
    async fn explain(&self, e: CliError) -> CliError {
        match self.config() {
            Ok(Some(dynamo)) => dynamo.explain(e).await,
            _ => e,
        }
    }
}

impl Command {
    /// The DynamoDB settings of a command that opens the store.
    fn dynamo(&self) -> Option<DynamoArgs> {
        let store = match self {
            Command::User(
                UserCommand::Create { store, .. }
                | UserCommand::SetPassword { store, .. }
                | UserCommand::Disable { store, .. }
                | UserCommand::Enable { store, .. }
                | UserCommand::RevokeTokens { store, .. }
                | UserCommand::Unlock { store, .. },
            )
            | Command::Address(AddressCommand::Unlock { store, .. })
            | Command::Client(
                ClientCommand::Create { store, .. }
                | ClientCommand::Disable { store, .. }
                | ClientCommand::Enable { store, .. },
            )
            | Command::Catalog(CatalogCommand::Load { store, .. })
            | Command::DevSeed { store, .. } => store,
            _ => return None,
        };
        Some(store.dynamo.clone())
    }
}

impl KeyArgs {
    async fn storage(&self) -> Result<KeyStorage, CliError> {
        if let Some(secret_id) = setting(&self.keys_secret_id) {
            let parameter = setting(&self.jwks_parameter)
                .ok_or_else(|| CliError::Usage("set OASIS_JWKS_PARAMETER or pass --jwks-parameter".into()))?;
            let sdk = oasis_lambda::config::sdk_config(setting(&self.endpoint).as_deref()).await;
            oasis_admin::check_aws_setup(&sdk).await?;
            return Ok(KeyStorage::Aws {
                secret: SecretsManagerKeySet::new(&sdk, secret_id),
                jwks: SsmJwks::new(&sdk, parameter),
            });
        }
        let keys = path(&self.keys).ok_or_else(|| CliError::Usage("set OASIS_KEYS_FILE or pass --keys".into()))?;
        let jwks = path(&self.jwks).unwrap_or_else(|| oasis_admin::keys::default_jwks_path(&keys));
        let same = |a: &PathBuf, b: &PathBuf| std::path::absolute(a).ok() == std::path::absolute(b).ok();
        if same(&jwks, &keys) {
            return Err(CliError::Usage("the JWKS file and the key file must differ".into()));
        }
        Ok(KeyStorage::File { keys: LocalKeyFile::new(keys), jwks })
    }
}

fn read_password() -> Result<String, CliError> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            return Err(CliError::PasswordsDiffer);
        }
        first
    } else {
        let mut s = String::new();
        std::io::stdin().take(4096).read_to_string(&mut s)?;
        s.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(password)
}

async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::User(UserCommand::Create { username, scopes, maturity, store }) => {
            // Everything that can be wrong is checked before the password is asked for.
            let hasher = oasis_admin::password_hasher_from_env()?;
            let store = store.open().await?;
            let password = read_password()?;
            let user = oasis_admin::create_user(
                store.as_ref(),
                &hasher,
                NewUser { username: &username, password: &password, scopes: list(&scopes), maturity },
            )
            .await?;
            println!("created user {} ({})", user.username, user.id);
        }
        Command::User(UserCommand::SetPassword { username, store }) => {
            let hasher = oasis_admin::password_hasher_from_env()?;
            let store = store.open().await?;
            let password = read_password()?;
            oasis_admin::set_password(store.as_ref(), &hasher, &username, &password).await?;
            println!("password changed for {username}; their tokens were revoked");
        }
        Command::User(UserCommand::Disable { username, store }) => {
            oasis_admin::set_disabled(store.open().await?.as_ref(), &username, true).await?;
            println!("disabled {username}; their tokens were revoked");
        }
        Command::User(UserCommand::Enable { username, store }) => {
            oasis_admin::set_disabled(store.open().await?.as_ref(), &username, false).await?;
            println!("enabled {username}");
        }
        Command::User(UserCommand::RevokeTokens { username, store }) => {
            let n = oasis_admin::revoke_user_tokens(store.open().await?.as_ref(), &username).await?;
            println!(
                "revoked {} of {username}; older access tokens are refused",
                count(n as usize, "refresh-token family", "refresh-token families")
            );
        }
        Command::User(UserCommand::Unlock { username, store }) => {
            let outcome = oasis_admin::unlock_account(store.open().await?.as_ref(), &username).await?;
            println!("{}", unlocked(&format!("user {username}"), outcome));
        }
        Command::Address(AddressCommand::Unlock { address, store }) => {
            let outcome = oasis_admin::unlock_address(store.open().await?.as_ref(), &address).await?;
            println!("{}", unlocked(&format!("address {}", address.trim()), outcome));
        }
        Command::Client(ClientCommand::Create {
            client_id,
            name,
            confidential,
            first_party,
            grants,
            scopes,
            cookie,
            origins,
            redirect_uris,
            legacy_password_grant,
            store,
        }) => {
            let (client, secret) = oasis_admin::create_client(
                store.open().await?.as_ref(),
                NewClient {
                    client_id,
                    name,
                    confidential,
                    first_party,
                    grant_types: list(&grants),
                    scopes: list(&scopes),
                    refresh_in_cookie: cookie,
                    allowed_origins: origins.as_deref().map(list).unwrap_or_default(),
                    redirect_uris: redirect_uris.as_deref().map(list).unwrap_or_default(),
                    legacy_password_grant,
                },
            )
            .await?;
            println!("created client {}", client.client_id);
            if let Some(secret) = secret {
                // The one place the secret is shown; `Secret` prints as [redacted] everywhere else.
                println!("client secret (shown once, stored only as a hash): {}", secret.expose());
            }
        }
        Command::Client(ClientCommand::Disable { client_id, store }) => {
            oasis_admin::set_client_disabled(store.open().await?.as_ref(), &client_id, true).await?;
            println!("disabled client {}; every token issued to it is refused", client_id.trim());
        }
        Command::Client(ClientCommand::Enable { client_id, store }) => {
            oasis_admin::set_client_disabled(store.open().await?.as_ref(), &client_id, false).await?;
            // Disabling suspends; it revokes nothing, so what leaked then is live again now.
            println!(
                "enabled client {}; its unexpired refresh tokens work again: if they leaked, cut off its users' tokens (user revoke-tokens)",
                client_id.trim()
            );
        }
        Command::Keys(KeysCommand::Init(keys)) => {
            let set = oasis_admin::keys::init(&keys.storage().await?).await?;
            println!("created a key set with active key {}", set.summary()[0].0);
        }
        Command::Keys(KeysCommand::List(keys)) => {
            for (kid, status, retire_after) in keys.storage().await?.read().await?.summary() {
                let until = retire_after.map(|t| format!(" (prune after {})", utc(t))).unwrap_or_default();
                println!("{kid}\t{status:?}{until}");
            }
        }
        Command::Keys(KeysCommand::Jwks(keys)) => {
            let storage = keys.storage().await?;
            let set = storage.read().await?;
            storage.write(&set).await?;
            println!("{}", set.public_jwks().to_json());
        }
        Command::Keys(KeysCommand::Stage(keys)) => {
            let storage = keys.storage().await?;
            let kid = oasis_admin::keys::stage(&storage).await?;
            println!(
                "staged {kid}: published to {}, not signing yet. Verifiers re-read it within 5 minutes; \
                 promote after that.",
                storage.published_to()
            );
        }
        Command::Keys(KeysCommand::Promote { max_token_lifetime: lifetime, signing_cache: cache, keys }) => {
            let (kid, keep) = oasis_admin::keys::promote(&keys.storage().await?, lifetime, cache).await?;
            println!(
                "{kid} now signs (a running token function picks it up within its {cache} s key cache); \
                 the previous key verifies for {keep} more seconds (token lifetime {lifetime} + signing \
                 cache {cache} + leeway): prune after {}",
                utc(oasis_auth::now() + keep)
            );
        }
        Command::Keys(KeysCommand::Prune(keys)) => {
            let gone = oasis_admin::keys::prune(&keys.storage().await?, oasis_auth::now()).await?;
            match gone.as_slice() {
                [] => println!("no retired key is due for removal (`keys list` shows when each is)"),
                kids => println!("removed {}: {}", count(kids.len(), "retired key", "retired keys"), kids.join(", ")),
            }
        }
        Command::Catalog(CatalogCommand::Generate { count, seed }) => {
            print!("{}", oasis_admin::catalog::to_jsonl(&oasis_admin::catalog::generate(count, seed)));
        }
        Command::Catalog(CatalogCommand::Load { file, if_empty, store }) => {
            let reader = std::io::BufReader::new(
                std::fs::File::open(&file).map_err(|source| CliError::Read { path: file.clone(), source })?,
            );
            let titles = oasis_admin::catalog::parse(reader)?;
            let store = store.open().await?;
            if if_empty && store.title_count().await? > 0 {
                println!("catalog already loaded");
                return Ok(());
            }
            let mut progress = LoadProgress::new(titles.len());
            oasis_admin::catalog::load(store.as_ref(), &titles, |done, _| progress.update(done)).await?;
            let rate = progress.finish();
            println!("catalog loaded: {} ({rate:.0} titles/s)", count(titles.len(), "title", "titles"));
        }
        Command::DevSeed { out, store } => {
            let hasher = oasis_admin::password_hasher_from_env()?;
            let store = store.open().await?;
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
            let creds = oasis_admin::demo::seed(store.as_ref(), &hasher).await?;
            write_private(&out.join("demo.env"), &creds.to_env())?;
            println!("demo data created; credentials in {}", out.join("demo.env").display());
        }
        Command::Tables(TablesCommand::Describe) => {
            println!("{}", serde_json::to_string(&oasis_store::dynamodb::schema::ALL).unwrap_or_default());
        }
        Command::Tables(TablesCommand::Create(dynamo)) => {
            let cfg =
                dynamo.config()?.ok_or_else(|| CliError::Usage("tables create is for OASIS_STORE=dynamodb".into()))?;
            cfg.store().await?.create_tables().await?;
            println!("tables with prefix {} are ready", cfg.table_prefix);
        }
        Command::Purge { sqlite } => {
            let n = sqlite.open()?.purge_expired(oasis_auth::now())?;
            println!("purged {n} expired rows");
        }
    }
    Ok(())
}

/// `1 title`, `2 titles`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Seconds since the epoch as an RFC 3339 UTC time, as an operator compares it with a clock.
fn utc(seconds: u64) -> String {
    let t = aws_smithy_types::DateTime::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX));
    t.fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_else(|_| seconds.to_string())
}

fn unlocked(who: &str, outcome: oasis_admin::Unlocked) -> String {
    match outcome {
        oasis_admin::Unlocked::NothingCounted => format!("{who} has no failed sign-ins on record: nothing to unlock"),
        oasis_admin::Unlocked::Cleared { failures, locked_until: Some(until) } => format!(
            "unlocked {who} (was locked until {} after {})",
            utc(until),
            count(failures as usize, "failure", "failures")
        ),
        oasis_admin::Unlocked::Cleared { failures, locked_until: None } => {
            format!("{who} was not locked; forgot {}", count(failures as usize, "failure", "failures"))
        }
    }
}

fn write_private(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    Ok(oasis_auth::keys::write_private_file(path, text.as_bytes())?)
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// `oasis-admin --help` is where an operator looks first; an option missing from its
    /// overview would be one nobody finds.
    #[test]
    fn the_top_level_help_names_every_option_of_every_command() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                if let Some(long) = arg.get_long().filter(|l| *l != "help") {
                    let flag = format!("--{long}");
                    let named =
                        OVERVIEW.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).any(|word| word == flag);
                    if !named {
                        missing.push(format!("{path}: {flag}"));
                    }
                }
                if let Some(env) = arg.get_env().and_then(|e| e.to_str())
                    && !OVERVIEW.contains(env)
                {
                    missing.push(format!("{path}: {env}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = vec![];
        walk(&Cli::command(), "oasis-admin", &mut missing);
        assert!(missing.is_empty(), "not in OVERVIEW: {missing:?}");
    }
}
