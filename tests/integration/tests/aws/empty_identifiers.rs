//! Identifiers a store cannot hold (DynamoDB refuses an empty key value with a validation
//! error, which once became a 500) are refused at the edge: they never reach a lookup.

use oasis_integration_tests::*;
use oasis_testkit::{FORM, World, event, form, reply, request};

#[tokio::test]
async fn an_empty_or_malformed_client_id_is_an_unknown_client_on_dynamodb_never_a_500() {
    let store = dynamo(&endpoint(), &unique_prefix("empty"), None).await;
    let w = World::on(store, 10).await;
    let app = token_app(&w);
    let body = form(&[("grant_type", "client_credentials")]);
    // "Og==" is ":" (empty id, empty secret); then an empty id with a secret, and a malformed one.
    for basic in ["Og==", "OnNlY3JldA==", "Lzpz"] {
        let auth = format!("Basic {basic}");
        let r =
            reply(app.handle(request(&event("POST", "/token", &[FORM, ("Authorization", &auth)], Some(&body)))).await);
        assert_eq!((r.status, r.error().as_deref()), (401, Some("invalid_client")), "{basic}: {}", r.text);
    }
    let r =
        post_token(&app, &[("grant_type", "password"), ("client_id", ""), ("username", ""), ("password", "x")]).await;
    assert_eq!((r.status, r.error().as_deref()), (401, Some("invalid_client")), "{}", r.text);
}
