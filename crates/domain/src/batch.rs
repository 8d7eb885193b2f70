//! SPEC §7, batches: the same roles moved to the same new account on many services of one
//! requester, decided once by each party.
//!
//! A batch is a decision ([`Decision`]: parties, codes, rounds, resends, one reminder) over
//! parts; each part is a contact-change request of its own ([`ContactChange::batch`] names the
//! batch), with its own id, history and lock, and no code and no mail of its own: the batch's
//! code is the only code of its parts, and the batch's mails speak for them. When the last
//! party accepts, each part takes effect on its own (or fails, SPEC §3); their outcomes then
//! close the batch ([`BatchStep::Settle`]). A refusal, a cancel or the expiry closes the batch
//! and every part still pending with it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::decision::{Deciding, Decision, HistoryEntry, HistoryEvent, LifecycleError, Party, PartyStatus, ResendPolicy};
use super::events::{BatchFacts, Fact, Occurrence};
use super::outbox::{Letter, LetterKind};
use super::rules::Plan;
use super::state::{BatchState, FailReason, State};
use super::{AccountId, BatchId, ContactChange, RequestId, Roles, ServiceName, TokenHash, Zone};

/// The most services one batch may name (SPEC §7).
pub const MAX_SERVICES: usize = 1000;

/// One service of a batch: the request that moves its roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub service: ServiceName,
    pub request: RequestId,
    /// The roles this part moves (the batch's, unless their holders differ on this service:
    /// then one part per previous holder, as for a single request).
    pub roles: Roles,
    /// The previous holder of `roles` on the service when the batch was asked.
    pub from: AccountId,
    /// Told about this part, with no say in it (SPEC §2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub informed: Vec<AccountId>,
    /// `pending` until the batch closes; then the part's own outcome.
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailReason>,
}

/// A batch of contact-change requests decided at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub id: BatchId,
    /// The roles asked, on every service.
    pub roles: Roles,
    pub to: AccountId,
    pub requested_by: AccountId,
    /// The new contact's zone, every part's.
    pub zone: Zone,
    pub state: BatchState,
    pub parties: Vec<Party>,
    pub parts: Vec<Part>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub history: Vec<HistoryEntry>,
    pub last_resent_at: Option<OffsetDateTime>,
    /// Closed otherwise than by its parts' outcomes (refused, cancelled, expired), the batch
    /// still has parts whose own requests are pending until they are ended with it
    /// ([`BatchStep::PartsEnded`]): what the sweep finishes if the function that closed it
    /// stopped first.
    pub parts_to_end: bool,
    /// Bumped by every save; stores write only over the version they read.
    pub version: u64,
    /// The mails the steps since it was read owe, as [`ContactChange::outbox`].
    pub outbox: Vec<Letter>,
    /// The events the steps since it was read owe, as [`ContactChange::events`].
    pub events: Vec<Occurrence>,
}

/// Everything that can happen to a batch.
#[derive(Debug, Clone)]
pub enum BatchStep {
    Accept {
        party: AccountId,
    },
    Refuse {
        party: AccountId,
    },
    /// The requester withdraws the batch (a service's admin cancels one part: [`BatchStep::PartCancelled`]).
    Cancel {
        by: AccountId,
    },
    Expire,
    Resend {
        by: AccountId,
        policy: ResendPolicy,
    },
    Remind,
    Withhold {
        party: AccountId,
    },
    Readdress {
        party: AccountId,
    },
    Issue {
        party: AccountId,
        round: u32,
        hash: TokenHash,
    },
    /// The admin of the part's service cancelled it (its request closed `cancelled` on its own).
    PartCancelled {
        request: RequestId,
    },
    /// Every party accepted, and each pending part took effect or failed, on its own: the
    /// outcome of each (`done`, `failed` with its reason, or `cancelled` meanwhile).
    Settle {
        outcomes: Vec<(RequestId, State, Option<FailReason>)>,
    },
    /// The parts' own requests were ended with the closed batch.
    PartsEnded,
    Mailed {
        to: AccountId,
    },
    MailFailed {
        to: AccountId,
    },
}

