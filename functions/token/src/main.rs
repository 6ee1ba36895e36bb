use lambda_http::{Error, service_fn};
use oasis_auth::keys::{LocalKeyFile, SigningKeySource};
use oasis_auth::password::PasswordHasher;
use oasis_http::Cors;
use oasis_token::config::KeySourceConfig;
use oasis_token::{App, Config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    oasis_http::init_tracing();
    let config = Config::from_env()?;
    let store = config.store.open().await?;
    let keys = match &config.keys {
        KeySourceConfig::File(path) => LocalKeyFile::new(path).load_key_set().await?,
    };
    let (m, t, p) = config.argon2;
    let app = App::new(
        store,
        &keys,
        &config.audience,
        config.access_ttl,
        PasswordHasher::new(m, t, p)?,
        Cors::new(config.cors_origins),
        config.settings,
    )?;
    let app = &app;
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(oasis_token::handle(app, req).await)
    }))
    .await
}
