//! What an operator sees when a resource the configuration names does not exist (moto on
//! loopback): the table, the secret or the parameter by name, never the SDK's raw response.

use oasis_auth::aws::{SecretsManagerKeySet, SsmJwks};
use oasis_auth::keys::{KeyError, PublicKeySource as _};
use oasis_integration_tests::*;
use oasis_store::dynamodb::DynamoStore;

#[tokio::test]
async fn missing_tables_names_each_table_a_prefix_lacks_and_none_once_they_exist() {
    let sdk = oasis_lambda::config::sdk_config(Some(&endpoint())).await;
    let prefix = unique_prefix("gone");
    let store = DynamoStore::new(oasis_store::dynamodb::Client::new(&sdk), &prefix);
    let missing = store.missing_tables().await.unwrap();
    let expected: Vec<String> =
        oasis_store::dynamodb::schema::ALL.iter().map(|t| format!("{prefix}-{}", t.suffix)).collect();
    assert_eq!(missing, expected);
    store.create_tables().await.unwrap();
    assert_eq!(store.missing_tables().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn a_missing_secret_or_parameter_is_named_in_one_line() {
    let sdk = oasis_lambda::config::sdk_config(Some(&endpoint())).await;
    let name = unique_prefix("nokeys");
    let secret = SecretsManagerKeySet::new(&sdk, format!("{name}-signing-keys"));
    let e = secret.read_string().await.unwrap_err();
    assert!(matches!(e, KeyError::Missing(_)), "{e:?}");
    assert_eq!(e.to_string(), format!("secret {name}-signing-keys does not exist"));
    let e = SsmJwks::new(&sdk, format!("/{name}/jwks")).load_jwks().await.unwrap_err();
    assert_eq!(e.to_string(), format!("SSM parameter /{name}/jwks does not exist"));
}
