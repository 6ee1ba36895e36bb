use std::sync::Arc;

use lambda_http::{Error, service_fn};
use oasis_auth::aws::SecretsManagerKeySet;
use oasis_auth::keyring::SigningKeys;
use oasis_auth::keys::{LocalKeyFile, SigningKeySource};
use oasis_auth::password::PasswordHasher;
use oasis_http::Cors;
use oasis_token::config::KeySourceConfig;
use oasis_token::{App, Config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    oasis_http::init_tracing();
    let config = Config::from_env()?;
    let sdk = match config.uses_aws() {
        true => Some(oasis_http::config::aws_sdk().await),
        false => None,
    };
    let store = config.store.open(sdk.as_ref()).await?;
    let source: Arc<dyn SigningKeySource> = match (&config.keys, &sdk) {
        (KeySourceConfig::SecretsManager(id), Some(sdk)) => Arc::new(SecretsManagerKeySet::new(sdk, id)),
        (KeySourceConfig::File(path), _) => Arc::new(LocalKeyFile::new(path)),
        (KeySourceConfig::SecretsManager(_), None) => unreachable!("uses_aws covers the secret"),
    };
    let keys = SigningKeys::load(source, config.keys_cache).await?;
    let (m, t, p) = config.argon2;
    let app = App::with_keys(
        store,
        keys,
        &config.audience,
        config.access_ttl,
        PasswordHasher::new(m, t, p)?,
        Cors::new(config.cors_origins),
        config.settings,
    )?;
    let metrics = oasis_http::metrics::Metrics::stdout(
        oasis_http::config::optional("OASIS_METRICS_NAMESPACE").unwrap_or_else(|| "Oasis".into()),
        oasis_http::config::optional("OASIS_SERVICE_NAME").unwrap_or_else(|| "oasis".into()),
        "token",
    );
    let app = app.with_metrics(metrics);
    let app = &app;
    lambda_http::run(service_fn(move |req| async move { Ok::<_, Error>(oasis_token::handle(app, req).await) })).await
}
