//! Every way a use case can end other than as asked, as one enum; the HTTP layer's own
//! failures (no route, no identity, a malformed body) are `api::ApiError`'s. `api::problem`
//! maps both to HTTP, once. A failure with a cause keeps it as its `source`, for the log.

use crate::ports::{AccountUse, MailError, StoreError};
use contacts_domain::LifecycleError;
use contacts_domain::rules::RuleViolation;
use contacts_domain::{AccountId, BatchState, Role, State};
use contacts_telemetry::Refusal;

/// Seconds a client is told to wait (`Retry-After`) when the store was unavailable: a
/// throttled or briefly unreachable DynamoDB recovers within seconds.
pub const RETRY_AFTER_STORE: u64 = 2;
/// ... when the mail service was: SES throttling lasts longer.
pub const RETRY_AFTER_MAIL: u64 = 5;
/// ... when concurrent writes kept overtaking this one: a moment is enough.
pub const RETRY_AFTER_CONTENDED: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    #[error("a request to change the {0} contact of this service is already pending")]
    PendingExists(Role),
    #[error("the request is {}, no longer pending", .0.as_str())]
    NotPending(State),
    #[error("the batch is {}, no longer pending", .0.as_str())]
    BatchNotPending(BatchState),
    /// Every party of the batch accepted: nothing can stop its parts now.
    #[error("every party accepted this batch: its services are being changed")]
    TakingEffect,
    /// A part of a batch is answered, resent or cancelled with its batch.
    #[error("this request is part of a batch: answer, resend or cancel the batch")]
    PartOfBatch,
    #[error("the request has expired")]
    Expired,
    #[error("{0} is not a known account")]
    UnknownAccount(AccountId),
    /// An erasure refused (SPEC §8): the account still holds a role or is involved in a pending
    /// request or a batch in progress.
    #[error("{account} is still in use, so it is not erased: {}", in_use(.because))]
    AccountInUse { account: AccountId, because: AccountUse },
    /// A new contact named by an address that is not exactly one account's (none, or several:
    /// told apart to nobody).
    #[error("no single account can be named by this email address: name the new contact by its customer id")]
    NoAccountByEmail,
    #[error("{account} already holds the {role} role of this service")]
    NoChange { role: Role, account: AccountId },
    #[error("{0} is not in good standing with its payments, which a billing change requires")]
    PaymentOverdue(AccountId),
    #[error("{0} is in another geographic zone: contact roles move only between accounts of the same zone")]
    DifferentZone(AccountId),
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
    /// Too many of this caller's creates were refused for their new contact's sake in the window
    /// ([`Error::probes_the_new_contact`]): each such answer tells something about another
    /// account, so past the budget every create of the caller is held off, a valid one too (a
    /// 201 beside the refusals would still tell who exists).
    #[error(
        "too many of your requests were refused lately because of the new contact they named (no such account, payments overdue, another zone); try again in {retry_after} seconds"
    )]
    TooManyProbes { retry_after: u64 },
    /// Too many changes of the profile's email address asked within the hour.
    #[error("too many changes of the email address were asked within an hour; try again in {retry_after} seconds")]
    TooManyEmailChanges { retry_after: u64 },
    /// The store failed transiently; nothing was half-written and the same call may work later.
    #[error("a service this one depends on is unavailable; try again shortly")]
    StoreUnavailable(#[source] StoreError),
    /// The mail service failed where a mail is the call's whole point (nothing was kept).
    #[error("the mail service is unavailable; try again shortly")]
    MailUnavailable(#[source] MailError),
    /// Concurrent writes kept overtaking this one (the use cases' `retry_on_stale`).
    #[error("the request kept changing under concurrent updates; try again shortly")]
    Contended,
    /// Everything held about the account is more than one answer of `GET /v1/me/data` can
    /// carry (SPEC §8): the provider's support gives it another way.
    #[error(
        "everything held about this account is more than one download can carry; ask the provider's support for a copy of your data, which they can send another way"
    )]
    ExportTooLarge,
    /// Our fault. The cause goes to the log, never to the client.
    #[error("an unexpected error occurred")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Whether the mail service refused for its sending rate: what comes next should wait.
    pub fn is_throttling(&self) -> bool {
        matches!(self, Error::MailUnavailable(MailError::Throttled(_)))
    }

    /// Seconds to wait before trying again, where waiting is the remedy.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::TooSoon { retry_after }
            | Error::TooManyAttempts { retry_after }
            | Error::ResendLimit { retry_after }
            | Error::TooManyRequests { retry_after }
            | Error::TooManyProbes { retry_after }
            | Error::TooManyEmailChanges { retry_after } => Some((*retry_after).max(1)),
            Error::StoreUnavailable(_) => Some(RETRY_AFTER_STORE),
            Error::MailUnavailable(_) => Some(RETRY_AFTER_MAIL),
            Error::Contended => Some(RETRY_AFTER_CONTENDED),
            _ => None,
        }
    }

    /// The refusal it counts as in the metrics, if it is one: the wrong codes and the limits'
    /// refusals (telemetry knows no error of ours; we name ours in its words).
    pub fn refusal(&self) -> Option<Refusal> {
        let reason = match self {
            Error::TokenMismatch | Error::EmailTokenMismatch => return Some(Refusal::WrongCode),
            Error::TooSoon { .. } => "too_soon",
            Error::TooManyAttempts { .. } => "too_many_attempts",
            Error::ResendLimit { .. } => "resend_limit",
            Error::TooManyRequests { .. } => "too_many_requests",
            Error::TooManyProbes { .. } => "too_many_probes",
            Error::TooManyEmailChanges { .. } => "too_many_email_changes",
            _ => return None,
        };
        Some(Refusal::RateLimited(reason))
    }
}

