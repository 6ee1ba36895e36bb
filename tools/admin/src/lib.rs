//! Operator commands, as a library so tests (and the local run's demo seed) use exactly
//! what the `oasis-admin` binary runs.

use oasis_auth::password::{MIN_PASSWORD_CHARS, PasswordHasher};
use oasis_auth::secret::{TOKEN_BYTES, random_token, token_hash};
use oasis_domain::scope::{KNOWN, ScopeSet};
use oasis_domain::username::{Username, UsernameError};
use oasis_domain::{ClientId, GrantType, Maturity, Secret, UserId};
use oasis_store::{Client, Store, StoreError, User};

pub mod catalog;
pub mod demo;
pub mod keys;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Username(#[from] UsernameError),
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("password must be at most {} bytes", oasis_auth::password::MAX_PASSWORD_BYTES)]
    LongPassword,
    #[error("unknown scope {0:?} (known: {known})", known = KNOWN.join(", "))]
    UnknownScope(String),
    #[error(
        "unknown grant type {0:?} (known: authorization_code, refresh_token, device_code, client_credentials, password)"
    )]
    UnknownGrant(String),
    #[error("client id must be 3-64 characters of a-z, 0-9, '-', '_', '.', not starting with usr_")]
    BadClientId,
    #[error("origin {0:?} must be an https:// origin (http:// only for localhost) without a path")]
    BadOrigin(String),
    #[error("{0}")]
    Invalid(&'static str),
    #[error(
        "redirect URI {0:?} must be https://…, a loopback http://127.0.0.1/…, http://[::1]/… or http://localhost/… one, or a reverse-domain scheme (com.example.app:/…), without fragment or wildcard"
    )]
    BadRedirectUri(String),
    #[error("no user named {0}")]
    NoSuchUser(String),
    #[error("no client {0}")]
    NoSuchClient(String),
    #[error("{0:?} is not an IP address (e.g. 203.0.113.7 or 2001:db8::1)")]
    BadAddress(String),
    #[error("maturity must be an age from 0 to 18")]
    BadMaturity,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] oasis_auth::password::PasswordError),
    #[error(transparent)]
    Keys(#[from] oasis_auth::keys::KeyError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("catalog line {line}: {why}")]
    Catalog { line: usize, why: String },
    /// Worded as the functions word theirs, so an operator sees one message for one mistake.
    #[error("environment variable {name} is invalid: {reason}")]
    Env { name: &'static str, reason: String },
    #[error("argon2 cost from the environment ({vars}) refused: {source}")]
    Argon2Cost { vars: String, source: oasis_auth::password::PasswordError },
}

pub use oasis_lambda::config::ARGON2_VARS;

/// The password hasher with the argon2id cost of the environment: `OASIS_ARGON2_M_KIB`,
/// `OASIS_ARGON2_T` and `OASIS_ARGON2_P`, each defaulting when unset or blank. A value that is
/// set but unusable is an error naming its variable, never a silent default: users hashed at a
/// cost other than the token function's are rehashed at their next login, or refused if it is
/// far higher.
pub fn password_hasher_from_env() -> Result<PasswordHasher, AdminError> {
    password_hasher_from(|name| std::env::var_os(name))
}

/// [`password_hasher_from_env`] with `lookup` standing in for the environment, which tests
/// cannot safely change (`set_var` is unsafe while other threads run).
pub fn password_hasher_from(lookup: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PasswordHasher, AdminError> {
    let (params, set) = oasis_lambda::config::argon2_params(lookup).map_err(|e| match e {
        oasis_lambda::config::ConfigError::Invalid { name, reason } => AdminError::Env { name, reason },
        oasis_lambda::config::ConfigError::Missing(name) => AdminError::Env { name, reason: "missing".into() },
    })?;
    // The defaults are accepted, so the culprits are among the variables that are set.
    PasswordHasher::with_params(params).map_err(|source| AdminError::Argon2Cost { vars: set.join(", "), source })
}

fn known_scopes(scopes: &[String]) -> Result<ScopeSet, AdminError> {
    for s in scopes {
        if !KNOWN.contains(&s.as_str()) {
            return Err(AdminError::UnknownScope(s.clone()));
        }
    }
    Ok(ScopeSet::from_known(scopes.iter().cloned()))
}

fn check_password(password: &str) -> Result<(), AdminError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AdminError::WeakPassword);
    }
    if password.len() > oasis_auth::password::MAX_PASSWORD_BYTES {
        return Err(AdminError::LongPassword);
    }
    Ok(())
}

