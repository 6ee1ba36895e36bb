//! What the page tests share: the signin App on a real SQLite store with the demo data, and
//! reading what a browser would keep from a page.
#![allow(dead_code)]

use std::sync::Arc;

use oasis_admin::demo::DemoCredentials;
use oasis_auth::password::PasswordHasher;
use oasis_lambda::shell::Lambda;
use oasis_signin::{App, Settings};
use oasis_store::sqlite::SqliteStore;
use oasis_testkit::{ISSUER, Reply};

pub(crate) struct Fixture {
    pub app: Lambda<App>,
    pub store: Arc<SqliteStore>,
    pub creds: DemoCredentials,
}

pub(crate) async fn fixture() -> Fixture {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let hasher = PasswordHasher::default_params().unwrap();
    let creds = oasis_admin::demo::seed(store.as_ref(), &hasher).await.unwrap();
    let app = Lambda::new(App::new(store.clone(), hasher, Settings::new(ISSUER)));
    Fixture { app, store, creds }
}

/// The value of the hidden field `name` of a page's form.
pub(crate) fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// `name=value` of the cookie `name` a response sets.
pub(crate) fn set_cookie(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}
