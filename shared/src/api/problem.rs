//! Errors as `application/problem+json` (RFC 9457): the one place where an error becomes
//! an HTTP status.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;

use crate::app::Error;

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    code: &'a str,
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::TokenMismatch => StatusCode::FORBIDDEN,
            Error::EmailTokenMismatch => StatusCode::FORBIDDEN,
            Error::NotFound(_) | Error::NoRoute => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::PendingExists(_) | Error::NotPending(_) | Error::Expired => StatusCode::CONFLICT,
            Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnknownAccount(_) | Error::NoChange { .. } | Error::PaymentOverdue(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooSoon { .. } | Error::TooManyAttempts { .. } | Error::ResendLimit { .. } | Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::TooManyEmailChanges { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A stable, machine-readable code (SPEC §5).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_input",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::Unauthenticated => "unauthenticated",
            Error::Forbidden(_) => "forbidden",
            Error::TokenMismatch => "token_mismatch",
            Error::EmailTokenMismatch => "token_mismatch",
            Error::NotFound(_) | Error::NoRoute => "not_found",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::PendingExists(_) => "pending_exists",
            Error::NotPending(_) => "not_pending",
            Error::Expired => "expired",
            Error::UnknownAccount(_) => "unknown_account",
            Error::NoChange { .. } => "no_change",
            Error::PaymentOverdue(_) => "payment_overdue",
            Error::TooSoon { .. } => "too_soon",
            Error::TooManyAttempts { .. } => "too_many_attempts",
            Error::ResendLimit { .. } => "resend_limit",
            Error::TooManyRequests { .. } => "too_many_requests",
            Error::TooManyEmailChanges { .. } => "too_many_requests",
            Error::Unavailable { .. } => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// Seconds to wait before trying again, where that is the remedy.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::TooSoon { retry_after }
            | Error::TooManyAttempts { retry_after }
            | Error::ResendLimit { retry_after }
            | Error::TooManyRequests { retry_after }
            | Error::Unavailable { retry_after, .. } => Some((*retry_after).max(1)),
            Error::TooManyEmailChanges { retry_after } => Some((*retry_after).max(1)),
            _ => None,
        }
    }
}

pub fn response(error: &Error) -> Response<Bytes> {
    let status = error.status();
    let body = Problem {
        kind: format!("https://contacts.example/problems/{}", error.code()),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        // `Display` of every variant is written for the client; Internal's cause is not in it.
        detail: error.to_string(),
        code: error.code(),
    };
    let mut response = Response::new(Bytes::from(serde_json::to_vec(&body).unwrap_or_default()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(seconds) = error.retry_after() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
