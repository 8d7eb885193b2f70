//! SPEC §4's mails as the outbox keeps them: every mail a step of a request implies is a
//! [`Letter`] the step leaves on the request ([`ContactChange::outbox`]), which the store
//! writes in the same atomic write as the request, as a [`MailOrder`]; the mailer renders and
//! sends it later. A letter never holds a token: a confirmation or a reminder names only the
//! *round* of codes it carries, and its code is minted when it is sent (`Step::Issue`).
//!
//! [`ContactChange::outbox`]: super::ContactChange::outbox

use std::fmt;

use time::OffsetDateTime;

use super::{AccountId, BatchId, RequestId, State};

/// Which mail a letter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LetterKind {
    /// To a party: the link and a code of round `round` (the party's `round_of` when
    /// the letter was posted); a letter of an older round is superseded, never sent.
    Confirm { round: u32 },
    /// The sweeper's one reminder before expiry, with a fresh code of round `round`.
    Reminder { round: u32 },
    /// To a previous holder who is only told.
    Informed,
    /// The outcome of a closed request: `done`, `refused`, `cancelled`, `failed`, `expired`.
    Outcome(State),
    /// The outcome of a closed batch, per service, as the batch says when it is sent.
    Closed,
}

impl LetterKind {
    /// The round of codes this letter carries one of; `None`: it carries no code.
    pub fn round(self) -> Option<u32> {
        match self {
            LetterKind::Confirm { round } | LetterKind::Reminder { round } => Some(round),
            LetterKind::Informed | LetterKind::Outcome(_) | LetterKind::Closed => None,
        }
    }

    /// The name the stores keep it under (`round` apart).
    pub fn as_str(self) -> &'static str {
        match self {
            LetterKind::Confirm { .. } => "confirm",
            LetterKind::Reminder { .. } => "reminder",
            LetterKind::Informed => "informed",
            LetterKind::Outcome(state) => state.as_str(),
            LetterKind::Closed => "closed",
        }
    }

    /// The kind named `name`, with `round` for the kinds that carry a code.
    pub fn parse(name: &str, round: Option<u32>) -> Option<Self> {
        match (name, round) {
            ("confirm", Some(round)) => Some(LetterKind::Confirm { round }),
            ("reminder", Some(round)) => Some(LetterKind::Reminder { round }),
            ("informed", None) => Some(LetterKind::Informed),
            ("closed", None) => Some(LetterKind::Closed),
            (_, None) => State::parse(name).filter(|state| *state != State::Pending).map(LetterKind::Outcome),
            _ => None,
        }
    }
}

/// One mail a step of a request owes one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Letter {
    pub to: AccountId,
    pub kind: LetterKind,
}

/// What a letter is about: a request, or a batch (whose letters speak for all its parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Request(RequestId),
    Batch(BatchId),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Request(id) => write!(f, "{id}"),
            Subject::Batch(id) => write!(f, "batch/{id}"),
        }
    }
}

/// A posted letter's identity: its request or batch, the version of the save that posted
/// it, and its place among that save's letters. Unique, since a version is saved once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailId {
    pub of: Subject,
    pub version: u64,
    pub index: u16,
}

impl MailId {
    pub fn of_request(request: RequestId, version: u64, index: u16) -> Self {
        Self { of: Subject::Request(request), version, index }
    }

    pub fn of_batch(batch: BatchId, version: u64, index: u16) -> Self {
        Self { of: Subject::Batch(batch), version, index }
    }
}

impl fmt::Display for MailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}.{}", self.of, self.version, self.index)
    }
}

/// A letter in the outbox, as the mailer claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailOrder {
    pub id: MailId,
    pub letter: Letter,
    pub posted_at: OffsetDateTime,
    /// How many times a mailer claimed it, this claim included.
    pub attempts: u32,
}

/// Where a posted letter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailStatus {
    /// Posted and not yet sent, or handed back after a failure that may pass.
    Pending,
    /// Claimed by a mailer until `until`; after that another may claim it.
    Sending { until: OffsetDateTime },
    /// The mail service took it.
    Sent,
    /// The mail service refused it for good, or the mailer gave up on it.
    Rejected,
    /// Not sent, and never to be: its request closed, or a later round of codes replaced the
    /// one it was to carry.
    Superseded,
}

impl MailStatus {
    /// Whether nothing more will be done with it.
    pub fn is_settled(self) -> bool {
        matches!(self, MailStatus::Sent | MailStatus::Rejected | MailStatus::Superseded)
    }

    /// Whether a mailer may claim it at `now`.
    pub fn claimable(self, now: OffsetDateTime) -> bool {
        match self {
            MailStatus::Pending => true,
            MailStatus::Sending { until } => until <= now,
            _ => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sending { .. } => "sending",
            MailStatus::Sent => "sent",
            MailStatus::Rejected => "rejected",
            MailStatus::Superseded => "superseded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name_and_round() {
        let mut kinds = vec![LetterKind::Confirm { round: 0 }, LetterKind::Reminder { round: 3 }, LetterKind::Informed, LetterKind::Closed];
        kinds.extend(State::ALL.into_iter().filter(|s| *s != State::Pending).map(LetterKind::Outcome));
        for kind in kinds {
            assert_eq!(LetterKind::parse(kind.as_str(), kind.round()), Some(kind));
        }
        assert_eq!(LetterKind::parse("pending", None), None, "pending is no outcome");
        assert_eq!(LetterKind::parse("confirm", None), None, "a confirmation carries a round");
        assert_eq!(LetterKind::parse("done", Some(1)), None);
    }

    #[test]
    fn a_claim_lapses_with_its_lease_and_a_settled_mail_is_never_claimed() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        assert!(MailStatus::Pending.claimable(now));
        assert!(!MailStatus::Sending { until: now + time::Duration::seconds(1) }.claimable(now));
        assert!(MailStatus::Sending { until: now }.claimable(now));
        for settled in [MailStatus::Sent, MailStatus::Rejected, MailStatus::Superseded] {
            assert!(settled.is_settled() && !settled.claimable(now));
        }
    }
}
