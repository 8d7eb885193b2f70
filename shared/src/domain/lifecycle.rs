//! SPEC §3: a contact-change request and its one state machine.
//!
//! `pending -> done | refused | expired | cancelled | failed`; every transition is in
//! [`ContactChange::step`], and every step that does not fit the state is an error.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::rules::Plan;
use super::{AccountId, RequestId, Roles, ServiceName, Token, TokenHash};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Done,
    Refused,
    Expired,
    Cancelled,
    Failed,
}

impl State {
    pub const ALL: [State; 6] = [State::Pending, State::Done, State::Refused, State::Expired, State::Cancelled, State::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Done => "done",
            State::Refused => "refused",
            State::Expired => "expired",
            State::Cancelled => "cancelled",
            State::Failed => "failed",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        State::ALL.into_iter().find(|state| state.as_str() == input)
    }
}

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
    /// The hash of this party's live token; `None` once used, or when the request closed.
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
    Cancelled,
    Expired,
    Done,
    Failed,
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

/// Why a request that every party accepted could not take effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// A role's holder is no longer the request's previous holder.
    HoldersChanged,
    /// The previous or the new billing contact is no longer in good standing.
    PaymentOverdue,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::HoldersChanged => "holders_changed",
            FailReason::PaymentOverdue => "payment_overdue",
        }
    }
}

/// A request to move `roles` of `service` from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactChange {
    pub id: RequestId,
    pub service: ServiceName,
    pub roles: Roles,
    pub from: AccountId,
    pub to: AccountId,
    pub requested_by: AccountId,
    pub state: State,
    pub parties: Vec<Party>,
    /// Told about the request, with no say in it.
    pub informed: Vec<AccountId>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub reason: Option<FailReason>,
    pub history: Vec<HistoryEntry>,
    pub last_resent_at: Option<OffsetDateTime>,
    /// Codes that did not match since the tokens were last (re)issued. At
    /// [`ContactChange::MAX_WRONG_CODES`] the tokens are locked until a resend issues new ones.
    pub wrong_codes: u32,
    /// Bumped by every save; stores write only over the version they read.
    pub version: u64,
}

/// Everything that can happen to a request.
#[derive(Debug, Clone)]
pub enum Step {
    Accept { party: AccountId },
    Refuse { party: AccountId },
    Cancel { by: AccountId },
    Expire,
    /// Fresh tokens for every party still awaited.
    Resend { by: AccountId, tokens: Vec<(AccountId, TokenHash)> },
    /// Every party accepted and the change took effect.
    Complete,
    /// Every party accepted but the change could not take effect.
    Fail { reason: FailReason },
    Mailed { to: AccountId },
    MailFailed { to: AccountId },
    /// Someone answered with a code that matched no live token.
    WrongCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("the request is {}, no longer pending", .0.as_str())]
    NotPending(State),
    #[error("the request has expired")]
    Expired,
    #[error("you are not a party to this request")]
    NotAParty,
    #[error("you have already answered this request")]
    AlreadyAnswered,
    #[error("only the requester may cancel this request")]
    NotTheRequester,
    #[error("some parties have not accepted yet")]
    StillAwaited,
    #[error("too many codes that did not match were tried on this request")]
    CodesLocked,
}

impl ContactChange {
    /// Wrong codes tolerated per issue of tokens. Tokens have 256 bits, so this is not what
    /// stops guessing; it stops a script from hammering one request, and says so to a person.
    pub const MAX_WRONG_CODES: u32 = 5;

    /// A new pending request for `plan` on `service`, with one fresh token per party.
    /// The tokens are returned to be mailed; the request keeps only their hashes.
    pub fn open(service: ServiceName, plan: Plan, requested_by: AccountId, now: OffsetDateTime, ttl: time::Duration) -> (Self, Vec<(AccountId, Token)>) {
        let tokens: Vec<(AccountId, Token)> = plan.confirm.iter().map(|account| (account.clone(), Token::generate())).collect();
        let parties = tokens
            .iter()
            .map(|(account, token)| Party { account: account.clone(), status: PartyStatus::Pending, token: Some(token.hash()) })
            .collect();
        let change = Self {
            id: RequestId::new(now),
            service,
            roles: plan.roles,
            from: plan.from,
            to: plan.to,
            requested_by: requested_by.clone(),
            state: State::Pending,
            parties,
            informed: plan.inform,
            created_at: now,
            expires_at: now + ttl,
            closed_at: None,
            reason: None,
            history: vec![HistoryEntry { at: now, event: HistoryEvent::Created, by: Some(requested_by), to: None }],
            last_resent_at: None,
            wrong_codes: 0,
            version: 0,
        };
        (change, tokens)
    }

