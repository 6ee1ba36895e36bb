//! The DynamoDB backend. Every user value reaches DynamoDB as an expression attribute value
//! (never inside an expression string); correctness-critical updates are conditional writes
//! or transactions; throttling, timeouts and outages map to [`StoreError::Unavailable`].
//! One module per store trait; `codec`, `errors` and `requests` are what they share.

mod catalog;
mod clients;
mod codec;
mod codes;
mod device;
mod errors;
pub use errors::MissingTable;
pub mod meter;
mod profiles;
mod refresh;
mod requests;
pub mod schema;
mod tables;
mod throttle;
mod users;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
pub use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, DeleteRequest, KeysAndAttributes, Put, PutRequest, ReturnValue, TransactWriteItem,
    Update, WriteRequest,
};

use crate::*;
pub use schema::TableNames;

type Item = HashMap<String, AttributeValue>;

use codec::*;
use errors::*;
pub use requests::PARALLEL_BATCHES;

pub struct DynamoStore {
    client: Client,
    t: TableNames,
}

impl DynamoStore {
    pub fn new(client: Client, table_prefix: &str) -> Self {
        Self { client, t: TableNames::with_prefix(table_prefix) }
    }
}

use crate::Client as Client_;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_transaction_is_a_failed_condition_a_transient_conflict_or_our_fault() {
        let cases: [(&[Option<&str>], Cancelled); 7] = [
            (&[Some("None"), Some("ConditionalCheckFailed"), Some("None")], Cancelled::ConditionFailed),
            // A definite answer from one item outweighs a conflict on another.
            (&[Some("ConditionalCheckFailed"), Some("TransactionConflict")], Cancelled::ConditionFailed),
            (&[Some("None"), Some("TransactionConflict")], Cancelled::Transient),
            (&[Some("ThrottlingError")], Cancelled::Transient),
            (&[Some("ProvisionedThroughputExceeded")], Cancelled::Transient),
            (&[Some("ValidationError")], Cancelled::Other),
            (&[None, None], Cancelled::Other),
        ];
        for (codes, want) in cases {
            assert_eq!(cancelled(codes.iter().copied()), want, "{codes:?}");
        }
    }
}
