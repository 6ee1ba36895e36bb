#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    oasis_http::shell::run::<oasis_search::App>().await
}
