//! The rules of SPEC.md as types. Nothing here performs I/O or knows about HTTP.

pub mod account;
pub mod batch;
pub mod decision;
pub mod events;
pub mod ids;
pub mod lease;
pub mod lifecycle;
pub mod limits;
pub mod locks;
pub mod outbox;
pub mod record;
pub mod retention;
pub mod role;
pub mod rules;
pub mod service;
pub mod state;
pub mod token;

pub use account::{Account, AwaitedCodes, CodeBack, ContactRef, DisplayName, EmailAddress, EmailStatus, Language, PaymentStatus, PendingEmail, Zone};
pub use batch::{Batch, BatchStep, Part};
pub use decision::{Decision, HistoryEntry, HistoryEvent, LifecycleError, Party, PartyStatus};
pub use events::{Event, EventId, EventOrder, EventStatus, Fact, Occurrence};
pub use ids::{AccountId, BatchId, RequestId, ServiceName};
pub use lease::OutboxId;
pub use lifecycle::{ContactChange, Step};
pub use outbox::{Letter, LetterKind, MailId, MailOrder, MailStatus, Subject};
pub use record::Record;
pub use retention::Retention;
pub use role::{Role, Roles};
pub use service::{Contacts, Service, ServiceType};
pub use state::{BatchState, FailReason, State};
pub use token::{Token, TokenHash};

/// Why an input value was refused; the message is safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
