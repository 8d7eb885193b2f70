//! SPEC §3: a contact-change request and its one state machine.
//!
//! `pending -> done | refused | expired | cancelled | failed`; every transition is in
//! [`ContactChange::step`], and every step that does not fit the state is an error.

use time::OffsetDateTime;

use super::decision::{Deciding, Decision, HistoryEntry, HistoryEvent, LifecycleError, Party, PartyStatus, ResendPolicy};
use super::events::{ChangeFacts, Fact, Occurrence};
use super::outbox::{Letter, LetterKind};
use super::rules::{self, Plan};
use super::state::{FailReason, State};
use super::{AccountId, BatchId, Contacts, RequestId, Roles, Service, ServiceName, TokenHash, Zone};

/// A request to move `roles` of `service` from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactChange {
    pub id: RequestId,
    pub service: ServiceName,
    pub roles: Roles,
    pub from: AccountId,
    pub to: AccountId,
    pub requested_by: AccountId,
    /// The geographic zone the change happens in: its new contact's when it was asked. The
    /// previous and the new contact must both be in it, when asked and when it takes effect.
    pub zone: Zone,
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
    /// The service as it was when the request was made. Completing the request writes over
    /// it on the condition that it is still so (a store need not read it first); if it
    /// changed meanwhile, the store reads it then. `None`: not known (a request from before
    /// it was kept, or one read from a listing's copy).
    pub service_when_asked: Option<Service>,
    /// The batch this request is a part of (SPEC §7): decided with it, by the batch's code
    /// and mails; `None` for a request of its own.
    pub batch: Option<BatchId>,
    /// Bumped by every save; stores write only over the version they read.
    pub version: u64,
    /// The mails the steps since it was read owe (SPEC §4), oldest first: the next save posts
    /// them in the same atomic write as the request. Never read back: empty after a read.
    pub outbox: Vec<Letter>,
    /// The events the steps since it was read owe the provider's systems (issue 19): the
    /// request's, when it opened, and its outcome's, when it closed. As `outbox`, the next save
    /// commits them with the request, and they are never read back.
    pub events: Vec<Occurrence>,
}

/// Everything that can happen to a request.
#[derive(Debug, Clone)]
pub enum Step {
    Accept {
        party: AccountId,
    },
    Refuse {
        party: AccountId,
    },
    /// The requester withdraws its request, or the service's current admin ends it
    /// (`by_service_admin`: the caller holds the service's admin role now).
    Cancel {
        by: AccountId,
        by_service_admin: bool,
    },
    Expire,
    /// A new round of codes for every party still awaited, within `policy`: their live codes
    /// stop working, and each is owed a confirmation mail with a code of the new round.
    Resend {
        by: AccountId,
        policy: ResendPolicy,
    },
    /// The sweeper's one reminder before expiry: a new round of codes, as a resend, mailed as
    /// reminders. Not a resend: it does not count against the resend limit nor start its cooldown.
    Remind,
    /// `party`'s address is about to change (SPEC §3: a code belongs to an address): its live
    /// code stops working now, and a mail of its older rounds still on the way carries none.
    /// Taken before the address changes, so that a crash after it leaves no code alive at the
    /// old address (the party can still have the mails sent again).
    Withhold {
        party: AccountId,
    },
    /// `party`'s address changed: it is owed a confirmation with a code of its own round, which
    /// the mailer mints as it sends it, to the address then (the new one).
    Readdress {
        party: AccountId,
    },
    /// The mailer gives `party` the code its mail of round `round` carries, as it sends it:
    /// only while the party is awaited and `round` is still the party's round.
    Issue {
        party: AccountId,
        round: u32,
        hash: TokenHash,
    },
    /// Its batch ended `refused`, `cancelled` or `expired`: so does this part of it.
    EndWithBatch {
        state: State,
    },
    /// Every party accepted and the change took effect.
    Complete,
    /// Every party accepted but the change could not take effect.
    Fail {
        reason: FailReason,
    },
    Mailed {
        to: AccountId,
    },
    MailFailed {
        to: AccountId,
    },
}