/// Why a batch cannot be opened from the plans made for its services.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("a batch names 1 to {MAX_SERVICES} services")]
    Size,
    /// A plan whose parties are not the batch's: its parties are the requester and the new
    /// contact on every service (SPEC §7), so this is a bug of the caller.
    #[error("the parties of {0} are not the batch's")]
    OtherParties(ServiceName),
}

impl Batch {
    /// A new pending batch of the services `plans` were made for (each service by SPEC §2, as
    /// a single request; one service may need two plans), with its parts' requests. The batch
    /// owes each party one confirmation (its code minted as it is sent) and each holder only
    /// told one notice; the parts owe nothing of their own.
    pub fn open(
        plans: Vec<(ServiceName, Plan)>,
        requested_by: AccountId,
        roles: Roles,
        to: AccountId,
        zone: Zone,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<(Batch, Vec<ContactChange>), BatchError> {
        if plans.is_empty() || plans.len() > MAX_SERVICES * 2 {
            return Err(BatchError::Size);
        }
        let mut confirm = vec![requested_by.clone()];
        if to != requested_by {
            confirm.push(to.clone());
        }
        if let Some((service, _)) = plans.iter().find(|(_, plan)| plan.confirm.iter().any(|party| !confirm.contains(party))) {
            return Err(BatchError::OtherParties(service.clone()));
        }
        let id = BatchId::new(now);
        let mut parts = Vec::with_capacity(plans.len());
        let mut requests = Vec::with_capacity(plans.len());
        for (service, plan) in plans {
            let request = ContactChange::open_part(id, service.clone(), plan.clone(), requested_by.clone(), zone, now, ttl);
            parts.push(Part { service, request: request.id, roles: plan.roles, from: plan.from, informed: plan.inform, state: State::Pending, reason: None });
            requests.push(request);
        }
        let parties = confirm.iter().map(|account| Party { account: account.clone(), status: PartyStatus::Pending, token: None }).collect();
        let mut batch = Batch {
            id,
            roles,
            to,
            requested_by: requested_by.clone(),
            zone,
            state: BatchState::Pending,
            parties,
            parts,
            created_at: now,
            expires_at: requests[0].expires_at,
            closed_at: None,
            history: vec![HistoryEntry { at: now, event: HistoryEvent::Created, by: Some(requested_by), to: None }],
            last_resent_at: None,
            parts_to_end: false,
            version: 0,
            outbox: Vec::new(),
            events: Vec::new(),
        };
        batch.outbox = confirm.into_iter().map(|to| Letter { to, kind: LetterKind::Confirm { round: 0 } }).collect();
        batch.outbox.extend(batch.informed().into_iter().map(|to| Letter { to, kind: LetterKind::Informed }));
        batch.events.push(Occurrence { at: now, fact: batch.fact() });
        Ok((batch, requests))
    }

    /// Applies one step, or says why it does not fit the batch's state.
    pub fn step(&mut self, step: BatchStep, at: OffsetDateTime) -> Result<(), LifecycleError> {
        use BatchState::Pending;
        match (self.state, step) {
            (_, BatchStep::Mailed { to }) => self.record(at, HistoryEvent::Mailed, None, Some(to)),
            (_, BatchStep::MailFailed { to }) => self.record(at, HistoryEvent::MailFailed, None, Some(to)),
            (closed, BatchStep::PartsEnded) if closed != Pending => self.parts_to_end = false,
            // Once every party accepted, the parts are taking effect: nothing but their
            // outcomes (and a part's cancel) can happen to the batch, whatever the time.
            (Pending, BatchStep::Settle { outcomes }) => self.settle(outcomes, at)?,
            (Pending, BatchStep::PartCancelled { request }) => self.part_cancelled(request, at)?,
            (Pending, _) if self.all_accepted() => return Err(LifecycleError::TakingEffect),
            (Pending, BatchStep::Expire) => {
                let at = self.expires_at;
                self.record(at, HistoryEvent::Expired, None, None);
                self.close(BatchState::Expired, at);
            }
            (Pending, _) if at >= self.expires_at => return Err(LifecycleError::Expired),
            (Pending, BatchStep::Accept { party }) => self.deciding().accept(party, at)?,
            (Pending, BatchStep::Refuse { party }) => {
                self.deciding().refuse(party, at)?;
                self.close(BatchState::Refused, at);
            }
            (Pending, BatchStep::Cancel { by }) => {
                if by != self.requested_by {
                    return Err(LifecycleError::NotTheRequester);
                }
                self.record(at, HistoryEvent::Cancelled, Some(by), None);
                self.close(BatchState::Cancelled, at);
            }
            (Pending, BatchStep::Resend { by, policy }) => self.deciding().resend(by, policy, at)?,
            (Pending, BatchStep::Remind) => self.deciding().remind(at)?,
            (Pending, BatchStep::Withhold { party }) => self.deciding().withhold(party, at)?,
            (Pending, BatchStep::Readdress { party }) => self.deciding().readdress(party)?,
            (Pending, BatchStep::Issue { party, round, hash }) => self.deciding().issue(party, round, hash)?,
            (BatchState::Expired, _) => return Err(LifecycleError::Expired),
            (closed, _) => return Err(LifecycleError::BatchNotPending(closed)),
        }
        Ok(())
    }

    /// Notices expiry: a pending batch past `expires_at`, not every party of which accepted,
    /// becomes `expired` (one whose parties all accepted is settling: its parts decide).
    pub fn observe(&mut self, now: OffsetDateTime) -> bool {
        let due = self.state == BatchState::Pending && now >= self.expires_at && !self.all_accepted();
        if due {
            self.step(BatchStep::Expire, now).expect("a pending batch can always expire");
        }
        due
    }

    /// Whether every party accepted and the parts are taking effect: what the sweep finishes
    /// if the function that took the last acceptance stopped half way.
    pub fn settling(&self) -> bool {
        self.state == BatchState::Pending && self.all_accepted()
    }

    /// Whether the batch still acts on its accounts: pending (settling included), or closed with
    /// parts still to end. While it does, none of the accounts it involves may be erased (SPEC §8).
    pub fn in_progress(&self) -> bool {
        self.state == BatchState::Pending || self.parts_to_end
    }

    /// The parts still pending.
    pub fn pending_parts(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(|part| part.state == State::Pending)
    }

    /// The holders only told, each once, whatever the number of their services.
    pub fn informed(&self) -> Vec<AccountId> {
        let all: BTreeSet<&AccountId> = self.parts.iter().flat_map(|part| &part.informed).filter(|account| !self.is_party(account)).collect();
        all.into_iter().cloned().collect()
    }

    /// The parts that concern `account` as a holder only told: those it is told about.
    pub fn parts_of_informed(&self, account: &AccountId) -> Vec<&Part> {
        self.parts.iter().filter(|part| part.informed.contains(account)).collect()
    }

    /// The requester, a party, or a holder told about one of its parts.
    pub fn involves(&self, account: &AccountId) -> bool {
        &self.requested_by == account || self.is_party(account) || self.parts.iter().any(|part| &part.from == account || part.informed.contains(account))
    }

    /// Every account the batch concerns, without repeats: they all see it in their list.
    pub fn involved(&self) -> Vec<AccountId> {
        let mut all: BTreeSet<AccountId> = self.parties.iter().map(|p| p.account.clone()).collect();
        all.insert(self.requested_by.clone());
        all.extend(self.parts.iter().flat_map(|part| std::iter::once(&part.from).chain(&part.informed)).cloned());
        all.into_iter().collect()
    }

    /// From when the batch counts as one unaccepted request of its requester to its new
    /// contact (SPEC §2's limit; one batch counts once), as `ContactChange::unaccepted_from`.
    pub fn unaccepted_from(&self) -> Option<OffsetDateTime> {
        let accepted_by_new_contact = self.history.iter().any(|entry| entry.event == HistoryEvent::Accepted && entry.by.as_ref() == Some(&self.to));
        if self.to == self.requested_by || accepted_by_new_contact {
            return None;
        }
        match self.state {
            BatchState::Pending | BatchState::Expired => Some(self.expires_at),
            BatchState::Refused | BatchState::Cancelled => self.closed_at,
            BatchState::Done | BatchState::PartlyDone | BatchState::Failed => None,
        }
    }

    /// Whether the sweep should finish its parts: every party accepted at least `grace` ago
    /// (the function that took the last acceptance had the time to apply them).
    pub fn stalled(&self, now: OffsetDateTime, grace: time::Duration) -> bool {
        self.settling() && self.history.iter().rev().find(|entry| entry.event == HistoryEvent::Accepted).is_none_or(|last| last.at + grace <= now)
    }

    /// The part of `request`, if it is one of this batch's.
    pub fn part(&self, request: RequestId) -> Option<&Part> {
        self.parts.iter().find(|part| part.request == request)
    }

    /// The parts `account` may see: all of them for the requester and the parties; otherwise
    /// those it was told about or held a role of, and those of `its_services`.
    pub fn parts_seen_by(&self, account: &AccountId, its_services: &BTreeSet<ServiceName>) -> Vec<&Part> {
        if &self.requested_by == account || self.is_party(account) {
            return self.parts.iter().collect();
        }
        self.parts.iter().filter(|part| &part.from == account || part.informed.contains(account) || its_services.contains(&part.service)).collect()
    }

    /// What the batch's event says of it as it stands.
    pub fn fact(&self) -> Fact {
        let facts = BatchFacts {
            batch: self.id,
            roles: self.roles.clone(),
            to: self.to.clone(),
            requester: self.requested_by.clone(),
            state: self.state,
            requests: self.parts.iter().map(|part| part.request).collect(),
        };
        match self.state {
            BatchState::Pending => Fact::BatchRequested(facts),
            _ => Fact::BatchClosed(facts),
        }
    }

    /// `BatchStep::Settle`: every party accepted; each pending part takes its outcome, and the
    /// batch closes once none is left pending.
    fn settle(&mut self, outcomes: Vec<(RequestId, State, Option<FailReason>)>, at: OffsetDateTime) -> Result<(), LifecycleError> {
        if !self.all_accepted() {
            return Err(LifecycleError::StillAwaited);
        }
        for (request, state, reason) in outcomes {
            if let Some(part) = self.parts.iter_mut().find(|part| part.request == request && part.state == State::Pending)
                && matches!(state, State::Done | State::Failed | State::Cancelled)
            {
                part.state = state;
                part.reason = reason.filter(|_| state == State::Failed);
            }
        }
        if self.pending_parts().next().is_none() {
            let state = BatchState::of_outcomes(&self.parts.iter().map(|part| part.state).collect::<Vec<_>>());
            self.record(at, if state == BatchState::Done { HistoryEvent::Done } else { HistoryEvent::Failed }, None, None);
            self.close(state, at);
        }
        Ok(())
    }

    /// `BatchStep::PartCancelled`: the part is `cancelled`; a batch left with no part to take
    /// effect is `cancelled` too, and one whose other parts are all settled closes.
    fn part_cancelled(&mut self, request: RequestId, at: OffsetDateTime) -> Result<(), LifecycleError> {
        let part = self.parts.iter_mut().find(|part| part.request == request).ok_or(LifecycleError::NotAPart)?;
        if part.state != State::Pending {
            return Err(LifecycleError::NotPending(part.state));
        }
        part.state = State::Cancelled;
        if self.parts.iter().all(|part| part.state == State::Cancelled) {
            self.record(at, HistoryEvent::Cancelled, None, None);
            self.close(BatchState::Cancelled, at);
        } else if self.all_accepted() {
            self.settle(Vec::new(), at)?;
        }
        Ok(())
    }

    /// The steps a batch shares with a request, on this batch.
    fn deciding(&mut self) -> Deciding<'_> {
        Deciding {
            parties: &mut self.parties,
            history: &mut self.history,
            outbox: &mut self.outbox,
            last_resent_at: &mut self.last_resent_at,
            expires_at: self.expires_at,
        }
    }

