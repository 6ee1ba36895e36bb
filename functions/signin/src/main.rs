#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    oasis_lambda::shell::run::<oasis_signin::App>().await
}