impl ContactChange {
    /// A new pending request for `plan` on `service`. It owes each party its confirmation
    /// mail (whose code is minted as it is sent) and each contact only told its notice.
    pub fn open(service: ServiceName, plan: Plan, requested_by: AccountId, zone: Zone, now: OffsetDateTime, ttl: time::Duration) -> Self {
        let parties = plan.confirm.iter().map(|account| Party { account: account.clone(), status: PartyStatus::Pending, token: None }).collect();
        let mut outbox: Vec<Letter> = plan.confirm.iter().map(|to| Letter { to: to.clone(), kind: LetterKind::Confirm { round: 0 } }).collect();
        outbox.extend(plan.inform.iter().map(|to| Letter { to: to.clone(), kind: LetterKind::Informed }));
        let mut change = Self {
            id: RequestId::new(now),
            service,
            roles: plan.roles,
            from: plan.from,
            to: plan.to,
            requested_by: requested_by.clone(),
            zone,
            state: State::Pending,
            parties,
            informed: plan.inform,
            created_at: now,
            expires_at: now + ttl,
            closed_at: None,
            reason: None,
            history: vec![HistoryEntry { at: now, event: HistoryEvent::Created, by: Some(requested_by), to: None }],
            last_resent_at: None,
            service_when_asked: None,
            batch: None,
            version: 0,
            outbox,
            events: Vec::new(),
        };
        change.events.push(Occurrence { at: now, fact: change.fact() });
        change
    }

