use lambda_http::{Error, service_fn};
use oasis_http::Cors;
use oasis_http::config::{self, StoreConfig, VerifierConfig};
use oasis_secure_data::App;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    oasis_http::init_tracing();
    let store = StoreConfig::from_env()?.open().await?;
    let verifier = VerifierConfig::from_env()?.verifier()?;
    let app = App::new(
        store,
        verifier,
        Cors::new(config::list("OASIS_CORS_ALLOWED_ORIGINS")),
    );
    let app = &app;
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(oasis_secure_data::handle(app, req).await)
    }))
    .await
}
