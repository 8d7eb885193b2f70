//! Every way a call can fail, as one enum. `api::problem` maps it to HTTP, once.

use crate::domain::lifecycle::LifecycleError;
use crate::domain::rules::RuleViolation;
use crate::domain::{AccountId, InvalidValue, Role, State};
use crate::ports::{MailError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed input: a bad id, body, cursor or parameter.
    #[error("{0}")]
    Invalid(String),
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("no identity: sign in first")]
    Unauthenticated,
    /// Known, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("the code from the confirmation email did not match: check that you pasted the whole code from the latest email you received for this request")]
    TokenMismatch,
    /// A profile address verification whose code is not the live code of a pending change (of
    /// the caller's own account, when signed in): mistyped, spent, replaced, expired, another's.
    #[error(
        "the code from the verification email did not match a pending change of email address: check that you pasted the whole code from the latest verification email; a code works once, for 24 hours, and a newer change replaces it, so if it is older, ask for the change again"
    )]
    EmailTokenMismatch,
    /// Unknown, or the caller is not involved (the two are not told apart).
    #[error("{0}")]
    NotFound(String),
    #[error("there is no such route")]
    NoRoute,
    #[error("this route does not take the method {0}")]
    MethodNotAllowed(String),
    #[error("a request to change the {0} contact of this service is already pending")]
    PendingExists(Role),
    #[error("the request is {}, no longer pending", .0.as_str())]
    NotPending(State),
    #[error("the request has expired")]
    Expired,
    #[error("{0} is not a known account")]
    UnknownAccount(AccountId),
    #[error("{account} already holds the {role} role of this service")]
    NoChange { role: Role, account: AccountId },
    #[error("{0} is not in good standing with its payments, which a billing change requires")]
    PaymentOverdue(AccountId),
    #[error("too many codes that did not match were tried from here; try again in {retry_after} seconds, with the code from the latest email")]
    TooManyAttempts { retry_after: u64 },
    #[error("the emails of this request were sent again moments ago; try again in {retry_after} seconds")]
    TooSoon { retry_after: u64 },
    #[error(
        "the emails of this request were sent again as many times as allowed; if they still do not arrive, check the addresses in the profiles, cancel and ask again"
    )]
    ResendLimit { retry_after: u64 },
    #[error("too many of your requests to this contact ended without being accepted lately; try again in {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    /// Too many changes of the profile's email address asked within the hour.
    #[error("too many changes of the email address were asked within an hour; try again in {retry_after} seconds")]
    TooManyEmailChanges { retry_after: u64 },
    /// A dependency failed; nothing was half-written and the same call may work later.
    #[error("a service this one depends on is unavailable; try again shortly")]
    Unavailable { retry_after: u64, cause: String },
    /// Our fault. The cause goes to the log, never to the client.
    #[error("an unexpected error occurred")]
    Internal(String),
}

impl From<InvalidValue> for Error {
    fn from(e: InvalidValue) -> Self {
        Error::Invalid(e.0)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::PendingExists(role) => Error::PendingExists(role),
            StoreError::NotInGoodStanding(account) => Error::PaymentOverdue(account),
            StoreError::Unavailable(cause) => Error::Unavailable { retry_after: 2, cause },
            StoreError::Expired => Error::Expired,
            other @ (StoreError::Stale | StoreError::HoldersChanged | StoreError::RequesterLostRole | StoreError::Failed(_)) => {
                Error::Internal(other.to_string())
            }
        }
    }
}

impl From<MailError> for Error {
    fn from(e: MailError) -> Self {
        Error::Unavailable { retry_after: 5, cause: e.to_string() }
    }
}

impl From<RuleViolation> for Error {
    fn from(e: RuleViolation) -> Self {
        match e {
            RuleViolation::NotAContact => Error::NotFound("no such service among yours".to_owned()),
            RuleViolation::UnknownAccount(account) => Error::UnknownAccount(account),
            RuleViolation::PaymentOverdue(account) => Error::PaymentOverdue(account),
            RuleViolation::NotAllowed(_) => Error::Forbidden(e.to_string()),
            RuleViolation::NoChange { role, account } => Error::NoChange { role, account },
        }
    }
}

impl From<LifecycleError> for Error {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::NotPending(state) => Error::NotPending(state),
            LifecycleError::Expired => Error::Expired,
            LifecycleError::NotAParty | LifecycleError::NotTheRequester => Error::Forbidden(e.to_string()),
            // The token matched a party who already answered: its token is spent.
            LifecycleError::AlreadyAnswered => Error::TokenMismatch,
            LifecycleError::TooSoon { retry_after } => Error::TooSoon { retry_after },
            LifecycleError::ResendLimit { retry_after } => Error::ResendLimit { retry_after },
            LifecycleError::StillAwaited => Error::Internal(e.to_string()),
        }
    }
}
