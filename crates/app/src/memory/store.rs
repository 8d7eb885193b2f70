//! The embedded store: every table in one mutex, so each call is atomic, as each DynamoDB
//! call is. It keeps exactly the contract of `Store` that the DynamoDB adapter keeps.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ports::{
    AccountUse, Accounts, Asking, AskingFor, Clock, Effect, Erasure, Limits, Lock, Outbox, Page, ProfileRecord, Profiles, Requests, ServiceFilter,
    ServiceRecord, Services, StoreError, SystemClock,
};
use contacts_domain::Decision;
use contacts_domain::FailReason;
use contacts_domain::{
    Account, AccountId, Batch, BatchId, ContactChange, EmailAddress, EmailStatus, Event, EventId, EventOrder, Language, MailId, MailOrder, MailStatus,
    OutboxId, PartyStatus, PendingEmail, RequestId, Retention, Role, Service, ServiceName, State, Subject, TokenHash,
};

mod batches;
mod purge;

pub struct MemoryStore {
    tables: Mutex<Tables>,
    /// Enforces expiry in `save`, as the DynamoDB store's conditions do, and retention in reads.
    clock: Arc<dyn Clock>,
    /// How long closed requests and batches are kept (SPEC §8): reads leave out what is past
    /// it, `Purge::purge` deletes it.
    retention: Retention,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self { tables: Mutex::default(), clock: Arc::new(SystemClock), retention: Retention::DEFAULT }
    }
}

#[derive(Default, Debug)]
struct Tables {
    accounts: HashMap<AccountId, Account>,
    services: BTreeMap<ServiceName, Service>,
    locks: HashMap<(ServiceName, Role), Lock>,
    /// Stored without their parties' tokens, which live in `tokens` (as DynamoDB's token items).
    requests: BTreeMap<RequestId, ContactChange>,
    /// (request, party) -> (round, hash) of its latest issued code.
    tokens: HashMap<(RequestId, AccountId), (u32, TokenHash)>,
    /// (requester, new contact) -> request or batch -> from when it counts as unaccepted.
    unaccepted: HashMap<(AccountId, AccountId), BTreeMap<Subject, OffsetDateTime>>,
    /// Stored without their parties' tokens, which live in `batch_tokens`.
    batches: BTreeMap<BatchId, Batch>,
    /// (batch, party) -> (round, hash) of its latest issued code.
    batch_tokens: HashMap<(BatchId, AccountId), (u32, TokenHash)>,
    /// attempter -> (window start, wrong codes in it): only the latest window is kept.
    attempts: HashMap<String, (OffsetDateTime, u32)>,
    /// Per account, its address change in progress (the DynamoDB account item's extra attributes).
    email_changes: HashMap<AccountId, EmailChange>,
    /// The outbox: every posted mail, settled or not (DynamoDB's TTL forgets settled ones).
    mails: Queue<MailId>,
    /// The events' outbox: every committed event, published or not.
    events: Queue<EventId>,
}

/// One outbox: every item posted, settled or not, with where it stands.
struct Queue<I: OutboxId>(BTreeMap<I, (I::Order, I::Status)>);

impl<I: OutboxId> std::fmt::Debug for Queue<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl<I: OutboxId> Default for Queue<I> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<I: OutboxId> Queue<I> {
    fn post(&mut self, order: I::Order) {
        self.0.insert(I::of(&order).clone(), (order, I::PENDING));
    }

    fn claim(&mut self, id: &I, now: OffsetDateTime, until: OffsetDateTime) -> Option<I::Order> {
        let (order, status) = self.0.get_mut(id).filter(|(_, status)| I::claimable(*status, now))?;
        *I::attempts(order) += 1;
        *status = I::held(until);
        Some(order.clone())
    }

    fn settle(&mut self, id: &I, status: I::Status) {
        if let Some((_, stored)) = self.0.get_mut(id) {
            *stored = status;
        }
    }

    fn unsent(&self, posted_before: OffsetDateTime, limit: usize) -> Vec<I> {
        let mut unsent: Vec<(OffsetDateTime, &I)> = self
            .0
            .iter()
            .filter(|(_, (order, status))| !I::is_settled(*status) && I::posted_at(order) <= posted_before)
            .map(|(id, (order, _))| (I::posted_at(order), id))
            .collect();
        unsent.sort();
        unsent.into_iter().take(limit).map(|(_, id)| id.clone()).collect()
    }
}

