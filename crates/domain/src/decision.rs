//! What a contact-change request and a batch share (SPEC §3, §7): parties who each answer
//! with a code of their own, rounds of codes (a resend and the reminder start one for every
//! party still awaited; a change of address one for that party alone), a history that never
//! holds a token, and the errors of a step that does not fit. A request ([`crate::lifecycle`])
//! and a batch ([`crate::batch`]) are each their own state machine over these.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::outbox::{Letter, LetterKind};
use super::state::{BatchState, State};
use super::{AccountId, Token, TokenHash};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartyStatus {
    Pending,
    Accepted,
    Refused,
}

/// One account whose confirmation the request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub account: AccountId,
    pub status: PartyStatus,
    /// The hash of this party's live token; `None` until its mail is sent (`Step::Issue`),
    /// once used, after a resend until the new mail is sent, or when the request closed.
    pub token: Option<TokenHash>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryEvent {
    Created,
    Mailed,
    MailFailed,
    Accepted,
    Refused,
    Resent,
    /// The sweeper mailed fresh codes to every party still awaited, once, shortly before expiry.
    Reminded,
    /// The address of the party it names (`to`) changed while it was awaited: its codes died,
    /// and fresh ones go to the new address (SPEC §3: a code belongs to an address).
    Readdressed,
    Cancelled,
    Expired,
    Done,
    Failed,
}

impl HistoryEvent {
    /// What became of one of its mails (rather than of the request itself).
    pub fn is_mail(self) -> bool {
        matches!(self, HistoryEvent::Mailed | HistoryEvent::MailFailed)
    }
}

/// One step of the audit trail. It never holds a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub event: HistoryEvent,
    /// Who did it; `None` for the system (mails, expiry, the outcome of the last acceptance).
    pub by: Option<AccountId>,
    /// For mail events: whom the mail was for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<AccountId>,
}

/// How often a request's emails may be sent again (SPEC §3): the first resend at once, then
/// one per `cooldown`, `limit` in all. The limit also bounds the request's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendPolicy {
    pub cooldown: time::Duration,
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("the request is {}, no longer pending", .0.as_str())]
    NotPending(State),
    #[error("the batch is {}, no longer pending", .0.as_str())]
    BatchNotPending(BatchState),
    /// Every party of the batch accepted: its parts are taking effect.
    #[error("every party accepted this batch: its services are being changed")]
    TakingEffect,
    /// A request that is a part of a batch is decided with its batch, not alone.
    #[error("this request is part of a batch: answer, resend or cancel the batch")]
    PartOfBatch,
    #[error("this request is not a part of the batch")]
    NotAPart,
    #[error("the request has expired")]
    Expired,
    #[error("you are not a party to this request")]
    NotAParty,
    #[error("you have already answered this request")]
    AlreadyAnswered,
    #[error("only the requester or the service's admin may cancel this request")]
    NotTheRequester,
    #[error("some parties have not accepted yet")]
    StillAwaited,
    /// The one reminder of this request was sent already.
    #[error("this request was reminded already")]
    AlreadyReminded,
    /// A mail's code is of a round of codes a resend or the reminder replaced.
    #[error("a later round of codes replaced this one")]
    Superseded,
    /// Within the cooldown after the last resend: `retry_after` seconds to wait.
    #[error("the emails of this request were sent again moments ago")]
    TooSoon { retry_after: u64 },
    /// As many resends as allowed: nothing more until the request ends, in `retry_after` seconds at most.
    #[error("the emails of this request were sent again as many times as allowed")]
    ResendLimit { retry_after: u64 },
}

/// Read from a request or a batch alike: its parties and its history.
pub trait Decision {
    fn parties(&self) -> &[Party];
    fn history(&self) -> &[HistoryEntry];

