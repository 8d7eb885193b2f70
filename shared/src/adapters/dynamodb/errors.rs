//! SDK errors as `StoreError`s. A message names the operation and the error's code, never an
//! item (a condition failure can carry one) nor a value read from the table.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::ports::StoreError;

/// Codes after which nothing was written and trying again later may work.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "TransactionConflict",
    "TransactionInProgressException",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "ThrottlingError",
    "RequestTimeout",
    "RequestTimeoutException",
    "LimitExceededException",
];

pub fn is_transient_code(code: &str) -> bool {
    TRANSIENT_CODES.contains(&code)
}

/// Throttling, timeouts, connection failures, 5xx and transaction conflicts are
/// `Unavailable` (the SDK's retry policy has already retried what it safely could);
/// anything else is `Failed`.
pub fn classify<E>(operation: &str, error: &SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) => StoreError::Unavailable(format!("{operation}: timed out")),
        SdkError::DispatchFailure(failure) => {
            let what = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "could not reach DynamoDB"
            } else {
                "could not send the request"
            };
            StoreError::Unavailable(format!("{operation}: {what}"))
        }
        SdkError::ResponseError(_) => StoreError::Unavailable(format!("{operation}: unreadable response")),
        SdkError::ServiceError(service) => {
            let status = service.raw().status();
            let code = service.err().code().unwrap_or("unknown");
            let message = format!("{operation}: {code} (HTTP {})", status.as_u16());
            if is_transient_code(code) || status.is_server_error() { StoreError::Unavailable(message) } else { StoreError::Failed(message) }
        }
        _ => StoreError::Failed(format!("{operation}: the request could not be built")),
    }
}

pub fn build_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(format!("cannot build a DynamoDB request: {error}"))
}