/// The outbox of `Tables` that holds this kind of item.
trait Queued: OutboxId {
    fn queue(tables: &mut Tables) -> &mut Queue<Self>;
}

impl Queued for MailId {
    fn queue(tables: &mut Tables) -> &mut Queue<Self> {
        &mut tables.mails
    }
}

impl Queued for EventId {
    fn queue(tables: &mut Tables) -> &mut Queue<Self> {
        &mut tables.events
    }
}

#[async_trait]
impl<I: Queued> Outbox<I> for MemoryStore {
    async fn claim(&self, id: &I, now: OffsetDateTime, until: OffsetDateTime) -> Result<Option<I::Order>, StoreError> {
        Ok(I::queue(&mut self.tables()).claim(id, now, until))
    }

    async fn settle(&self, id: &I, status: I::Status) -> Result<(), StoreError> {
        I::queue(&mut self.tables()).settle(id, status);
        Ok(())
    }

    async fn unsent(&self, posted_before: OffsetDateTime, limit: usize) -> Result<Vec<I>, StoreError> {
        Ok(I::queue(&mut self.tables()).unsent(posted_before, limit))
    }
}

impl Tables {
    /// Posts the letters `change` owes, as its save at `change.version` does.
    fn post(&mut self, change: &ContactChange, now: OffsetDateTime) {
        for (index, letter) in change.outbox.iter().enumerate() {
            let id = MailId::of_request(change.id, change.version, u16::try_from(index).expect("a save owes a handful of mails"));
            self.mails.post(MailOrder { id, letter: letter.clone(), posted_at: now, attempts: 0 });
        }
        for (index, occurrence) in change.events.iter().enumerate() {
            let id = EventId::of_request(change.id, change.version, u16::try_from(index).expect("a save owes an event or two"));
            self.commit_event(Event::new(id, occurrence.clone()), now);
        }
    }

    /// `Services::service`'s answer.
    fn service_record(&self, name: &ServiceName) -> Option<ServiceRecord> {
        self.services.get(name).map(|service| ServiceRecord {
            service: service.clone(),
            locks: Role::ALL.iter().filter_map(|role| self.locks.get(&(name.clone(), *role)).cloned()).collect(),
        })
    }

    /// `Limits::wrong_attempts`'s answer.
    fn attempts_in(&self, attempter: &str, window_start: OffsetDateTime) -> u32 {
        self.attempts.get(attempter).filter(|(start, _)| *start == window_start).map_or(0, |(_, count)| *count)
    }

    fn commit_event(&mut self, event: Event, now: OffsetDateTime) {
        self.events.post(EventOrder { event, posted_at: now, attempts: 0 });
    }