/// What to create a user with.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub scopes: Vec<String>,
    pub maturity: u8,
}

pub async fn create_user(store: &dyn Store, hasher: &PasswordHasher, new: NewUser<'_>) -> Result<User, AdminError> {
    let username = Username::parse(new.username)?;
    check_password(new.password)?;
    let maturity = Maturity::parse(new.maturity).map_err(|_| AdminError::BadMaturity)?;
    let now = oasis_auth::now();
    let user = User {
        id: UserId::parse(&format!("usr_{}", random_token(12)))
            .map_err(|_| AdminError::Invalid("generated user id"))?,
        username,
        password_hash: hasher.hash(new.password)?,
        disabled: false,
        scopes: known_scopes(&new.scopes)?,
        maturity,
        token_generation: 0,
        created_at: now,
    };
    store.create_user(&user).await?;
    store
        .put_profile(&oasis_store::Profile {
            user_id: user.id.clone(),
            display_name: user.username.to_string(),
            entitlements: vec!["basic".into()],
            watchlist: vec![],
        })
        .await?;
    Ok(user)
}

async fn find_user(store: &dyn Store, username: &str) -> Result<User, AdminError> {
    let username = Username::parse(username)?;
    store.user_by_username(&username).await?.ok_or_else(|| AdminError::NoSuchUser(username.to_string()))
}

/// Cuts off every token of a user now: the store raises the user's token generation (no clock
/// involved, so a slow operator clock cannot let recent tokens survive), so every access
/// token, refresh family, code, device approval and sign-in session of an older generation is
/// refused; the refresh families are revoked too.
pub async fn revoke_user_tokens(store: &dyn Store, username: &str) -> Result<u32, AdminError> {
    let user = find_user(store, username).await?;
    store.cut_off_tokens(&user.id).await?;
    Ok(store.revoke_user_families(&user.id).await?)
}

/// What a lock-out counter held when `user unlock` or `address unlock` cleared it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlocked {
    /// No failures were counted (or they had expired): nothing to lift.
    NothingCounted,
    /// The counter is gone; `locked_until` is set when a lock-out was in force.
    Cleared { failures: u32, locked_until: Option<u64> },
}

/// Lifts a username's lock-out and forgets its failures. The user need not exist: wrong
/// passwords for unknown names are counted too (so counting tells nothing about who exists).
pub async fn unlock_account(store: &dyn Store, username: &str) -> Result<Unlocked, AdminError> {
    let username = Username::parse(username)?;
    unlock(store, &oasis_store::throttle_key::account(&username)).await
}

/// Lifts a source address's lock-out and forgets its failures.
pub async fn unlock_address(store: &dyn Store, address: &str) -> Result<Unlocked, AdminError> {
    // Refused unless it parses, so a typo is an error rather than "nothing to unlock".
    address.trim().parse::<std::net::IpAddr>().map_err(|_| AdminError::BadAddress(address.to_owned()))?;
    unlock(store, &oasis_store::throttle_key::address(address)).await
}

async fn unlock(store: &dyn Store, key: &str) -> Result<Unlocked, AdminError> {
    let now = oasis_auth::now();
    let Some(before) = store.attempts(key, now).await? else {
        return Ok(Unlocked::NothingCounted);
    };
    store.clear_attempts(key).await?;
    Ok(Unlocked::Cleared {
        failures: before.failures,
        locked_until: (before.locked_until > now).then_some(before.locked_until),
    })
}

pub async fn set_disabled(store: &dyn Store, username: &str, disabled: bool) -> Result<(), AdminError> {
    let user = find_user(store, username).await?;
    store.set_disabled(&user.id, disabled).await?;
    if disabled {
        revoke_user_tokens(store, username).await?;
    }
    Ok(())
}

/// Disables (or enables again) a client: while disabled it cannot authenticate, and every
/// token issued to it is refused by the verifiers, users' tokens included.
pub async fn set_client_disabled(store: &dyn Store, client_id: &str, disabled: bool) -> Result<(), AdminError> {
    let id = ClientId::parse(client_id.trim()).map_err(|_| AdminError::BadClientId)?;
    if store.client(&id).await?.is_none() {
        return Err(AdminError::NoSuchClient(id.to_string()));
    }
    Ok(store.set_client_disabled(&id, disabled).await?)
}

pub async fn set_password(
    store: &dyn Store,
    hasher: &PasswordHasher,
    username: &str,
    password: &str,
) -> Result<(), AdminError> {
    check_password(password)?;
    let user = find_user(store, username).await?;
    store.set_password_hash(&user.id, &hasher.hash(password)?).await?;
    revoke_user_tokens(store, username).await?;
    Ok(())
}

