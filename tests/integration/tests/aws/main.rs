//! Cross-function and backend tests against AWS-API servers on loopback (moto, started by
//! `scripts/with-moto.sh`; without one they fail loudly, never skip): DynamoDB conformance,
//! request costs, faults, unprocessed batches, least privilege, key rotation, racing guesses.
//! One test binary, so the AWS SDK is linked once.

mod dynamodb_costs;
mod dynamodb_faults;
mod empty_identifiers;
mod iam_least_privilege;
mod key_rotation;
mod missing_resources;
mod parallel_guesses;
mod refresh_races;
mod store_dynamodb_conformance;
mod store_dynamodb_search_cost;
mod store_dynamodb_unprocessed;