    /// `UnknownAccount` for the first of `accounts` that is not an account. (An erasure here is
    /// one step under the lock: no account is ever seen half erased.)
    fn check_known<'a>(&self, mut accounts: impl Iterator<Item = &'a AccountId>) -> Result<(), StoreError> {
        match accounts.find(|id| !self.accounts.contains_key(*id)) {
            Some(unknown) => Err(StoreError::UnknownAccount(unknown.clone())),
            None => Ok(()),
        }
    }

    /// What keeps `id` from being erased, if anything (`Accounts::erase_account`): a role (the
    /// first service by name), a pending request (the oldest), a batch in progress (the oldest).
    fn use_of(&self, id: &AccountId) -> Option<AccountUse> {
        if let Some(service) = self.services.values().find(|service| !service.contacts.roles_of(id).is_empty()) {
            return Some(AccountUse::HoldsRole(service.name.clone()));
        }
        // A part of a batch is the batch's: it is found below, as DynamoDB's listings find it.
        if let Some(change) = self.requests.values().find(|c| c.batch.is_none() && c.state == State::Pending && c.involves(id)) {
            return Some(AccountUse::PendingRequest(change.id));
        }
        self.batches.values().find(|batch| batch.in_progress() && batch.involves(id)).map(|batch| AccountUse::BatchInProgress(batch.id))
    }

    /// `DifferentZone` unless both of `change.must_share_zone()` exist in its zone.
    fn check_zone(&self, change: &ContactChange) -> Result<(), StoreError> {
        match change.must_share_zone().into_iter().find(|id| self.accounts.get(*id).is_none_or(|a| a.zone != change.zone)) {
            Some(outside) => Err(StoreError::DifferentZone(outside.clone())),
            None => Ok(()),
        }
    }

    /// `Requests::save`, under the lock: everything is checked before anything is written.
    fn save(&mut self, change: &ContactChange, effect: &Effect, now: OffsetDateTime) -> Result<(), StoreError> {
        let stored = self.requests.get(&change.id).ok_or(StoreError::Stale)?;
        if stored.version + 1 != change.version {
            return Err(StoreError::Stale);
        }
        // A part expires with its batch, and takes effect past the hour if its batch was accepted in time.
        if stored.state == State::Pending && now >= stored.expires_at && change.state != State::Expired && stored.batch.is_none() {
            return Err(StoreError::Expired);
        }
        if let Effect::Apply { require_good_standing } = effect {
            let service = self.services.get(&change.service).ok_or(StoreError::HoldersChanged)?;
            match change.obstacle(&service.contacts) {
                Some(FailReason::RequesterLostRole) => return Err(StoreError::RequesterLostRole),
                Some(_) => return Err(StoreError::HoldersChanged),
                None => {}
            }
            for account in require_good_standing {
                if !self.accounts.get(account).is_some_and(Account::in_good_standing) {
                    return Err(StoreError::NotInGoodStanding(account.clone()));
                }
            }
            self.check_zone(change)?;
            let service = self.services.get_mut(&change.service).expect("checked above");
            for role in change.roles.iter() {
                service.contacts.set(role, change.to.clone());
            }
        }
        if *effect != Effect::Nothing {
            for role in change.roles.iter() {
                let key = (change.service.clone(), role);
                if self.locks.get(&key).is_some_and(|lock| lock.request == change.id) {
                    self.locks.remove(&key);
                }
            }
        }
        self.requests.insert(change.id, stored_form(change));
        self.record_unaccepted(change);
        self.post(change, now);
        Ok(())
    }

    fn record_unaccepted(&mut self, change: &ContactChange) {
        let key = (change.requested_by.clone(), change.to.clone());
        self.record_unaccepted_of(key, Subject::Request(change.id), change.unaccepted_from());
    }

    fn record_unaccepted_of(&mut self, key: (AccountId, AccountId), of: Subject, from: Option<OffsetDateTime>) {
        match from {
            Some(at) => {
                self.unaccepted.entry(key).or_default().insert(of, at);
            }
            None => {
                if let Some(records) = self.unaccepted.get_mut(&key) {
                    records.remove(&of);
                }
            }
        }
    }
}

/// A request as a store keeps it: what it owed is posted, not kept with it.
fn stored_form(change: &ContactChange) -> ContactChange {
    let mut stored = ContactChange { outbox: Vec::new(), events: Vec::new(), ..change.clone() };
    stored.parties.iter_mut().for_each(|party| party.token = None);
    stored
}

