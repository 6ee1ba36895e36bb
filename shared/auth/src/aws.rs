//! Key sources in AWS: the private key set as a Secrets Manager secret (readable only by the
//! token function's role), the public JWKS as an SSM parameter (readable by verifiers).
//! Writing them is for the admin tool; the functions only read.

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::types::{Parameter, ParameterStringFilter, ParameterType};

use crate::keys::{KeyError, KeySet, PublicJwks, PublicKeySource, SigningKeySource};

/// One SDK failure as an operator can act on it: a missing secret or parameter by its name, a
/// service's refusal by its code and message, anything else (no credentials, no endpoint) with
/// its causes, never the raw response the SDK's debug output would dump.
fn unavailable<E, R>(e: SdkError<E, R>, missing_code: &str, what: &str) -> KeyError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &e {
        SdkError::ServiceError(se) if se.err().code() == Some(missing_code) => KeyError::Missing(what.to_owned()),
        SdkError::ServiceError(se) => KeyError::Refused {
            what: what.to_owned(),
            code: se.err().code().unwrap_or("unknown").to_owned(),
            message: se.err().message().unwrap_or_default().to_owned(),
        },
        // The cause alone: the SdkError would also hold the raw HTTP response, whose body can
        // be the secret itself, and `{:?}` of a startup error prints it.
        _ => KeyError::Unavailable { what: what.to_owned(), source: e.into_source().unwrap_or_else(|e| Box::new(e)) },
    }
}

const SECRET_MISSING: &str = "ResourceNotFoundException";
const PARAMETER_MISSING: &str = "ParameterNotFound";

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
            .map_err(|e| unavailable(e, SECRET_MISSING, &self.describe()))?;
        out.secret_string.ok_or(KeyError::Empty)
    }

    fn describe(&self) -> String {
        format!("secret {}", self.secret_id)
    }

    /// Stores a new version of the key set, creating the secret on first use.
    pub async fn write(&self, set: &KeySet) -> Result<(), KeyError> {
        self.write_string(&set.to_json()).await
    }

    pub async fn write_string(&self, value: &str) -> Result<(), KeyError> {
        let put = self.client.put_secret_value().secret_id(&self.secret_id).secret_string(value).send().await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(SECRET_MISSING) => self
                .client
                .create_secret()
                .name(&self.secret_id)
                .secret_string(value)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| unavailable(e, SECRET_MISSING, &self.describe())),
            Err(e) => Err(unavailable(e, SECRET_MISSING, &self.describe())),
        }
    }
}

#[async_trait::async_trait]
impl SigningKeySource for SecretsManagerKeySet {
    async fn load_key_set(&self) -> Result<KeySet, KeyError> {
        KeySet::from_json(&self.read_string().await?)
    }
}

/// The public JWKS in an SSM parameter: a `SecureString` under the KMS key Terraform gives it
/// (terraform/key_guard.tf). Only the operators may encrypt with that key, and verifiers may
/// decrypt parameters under no other, so a JWKS that someone else with `ssm:PutParameter`
/// writes (under another key, or recreated as a plain `String`) is refused, never trusted.
#[derive(Debug, Clone)]
pub struct SsmJwks {
    client: aws_sdk_ssm::Client,
    name: String,
}

impl SsmJwks {
    pub fn new(sdk: &aws_config::SdkConfig, name: impl Into<String>) -> Self {
        Self { client: aws_sdk_ssm::Client::new(sdk), name: name.into() }
    }

    /// Rewrites the parameter under the key it is encrypted with now (Terraform's), which an
    /// overwrite naming no key would swap for the account's default one. A parameter that does
    /// not exist yet gets that default key, under which verifiers in AWS refuse it: Terraform
    /// creates it.
    pub async fn write(&self, jwks: &PublicJwks) -> Result<(), KeyError> {
        let key_id = self.key_id().await?;
        self.client
            .put_parameter()
            .name(&self.name)
            .value(jwks.to_json())
            .r#type(ParameterType::SecureString)
            .set_key_id(key_id)
            .overwrite(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable(e, PARAMETER_MISSING, &self.describe()))
    }

    /// The KMS key of the parameter as it is, if it exists.
    async fn key_id(&self) -> Result<Option<String>, KeyError> {
        let by_name = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(&self.name)
            .build()
            .map_err(|e| KeyError::Source(e.to_string()))?;
        let out = self
            .client
            .describe_parameters()
            .parameter_filters(by_name)
            .send()
            .await
            .map_err(|e| unavailable(e, PARAMETER_MISSING, &self.describe()))?;
        Ok(out.parameters().iter().find(|p| p.name() == Some(&self.name)).and_then(|p| p.key_id()).map(str::to_owned))
    }

    /// The parameter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn describe(&self) -> String {
        format!("SSM parameter {}", self.name)
    }
}

#[async_trait::async_trait]
impl PublicKeySource for SsmJwks {
    async fn load_jwks(&self) -> Result<PublicJwks, KeyError> {
        let out = self
            .client
            .get_parameter()
            .name(&self.name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| unavailable(e, PARAMETER_MISSING, &self.describe()))?;
        PublicJwks::from_json(&secure_value(out.parameter, &self.describe())?)
    }
}

/// The value of a `SecureString` parameter. Anything else was not written under the JWKS key
/// (an SSM type cannot change in place: someone deleted and recreated the parameter), so it is
/// refused rather than trusted.
fn secure_value(parameter: Option<Parameter>, what: &str) -> Result<String, KeyError> {
    let parameter = parameter.ok_or(KeyError::Empty)?;
    match parameter.r#type() {
        Some(ParameterType::SecureString) => parameter.value.ok_or(KeyError::Empty),
        other => Err(KeyError::Refused {
            what: what.to_owned(),
            code: "NotSecureString".to_owned(),
            message: format!(
                "a {} parameter; the JWKS must be a SecureString under the stack's JWKS key",
                other.map_or("typeless", |t| t.as_str())
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(kind: ParameterType) -> Option<Parameter> {
        Some(Parameter::builder().name("/oasis/jwks").r#type(kind).value(r#"{"keys":[]}"#).build())
    }

    #[test]
    fn a_jwks_parameter_that_is_not_a_secure_string_is_refused_not_trusted() {
        for kind in [ParameterType::String, ParameterType::StringList] {
            let e = secure_value(parameter(kind.clone()), "SSM parameter /oasis/jwks").unwrap_err();
            assert!(matches!(&e, KeyError::Refused { code, .. } if code == "NotSecureString"), "{kind:?}: {e:?}");
            assert!(e.to_string().starts_with("SSM parameter /oasis/jwks: NotSecureString: a "), "{e}");
        }
        let typeless = Some(Parameter::builder().name("/oasis/jwks").value("{}").build());
        assert!(secure_value(typeless, "p").is_err());
        assert_eq!(secure_value(parameter(ParameterType::SecureString), "p").unwrap(), r#"{"keys":[]}"#);
        assert!(matches!(secure_value(None, "p"), Err(KeyError::Empty)));
    }
}
