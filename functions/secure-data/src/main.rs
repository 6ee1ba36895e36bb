use lambda_http::{Error, service_fn};
use oasis_http::Cors;
use oasis_http::config::{self, StoreConfig, VerifierConfig};
use oasis_secure_data::App;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    oasis_http::init_tracing();
    let store_config = StoreConfig::from_env()?;
    let verifier_config = VerifierConfig::from_env()?;
    let sdk = match store_config.uses_aws() || verifier_config.uses_aws() {
        true => Some(config::aws_sdk().await),
        false => None,
    };
    let store = store_config.open(sdk.as_ref()).await?;
    let keys = verifier_config.key_ring(sdk.as_ref()).await?;
    let app = App::new(store, keys, Cors::new(config::list("OASIS_CORS_ALLOWED_ORIGINS")));
    let metrics = oasis_http::metrics::Metrics::stdout(
        oasis_http::config::optional("OASIS_METRICS_NAMESPACE").unwrap_or_else(|| "Oasis".into()),
        oasis_http::config::optional("OASIS_SERVICE_NAME").unwrap_or_else(|| "oasis".into()),
        "secure-data",
    );
    let app = app.with_metrics(metrics);
    let app = &app;
    lambda_http::run(service_fn(move |req| async move { Ok::<_, Error>(oasis_secure_data::handle(app, req).await) }))
        .await
}