    /// Applies one step, or says why it does not fit the request's state.
    pub fn step(&mut self, step: Step, at: OffsetDateTime) -> Result<(), LifecycleError> {
        use State::Pending;
        match (self.state, step) {
            (_, Step::Mailed { to }) => self.record(at, HistoryEvent::Mailed, None, Some(to)),
            (_, Step::MailFailed { to }) => self.record(at, HistoryEvent::MailFailed, None, Some(to)),
            (Pending, Step::Expire) => {
                // Expiry happens at `expires_at`, whenever it is noticed.
                let at = self.expires_at;
                self.close(State::Expired, at);
                self.record(at, HistoryEvent::Expired, None, None);
            }
            (Pending, _) if at >= self.expires_at => return Err(LifecycleError::Expired),
            (Pending, Step::WrongCode) => self.wrong_codes += 1,
            (Pending, Step::Accept { .. } | Step::Refuse { .. }) if self.codes_locked() => return Err(LifecycleError::CodesLocked),
            (Pending, Step::Accept { party }) => {
                let accepting = self.awaited_party(&party)?;
                accepting.status = PartyStatus::Accepted;
                accepting.token = None;
                self.record(at, HistoryEvent::Accepted, Some(party), None);
            }
            (Pending, Step::Refuse { party }) => {
                self.awaited_party(&party)?.status = PartyStatus::Refused;
                self.record(at, HistoryEvent::Refused, Some(party), None);
                self.close(State::Refused, at);
            }
            (Pending, Step::Cancel { by }) => {
                if by != self.requested_by {
                    return Err(LifecycleError::NotTheRequester);
                }
                self.record(at, HistoryEvent::Cancelled, Some(by), None);
                self.close(State::Cancelled, at);
            }
            (Pending, Step::Resend { by, tokens }) => {
                if !self.parties.iter().any(|p| p.account == by) {
                    return Err(LifecycleError::NotAParty);
                }
                for (account, hash) in tokens {
                    self.awaited_party(&account)?.token = Some(hash);
                }
                self.last_resent_at = Some(at);
                self.wrong_codes = 0;
                self.record(at, HistoryEvent::Resent, Some(by), None);
            }
            (Pending, Step::Complete) => {
                if !self.all_accepted() {
                    return Err(LifecycleError::StillAwaited);
                }
                self.record(at, HistoryEvent::Done, None, None);
                self.close(State::Done, at);
            }
            (Pending, Step::Fail { reason }) => {
                if !self.all_accepted() {
                    return Err(LifecycleError::StillAwaited);
                }
                self.reason = Some(reason);
                self.record(at, HistoryEvent::Failed, None, None);
                self.close(State::Failed, at);
            }
            (State::Expired, _) => return Err(LifecycleError::Expired),
            (closed, _) => return Err(LifecycleError::NotPending(closed)),
        }
        Ok(())
    }

    /// Notices expiry: a pending request past `expires_at` becomes `expired`. Returns whether
    /// it did. Stores delete expired items lazily, so every reader calls this.
    pub fn observe(&mut self, now: OffsetDateTime) -> bool {
        let due = self.state == State::Pending && now >= self.expires_at;
        if due {
            self.step(Step::Expire, now).expect("a pending request can always expire");
        }
        due
    }

    /// The party whose live token this is, comparing with every live token in constant time.
    pub fn party_holding(&self, token: &Token) -> Option<&AccountId> {
        let mut holder = None;
        for party in &self.parties {
            // No early exit: the time taken does not depend on which party matched.
            if party.token.is_some_and(|hash| hash.matches(token)) {
                holder = Some(&party.account);
            }
        }
        holder
    }

    /// Whether too many wrong codes were tried since the tokens were issued.
    pub fn codes_locked(&self) -> bool {
        self.wrong_codes >= Self::MAX_WRONG_CODES
    }

    /// The parties whose answer is still awaited.
    pub fn awaiting(&self) -> impl Iterator<Item = &AccountId> {
        self.parties.iter().filter(|p| p.status == PartyStatus::Pending).map(|p| &p.account)
    }

    pub fn all_accepted(&self) -> bool {
        self.parties.iter().all(|p| p.status == PartyStatus::Accepted)
    }

    pub fn is_party(&self, account: &AccountId) -> bool {
        self.parties.iter().any(|p| &p.account == account)
    }

    /// The requester, a party, or the previous holder.
    pub fn involves(&self, account: &AccountId) -> bool {
        &self.requested_by == account || self.is_party(account) || &self.from == account || self.informed.contains(account)
    }

    /// Every account the request concerns, without repeats: they all see it in their list.
    pub fn involved(&self) -> Vec<AccountId> {
        let mut all = vec![self.requested_by.clone(), self.from.clone()];
        all.extend(self.parties.iter().map(|p| p.account.clone()));
        all.extend(self.informed.iter().cloned());
        all.sort();
        all.dedup();
        all
    }