    /// The party whose live token this is, comparing with every live token in constant time.
    fn party_holding(&self, token: &Token) -> Option<&AccountId> {
        let mut holder = None;
        for party in self.parties() {
            // No early exit: the time taken does not depend on which party matched.
            if party.token.is_some_and(|hash| hash.matches(token)) {
                holder = Some(&party.account);
            }
        }
        holder
    }

    /// Whether the sweeper sent its one reminder.
    fn reminded(&self) -> bool {
        reminded(self.history())
    }

    /// How many times the emails were sent again.
    fn resends(&self) -> u32 {
        self.history().iter().filter(|entry| entry.event == HistoryEvent::Resent).count() as u32
    }

    /// How many times `asker` had the emails sent again: each party has its own
    /// `RESEND_LIMIT` (SPEC §3), so one that uses up its resends leaves the others theirs.
    fn resends_by(&self, asker: &AccountId) -> u32 {
        resends_by(self.history(), asker)
    }

    /// The round of codes: 0 from the start, one more with each resend and the reminder,
    /// which start a new round for every party still awaited.
    fn token_round(&self) -> u32 {
        token_round(self.history())
    }

    /// `party`'s round of codes now live: the common one, plus one for each change of its
    /// address while it was awaited (`Step::Withhold`), which starts a new round for it alone.
    /// Only a mail of this round may give it its code, and only a code of this round is its.
    fn round_of(&self, party: &AccountId) -> u32 {
        round_of(self.history(), party)
    }

    /// The parties whose answer is still awaited.
    fn awaiting(&self) -> impl Iterator<Item = &AccountId> {
        self.parties().iter().filter(|p| p.status == PartyStatus::Pending).map(|p| &p.account)
    }

    fn all_accepted(&self) -> bool {
        self.parties().iter().all(|p| p.status == PartyStatus::Accepted)
    }

    fn is_party(&self, account: &AccountId) -> bool {
        self.parties().iter().any(|p| &p.account == account)
    }
}

fn reminded(history: &[HistoryEntry]) -> bool {
    history.iter().any(|entry| entry.event == HistoryEvent::Reminded)
}

fn resends_by(history: &[HistoryEntry], asker: &AccountId) -> u32 {
    history.iter().filter(|entry| entry.event == HistoryEvent::Resent && entry.by.as_ref() == Some(asker)).count() as u32
}

fn token_round(history: &[HistoryEntry]) -> u32 {
    history.iter().filter(|entry| matches!(entry.event, HistoryEvent::Resent | HistoryEvent::Reminded)).count() as u32
}

fn round_of(history: &[HistoryEntry], party: &AccountId) -> u32 {
    let readdressed = history.iter().filter(|entry| entry.event == HistoryEvent::Readdressed && entry.to.as_ref() == Some(party)).count();
    token_round(history) + readdressed as u32
}

/// The steps a request and a batch share, on either: its parties, history, outbox and resend
/// clock borrowed for one step. Each step checks what it needs (an awaited party, the round,
/// the resend policy) and changes nothing when it refuses; closing is the caller's.
pub(crate) struct Deciding<'a> {
    pub parties: &'a mut [Party],
    pub history: &'a mut Vec<HistoryEntry>,
    pub outbox: &'a mut Vec<Letter>,
    pub last_resent_at: &'a mut Option<OffsetDateTime>,
    pub expires_at: OffsetDateTime,
}