    /// Ends the batch in `state`: every code stops working, every part still pending ends
    /// with it, and each party and each holder told is owed one mail with the outcome per
    /// service (SPEC §4).
    fn close(&mut self, state: BatchState, at: OffsetDateTime) {
        self.state = state;
        self.closed_at = Some(at);
        for party in &mut self.parties {
            party.token = None;
        }
        if let Some(part_state) = state.for_pending_parts() {
            for part in self.parts.iter_mut().filter(|part| part.state == State::Pending) {
                part.state = part_state;
                self.parts_to_end = true;
            }
        }
        let mut recipients: Vec<AccountId> = self.parties.iter().map(|p| p.account.clone()).collect();
        recipients.extend(self.informed());
        self.outbox.extend(recipients.into_iter().map(|to| Letter { to, kind: LetterKind::Closed }));
        self.events.push(Occurrence { at, fact: self.fact() });
    }

    fn record(&mut self, at: OffsetDateTime, event: HistoryEvent, by: Option<AccountId>, to: Option<AccountId>) {
        self.history.push(HistoryEntry { at, event, by, to });
    }
}

impl Decision for Batch {
    fn parties(&self) -> &[Party] {
        &self.parties
    }

    fn history(&self) -> &[HistoryEntry] {
        &self.history
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Contacts, Role, Step, Token, rules};
    use time::Duration;

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    fn t0() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn service(name: &str) -> ServiceName {
        ServiceName::parse(name).unwrap()
    }