/// What to create an OAuth2 client with.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    pub confidential: bool,
    pub first_party: bool,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub refresh_in_cookie: bool,
    pub allowed_origins: Vec<String>,
    /// Where the authorization code flow may redirect (required for that grant).
    pub redirect_uris: Vec<String>,
    /// The operator's explicit yes to the password grant (RFC 9700 §2.4: MUST NOT be used);
    /// without it a new client cannot have that grant.
    pub legacy_password_grant: bool,
}

/// An `https://` origin, or `http://` for a loopback host only: the host must be exactly
/// `localhost`, `127.0.0.1` or `[::1]` (a prefix match would admit `localhost.attacker.example`).
fn valid_origin(o: &str) -> bool {
    let authority_ok = |r: &str| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if let Some(rest) = o.strip_prefix("https://") {
        return authority_ok(rest) && !rest.contains(['[', ']']) && !rest.starts_with(['.', ':', '-']);
    }
    let Some(rest) = o.strip_prefix("http://") else { return false };
    let (host, port) = match rest.strip_prefix("[::1]") {
        Some(port) => ("[::1]", port),
        None => rest.find(':').map_or((rest, ""), |i| rest.split_at(i)),
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ["localhost", "127.0.0.1", "[::1]"].contains(&host) && port_ok
}

/// Creates a client. A confidential client's secret is returned once and only its hash stored.
pub async fn create_client(store: &dyn Store, new: NewClient) -> Result<(Client, Option<Secret>), AdminError> {
    let client_id = ClientId::parse(&new.client_id).map_err(|_| AdminError::BadClientId)?;
    let grant_types = new
        .grant_types
        .iter()
        // `device_code` is the command line's short name for RFC 8628's URN.
        .map(|g| match g.as_str() {
            "device_code" => Ok(GrantType::DeviceCode),
            g => GrantType::parse(g).map_err(|e| AdminError::UnknownGrant(e.0)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if grant_types.contains(&GrantType::ClientCredentials) && !new.confidential {
        return Err(AdminError::Invalid("client_credentials needs a confidential client"));
    }
    if grant_types.contains(&GrantType::Password) && !new.legacy_password_grant {
        return Err(AdminError::Invalid(
            "the password grant is legacy (RFC 9700 §2.4): sign in with authorization_code or device_code, or pass --legacy-password-grant to enable it for this client",
        ));
    }
    if grant_types.contains(&GrantType::Password) && !new.first_party {
        return Err(AdminError::Invalid("the password grant is only for first-party clients (RFC 9700 §2.4)"));
    }
    if let Some(bad) = new.allowed_origins.iter().find(|o| !valid_origin(o)) {
        return Err(AdminError::BadOrigin(bad.clone()));
    }
    if new.refresh_in_cookie && new.allowed_origins.is_empty() {
        return Err(AdminError::Invalid("a cookie client needs at least one allowed origin"));
    }
    let redirect_uris = new
        .redirect_uris
        .iter()
        .map(|r| oasis_domain::RedirectUri::parse(r).map_err(|_| AdminError::BadRedirectUri(r.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(AdminError::Invalid("the authorization_code grant needs at least one --redirect-uris"));
    }
    let secret = new.confidential.then(|| Secret::new(random_token(TOKEN_BYTES)));
    let client = Client {
        client_id,
        secret_hash: secret.as_ref().map(|s| token_hash(s.expose())),
        name: new.name,
        first_party: new.first_party,
        grant_types,
        scopes: known_scopes(&new.scopes)?,
        refresh_in_cookie: new.refresh_in_cookie,
        allowed_origins: new.allowed_origins,
        redirect_uris,
        disabled: false,
        created_at: oasis_auth::now(),
    };
    store.create_client(&client).await?;
    Ok((client, secret))
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    fn hasher_with(vars: &[(&str, &str)]) -> Result<PasswordHasher, AdminError> {
        password_hasher_from(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).into()))
    }

    #[test]
    fn argon2_cost_defaults_when_unset_or_blank_and_takes_a_stronger_setting() {
        for vars in [
            vec![],
            vec![("OASIS_ARGON2_M_KIB", ""), ("OASIS_ARGON2_T", "  "), ("OASIS_ARGON2_P", "")],
            vec![("OASIS_ARGON2_M_KIB", "65536"), ("OASIS_ARGON2_T", " 3 "), ("OASIS_ARGON2_P", "2")],
        ] {
            assert!(hasher_with(&vars).is_ok(), "{vars:?}");
        }
    }

    #[test]
    fn an_unusable_argon2_variable_is_an_error_naming_it_never_a_silent_default() {
        for (vars, named, not_named) in [
            (vec![("OASIS_ARGON2_M_KIB", "lots")], "OASIS_ARGON2_M_KIB", "OASIS_ARGON2_T"),
            (vec![("OASIS_ARGON2_T", "-1")], "OASIS_ARGON2_T", "OASIS_ARGON2_M_KIB"),
            (vec![("OASIS_ARGON2_P", "1.5")], "OASIS_ARGON2_P", "OASIS_ARGON2_T"),
            (vec![("OASIS_ARGON2_T", "99999999999")], "OASIS_ARGON2_T", "OASIS_ARGON2_P"),
            // Parsed, but below the floor the token function refuses too.
            (vec![("OASIS_ARGON2_M_KIB", "1024")], "OASIS_ARGON2_M_KIB=1024", "OASIS_ARGON2_T"),
            (vec![("OASIS_ARGON2_M_KIB", "19456"), ("OASIS_ARGON2_T", "1")], "OASIS_ARGON2_T=1", "OASIS_ARGON2_P"),
            (vec![("OASIS_ARGON2_P", "0")], "OASIS_ARGON2_P=0", "OASIS_ARGON2_M_KIB"),
        ] {
            let message = match hasher_with(&vars) {
                Ok(_) => panic!("{vars:?} was accepted"),
                Err(e) => e.to_string(),
            };
            assert!(message.contains(named), "{vars:?}: {message}");
            assert!(!message.contains(not_named), "{vars:?}: {message}");
        }
    }

    #[test]
    fn an_argon2_variable_that_is_not_utf8_is_an_error_naming_it() {
        use std::os::unix::ffi::OsStringExt;
        let result = password_hasher_from(|name| (name == "OASIS_ARGON2_P").then(|| OsString::from_vec(vec![0xff])));
        assert!(matches!(result, Err(AdminError::Env { name: "OASIS_ARGON2_P", .. })));
    }
}

/// What the SDK needs before any AWS call, said before the call: without it every request
/// fails, after the SDK's retries, as an unreadable dispatch failure.
#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    #[error("no AWS region: set AWS_REGION (or AWS_PROFILE naming a profile with a region)")]
    NoRegion,
    #[error(
        "no AWS credentials found (environment, profile, web identity, container or instance role): set \
         AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for a local server)"
    )]
    NoCredentials,
    #[error("AWS credentials could not be loaded: {0}")]
    Credentials(String),
}

/// Checks that `sdk` has a region and that its credentials resolve.
pub async fn check_aws_setup(sdk: &oasis_lambda::config::SdkConfig) -> Result<(), AwsSetupError> {
    use aws_credential_types::provider::ProvideCredentials as _;
    use aws_credential_types::provider::error::CredentialsError;
    if sdk.region().is_none() {
        return Err(AwsSetupError::NoRegion);
    }
    let provider = sdk.credentials_provider().ok_or(AwsSetupError::NoCredentials)?;
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(CredentialsError::CredentialsNotLoaded(_)) => Err(AwsSetupError::NoCredentials),
        // The provider's own words (an expired SSO session, a profile without keys), first line only.
        Err(e) => Err(AwsSetupError::Credentials(
            oasis_lambda::error::cause_chain(&e).lines().next().unwrap_or_default().to_owned(),
        )),
    }
}

#[cfg(test)]
mod origin_tests {
    use super::valid_origin;

    /// A prefix match on "localhost" let `http://localhost.attacker.example` hold a browser
    /// client's refresh cookie; the host is matched whole.
    #[test]
    fn http_origins_are_allowed_for_exactly_the_loopback_hosts() {
        for good in [
            "https://app.example",
            "https://app.example:8443",
            "http://localhost",
            "http://localhost:5173",
            "http://127.0.0.1:8080",
            "http://[::1]:3000",
        ] {
            assert!(valid_origin(good), "{good}");
        }
        for bad in [
            "http://localhost.attacker.example",
            "http://127.0.0.1.attacker.example",
            "http://localhostattacker.example",
            "http://localhost:5173.attacker.example",
            "http://localhost:",
            "http://app.example",
            "https://app.example/path",
            "https://",
            "ftp://localhost",
            "http://[::1].attacker.example",
        ] {
            assert!(!valid_origin(bad), "{bad}");
        }
    }
}
