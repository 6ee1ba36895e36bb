//! Key sources in AWS: the private key set as a Secrets Manager secret (readable only by the
//! token function's role), the public JWKS as an SSM parameter (readable by verifiers).
//! Writing them is for the admin tool; the functions only read.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;

use crate::keys::{KeyError, KeySet, PublicJwks, PublicKeySource, SigningKeySource};

fn unavailable(e: impl std::fmt::Display) -> KeyError {
    KeyError::Source(e.to_string())
}

/// The key set in a Secrets Manager secret (a JSON string).
#[derive(Debug, Clone)]
pub struct SecretsManagerKeySet {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerKeySet {
    pub fn new(sdk: &aws_config::SdkConfig, secret_id: impl Into<String>) -> Self {
        Self { client: aws_sdk_secretsmanager::Client::new(sdk), secret_id: secret_id.into() }
    }

    /// Reads a secret's string value (also used for the search cursor key).
    pub async fn read_string(&self) -> Result<String, KeyError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| unavailable(aws_sdk_secretsmanager::error::DisplayErrorContext(e)))?;
        out.secret_string.ok_or(KeyError::Empty)
    }

    /// Stores a new version of the key set, creating the secret on first use.
    pub async fn write(&self, set: &KeySet) -> Result<(), KeyError> {
        self.write_string(&set.to_json()).await
    }

    pub async fn write_string(&self, value: &str) -> Result<(), KeyError> {
        let put = self.client.put_secret_value().secret_id(&self.secret_id).secret_string(value).send().await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => self
                .client
                .create_secret()
                .name(&self.secret_id)
                .secret_string(value)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| unavailable(aws_sdk_secretsmanager::error::DisplayErrorContext(e))),
            Err(e) => Err(unavailable(aws_sdk_secretsmanager::error::DisplayErrorContext(e))),
        }
    }
}

#[async_trait::async_trait]
impl SigningKeySource for SecretsManagerKeySet {
    async fn load_key_set(&self) -> Result<KeySet, KeyError> {
        KeySet::from_json(&self.read_string().await?)
    }
}

/// The public JWKS in an SSM parameter.
#[derive(Debug, Clone)]
pub struct SsmJwks {
    client: aws_sdk_ssm::Client,
    name: String,
}

impl SsmJwks {
    pub fn new(sdk: &aws_config::SdkConfig, name: impl Into<String>) -> Self {
        Self { client: aws_sdk_ssm::Client::new(sdk), name: name.into() }
    }

    pub async fn write(&self, jwks: &PublicJwks) -> Result<(), KeyError> {
        self.client
            .put_parameter()
            .name(&self.name)
            .value(jwks.to_json())
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable(aws_sdk_ssm::error::DisplayErrorContext(e)))
    }
}

#[async_trait::async_trait]
impl PublicKeySource for SsmJwks {
    async fn load_jwks(&self) -> Result<PublicJwks, KeyError> {
        let out = self
            .client
            .get_parameter()
            .name(&self.name)
            .send()
            .await
            .map_err(|e| unavailable(aws_sdk_ssm::error::DisplayErrorContext(e)))?;
        let value = out.parameter.and_then(|p| p.value).ok_or(KeyError::Empty)?;
        PublicJwks::from_json(&value)
    }
}