impl Error {
    /// Whether this refuses a create for its new contact's sake (SPEC §2): an address that names
    /// no single account, no such account, one behind on its payments, one in another zone. Each
    /// tells the caller something about an account, so each counts against its budget of probes.
    pub fn probes_the_new_contact(&self) -> bool {
        matches!(self, Error::NoAccountByEmail | Error::UnknownAccount(_) | Error::PaymentOverdue(_) | Error::DifferentZone(_))
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::PendingExists(role) => Error::PendingExists(role),
            StoreError::NotInGoodStanding(account) => Error::PaymentOverdue(account),
            StoreError::DifferentZone(account) => Error::DifferentZone(account),
            StoreError::UnknownAccount(account) => Error::UnknownAccount(account),
            StoreError::Expired => Error::Expired,
            unavailable @ StoreError::Unavailable(_) => Error::StoreUnavailable(unavailable),
            // A use case handles these itself; one reaching the caller is a bug.
            other @ (StoreError::Stale | StoreError::HoldersChanged | StoreError::RequesterLostRole | StoreError::Failed(_)) => {
                Error::Internal(Box::new(other))
            }
        }
    }
}

/// What keeps an account from being erased, in words for the provider's systems.
fn in_use(because: &AccountUse) -> String {
    match because {
        AccountUse::HoldsRole(service) => format!("it holds a role of the service {service}; give the role to another account first"),
        AccountUse::PendingRequest(request) => format!("the pending request {request} involves it; wait for it to end, or cancel it"),
        AccountUse::BatchInProgress(batch) => format!("the batch {batch}, still in progress, involves it; wait for it to end, or cancel it"),
    }
}

impl From<MailError> for Error {
    fn from(e: MailError) -> Self {
        Error::MailUnavailable(e)
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
            LifecycleError::BatchNotPending(state) => Error::BatchNotPending(state),
            LifecycleError::TakingEffect => Error::TakingEffect,
            LifecycleError::PartOfBatch => Error::PartOfBatch,
            LifecycleError::StillAwaited | LifecycleError::AlreadyReminded | LifecycleError::Superseded | LifecycleError::NotAPart => {
                Error::Internal(Box::new(e))
            }
        }
    }
}