    /// A new pending request for `plan` on `service` as a part of batch `batch`: it owes no
    /// mail (the batch's speak for it) and its parties get no code of its own (the batch's is
    /// theirs).
    pub fn open_part(batch: BatchId, service: ServiceName, plan: Plan, requested_by: AccountId, zone: Zone, now: OffsetDateTime, ttl: time::Duration) -> Self {
        let mut change = Self::open(service, plan, requested_by, zone, now, ttl);
        change.batch = Some(batch);
        change.outbox.clear();
        change
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
            (Pending, Step::EndWithBatch { state }) => {
                if self.batch.is_none() || !matches!(state, State::Refused | State::Cancelled | State::Expired) {
                    return Err(LifecycleError::NotAPart);
                }
                self.close(state, at);
            }
            (Pending, step) if self.batch.is_some() && !Self::a_part_may(&step) => return Err(LifecycleError::PartOfBatch),
            // A part expires with its batch: the batch's expiry decides, not the part's clock.
            (Pending, _) if at >= self.expires_at && self.batch.is_none() => return Err(LifecycleError::Expired),
            (Pending, Step::Accept { party }) => self.deciding().accept(party, at)?,
            (Pending, Step::Refuse { party }) => {
                self.deciding().refuse(party, at)?;
                self.close(State::Refused, at);
            }
            (Pending, Step::Cancel { by, by_service_admin }) => {
                if by != self.requested_by && !by_service_admin {
                    return Err(LifecycleError::NotTheRequester);
                }
                self.record(at, HistoryEvent::Cancelled, Some(by), None);
                self.close(State::Cancelled, at);
            }
            (Pending, Step::Resend { by, policy }) => self.deciding().resend(by, policy, at)?,
            (Pending, Step::Remind) => self.deciding().remind(at)?,
            (Pending, Step::Withhold { party }) => self.deciding().withhold(party, at)?,
            (Pending, Step::Readdress { party }) => self.deciding().readdress(party)?,
            (Pending, Step::Issue { party, round, hash }) => self.deciding().issue(party, round, hash)?,
            (Pending, Step::Complete) => self.conclude(None, at)?,
            (Pending, Step::Fail { reason }) => self.conclude(Some(reason), at)?,
            (State::Expired, _) => return Err(LifecycleError::Expired),
            (closed, _) => return Err(LifecycleError::NotPending(closed)),
        }
        Ok(())
    }

    /// `Step::Complete` (no `reason`) or `Step::Fail`: every party accepted, and the change took
    /// effect, or could not for `reason`.
    fn conclude(&mut self, reason: Option<FailReason>, at: OffsetDateTime) -> Result<(), LifecycleError> {
        if !self.all_accepted() {
            return Err(LifecycleError::StillAwaited);
        }
        self.reason = reason;
        let (event, state) = if reason.is_some() { (HistoryEvent::Failed, State::Failed) } else { (HistoryEvent::Done, State::Done) };
        self.record(at, event, None, None);
        self.close(state, at);
        Ok(())
    }

    /// Whether a part of a batch may take `step` of its own: it is answered, resent and
    /// reminded with its batch, whose code is its parties' only one; a service's admin may
    /// still cancel it alone.
    fn a_part_may(step: &Step) -> bool {
        !matches!(
            step,
            Step::Refuse { .. }
                | Step::Resend { .. }
                | Step::Remind
                | Step::Withhold { .. }
                | Step::Readdress { .. }
                | Step::Issue { .. }
                | Step::Cancel { by_service_admin: false, .. }
        )
    }

    /// Notices expiry: a pending request past `expires_at` becomes `expired`. Returns whether
    /// it did. Stores delete expired items lazily, so every reader calls this.
    pub fn observe(&mut self, now: OffsetDateTime) -> bool {
        // A part expires with its batch, which may be taking effect past the hour.
        let due = self.state == State::Pending && now >= self.expires_at && self.batch.is_none();
        if due {
            self.step(Step::Expire, now).expect("a pending request can always expire");
        }
        due
    }

    /// Why this request, every party having accepted, could not take effect on a service with
    /// `contacts` (SPEC §3), leaving payment standing aside: a moved role's holder is no longer
    /// `from`, or the requester no longer holds the role that entitled it. `None`: it can.
    pub fn obstacle(&self, contacts: &Contacts) -> Option<FailReason> {
        if self.roles.iter().any(|role| contacts.holder(role) != &self.from) {
            return Some(FailReason::HoldersChanged);
        }
        if !rules::entitled(contacts, &self.requested_by, &self.roles, &self.to) {
            return Some(FailReason::RequesterLostRole);
        }
        None
    }

    /// From when this request counts against its requester's `UNACCEPTED_REQUEST_LIMIT`
    /// towards its new contact (SPEC §2): a request that mails an account that did not ask
    /// counts once it ended without that account's acceptance (refused; cancelled, by anyone:
    /// a requester and an admin who cancels for it would otherwise mail a stranger in a loop;
    /// expired); a pending one counts from its expiry, unless something else ends it first.
    /// `None` when it never counts: the new contact is the requester, or accepted, or the
    /// request took effect (or failed).
    pub fn unaccepted_from(&self) -> Option<OffsetDateTime> {
        let accepted_by_new_contact = self.history.iter().any(|entry| entry.event == HistoryEvent::Accepted && entry.by.as_ref() == Some(&self.to));
        // A part counts with its batch, once for all its parts (SPEC §7): `Batch::unaccepted_from`.
        if self.to == self.requested_by || accepted_by_new_contact || self.batch.is_some() {
            return None;
        }
        match self.state {
            State::Pending | State::Expired => Some(self.expires_at),
            State::Refused | State::Cancelled => self.closed_at,
            State::Done | State::Failed => None,
        }
    }

    /// The requester, a party, or the previous holder.
    pub fn involves(&self, account: &AccountId) -> bool {
        &self.requested_by == account || self.is_party(account) || &self.from == account || self.informed.contains(account)
    }

    /// Who may see the request: those it involves, and the current contacts of its service
    /// (`contacts`, when the caller is not involved and the service exists).
    pub fn visible_to(&self, caller: &AccountId, contacts: Option<&Contacts>) -> bool {
        self.involves(caller) || contacts.is_some_and(|contacts| !contacts.roles_of(caller).is_empty())
    }

    /// Who the outcome of a closed request is mailed to (SPEC §4): every party, for `done`
    /// the previous holder too, and for `expired` the requester too.
    pub fn outcome_recipients(&self) -> Vec<AccountId> {
        let mut recipients: Vec<AccountId> = self.parties.iter().map(|p| p.account.clone()).collect();
        let also = match self.state {
            State::Done => Some(&self.from),
            State::Expired => Some(&self.requested_by),
            _ => None,
        };
        if let Some(also) = also.filter(|also| !recipients.contains(also)) {
            recipients.push(also.clone());
        }
        recipients
    }

    /// Every account a mail about this request names or reaches: the parties, the previous
    /// holder, the new contact and the requester (with repeats).
    pub fn named(&self) -> Vec<AccountId> {
        let mut named: Vec<AccountId> = self.parties.iter().map(|p| p.account.clone()).collect();
        named.extend(self.informed.iter().cloned());
        named.extend([self.from.clone(), self.to.clone(), self.requested_by.clone()]);
        named
    }

    /// The accounts that must be in the request's [`zone`](Self::zone), when it is asked and
    /// when it takes effect: the previous and the new contact.
    pub fn must_share_zone(&self) -> [&AccountId; 2] {
        [&self.from, &self.to]
    }

    /// The accounts that must be in good standing when the change takes effect (SPEC §2): the
    /// previous and the new billing contact, for a billing change.
    pub fn must_be_in_good_standing(&self) -> Vec<AccountId> {
        if self.roles.contains(super::Role::Billing) { vec![self.from.clone(), self.to.clone()] } else { vec![] }
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

    /// The steps a request shares with a batch, on this request.
    fn deciding(&mut self) -> Deciding<'_> {
        Deciding {
            parties: &mut self.parties,
            history: &mut self.history,
            outbox: &mut self.outbox,
            last_resent_at: &mut self.last_resent_at,
            expires_at: self.expires_at,
        }
    }

    /// Ends the request in `state`: every code stops working, and the outcome is owed to
    /// everyone it must reach (`outcome_recipients`).
    fn close(&mut self, state: State, at: OffsetDateTime) {
        self.state = state;
        self.closed_at = Some(at);
        for party in &mut self.parties {
            party.token = None;
        }
        if self.batch.is_none() {
            let outcome = self.outcome_recipients().into_iter().map(|to| Letter { to, kind: LetterKind::Outcome(state) });
            self.outbox.extend(outcome);
        }
        self.events.push(Occurrence { at, fact: self.fact() });
    }

    fn record(&mut self, at: OffsetDateTime, event: HistoryEvent, by: Option<AccountId>, to: Option<AccountId>) {
        self.history.push(HistoryEntry { at, event, by, to });
    }
}

