use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::{Error, service_fn};
use oasis_auth::aws::SecretsManagerKeySet;
use oasis_http::Cors;
use oasis_http::config::{self, StoreConfig, VerifierConfig};
use oasis_search::{App, CursorKey};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    oasis_http::init_tracing();
    let store_config = StoreConfig::from_env()?;
    let verifier_config = VerifierConfig::from_env()?;
    let cursor_secret = config::optional("OASIS_CURSOR_SECRET_ID");
    let sdk = match store_config.uses_aws() || verifier_config.uses_aws() || cursor_secret.is_some() {
        true => Some(config::aws_sdk().await),
        false => None,
    };
    let store = store_config.open(sdk.as_ref()).await?;
    let keys = verifier_config.key_ring(sdk.as_ref()).await?;
    // The cursor key: a Secrets Manager secret in AWS, a local file in development.
    let key_text = match (cursor_secret, &sdk) {
        (Some(id), Some(sdk)) => SecretsManagerKeySet::new(sdk, id).read_string().await?,
        _ => {
            let file = config::required("OASIS_CURSOR_KEY_FILE")
                .map_err(|_| config::ConfigError::Missing("OASIS_CURSOR_SECRET_ID or OASIS_CURSOR_KEY_FILE"))?;
            std::fs::read_to_string(&file).map_err(|e| format!("cannot read OASIS_CURSOR_KEY_FILE {file}: {e}"))?
        }
    };
    let cursor_key = URL_SAFE_NO_PAD
        .decode(key_text.trim())
        .ok()
        .and_then(|k| CursorKey::new(&k).ok())
        .ok_or("the cursor key must hold at least 32 random bytes, base64url")?;
    let app = App::new(store, keys, cursor_key, Cors::new(config::list("OASIS_CORS_ALLOWED_ORIGINS")));
    let metrics = oasis_http::metrics::Metrics::stdout(
        oasis_http::config::optional("OASIS_METRICS_NAMESPACE").unwrap_or_else(|| "Oasis".into()),
        oasis_http::config::optional("OASIS_SERVICE_NAME").unwrap_or_else(|| "oasis".into()),
        "search",
    );
    let app = app.with_metrics(metrics);
    let app = &app;
    lambda_http::run(service_fn(move |req| async move { Ok::<_, Error>(oasis_search::handle(app, req).await) })).await
}
