//! How SDK errors become [`StoreError`]s, and the backoff for what the SDK does not retry.

use super::*;

pub(super) fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

#[derive(Debug, thiserror::Error)]
#[error("malformed item: {0}")]
pub(super) struct Malformed(pub(super) &'static str);

/// Throttling, timeouts, dispatch failures and 5xx are transient; everything else is ours.
pub(super) fn classify<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let transient = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(se) => matches!(
            se.err().code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "TransactionConflictException"
                    | "TransactionInProgressException"
            )
        ),
        _ => false,
    };
    let missing = is_code(&e, "ResourceNotFoundException");
    // The cause alone, never the SdkError with the raw HTTP response it carries.
    let source = e.into_source().unwrap_or_else(|e| Box::new(e));
    if transient {
        StoreError::Unavailable(source)
    } else if missing {
        StoreError::Backend(Box::new(MissingTable(source)))
    } else {
        StoreError::Backend(source)
    }
}

/// A table that does not exist: a deployment or prefix mistake, which the admin tool names
/// with [`DynamoStore::missing_tables`](super::DynamoStore::missing_tables).
#[derive(Debug, thiserror::Error)]
#[error("a table does not exist")]
pub struct MissingTable(#[source] Box<dyn std::error::Error + Send + Sync>);

pub(super) fn is_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>, code: &str) -> bool {
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some(code))
}

/// For updates guarded by `attribute_exists`: a missing item changes nothing and is no error.
pub(super) fn missing_is_fine<T, E, R>(r: Result<T, SdkError<E, R>>) -> StoreResult<()>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, "ConditionalCheckFailedException") => Ok(()),
        Err(e) => Err(classify(e)),
    }
}

/// Why DynamoDB cancelled a transaction, from its per-item cancellation reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cancelled {
    /// A condition did not hold: the answer the caller asked for.
    ConditionFailed,
    /// Another transaction on the same items, or throttling: worth trying again.
    Transient,
    /// Anything else (validation, size): our fault.
    Other,
}

pub(super) fn cancelled<'a>(codes: impl IntoIterator<Item = Option<&'a str>> + Clone) -> Cancelled {
    if codes.clone().into_iter().any(|c| c == Some("ConditionalCheckFailed")) {
        Cancelled::ConditionFailed
    } else if codes
        .into_iter()
        .any(|c| matches!(c, Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")))
    {
        Cancelled::Transient
    } else {
        Cancelled::Other
    }
}

pub(super) fn cancellation<R>(
    e: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> Option<Cancelled> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match e {
        SdkError::ServiceError(se) => match se.err() {
            TransactWriteItemsError::TransactionCanceledException(c) => {
                Some(cancelled(c.cancellation_reasons().iter().map(|r| r.code())))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Exponential backoff for what the SDK does not retry itself (transaction conflicts,
/// unprocessed batch items): `retry()` waits before the next attempt, or says there is none.
pub(super) struct Backoff {
    delay: Duration,
    retries_left: u32,
}

impl Backoff {
    /// Conflicting transactions clear in milliseconds: 6 retries from 20 ms (up to ~1.3 s), so a
    /// burst of callers on one item (many refreshes of one token at once: racing tabs, retries
    /// within the grace window) gets through rather than answering 503.
    pub(super) fn conflict() -> Self {
        Self { delay: Duration::from_millis(20), retries_left: 6 }
    }

    /// Unprocessed batch items mean throttling: 8 retries from 50 ms, at most 2 s apart.
    pub(super) fn throttled() -> Self {
        Self { delay: Duration::from_millis(50), retries_left: 8 }
    }

    pub(super) async fn retry(&mut self) -> bool {
        if self.retries_left == 0 {
            return false;
        }
        self.retries_left -= 1;
        // Equal jitter: callers that collided once must not retry in lockstep and collide again.
        let half = self.delay / 2;
        let spread = u32::try_from(half.as_micros()).unwrap_or(u32::MAX).max(1);
        let jitter = Duration::from_micros(u64::from(random_u32() % spread));
        tokio::time::sleep(half + jitter).await;
        self.delay = (self.delay * 2).min(Duration::from_secs(2));
        true
    }
}

/// A random number for jitter, from the standard library's per-instance hash keys (no RNG
/// dependency for this; it needs to be unpredictable between callers, not secret).
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new().build_hasher().finish() as u32
}
