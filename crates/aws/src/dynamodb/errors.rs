//! SDK errors as `StoreError`s, through the one classification of every AWS client
//! ([`sdk::classify`]). A message names the operation and the error's code, never an item (a
//! condition failure can carry one) nor a value read from the table.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::sdk::{self, Failure};
use contacts_app::ports::StoreError;

/// Transient failures (throttling, timeouts, connection failures, 5xx, transaction conflicts)
/// are `Unavailable`: nothing was written. Anything else is `Failed`.
pub fn classify<E>(operation: &str, error: &SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata,
{
    match sdk::classify("DynamoDB", operation, error) {
        Failure::Transient(message) => StoreError::Unavailable(message),
        Failure::Permanent(message) => StoreError::Failed(message),
    }
}

pub fn build_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(format!("cannot build a DynamoDB request: {error}"))
}
