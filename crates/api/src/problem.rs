//! Errors as `application/problem+json` (RFC 9457): the one place where an error becomes
//! an HTTP status.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;

use super::ApiError;
use contacts_app::Error;

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    code: &'a str,
}

/// The use cases' errors as HTTP statuses (free functions: the errors are `contacts-app`'s,
/// which knows no HTTP).
pub fn app_status(error: &Error) -> StatusCode {
    match error {
        Error::Forbidden(_) | Error::TokenMismatch | Error::EmailTokenMismatch => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::PendingExists(_)
        | Error::NotPending(_)
        | Error::BatchNotPending(_)
        | Error::TakingEffect
        | Error::PartOfBatch
        | Error::Expired
        | Error::AccountInUse { .. } => StatusCode::CONFLICT,
        Error::UnknownAccount(_)
        | Error::NoAccountByEmail
        | Error::NoChange { .. }
        | Error::PaymentOverdue(_)
        | Error::DifferentZone(_)
        | Error::ExportTooLarge => StatusCode::UNPROCESSABLE_ENTITY,
        Error::TooSoon { .. }
        | Error::TooManyAttempts { .. }
        | Error::ResendLimit { .. }
        | Error::TooManyRequests { .. }
        | Error::TooManyProbes { .. }
        | Error::TooManyEmailChanges { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::StoreUnavailable(_) | Error::MailUnavailable(_) | Error::Contended => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A stable, machine-readable code of a use case's error (SPEC §5).
pub fn app_code(error: &Error) -> &'static str {
    match error {
        Error::Forbidden(_) => "forbidden",
        Error::TokenMismatch | Error::EmailTokenMismatch => "token_mismatch",
        Error::NotFound(_) => "not_found",
        Error::PendingExists(_) => "pending_exists",
        Error::NotPending(_) | Error::BatchNotPending(_) => "not_pending",
        Error::TakingEffect => "taking_effect",
        Error::PartOfBatch => "part_of_batch",
        Error::Expired => "expired",
        Error::AccountInUse { .. } => "account_in_use",
        Error::UnknownAccount(_) | Error::NoAccountByEmail => "unknown_account",
        Error::NoChange { .. } => "no_change",
        Error::PaymentOverdue(_) => "payment_overdue",
        Error::DifferentZone(_) => "different_zone",
        Error::ExportTooLarge => "export_too_large",
        Error::TooSoon { .. } => "too_soon",
        Error::TooManyAttempts { .. } => "too_many_attempts",
        Error::ResendLimit { .. } => "resend_limit",
        Error::TooManyRequests { .. } | Error::TooManyProbes { .. } | Error::TooManyEmailChanges { .. } => "too_many_requests",
        Error::StoreUnavailable(_) | Error::MailUnavailable(_) | Error::Contended => "unavailable",
        Error::Internal(_) => "internal",
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthenticated | ApiError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotForThisCaller(_) => StatusCode::FORBIDDEN,
            ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::Misdirected(_) => StatusCode::MISDIRECTED_REQUEST,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::IdentityProvider(_) => StatusCode::BAD_GATEWAY,
            ApiError::App(error) => app_status(error),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "invalid_input",
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidToken(_) => "invalid_token",
            ApiError::NotForThisCaller(_) => "forbidden",
            ApiError::NoRoute => "not_found",
            ApiError::Misdirected(_) => "misdirected_request",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::IdentityProvider(_) => "identity_provider_unavailable",
            ApiError::App(error) => app_code(error),
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::App(error) => error.retry_after(),
            ApiError::IdentityProvider(_) => Some(super::discovery::RETRY_AFTER.as_secs()),
            _ => None,
        }
    }
}

/// The problem document of `error`: a response's body.
pub fn document(error: &ApiError) -> serde_json::Value {
    // `Display` of every variant is written for the client; Internal's cause is not in it.
    document_of(error.status(), error.code(), error.to_string())
}

/// The problem document of a use case's `error` that is not the whole answer: one service's
/// problem in a batch's answer.
pub fn app_document(error: &Error) -> serde_json::Value {
    document_of(app_status(error), app_code(error), error.to_string())
}

fn document_of(status: StatusCode, code: &str, detail: String) -> serde_json::Value {
    let body = Problem {
        kind: format!("https://contacts.example/problems/{code}"),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        code,
    };
    serde_json::to_value(&body).unwrap_or_default()
}

pub fn response(error: &ApiError) -> Response<Bytes> {
    let status = error.status();
    let mut response = Response::new(Bytes::from(serde_json::to_vec(&document(error)).unwrap_or_default()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(seconds) = error.retry_after() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