    /// Admin aa1 moves tech to nn1 on three services whose tech holders are tt1, tt1 and tt2.
    fn opened_by(to: &str) -> (Batch, Vec<ContactChange>) {
        let plans = [("a.com", "tt1-ovh"), ("b.com", "tt1-ovh"), ("c.com", "tt2-ovh")]
            .into_iter()
            .map(|(name, tech)| {
                let contacts = Contacts { admin: id("aa1-ovh"), tech: id(tech), billing: id("bb1-ovh") };
                (service(name), rules::plan(&contacts, &id("aa1-ovh"), &[(Role::Tech, id(to))]).unwrap().remove(0))
            })
            .collect();
        Batch::open(plans, id("aa1-ovh"), Roles::new(vec![Role::Tech]).unwrap(), id(to), Zone::Eu, t0(), Duration::days(7)).unwrap()
    }

    fn opened() -> (Batch, Vec<ContactChange>) {
        opened_by("nn1-ovh")
    }

    /// As the mailer does: a code of the current round for every awaited party.
    fn issue(batch: &mut Batch) -> Vec<(AccountId, Token)> {
        let awaited: Vec<AccountId> = batch.awaiting().cloned().collect();
        awaited
            .into_iter()
            .map(|party| {
                let token = Token::generate();
                batch.step(BatchStep::Issue { party: party.clone(), round: batch.round_of(&party), hash: token.hash() }, t0()).unwrap();
                (party, token)
            })
            .collect()
    }