#[derive(Default, Debug)]
struct EmailChange {
    pending: Option<PendingEmail>,
    asks: Vec<OffsetDateTime>,
    revision: u64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells expiry by `clock` (tests move time; the local server keeps the system clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Keeps closed requests and batches for `retention` (the default: [`Retention::DEFAULT`]).
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Whether a request or batch closed at `closed_at` is still kept now.
    fn keeps(&self, closed_at: Option<OffsetDateTime>) -> bool {
        self.retention.keeps(closed_at, self.clock.now())
    }

    /// Everything the store holds, as text: what SPEC §8's tests search for a name, an address or
    /// a request that should be gone (the DynamoDB store's equivalent is a `Scan` of its table).
    pub fn contents(&self) -> String {
        format!("{:#?}", *self.tables())
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-applied write behind: every
        // write below checks everything first and mutates last. So a poisoned lock is safe.
        self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Accounts for MemoryStore {
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        Ok(self.tables().accounts.get(id).cloned())
    }

    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, StoreError> {
        let tables = self.tables();
        Ok(ids.iter().filter_map(|id| tables.accounts.get(id).cloned()).collect())
    }

    async fn accounts_with_email(&self, email: &EmailAddress, limit: usize) -> Result<Vec<AccountId>, StoreError> {
        let key = email.lookup_key();
        let tables = self.tables();
        let mut found: Vec<AccountId> = tables.accounts.values().filter(|a| a.email.lookup_key() == key).map(|a| a.id.clone()).collect();
        found.sort();
        found.truncate(limit);
        Ok(found)
    }

    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        let mut tables = self.tables();
        let mut account = account.clone();
        if tables.accounts.get(&account.id).is_some_and(|old| old.email == account.email && old.email_status == EmailStatus::Bouncing) {
            account.email_status = EmailStatus::Bouncing; // only a new address clears the mark
        }
        // As DynamoDB's PutItem replaces the whole account item.
        tables.email_changes.remove(&account.id);
        tables.accounts.insert(account.id.clone(), account);
        Ok(())
    }

    async fn erase_account(&self, id: &AccountId, event: &Event) -> Result<Erasure, StoreError> {
        let posted_at = self.clock.now();
        let mut tables = self.tables();
        if !tables.accounts.contains_key(id) {
            return Ok(Erasure::Unknown);
        }
        if let Some(because) = tables.use_of(id) {
            return Ok(Erasure::InUse(because));
        }
        tables.accounts.remove(id);
        // The pending change, and with it the codes that would find the account.
        tables.email_changes.remove(id);
        tables.commit_event(event.clone(), posted_at);
        Ok(Erasure::Erased)
    }

    async fn mark_bouncing(&self, id: &AccountId, email: &EmailAddress) -> Result<bool, StoreError> {
        match self.tables().accounts.get_mut(id) {
            Some(account) if account.email == *email => {
                account.email_status = EmailStatus::Bouncing;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[async_trait]
impl Profiles for MemoryStore {
    async fn profile(&self, id: &AccountId) -> Result<Option<ProfileRecord>, StoreError> {
        let tables = self.tables();
        let Some(account) = tables.accounts.get(id) else { return Ok(None) };
        let change = tables.email_changes.get(id);
        Ok(Some(ProfileRecord {
            account: account.clone(),
            pending_email: change.and_then(|c| c.pending.clone()),
            email_asks: change.map(|c| c.asks.clone()).unwrap_or_default(),
            revision: change.map_or(0, |c| c.revision),
        }))
    }

    async fn save_email_change(&self, record: &ProfileRecord, _gone: &[TokenHash]) -> Result<(), StoreError> {
        let mut tables = self.tables();
        if !tables.accounts.contains_key(&record.account.id) {
            return Err(StoreError::Stale);
        }
        let change = tables.email_changes.entry(record.account.id.clone()).or_default();
        if change.revision + 1 != record.revision {
            return Err(StoreError::Stale);
        }
        // The codes that are gone go with the pending change they belonged to.
        *change = EmailChange { pending: record.pending_email.clone(), asks: record.email_asks.clone(), revision: record.revision };
        Ok(())
    }

    async fn email_token(&self, hash: &TokenHash, now: OffsetDateTime) -> Result<Option<AccountId>, StoreError> {
        let tables = self.tables();
        Ok(tables
            .email_changes
            .iter()
            .find(|(_, change)| change.pending.as_ref().is_some_and(|p| p.awaiting.hashes().contains(hash) && p.is_live(now)))
            .map(|(id, _)| id.clone()))
    }

    async fn verify_email(&self, read: &ProfileRecord, now: OffsetDateTime, event: &Event) -> Result<Account, StoreError> {
        let posted_at = self.clock.now();
        let mut tables = self.tables();
        let id = &read.account.id;
        if !tables.accounts.contains_key(id) {
            return Err(StoreError::Stale);
        }
        let Some(change) = tables.email_changes.get_mut(id).filter(|c| c.revision == read.revision) else { return Err(StoreError::Stale) };
        let Some(pending) = change.pending.take_if(|p| p.is_live(now)) else { return Err(StoreError::Stale) };
        change.revision += 1;
        let stored = tables.accounts.get_mut(id).expect("checked above");
        stored.email = pending.email;
        stored.email_status = EmailStatus::Ok;
        let verified = stored.clone();
        tables.commit_event(event.clone(), posted_at);
        Ok(verified)
    }

    async fn set_language(&self, id: &AccountId, language: Language, event: &Event) -> Result<Option<ProfileRecord>, StoreError> {
        let posted_at = self.clock.now();
        {
            let mut tables = self.tables();
            match tables.accounts.get_mut(id) {
                Some(account) if account.language == language => {}
                Some(account) => {
                    account.language = language;
                    tables.commit_event(event.clone(), posted_at);
                }
                None => return Ok(None),
            }
        }
        self.profile(id).await
    }
}

#[async_trait]
impl Services for MemoryStore {
    async fn service(&self, name: &ServiceName) -> Result<Option<ServiceRecord>, StoreError> {
        Ok(self.tables().service_record(name))
    }

    async fn held_among(&self, account: &AccountId, names: &[ServiceName]) -> Result<std::collections::BTreeSet<ServiceName>, StoreError> {
        let tables = self.tables();
        let holds = |name: &&ServiceName| tables.services.get(*name).is_some_and(|service| !service.contacts.roles_of(account).is_empty());
        Ok(names.iter().filter(holds).cloned().collect())
    }

    async fn put_service(&self, service: &Service) -> Result<(), StoreError> {
        let mut tables = self.tables();
        let old = tables.services.get(&service.name).map(|old| old.contacts.holders()).unwrap_or_default();
        let holders = service.contacts.holders();
        tables.check_known(holders.iter().filter(|holder| !old.contains(holder)))?;
        tables.services.insert(service.name.clone(), service.clone());
        Ok(())
    }

    async fn services_of(&self, account: &AccountId, filter: &ServiceFilter, after: Option<&ServiceName>, limit: usize) -> Result<Page<Service>, StoreError> {
        let tables = self.tables();
        let mut matching = tables
            .services
            .values()
            .filter(|service| after.is_none_or(|after| &service.name > after))
            .filter(|service| !service.contacts.roles_of(account).is_empty() && filter.takes(service));
        let items: Vec<Service> = matching.by_ref().take(limit).cloned().collect();
        Ok(Page { items, more: matching.next().is_some() })
    }
}

#[async_trait]
impl Requests for MemoryStore {
    async fn create(&self, changes: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError> {
        let mut tables = self.tables();
        for change in changes {
            for role in change.roles.iter() {
                if tables.locks.get(&(change.service.clone(), role)).is_some_and(|lock| lock.expires_at > now) {
                    return Err(StoreError::PendingExists(role));
                }
            }
        }
        let involved: Vec<AccountId> = changes.iter().flat_map(ContactChange::involved).collect();
        tables.check_known(involved.iter())?;
        for account in changes.iter().flat_map(ContactChange::must_be_in_good_standing) {
            if !tables.accounts.get(&account).is_some_and(Account::in_good_standing) {
                return Err(StoreError::NotInGoodStanding(account));
            }
        }
        for change in changes {
            tables.check_zone(change)?;
        }
        for change in changes {
            for role in change.roles.iter() {
                tables.locks.insert((change.service.clone(), role), Lock::of(change, role));
            }
            tables.requests.insert(change.id, stored_form(change));
            tables.record_unaccepted(change);
            tables.post(change, now);
        }
        Ok(())
    }

    async fn contact_change(&self, id: RequestId) -> Result<Option<ContactChange>, StoreError> {
        let tables = self.tables();
        Ok(tables.requests.get(&id).filter(|change| self.keeps(change.closed_at)).cloned().map(|mut change| {
            let rounds: Vec<u32> = change.parties.iter().map(|p| change.round_of(&p.account)).collect();
            let live = change.state == State::Pending;
            for (party, round) in change.parties.iter_mut().zip(rounds).filter(|(p, _)| live && p.status == PartyStatus::Pending) {
                party.token = tables.tokens.get(&(id, party.account.clone())).filter(|(r, _)| *r == round).map(|(_, hash)| *hash);
            }
            change
        }))
    }

    async fn contact_changes_of(&self, account: &AccountId, before: Option<RequestId>, limit: usize) -> Result<Page<ContactChange>, StoreError> {
        let tables = self.tables();
        let mut matching = tables
            .requests
            .values()
            .rev()
            .filter(|change| change.batch.is_none() && before.is_none_or(|before| change.id < before))
            .filter(|change| change.involves(account) && self.keeps(change.closed_at));
        // As DynamoDB's copies have them: without the events of their mails.
        let items: Vec<ContactChange> = matching
            .by_ref()
            .take(limit)
            .cloned()
            .map(|mut change| {
                change.history.retain(|h| !h.event.is_mail());
                change
            })
            .collect();
        Ok(Page { items, more: matching.next().is_some() })
    }

    async fn save(&self, change: &ContactChange, effect: Effect) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.tables().save(change, &effect, now)
    }

    async fn issue_token(&self, change: &ContactChange, party: &AccountId, hash: &TokenHash) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut tables = self.tables();
        let stored = tables.requests.get(&change.id).ok_or(StoreError::Stale)?;
        if stored.version != change.version || (stored.state == State::Pending && now >= stored.expires_at) {
            return Err(StoreError::Stale);
        }
        tables.tokens.insert((change.id, party.clone()), (change.round_of(party), *hash));
        Ok(())
    }

    async fn due(&self, now: OffsetDateTime, remind_before: time::Duration, limit: usize) -> Result<Vec<ContactChange>, StoreError> {
        let (oldest, horizon) = (now - crate::ports::DUE_LOOKBACK, now + remind_before);
        let tables = self.tables();
        let mut due: Vec<ContactChange> = tables
            .requests
            .values()
            // From the day of `oldest` on, as DynamoDB's day buckets.
            .filter(|c| {
                c.batch.is_none()
                    && c.state == State::Pending
                    && c.expires_at.date() >= oldest.date()
                    && c.expires_at <= horizon
                    && (c.expires_at <= now || !c.reminded())
            })
            .cloned()
            .collect();
        due.sort_by_key(|c| (c.expires_at, c.id));
        due.truncate(limit);
        for change in &mut due {
            // As DynamoDB's index has them: the tokens live elsewhere.
            change.parties.iter_mut().for_each(|party| party.token = None);
        }
        Ok(due)
    }

    async fn save_settling(&self, change: &ContactChange, id: &MailId, status: MailStatus) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut tables = self.tables();
        tables.save(change, &Effect::Nothing, now)?;
        tables.mails.settle(id, status);
        Ok(())
    }
}

#[async_trait]
impl Limits for MemoryStore {
    async fn unaccepted(&self, requester: &AccountId, to: &AccountId) -> Result<Vec<OffsetDateTime>, StoreError> {
        let tables = self.tables();
        Ok(tables.unaccepted.get(&(requester.clone(), to.clone())).map(|records| records.values().copied().collect()).unwrap_or_default())
    }

    async fn asking(&self, what: &AskingFor<'_>) -> Result<Asking, StoreError> {
        let tables = self.tables();
        let service = what.service.and_then(|name| tables.service_record(name));
        let attempts = what.attempts.map_or(0, |(attempter, window_start)| tables.attempts_in(attempter, window_start));
        let unaccepted = |requester: &AccountId, to: &AccountId| {
            tables.unaccepted.get(&(requester.clone(), to.clone())).map(|r| r.values().copied().collect()).unwrap_or_default()
        };
        Ok(Asking {
            service,
            attempts,
            accounts: what.accounts.iter().filter_map(|id| tables.accounts.get(id).cloned()).collect(),
            unaccepted: what
                .unaccepted
                .map(|(requester, towards)| towards.iter().map(|to| (to.clone(), unaccepted(requester, to))).collect())
                .unwrap_or_default(),
        })
    }

    async fn wrong_attempts(&self, attempter: &str, window_start: OffsetDateTime) -> Result<u32, StoreError> {
        Ok(self.tables().attempts_in(attempter, window_start))
    }

    async fn count_wrong_attempt(&self, attempter: &str, window_start: OffsetDateTime, _window_end: OffsetDateTime) -> Result<u32, StoreError> {
        let mut tables = self.tables();
        // Only the current window matters: older ones go, so the map holds this window's attempters.
        tables.attempts.retain(|_, (start, _)| *start >= window_start);
        let entry = tables.attempts.entry(attempter.to_owned()).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        entry.1 += 1;
        Ok(entry.1)
    }
}