impl Deciding<'_> {
    pub fn accept(&mut self, party: AccountId, at: OffsetDateTime) -> Result<(), LifecycleError> {
        let accepting = self.awaited(&party)?;
        accepting.status = PartyStatus::Accepted;
        accepting.token = None;
        self.record(at, HistoryEvent::Accepted, Some(party), None);
        Ok(())
    }

    /// The party refuses; the caller closes what it refused.
    pub fn refuse(&mut self, party: AccountId, at: OffsetDateTime) -> Result<(), LifecycleError> {
        self.awaited(&party)?.status = PartyStatus::Refused;
        self.record(at, HistoryEvent::Refused, Some(party), None);
        Ok(())
    }

    /// A new round of codes for every party still awaited, asked by a party within `policy`:
    /// at once, then once per cooldown (from the last resend), up to the limit per asker.
    pub fn resend(&mut self, by: AccountId, policy: ResendPolicy, at: OffsetDateTime) -> Result<(), LifecycleError> {
        if !self.parties.iter().any(|p| p.account == by) {
            return Err(LifecycleError::NotAParty);
        }
        if resends_by(self.history, &by) >= policy.limit {
            return Err(LifecycleError::ResendLimit { retry_after: seconds_until(self.expires_at, at) });
        }
        if let Some(last) = *self.last_resent_at
            && (last + policy.cooldown - at).is_positive()
        {
            return Err(LifecycleError::TooSoon { retry_after: seconds_until(last + policy.cooldown, at) });
        }
        *self.last_resent_at = Some(at);
        self.record(at, HistoryEvent::Resent, Some(by), None);
        self.new_round(|round| LetterKind::Confirm { round });
        Ok(())
    }

    /// The sweeper's one reminder: a new round of codes, mailed as reminders.
    pub fn remind(&mut self, at: OffsetDateTime) -> Result<(), LifecycleError> {
        if reminded(self.history) {
            return Err(LifecycleError::AlreadyReminded);
        }
        self.record(at, HistoryEvent::Reminded, None, None);
        self.new_round(|round| LetterKind::Reminder { round });
        Ok(())
    }

    /// `party`'s address is about to change: its live code stops working, and a round of its own begins.
    pub fn withhold(&mut self, party: AccountId, at: OffsetDateTime) -> Result<(), LifecycleError> {
        self.awaited(&party)?.token = None;
        self.record(at, HistoryEvent::Readdressed, None, Some(party));
        Ok(())
    }

    /// `party`'s address changed: it is owed a confirmation of its round.
    pub fn readdress(&mut self, party: AccountId) -> Result<(), LifecycleError> {
        self.awaited(&party)?;
        let round = round_of(self.history, &party);
        self.outbox.push(Letter { to: party, kind: LetterKind::Confirm { round } });
        Ok(())
    }

    /// The mailer gives `party` the code its letter of `round` carries, if `round` is still its.
    pub fn issue(&mut self, party: AccountId, round: u32, hash: TokenHash) -> Result<(), LifecycleError> {
        if round != round_of(self.history, &party) {
            return Err(LifecycleError::Superseded);
        }
        self.awaited(&party)?.token = Some(hash);
        Ok(())
    }

    /// After a resend or the reminder (recorded, so the round has moved on): every awaited
    /// party's code stops working, and each is owed a letter `kind` of its new round.
    fn new_round(&mut self, kind: impl Fn(u32) -> LetterKind) {
        for party in self.parties.iter_mut().filter(|p| p.status == PartyStatus::Pending) {
            party.token = None;
            self.outbox.push(Letter { to: party.account.clone(), kind: kind(round_of(self.history, &party.account)) });
        }
    }

    /// The party `account`, still awaited.
    fn awaited(&mut self, account: &AccountId) -> Result<&mut Party, LifecycleError> {
        let party = self.parties.iter_mut().find(|p| &p.account == account).ok_or(LifecycleError::NotAParty)?;
        if party.status != PartyStatus::Pending {
            return Err(LifecycleError::AlreadyAnswered);
        }
        Ok(party)
    }

    fn record(&mut self, at: OffsetDateTime, event: HistoryEvent, by: Option<AccountId>, to: Option<AccountId>) {
        self.history.push(HistoryEntry { at, event, by, to });
    }
}

/// Whole seconds from `now` until `at`, at least one (a `Retry-After`).
pub(crate) fn seconds_until(at: OffsetDateTime, now: OffsetDateTime) -> u64 {
    ((at - now).as_seconds_f64().ceil() as u64).max(1)
}
