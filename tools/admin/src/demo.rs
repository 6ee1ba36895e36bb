//! Demo data for local runs: a first-party public client, a browser (cookie) client, a
//! confidential service client and two users. Passwords and the service secret are random
//! per checkout, written to a file only the owner can read, never to the repository.

use oasis_auth::password::PasswordHasher;
use oasis_auth::secret::random_token;
use oasis_domain::scope::{ADMIN, DATA_READ, SEARCH};
use oasis_store::{Profile, Store};

use crate::{AdminError, NewClient, NewUser, create_client, create_user};

pub const DEMO_CLIENT: &str = "oasis-demo";

/// [`DEMO_CLIENT`] as the id the store looks up.
pub fn demo_client_id() -> oasis_domain::ClientId {
    oasis_domain::ClientId::parse(DEMO_CLIENT).expect("the demo client id is valid")
}
pub const WEB_CLIENT: &str = "oasis-web";
pub const WEB_ORIGIN: &str = "http://localhost:5173";
pub const SERVICE_CLIENT: &str = "oasis-demo-service";
/// A TV app: signs in with the device flow (RFC 8628), never sees a password.
pub const TV_CLIENT: &str = "oasis-tv";
/// The browser and phone app: signs in on the hosted page (authorization code + PKCE).
pub const APP_CLIENT: &str = "oasis-app";
/// Where [`APP_CLIENT`] gets its code in the local demo (a web app on the usual dev port);
/// it also registers the loopback `http://127.0.0.1/callback`, any port (native apps).
pub const APP_REDIRECT_URI: &str = "http://localhost:5173/callback";
pub const DEMO_USER: &str = "demo";
pub const ADMIN_USER: &str = "demo-admin";

/// Generated credentials of the demo data.
#[derive(Debug, Clone)]
pub struct DemoCredentials {
    pub demo_password: String,
    pub admin_password: String,
    pub service_secret: String,
}

impl DemoCredentials {
    /// A shell-sourceable env file.
    pub fn to_env(&self) -> String {
        format!(
            "# Local demo credentials (generated; never commit)\nOASIS_DEMO_CLIENT={DEMO_CLIENT}\nOASIS_DEMO_USER={DEMO_USER}\nOASIS_DEMO_PASSWORD={}\nOASIS_ADMIN_USER={ADMIN_USER}\nOASIS_ADMIN_PASSWORD={}\nOASIS_SERVICE_CLIENT={SERVICE_CLIENT}\nOASIS_SERVICE_SECRET={}\nOASIS_DEMO_TV_CLIENT={TV_CLIENT}\nOASIS_DEMO_WEB_CLIENT={APP_CLIENT}\nOASIS_DEMO_WEB_REDIRECT_URI={APP_REDIRECT_URI}\n",
            self.demo_password, self.admin_password, self.service_secret
        )
    }
}

pub async fn seed(store: &dyn Store, hasher: &PasswordHasher) -> Result<DemoCredentials, AdminError> {
    let all = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    create_client(
        store,
        NewClient {
            client_id: DEMO_CLIENT.into(),
            name: "Oasis demo app (first-party, public)".into(),
            confidential: false,
            first_party: true,
            grant_types: all(&["password", "refresh_token"]),
            scopes: all(&[DATA_READ, SEARCH, ADMIN]),
            refresh_in_cookie: false,
            allowed_origins: vec![],
            redirect_uris: vec![],
            legacy_password_grant: true,
        },
    )
    .await?;
    create_client(
        store,
        NewClient {
            client_id: WEB_CLIENT.into(),
            name: "Oasis web (browser, refresh token in cookie)".into(),
            confidential: false,
            first_party: true,
            grant_types: all(&["password", "refresh_token"]),
            scopes: all(&[DATA_READ, SEARCH]),
            refresh_in_cookie: true,
            allowed_origins: vec![WEB_ORIGIN.into()],
            redirect_uris: vec![],
            legacy_password_grant: true,
        },
    )
    .await?;
    create_client(
        store,
        NewClient {
            client_id: TV_CLIENT.into(),
            name: "Oasis for TV".into(),
            confidential: false,
            first_party: true,
            grant_types: all(&[oasis_domain::GrantType::DeviceCode.as_str(), "refresh_token"]),
            scopes: all(&[DATA_READ, SEARCH]),
            refresh_in_cookie: false,
            allowed_origins: vec![],
            redirect_uris: vec![],
            legacy_password_grant: false,
        },
    )
    .await?;
    create_client(
        store,
        NewClient {
            client_id: APP_CLIENT.into(),
            name: "Oasis".into(),
            confidential: false,
            first_party: true,
            grant_types: all(&[oasis_domain::GrantType::AuthorizationCode.as_str(), "refresh_token"]),
            scopes: all(&[DATA_READ, SEARCH]),
            refresh_in_cookie: false,
            allowed_origins: vec![],
            redirect_uris: all(&[APP_REDIRECT_URI, "http://127.0.0.1/callback"]),
            legacy_password_grant: false,
        },
    )
    .await?;
    let (_, secret) = create_client(
        store,
        NewClient {
            client_id: SERVICE_CLIENT.into(),
            name: "Oasis demo partner service".into(),
            confidential: true,
            first_party: false,
            grant_types: all(&["client_credentials"]),
            scopes: all(&[SEARCH]),
            refresh_in_cookie: false,
            allowed_origins: vec![],
            redirect_uris: vec![],
            legacy_password_grant: false,
        },
    )
    .await?;
    let creds = DemoCredentials {
        demo_password: random_token(15),
        admin_password: random_token(15),
        service_secret: secret.map(|s| s.expose().to_owned()).unwrap_or_default(),
    };
    let demo = create_user(
        store,
        hasher,
        NewUser {
            username: DEMO_USER,
            password: &creds.demo_password,
            scopes: all(&[DATA_READ, SEARCH]),
            maturity: 13,
        },
    )
    .await?;
    store
        .put_profile(&Profile {
            user_id: demo.id,
            display_name: "Demo Viewer".into(),
            entitlements: all(&["basic", "hd"]),
            watchlist: all(&["tt000002", "tt000003"]),
        })
        .await?;
    create_user(
        store,
        hasher,
        NewUser {
            username: ADMIN_USER,
            password: &creds.admin_password,
            scopes: all(&[DATA_READ, SEARCH, ADMIN]),
            maturity: 18,
        },
    )
    .await?;
    Ok(creds)
}