impl Decision for ContactChange {
    fn parties(&self) -> &[Party] {
        &self.parties
    }

    fn history(&self) -> &[HistoryEntry] {
        &self.history
    }
}

impl ContactChange {
    /// What the request's event says of it as it stands: `Requested` while pending, else its
    /// outcome.
    pub fn fact(&self) -> Fact {
        let facts = ChangeFacts {
            request: self.id,
            service: self.service.clone(),
            roles: self.roles.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            requester: self.requested_by.clone(),
            state: self.state,
            reason: self.reason,
        };
        match self.state {
            State::Pending => Fact::ContactChangeRequested(facts),
            State::Done => Fact::ContactChangeDone(facts),
            State::Refused => Fact::ContactChangeRefused(facts),
            State::Cancelled => Fact::ContactChangeCancelled(facts),
            State::Expired => Fact::ContactChangeExpired(facts),
            State::Failed => Fact::ContactChangeFailed(facts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Role, Token, rules};
    use time::Duration;

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    fn t0() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    /// admin aa1 asks tech tt1 -> nn1: parties aa1 and nn1, tt1 informed; as just opened.
    fn opened() -> ContactChange {
        let contacts = crate::Contacts { admin: id("aa1-ovh"), tech: id("tt1-ovh"), billing: id("bb1-ovh") };
        let plan = rules::plan(&contacts, &id("aa1-ovh"), &[(Role::Tech, id("nn1-ovh"))]).unwrap().remove(0);
        ContactChange::open(ServiceName::parse("example.com").unwrap(), plan, id("aa1-ovh"), Zone::Eu, t0(), Duration::days(7))
    }

    /// As the mailer does: a code of the current round for every awaited party.
    fn issue(change: &mut ContactChange) -> Vec<(AccountId, Token)> {
        let awaited: Vec<AccountId> = change.awaiting().cloned().collect();
        awaited
            .into_iter()
            .map(|party| {
                let round = change.round_of(&party);
                let token = Token::generate();
                change.step(Step::Issue { party: party.clone(), round, hash: token.hash() }, t0()).unwrap();
                (party, token)
            })
            .collect()
    }

    /// [`opened`], its confirmation mails sent, and its outbox posted.
    fn pending() -> (ContactChange, Vec<(AccountId, Token)>) {
        let mut change = opened();
        let tokens = issue(&mut change);
        change.outbox.clear();
        change.events.clear();
        (change, tokens)
    }

    fn letter(to: &str, kind: LetterKind) -> Letter {
        Letter { to: id(to), kind }
    }

    #[test]
    fn a_party_whose_address_changes_gets_a_round_of_codes_of_its_own_and_the_others_keep_theirs() {
        let (mut change, tokens) = pending();
        let (moved, other) = (id("nn1-ovh"), id("aa1-ovh"));
        let round = change.round_of(&moved);
        change.step(Step::Withhold { party: moved.clone() }, t0()).unwrap();
        assert_eq!((change.round_of(&moved), change.round_of(&other)), (round + 1, round));
        let holder = |change: &ContactChange, who: &AccountId| tokens.iter().find(|(p, _)| p == who).and_then(|(_, t)| change.party_holding(t)).cloned();
        assert_eq!((holder(&change, &moved), holder(&change, &other)), (None, Some(other.clone())), "its code died, the other's lives");
        assert!(change.outbox.is_empty(), "nothing is mailed before the address changed");
        assert_eq!(change.history.last().map(|h| (h.event, h.to.clone())), Some((HistoryEvent::Readdressed, Some(moved.clone()))));
        let late = Token::generate();
        let from_before = Step::Issue { party: moved.clone(), round, hash: late.hash() };
        assert_eq!(change.step(from_before, t0()), Err(LifecycleError::Superseded), "a mail of its older round carries no code");

        change.step(Step::Readdress { party: moved.clone() }, t0()).unwrap();
        assert_eq!(change.outbox, vec![letter("nn1-ovh", LetterKind::Confirm { round: round + 1 })]);
        let fresh = issue(&mut change).into_iter().find(|(p, _)| *p == moved).unwrap().1;
        assert_eq!(change.party_holding(&fresh), Some(&moved));
        change.step(Step::Accept { party: moved.clone() }, t0()).unwrap();
        assert_eq!(change.step(Step::Withhold { party: moved }, t0()), Err(LifecycleError::AlreadyAnswered), "only an awaited party");
    }

    #[test]
    fn a_new_request_owes_each_party_its_confirmation_and_the_informed_their_notice_and_holds_no_code_yet() {
        let change = opened();
        assert!(change.parties.iter().all(|p| p.token.is_none()));
        let confirm = LetterKind::Confirm { round: 0 };
        assert_eq!(change.outbox, vec![letter("aa1-ovh", confirm), letter("nn1-ovh", confirm), letter("tt1-ovh", LetterKind::Informed)]);
    }

    #[test]
    fn a_code_is_issued_only_to_an_awaited_party_for_the_current_round() {
        let (mut change, _) = pending();
        let hash = Token::generate().hash();
        assert_eq!(change.step(Step::Issue { party: id("tt1-ovh"), round: 0, hash }, t0()), Err(LifecycleError::NotAParty));
        change.step(Step::Resend { by: id("aa1-ovh"), policy: policy(5) }, t0()).unwrap();
        assert_eq!(change.step(Step::Issue { party: id("nn1-ovh"), round: 0, hash }, t0()), Err(LifecycleError::Superseded), "a resend replaced round 0");
        change.step(Step::Issue { party: id("nn1-ovh"), round: 1, hash }, t0()).unwrap();
        change.step(Step::Accept { party: id("nn1-ovh") }, t0()).unwrap();
        assert_eq!(change.step(Step::Issue { party: id("nn1-ovh"), round: 1, hash }, t0()), Err(LifecycleError::AlreadyAnswered));
        let late = change.expires_at;
        assert_eq!(change.step(Step::Issue { party: id("aa1-ovh"), round: 1, hash }, late), Err(LifecycleError::Expired));
    }

    #[test]
    fn every_way_a_request_closes_owes_its_outcome_to_whom_it_must_reach() {
        let outcome = |state| LetterKind::Outcome(state);
        let (mut refused, _) = pending();
        refused.step(Step::Refuse { party: id("nn1-ovh") }, t0()).unwrap();
        assert_eq!(refused.outbox, vec![letter("aa1-ovh", outcome(State::Refused)), letter("nn1-ovh", outcome(State::Refused))]);
        let (mut done, _) = pending();
        done.step(Step::Accept { party: id("aa1-ovh") }, t0()).unwrap();
        done.step(Step::Accept { party: id("nn1-ovh") }, t0()).unwrap();
        assert!(done.outbox.is_empty(), "an acceptance owes nothing");
        done.step(Step::Complete, t0()).unwrap();
        let to_done = ["aa1-ovh", "nn1-ovh", "tt1-ovh"].map(|to| letter(to, outcome(State::Done)));
        assert_eq!(done.outbox, to_done, "done: the previous holder too");
        let (mut expired, _) = pending();
        expired.step(Step::Accept { party: id("nn1-ovh") }, t0()).unwrap();
        expired.observe(t0() + Duration::days(8));
        assert_eq!(expired.outbox, vec![letter("aa1-ovh", outcome(State::Expired)), letter("nn1-ovh", outcome(State::Expired))]);
    }

    #[test]
    fn opening_and_each_outcome_owe_one_event_of_their_type_and_no_other_step_owes_any() {
        let types = |change: &ContactChange| change.events.iter().map(|e| e.fact.detail_type()).collect::<Vec<_>>();
        let opened = opened();
        assert_eq!(types(&opened), ["ContactChangeRequested"]);
        assert_eq!(opened.events[0].at, t0());
        let (mut change, _) = pending();
        change.step(Step::Resend { by: id("aa1-ovh"), policy: policy(5) }, t0()).unwrap();
        change.step(Step::Remind, t0()).unwrap();
        change.step(Step::Accept { party: id("aa1-ovh") }, t0()).unwrap();
        change.step(Step::Mailed { to: id("aa1-ovh") }, t0()).unwrap();
        assert!(change.events.is_empty(), "no outcome yet");
        let later = t0() + Duration::hours(1);
        let closing: [(Step, &str); 4] = [
            (Step::Refuse { party: id("nn1-ovh") }, "ContactChangeRefused"),
            (Step::Cancel { by: id("aa1-ovh"), by_service_admin: false }, "ContactChangeCancelled"),
            (Step::Expire, "ContactChangeExpired"),
            (Step::Accept { party: id("nn1-ovh") }, ""),
        ];
        for (step, expected) in closing {
            let mut closed = change.clone();
            closed.step(step, later).unwrap();
            if expected.is_empty() {
                let mut done = closed.clone();
                done.step(Step::Complete, later).unwrap();
                assert_eq!(types(&done), ["ContactChangeDone"]);
                closed.step(Step::Fail { reason: FailReason::HoldersChanged }, later).unwrap();
                assert_eq!(types(&closed), ["ContactChangeFailed"]);
                assert_eq!(closed.events[0].fact, closed.fact());
                let crate::Fact::ContactChangeFailed(facts) = &closed.events[0].fact else { unreachable!() };
                assert_eq!((facts.reason, facts.state, facts.requester.as_str()), (Some(FailReason::HoldersChanged), State::Failed, "aa1-ovh"));
            } else {
                assert_eq!(types(&closed), [expected]);
                let at = if expected == "ContactChangeExpired" { change.expires_at } else { later };
                assert_eq!(closed.events[0].at, at);
            }
        }
    }

    fn events(change: &ContactChange) -> Vec<HistoryEvent> {
        change.history.iter().map(|h| h.event).collect()
    }

    #[test]
    fn a_request_whose_mails_went_is_pending_with_one_distinct_token_per_party() {
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
        assert_eq!(change.step(Step::Cancel { by: id("nn1-ovh"), by_service_admin: false }, t0()), Err(LifecycleError::NotTheRequester));
        change.step(Step::Cancel { by: id("aa1-ovh"), by_service_admin: false }, t0()).unwrap();
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
        for close in [Step::Refuse { party: id("aa1-ovh") }, Step::Cancel { by: id("aa1-ovh"), by_service_admin: false }] {
            let (mut change, _) = pending();
            change.step(close, t0()).unwrap();
            let closed = change.state;
            for step in [
                Step::Accept { party: id("nn1-ovh") },
                Step::Refuse { party: id("nn1-ovh") },
                Step::Cancel { by: id("aa1-ovh"), by_service_admin: false },
                Step::Resend { by: id("aa1-ovh"), policy: policy(5) },
                Step::Remind,
                Step::Issue { party: id("nn1-ovh"), round: 0, hash: Token::generate().hash() },
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
        change.step(Step::Resend { by: id("aa1-ovh"), policy: policy(5) }, t0() + Duration::hours(1)).unwrap();
        assert_eq!(change.party_holding(&old[1].1), None, "the old code died with the resend");
        assert_eq!(change.outbox, vec![letter("nn1-ovh", LetterKind::Confirm { round: 1 })], "only the awaited party is mailed again");
        let fresh = issue(&mut change);
        assert_eq!(change.party_holding(&fresh[0].1), Some(&id("nn1-ovh")));
        assert_eq!(change.expires_at, t0() + Duration::days(7));
        assert_eq!(change.last_resent_at, Some(t0() + Duration::hours(1)));
        let outsider = change.step(Step::Resend { by: id("tt1-ovh"), policy: policy(5) }, t0());
        assert_eq!(outsider, Err(LifecycleError::NotAParty));
    }

    #[test]
    fn a_reminder_replaces_the_awaited_tokens_once_and_is_not_a_resend() {
        let (mut change, old) = pending();
        change.step(Step::Accept { party: id("aa1-ovh") }, t0()).unwrap();
        let at = change.expires_at - Duration::hours(23);
        change.step(Step::Remind, at).unwrap();
        assert_eq!(change.party_holding(&old[1].1), None, "the old code is dead");
        assert_eq!(change.outbox, vec![letter("nn1-ovh", LetterKind::Reminder { round: 1 })]);
        let fresh = issue(&mut change);
        let fresh = &fresh[0].1;
        assert_eq!(change.party_holding(fresh), Some(&id("nn1-ovh")));
        assert!(change.reminded());
        assert_eq!(change.resends(), 0);
        assert_eq!(change.last_resent_at, None);
        assert_eq!(events(&change).last(), Some(&HistoryEvent::Reminded));
        let again = change.step(Step::Remind, at);
        assert_eq!(again, Err(LifecycleError::AlreadyReminded));
        assert_eq!(change.party_holding(fresh), Some(&id("nn1-ovh")), "a refused reminder changes nothing");
    }

    #[test]
    fn a_reminder_needs_a_pending_request_before_its_expiry() {
        let (mut change, _) = pending();
        let late = change.step(Step::Remind, change.expires_at);
        assert_eq!(late, Err(LifecycleError::Expired));
        change.step(Step::Refuse { party: id("nn1-ovh") }, t0()).unwrap();
        assert_eq!(change.step(Step::Remind, t0()), Err(LifecycleError::NotPending(State::Refused)));
    }

    #[test]
    fn reminded_serialises_as_reminded() {
        assert_eq!(serde_json::to_string(&HistoryEvent::Reminded).unwrap(), "\"reminded\"");
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

    fn policy(limit: u32) -> ResendPolicy {
        ResendPolicy { cooldown: Duration::seconds(60), limit }
    }

    #[test]
    fn resends_are_allowed_at_once_then_once_per_cooldown_up_to_the_limit() {
        let (mut change, _) = pending();
        let resend = |change: &mut ContactChange, at| change.step(Step::Resend { by: id("aa1-ovh"), policy: policy(2) }, at);
        resend(&mut change, t0()).unwrap();
        assert_eq!(resend(&mut change, t0() + Duration::seconds(59)), Err(LifecycleError::TooSoon { retry_after: 1 }));
        resend(&mut change, t0() + Duration::seconds(60)).unwrap();
        assert_eq!(change.resends(), 2);
        assert_eq!(
            resend(&mut change, t0() + Duration::hours(1)),
            Err(LifecycleError::ResendLimit { retry_after: (change.expires_at - t0() - Duration::hours(1)).whole_seconds() as u64 })
        );
        // The limit is Ada's: Ned, the other party, still has his resends; the cooldown is the
        // request's, whoever asked.
        let ned = |change: &mut ContactChange, at| change.step(Step::Resend { by: id("nn1-ovh"), policy: policy(2) }, at);
        ned(&mut change, t0() + Duration::hours(1)).unwrap();
        assert_eq!(ned(&mut change, t0() + Duration::hours(1)), Err(LifecycleError::TooSoon { retry_after: 60 }));
        ned(&mut change, t0() + Duration::hours(2)).unwrap();
        assert_eq!((change.resends_by(&id("aa1-ovh")), change.resends_by(&id("nn1-ovh")), change.resends()), (2, 2, 4));
        assert!(matches!(ned(&mut change, t0() + Duration::hours(3)), Err(LifecycleError::ResendLimit { .. })));
    }

    #[test]
    fn the_services_admin_may_cancel_a_request_it_did_not_make() {
        let (mut change, _) = pending();
        assert_eq!(change.step(Step::Cancel { by: id("mm1-ovh"), by_service_admin: false }, t0()), Err(LifecycleError::NotTheRequester));
        change.step(Step::Cancel { by: id("mm1-ovh"), by_service_admin: true }, t0()).unwrap();
        assert_eq!(change.state, State::Cancelled);
        assert_eq!(change.unaccepted_from(), Some(t0()), "whoever cancelled it, the new contact did not accept it");
    }

    #[test]
    fn a_request_counts_as_unaccepted_from_its_end_or_its_expiry_unless_it_took_effect() {
        let (change, _) = pending();
        assert_eq!(change.unaccepted_from(), Some(change.expires_at), "pending: from its expiry");
        let later = t0() + Duration::hours(1);
        for step in [Step::Refuse { party: id("nn1-ovh") }, Step::Cancel { by: id("aa1-ovh"), by_service_admin: false }] {
            let mut closed = change.clone();
            closed.step(step, later).unwrap();
            assert_eq!(closed.unaccepted_from(), Some(later));
        }
        let mut done = change.clone();
        done.step(Step::Accept { party: id("aa1-ovh") }, later).unwrap();
        done.step(Step::Accept { party: id("nn1-ovh") }, later).unwrap();
        done.step(Step::Complete, later).unwrap();
        assert_eq!(done.unaccepted_from(), None);
        // The new contact said yes, and then the request was cancelled or lapsed: it was no
        // unwanted mail, and never counts.
        let mut welcomed = change.clone();
        welcomed.step(Step::Accept { party: id("nn1-ovh") }, later).unwrap();
        assert_eq!(welcomed.unaccepted_from(), None, "pending, the new contact accepted");
        welcomed.step(Step::Cancel { by: id("aa1-ovh"), by_service_admin: false }, later).unwrap();
        assert_eq!(welcomed.unaccepted_from(), None, "cancelled after the new contact accepted");
    }

    #[test]
    fn a_request_meets_an_obstacle_when_a_holder_moved_or_the_requester_lost_its_role() {
        let (change, _) = pending();
        let as_made = crate::Contacts { admin: id("aa1-ovh"), tech: id("tt1-ovh"), billing: id("bb1-ovh") };
        assert_eq!(change.obstacle(&as_made), None);
        let tech_moved = crate::Contacts { tech: id("xx1-ovh"), ..as_made.clone() };
        assert_eq!(change.obstacle(&tech_moved), Some(FailReason::HoldersChanged));
        let new_admin = crate::Contacts { admin: id("mm1-ovh"), ..as_made.clone() };
        assert_eq!(change.obstacle(&new_admin), Some(FailReason::RequesterLostRole));
    }
}