    fn accepted_by_all() -> Batch {
        let (mut batch, _) = opened();
        for party in ["aa1-ovh", "nn1-ovh"] {
            batch.step(BatchStep::Accept { party: id(party) }, t0()).unwrap();
        }
        batch.outbox.clear();
        batch
    }

    fn letters(batch: &Batch) -> Vec<(&str, LetterKind)> {
        batch.outbox.iter().map(|letter| (letter.to.as_str(), letter.kind)).collect()
    }

    #[test]
    fn a_batch_owes_each_party_one_code_and_each_holder_told_one_notice_and_its_parts_owe_nothing() {
        let (batch, parts) = opened();
        assert_eq!(batch.state, BatchState::Pending);
        assert_eq!(batch.parties.iter().map(|p| p.account.as_str()).collect::<Vec<_>>(), ["aa1-ovh", "nn1-ovh"]);
        assert_eq!(
            letters(&batch),
            [
                ("aa1-ovh", LetterKind::Confirm { round: 0 }),
                ("nn1-ovh", LetterKind::Confirm { round: 0 }),
                ("tt1-ovh", LetterKind::Informed),
                ("tt2-ovh", LetterKind::Informed)
            ],
            "tt1 holds two of the services and is told once"
        );
        assert!(matches!(&batch.events[0].fact, Fact::BatchRequested(facts) if facts.requests.len() == 3 && facts.batch == batch.id));
        assert_eq!(parts.len(), 3);
        for (part, request) in batch.parts.iter().zip(&parts) {
            assert_eq!((request.batch, request.id, &request.service, request.state), (Some(batch.id), part.request, &part.service, State::Pending));
            assert!(request.outbox.is_empty(), "a part owes no mail of its own");
            assert!(request.parties.iter().all(|p| p.token.is_none()));
            assert_eq!(request.expires_at, batch.expires_at);
        }
        assert_eq!(batch.parts_of_informed(&id("tt1-ovh")).len(), 2);
        assert_eq!(batch.involved().len(), 4);
    }

