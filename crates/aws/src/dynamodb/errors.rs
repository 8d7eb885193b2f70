//! SDK errors as `StoreError`s, through the one classification of every AWS client
//! ([`sdk::classify`]). A message names the operation and the error's code, never an item (a
//! condition failure can carry one) nor a value read from the table.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::sdk::{self, Failure};
use contacts_app::ports::{Cause, StoreError};

/// Transient failures (throttling, timeouts, connection failures, 5xx, transaction conflicts)
/// are `Unavailable`: nothing was written. Anything else is `Failed`.
pub fn classify<E>(operation: &str, error: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match sdk::classify("DynamoDB", operation, &error) {
        Failure::Throttled(message) | Failure::Transient(message) => StoreError::Unavailable(Cause::of(message, error)),
        Failure::Permanent(message) => StoreError::Failed(Cause::of(message, error)),
    }
}

pub fn build_error(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Failed(Cause::of(format!("cannot build a DynamoDB request: {error}"), error))
}