    fn awaited_party(&mut self, account: &AccountId) -> Result<&mut Party, LifecycleError> {
        let party = self.parties.iter_mut().find(|p| &p.account == account).ok_or(LifecycleError::NotAParty)?;
        if party.status != PartyStatus::Pending {
            return Err(LifecycleError::AlreadyAnswered);
        }
        Ok(party)
    }

    fn close(&mut self, state: State, at: OffsetDateTime) {
        self.state = state;
        self.closed_at = Some(at);
        for party in &mut self.parties {
            party.token = None;
        }
    }

    fn record(&mut self, at: OffsetDateTime, event: HistoryEvent, by: Option<AccountId>, to: Option<AccountId>) {
        self.history.push(HistoryEntry { at, event, by, to });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, rules};
    use time::Duration;

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    fn t0() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    /// admin aa1 asks tech tt1 -> nn1: parties aa1 and nn1, tt1 informed.
    fn pending() -> (ContactChange, Vec<(AccountId, Token)>) {
        let contacts = crate::domain::Contacts { admin: id("aa1-ovh"), tech: id("tt1-ovh"), billing: id("bb1-ovh") };
        let plan = rules::plan(&contacts, &id("aa1-ovh"), &[(Role::Tech, id("nn1-ovh"))]).unwrap().remove(0);
        ContactChange::open(ServiceName::parse("example.com").unwrap(), plan, id("aa1-ovh"), t0(), Duration::days(7))
    }

    fn events(change: &ContactChange) -> Vec<HistoryEvent> {
        change.history.iter().map(|h| h.event).collect()
    }

    #[test]
    fn a_new_request_is_pending_with_one_distinct_token_per_party() {
        let (change, tokens) = pending();
        assert_eq!(change.state, State::Pending);
        assert_eq!(tokens.len(), 2);
        assert_ne!(tokens[0].1, tokens[1].1);
        assert_eq!(change.party_holding(&tokens[0].1), Some(&id("aa1-ovh")));
        assert_eq!(change.party_holding(&tokens[1].1), Some(&id("nn1-ovh")));
        assert_eq!(change.expires_at, t0() + Duration::days(7));
        assert_eq!(events(&change), vec![HistoryEvent::Created]);
    }

    #[test]
    fn one_acceptance_of_two_leaves_it_pending_awaiting_the_other() {
        let (mut change, _) = pending();
        change.step(Step::Accept { party: id("aa1-ovh") }, t0()).unwrap();
        assert_eq!(change.state, State::Pending);
        assert_eq!(change.awaiting().collect::<Vec<_>>(), vec![&id("nn1-ovh")]);
        assert!(!change.all_accepted());
        assert_eq!(change.step(Step::Complete, t0()), Err(LifecycleError::StillAwaited));
    }

    #[test]
    fn a_token_is_single_use() {
        let (mut change, tokens) = pending();
        change.step(Step::Accept { party: id("aa1-ovh") }, t0()).unwrap();
        assert_eq!(change.party_holding(&tokens[0].1), None);
        assert_eq!(change.step(Step::Accept { party: id("aa1-ovh") }, t0()), Err(LifecycleError::AlreadyAnswered));
    }

    #[test]
    fn every_acceptance_then_complete_makes_it_done_and_closed() {
        let (mut change, tokens) = pending();
        change.step(Step::Accept { party: id("aa1-ovh") }, t0()).unwrap();
        change.step(Step::Accept { party: id("nn1-ovh") }, t0()).unwrap();
        change.step(Step::Complete, t0()).unwrap();
        assert_eq!(change.state, State::Done);
        assert_eq!(change.closed_at, Some(t0()));
        assert!(tokens.iter().all(|(_, t)| change.party_holding(t).is_none()));
        assert_eq!(events(&change), vec![HistoryEvent::Created, HistoryEvent::Accepted, HistoryEvent::Accepted, HistoryEvent::Done]);
    }

    #[test]
    fn one_refusal_makes_it_refused_and_spends_every_token() {
        let (mut change, tokens) = pending();
        change.step(Step::Refuse { party: id("nn1-ovh") }, t0()).unwrap();
        assert_eq!(change.state, State::Refused);
        assert!(tokens.iter().all(|(_, t)| change.party_holding(t).is_none()));
    }

    #[test]
    fn only_the_requester_may_cancel() {
        let (mut change, _) = pending();
        assert_eq!(change.step(Step::Cancel { by: id("nn1-ovh") }, t0()), Err(LifecycleError::NotTheRequester));
        change.step(Step::Cancel { by: id("aa1-ovh") }, t0()).unwrap();
        assert_eq!(change.state, State::Cancelled);
    }

