use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::{Error, service_fn};
use oasis_http::Cors;
use oasis_http::config::{self, StoreConfig, VerifierConfig};
use oasis_search::{App, CursorKey};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    oasis_http::init_tracing();
    let store = StoreConfig::from_env()?.open().await?;
    let verifier = VerifierConfig::from_env()?.verifier()?;
    let key_file = config::required("OASIS_CURSOR_KEY_FILE")?;
    let key_text = std::fs::read_to_string(&key_file)
        .map_err(|e| format!("cannot read OASIS_CURSOR_KEY_FILE {key_file}: {e}"))?;
    let key = URL_SAFE_NO_PAD
        .decode(key_text.trim())
        .ok()
        .and_then(|k| CursorKey::new(&k).ok())
        .ok_or("OASIS_CURSOR_KEY_FILE must hold at least 32 random bytes, base64url")?;
    let app = App::new(
        store,
        verifier,
        key,
        Cors::new(config::list("OASIS_CORS_ALLOWED_ORIGINS")),
    );
    let app = &app;
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(oasis_search::handle(app, req).await)
    }))
    .await
}