    #[test]
    fn an_admin_moving_a_role_to_itself_is_the_only_party() {
        let (batch, _) = opened_by("aa1-ovh");
        assert_eq!(batch.parties.len(), 1);
        assert_eq!(batch.outbox.iter().filter(|l| l.kind.round().is_some()).count(), 1);
    }

    #[test]
    fn a_plan_with_other_parties_or_no_service_at_all_opens_no_batch() {
        let contacts = Contacts { admin: id("aa1-ovh"), tech: id("tt1-ovh"), billing: id("bb1-ovh") };
        let plan = rules::plan(&contacts, &id("aa1-ovh"), &[(Role::Tech, id("xx1-ovh"))]).unwrap().remove(0);
        let tech = Roles::new(vec![Role::Tech]).unwrap();
        let other = Batch::open(vec![(service("a.com"), plan)], id("aa1-ovh"), tech.clone(), id("nn1-ovh"), Zone::Eu, t0(), Duration::days(7));
        assert_eq!(other.unwrap_err(), BatchError::OtherParties(service("a.com")));
        assert_eq!(Batch::open(vec![], id("aa1-ovh"), tech, id("nn1-ovh"), Zone::Eu, t0(), Duration::days(7)).unwrap_err(), BatchError::Size);
    }

    #[test]
    fn once_every_party_accepted_the_parts_decide_done_partly_done_or_failed() {
        let cases = [
            ([State::Done, State::Done, State::Done], BatchState::Done),
            ([State::Done, State::Failed, State::Done], BatchState::PartlyDone),
            ([State::Failed, State::Failed, State::Failed], BatchState::Failed),
            ([State::Cancelled, State::Done, State::Done], BatchState::PartlyDone),
        ];
        for (outcomes, expected) in cases {
            let mut batch = accepted_by_all();
            assert!(batch.settling());
            let outcomes: Vec<_> = batch
                .parts
                .iter()
                .zip(outcomes)
                .map(|(part, state)| (part.request, state, (state == State::Failed).then_some(FailReason::HoldersChanged)))
                .collect();
            let (first, rest) = outcomes.split_at(1);
            batch.step(BatchStep::Settle { outcomes: first.to_vec() }, t0()).unwrap();
            assert_eq!(batch.state, BatchState::Pending, "two parts still pending");
            batch.step(BatchStep::Settle { outcomes: rest.to_vec() }, t0() + Duration::days(8)).unwrap();
            assert_eq!(batch.state, expected, "{outcomes:?}");
            assert!(batch.parts.iter().all(|part| part.reason.is_some() == (part.state == State::Failed)));
            assert_eq!(
                letters(&batch),
                [("aa1-ovh", LetterKind::Closed), ("nn1-ovh", LetterKind::Closed), ("tt1-ovh", LetterKind::Closed), ("tt2-ovh", LetterKind::Closed)]
            );
            assert!(matches!(&batch.events.last().unwrap().fact, Fact::BatchClosed(facts) if facts.state == expected));
        }
    }