    #[test]
    fn a_fully_accepted_request_that_cannot_take_effect_fails_with_its_reason() {
        let (mut change, _) = pending();
        assert_eq!(change.step(Step::Fail { reason: FailReason::HoldersChanged }, t0()), Err(LifecycleError::StillAwaited));
        change.step(Step::Accept { party: id("aa1-ovh") }, t0()).unwrap();
        change.step(Step::Accept { party: id("nn1-ovh") }, t0()).unwrap();
        change.step(Step::Fail { reason: FailReason::HoldersChanged }, t0()).unwrap();
        assert_eq!(change.state, State::Failed);
        assert_eq!(change.reason, Some(FailReason::HoldersChanged));
    }

    #[test]
    fn a_request_past_its_expiry_is_expired_at_its_expiry_time_and_takes_no_answer() {
        let (mut change, _) = pending();
        let later = t0() + Duration::days(8);
        assert_eq!(change.step(Step::Accept { party: id("aa1-ovh") }, later), Err(LifecycleError::Expired));
        assert!(change.observe(later));
        assert_eq!(change.state, State::Expired);
        assert_eq!(change.closed_at, Some(change.expires_at));
        assert!(!change.observe(later), "expiry happens once");
        assert_eq!(change.step(Step::Accept { party: id("aa1-ovh") }, later), Err(LifecycleError::Expired));
    }

    #[test]
    fn no_step_but_mail_records_fits_a_closed_request() {
        for close in [Step::Refuse { party: id("aa1-ovh") }, Step::Cancel { by: id("aa1-ovh") }] {
            let (mut change, _) = pending();
            change.step(close, t0()).unwrap();
            let closed = change.state;
            for step in [
                Step::Accept { party: id("nn1-ovh") },
                Step::Refuse { party: id("nn1-ovh") },
                Step::Cancel { by: id("aa1-ovh") },
                Step::Resend { by: id("aa1-ovh"), tokens: vec![] },
                Step::Complete,
            ] {
                assert_eq!(change.step(step, t0()), Err(LifecycleError::NotPending(closed)));
            }
            change.step(Step::Mailed { to: id("aa1-ovh") }, t0()).unwrap();
        }
    }

    #[test]
    fn resend_replaces_the_awaited_parties_tokens_and_keeps_the_expiry() {
        let (mut change, old) = pending();
        change.step(Step::Accept { party: id("aa1-ovh") }, t0()).unwrap();
        let fresh = Token::generate();
        change.step(Step::Resend { by: id("aa1-ovh"), tokens: vec![(id("nn1-ovh"), fresh.hash())] }, t0() + Duration::hours(1)).unwrap();
        assert_eq!(change.party_holding(&old[1].1), None);
        assert_eq!(change.party_holding(&fresh), Some(&id("nn1-ovh")));
        assert_eq!(change.expires_at, t0() + Duration::days(7));
        assert_eq!(change.last_resent_at, Some(t0() + Duration::hours(1)));
        let outsider = change.step(Step::Resend { by: id("tt1-ovh"), tokens: vec![] }, t0());
        assert_eq!(outsider, Err(LifecycleError::NotAParty));
    }

    #[test]
    fn a_party_who_is_not_awaited_cannot_answer() {
        let (mut change, _) = pending();
        assert_eq!(change.step(Step::Accept { party: id("tt1-ovh") }, t0()), Err(LifecycleError::NotAParty));
    }

    #[test]
    fn the_previous_holder_and_the_requester_are_involved_and_an_outsider_is_not() {
        let (change, _) = pending();
        for account in ["aa1-ovh", "nn1-ovh", "tt1-ovh"] {
            assert!(change.involves(&id(account)), "{account}");
        }
        assert!(!change.involves(&id("bb1-ovh")));
    }

    #[test]
    fn wrong_codes_lock_the_answers_until_a_resend_issues_new_tokens() {
        let (mut change, _) = pending();
        for _ in 0..ContactChange::MAX_WRONG_CODES {
            change.step(Step::WrongCode, t0()).unwrap();
        }
        assert!(change.codes_locked());
        assert_eq!(change.step(Step::Accept { party: id("aa1-ovh") }, t0()), Err(LifecycleError::CodesLocked));
        assert_eq!(change.step(Step::Refuse { party: id("aa1-ovh") }, t0()), Err(LifecycleError::CodesLocked));
        let fresh = vec![(id("aa1-ovh"), Token::generate().hash()), (id("nn1-ovh"), Token::generate().hash())];
        change.step(Step::Resend { by: id("aa1-ovh"), tokens: fresh }, t0()).unwrap();
        assert!(!change.codes_locked());
        change.step(Step::Accept { party: id("aa1-ovh") }, t0()).unwrap();
    }
}