    #[test]
    fn a_settling_batch_outlives_its_expiry_and_takes_no_other_step() {
        let mut batch = accepted_by_all();
        assert!(!batch.observe(t0() + Duration::days(8)), "its parts decide, not the clock");
        let requester = id("aa1-ovh");
        assert_eq!(batch.step(BatchStep::Cancel { by: requester.clone() }, t0()), Err(LifecycleError::TakingEffect));
        assert_eq!(batch.step(BatchStep::Expire, t0()), Err(LifecycleError::TakingEffect));
        assert_eq!(
            batch.step(BatchStep::Resend { by: requester, policy: ResendPolicy { cooldown: Duration::ZERO, limit: 5 } }, t0()),
            Err(LifecycleError::TakingEffect)
        );
    }

    #[test]
    fn one_refusal_refuses_the_batch_and_every_part_with_it() {
        let (mut batch, _) = opened();
        batch.outbox.clear();
        batch.step(BatchStep::Accept { party: id("aa1-ovh") }, t0()).unwrap();
        batch.step(BatchStep::Refuse { party: id("nn1-ovh") }, t0()).unwrap();
        assert_eq!(batch.state, BatchState::Refused);
        assert!(batch.parts.iter().all(|part| part.state == State::Refused));
        assert_eq!(letters(&batch).len(), 4, "each party and each holder told, once");
        assert_eq!(batch.step(BatchStep::Accept { party: id("nn1-ovh") }, t0()), Err(LifecycleError::BatchNotPending(BatchState::Refused)));
    }

    #[test]
    fn a_batch_closed_over_pending_parts_owes_their_ending_and_one_settled_by_them_does_not() {
        let (mut refused, _) = opened();
        refused.step(BatchStep::Refuse { party: id("nn1-ovh") }, t0()).unwrap();
        assert!(refused.parts_to_end, "its parts' requests are still pending");
        refused.step(BatchStep::PartsEnded, t0()).unwrap();
        assert!(!refused.parts_to_end);
        let (mut pending, _) = opened();
        assert!(pending.step(BatchStep::PartsEnded, t0()).is_err(), "a pending batch's parts are not ended");
        let mut settled = accepted_by_all();
        let outcomes = settled.parts.iter().map(|part| (part.request, State::Done, None)).collect();
        settled.step(BatchStep::Settle { outcomes }, t0()).unwrap();
        assert_eq!((settled.state, settled.parts_to_end), (BatchState::Done, false));
    }

    #[test]
    fn only_the_requester_cancels_the_batch() {
        let (mut batch, _) = opened();
        assert_eq!(batch.step(BatchStep::Cancel { by: id("nn1-ovh") }, t0()), Err(LifecycleError::NotTheRequester));
        batch.step(BatchStep::Cancel { by: id("aa1-ovh") }, t0()).unwrap();
        assert_eq!(batch.state, BatchState::Cancelled);
        assert!(batch.parts.iter().all(|part| part.state == State::Cancelled));
    }

    #[test]
    fn a_pending_batch_expires_at_its_hour_with_its_parts() {
        let (mut batch, _) = opened();
        assert!(!batch.observe(t0() + Duration::days(6)));
        assert!(batch.observe(t0() + Duration::days(7)));
        assert_eq!((batch.state, batch.closed_at), (BatchState::Expired, Some(batch.expires_at)));
        assert!(batch.parts.iter().all(|part| part.state == State::Expired));
        assert_eq!(batch.step(BatchStep::Accept { party: id("aa1-ovh") }, t0()), Err(LifecycleError::Expired));
    }

    #[test]
    fn a_code_is_one_per_party_for_the_whole_batch_and_a_resend_replaces_it() {
        let (mut batch, _) = opened();
        let tokens = issue(&mut batch);
        for (party, token) in &tokens {
            assert_eq!(batch.party_holding(token), Some(party));
        }
        batch.outbox.clear();
        batch.step(BatchStep::Resend { by: id("nn1-ovh"), policy: ResendPolicy { cooldown: Duration::seconds(60), limit: 5 } }, t0()).unwrap();
        assert!(tokens.iter().all(|(_, token)| batch.party_holding(token).is_none()), "the old codes stop working");
        assert_eq!(letters(&batch), [("aa1-ovh", LetterKind::Confirm { round: 1 }), ("nn1-ovh", LetterKind::Confirm { round: 1 })]);
        let stale = BatchStep::Issue { party: id("aa1-ovh"), round: 0, hash: Token::generate().hash() };
        assert_eq!(batch.step(stale, t0()), Err(LifecycleError::Superseded));
        let again = BatchStep::Resend { by: id("nn1-ovh"), policy: ResendPolicy { cooldown: Duration::seconds(60), limit: 5 } };
        assert_eq!(batch.step(again, t0() + Duration::seconds(30)), Err(LifecycleError::TooSoon { retry_after: 30 }));
    }

    #[test]
    fn a_part_cancelled_by_its_services_admin_leaves_the_others_and_the_last_one_cancels_the_batch() {
        let (mut batch, _) = opened();
        let requests: Vec<RequestId> = batch.parts.iter().map(|part| part.request).collect();
        batch.step(BatchStep::PartCancelled { request: requests[0] }, t0()).unwrap();
        assert_eq!((batch.state, batch.parts[0].state, batch.parts[1].state), (BatchState::Pending, State::Cancelled, State::Pending));
        assert_eq!(batch.step(BatchStep::PartCancelled { request: requests[0] }, t0()), Err(LifecycleError::NotPending(State::Cancelled)));
        batch.step(BatchStep::PartCancelled { request: requests[1] }, t0()).unwrap();
        batch.step(BatchStep::PartCancelled { request: requests[2] }, t0()).unwrap();
        assert_eq!(batch.state, BatchState::Cancelled);

        let mut settling = accepted_by_all();
        let requests: Vec<RequestId> = settling.parts.iter().map(|part| part.request).collect();
        let done = |request| (request, State::Done, None);
        settling.step(BatchStep::Settle { outcomes: vec![done(requests[0]), done(requests[1])] }, t0()).unwrap();
        settling.step(BatchStep::PartCancelled { request: requests[2] }, t0()).unwrap();
        assert_eq!(settling.state, BatchState::PartlyDone, "the last pending part cancelled: the batch closes");
    }

    #[test]
    fn a_part_is_answered_with_its_batch_and_does_not_expire_on_its_own() {
        let (_, mut parts) = opened();
        let mut part = parts.remove(0);
        let policy = ResendPolicy { cooldown: Duration::ZERO, limit: 5 };
        for step in [
            Step::Refuse { party: id("nn1-ovh") },
            Step::Resend { by: id("nn1-ovh"), policy },
            Step::Remind,
            Step::Cancel { by: id("aa1-ovh"), by_service_admin: false },
            Step::Issue { party: id("nn1-ovh"), round: 0, hash: Token::generate().hash() },
        ] {
            assert_eq!(part.step(step.clone(), t0()), Err(LifecycleError::PartOfBatch), "{step:?}");
        }
        let late = t0() + Duration::days(8);
        assert!(!part.observe(late), "a part expires with its batch");
        let mut cancelled = part.clone();
        cancelled.step(Step::Cancel { by: id("aa1-ovh"), by_service_admin: true }, t0()).unwrap();
        assert_eq!((cancelled.state, cancelled.outbox.len()), (State::Cancelled, 0));
        let mut ended = part.clone();
        ended.step(Step::EndWithBatch { state: State::Expired }, late).unwrap();
        assert_eq!((ended.state, ended.outbox.len()), (State::Expired, 0));
        assert_eq!(part.clone().step(Step::EndWithBatch { state: State::Done }, late), Err(LifecycleError::NotAPart));
        for party in ["aa1-ovh", "nn1-ovh"] {
            part.step(Step::Accept { party: id(party) }, late).unwrap();
        }
        part.step(Step::Complete, late).unwrap();
        assert_eq!((part.state, part.outbox.len()), (State::Done, 0), "taken effect past the hour, with no mail of its own");
        assert!(matches!(part.events.last().unwrap().fact, Fact::ContactChangeDone(_)), "its event still says what became of its service");
    }
}
