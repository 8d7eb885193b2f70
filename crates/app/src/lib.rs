//! The application: the use cases of SPEC §5, written against the ports, and what they need
//! to run anywhere.
//!
//! - [`ports`]: what the use cases need from the outside world (`Store`, `Mailer`,
//!   `Publisher`, `Clock`), and [`memory`] their twins in memory (the embedded store, the
//!   outbox that keeps what it sends, the event log);
//! - the use cases themselves ([`App`]), their errors ([`Error`]), the mailer's and the
//!   publisher's passes; the ports they are given are observed (what they commit is counted);
//! - [`mail`]: the emails, rendered in the recipient's language (templates/);
//! - [`config`]: every environment variable, read once at start; [`deadline`]: the time an
//!   invocation has left, which the use cases respect;
//! - [`seed`]: accounts and services from a file or the demo set, loaded through the use cases.
//!
//! Nothing here knows HTTP, the AWS SDK or Lambda: the crates above (`contacts-api`,
//! `contacts-aws`, `contacts-lambda`) do.

pub mod config;
pub mod deadline;
pub mod mail;
pub mod memory;
pub mod ports;
pub mod seed;

mod access;
mod batches;
mod bounces;
mod cause;
mod email;
mod erasure;
mod error;
mod events;
mod observed;
mod outbox;
mod readdress;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use time::OffsetDateTime;

pub use access::{EXPORT_LIMIT, MyData};
pub use batches::{BatchCreated, BatchSweep, BatchView, OPENING_GRACE, SETTLE_GRACE, ServiceAnswer};
pub use bounces::Bounce;
pub use cause::Cause;
pub use email::Profile;
pub use error::Error;
pub use events::{EVENTS_REDRIVE_AFTER, PUT_EVENTS_MAX, PublishReport};
pub use outbox::{Delivery, MAIL_ATTEMPTS, OUTBOX_REDRIVE_AFTER, OutboxReport};

use crate::config::Config;
use crate::ports::{AskingFor, Clock, Effect, Mailer, Page, PendingChange, Publisher, ServiceFilter, Store, StoreError};
use contacts_domain::Decision as _;
use contacts_domain::FailReason;
use contacts_domain::decision::ResendPolicy;
use contacts_domain::limits::{self, Attempter};
use contacts_domain::{
    Account, AccountId, ContactChange, ContactRef, DisplayName, EmailAddress, RequestId, Role, Service, ServiceName, State, Step, Token, rules,
};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many items a listing returns at most per page.
pub const PAGE_SIZE: usize = 50;

/// How often a write that lost a race (`StoreError::Stale`) is tried again on fresh data
/// before the caller is asked to retry.
const ATTEMPTS: usize = 8;

/// How many due requests one sweep takes at most; the next sweep takes the rest.
pub const SWEEP_LIMIT: usize = 100;

/// How many requests and batches past their retention one sweep deletes at most (each a read
/// and a transaction or a few): the table's TTL deletes most of them first, the sweep only
/// what TTL has not reached yet, and the next sweep takes the rest.
pub const PURGE_LIMIT: usize = 100;

/// The time one due request may take at most (a few store calls and mails, each bounded by
/// its timeout): the sweep takes no other one with less than this left before its deadline.
pub(crate) const SWEEP_RESERVE: std::time::Duration = std::time::Duration::from_secs(15);

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Requests it ended `expired` (their notices posted).
    pub expired: usize,
    /// Requests whose awaited parties it posted their one reminder.
    pub reminded: usize,
    /// Mails left unsent past [`OUTBOX_REDRIVE_AFTER`] that it delivered.
    pub redelivered: usize,
    /// Events left unpublished past [`EVENTS_REDRIVE_AFTER`] that it published (with a bus).
    pub republished: usize,
    /// What it did to batches.
    pub batches: BatchSweep,
    /// Requests and batches past their retention whose every item it deleted (SPEC §8: the
    /// backstop of the table's lazy TTL).
    pub purged: usize,
}

/// A service as one of its contacts sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceView {
    pub service: Service,
    pub my_roles: Vec<Role>,
    /// The live pending requests on its roles.
    pub pending: Vec<RequestId>,
    /// The display name of each account holding one of its roles (the guide's table shows
    /// "name and id"); an account the store no longer has is missing.
    pub names: BTreeMap<AccountId, DisplayName>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Refuse,
}

/// Who answers with a token: a signed-in caller (whose token it must be), or whoever
/// holds the emailed link, where the token alone authorises (`from`: the source address
/// the entry point saw, whose budget of wrong codes it spends).
#[derive(Debug, Clone, Copy)]
pub enum Answerer<'a> {
    Caller(&'a AccountId),
    LinkHolder { from: Option<IpAddr> },
}

impl Answerer<'_> {
    fn attempter(self) -> Attempter {
        match self {
            Answerer::Caller(account) => Attempter::Account(account.clone()),
            Answerer::LinkHolder { from } => Attempter::Address(from),
        }
    }
}

/// The application: the ports, the configuration and the clock.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    /// The event bus, for the functions that publish (the publisher, the sweeper) and the local
    /// server; every other one only commits events, with its store's writes.
    publisher: Option<Arc<dyn Publisher>>,
    clock: Arc<dyn Clock>,
    config: Arc<Config>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, mailer: Arc<dyn Mailer>, clock: Arc<dyn Clock>, config: Config) -> Self {
        // Observed: what the store commits and the mailer sends is counted (observed.rs).
        let (store, mailer): (Arc<dyn Store>, Arc<dyn Mailer>) = (Arc::new(observed::ObservedStore(store)), Arc::new(observed::ObservedMailer(mailer)));
        Self { store, mailer, publisher: None, clock, config: Arc::new(config) }
    }

    /// This application, publishing committed events on `publisher` (counted, as the mailer is).
    pub fn with_publisher(mut self, publisher: Arc<dyn Publisher>) -> Self {
        self.publisher = Some(Arc::new(observed::ObservedPublisher(publisher)));
        self
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ---- profile -------------------------------------------------------------------------

    // ---- services ------------------------------------------------------------------------

    /// The services where the caller holds a role that `filter` takes, by name, after `after`.
    #[tracing::instrument(skip_all, fields(account = %caller))]
    pub async fn my_services(&self, caller: &AccountId, filter: &ServiceFilter, after: Option<ServiceName>) -> Result<Page<ServiceView>> {
        let page = self.store.services_of(caller, filter, after.as_ref(), PAGE_SIZE).await?;
        // One read for the names of the whole page's holders, however many services share them.
        let names = self.names_of(page.items.iter().flat_map(|s| s.contacts.holders()).collect()).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|service| ServiceView {
                    my_roles: service.contacts.roles_of(caller),
                    names: service.contacts.holders().into_iter().filter_map(|id| names.get(&id).cloned().map(|n| (id, n))).collect(),
                    service,
                    pending: vec![],
                })
                .collect(),
            more: page.more,
        })
    }

    /// The display names of `ids`, in one read (nothing when there are none).
    async fn names_of(&self, mut ids: Vec<AccountId>) -> Result<BTreeMap<AccountId, DisplayName>> {
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        Ok(self.store.accounts(&ids).await?.into_iter().map(|a| (a.id, a.name)).collect())
    }

    #[tracing::instrument(skip_all, fields(account = %caller, service = %name))]
    pub async fn service(&self, caller: &AccountId, name: &ServiceName) -> Result<ServiceView> {
        let record = self.store.service(name).await?.filter(|r| !r.service.contacts.roles_of(caller).is_empty()).ok_or_else(no_service)?;
        let now = self.now();
        let mut pending: Vec<RequestId> = record.locks.iter().filter(|lock| lock.expires_at > now).map(|lock| lock.request).collect();
        pending.sort();
        pending.dedup();
        let names = self.names_of(record.service.contacts.holders()).await?;
        Ok(ServiceView { my_roles: record.service.contacts.roles_of(caller), service: record.service, pending, names })
    }

    // ---- requests ------------------------------------------------------------------------

    /// Asks to move each `(role, new account)` of `name`; SPEC §2 decides who confirms.
    ///
    /// Naming a new contact probes another account (SPEC §2), so nothing about it is examined
    /// before the caller may ask at all: a caller past its budget of probes is told to wait,
    /// whatever it asks; then its right to ask for these roles on the service, and whether a
    /// request is pending on one of them, are decided on the service alone, with answers that
    /// are the same whoever it names; only then is the new contact looked up and judged, and a
    /// create refused for its sake counts against the caller's budget.
    #[tracing::instrument(skip_all, fields(account = %caller, service = %name))]
    pub async fn create(&self, caller: &AccountId, name: &ServiceName, asks: Vec<(Role, ContactRef)>) -> Result<Vec<ContactChange>> {
        let now = self.now();
        let prober = limits::prober_key(caller);
        let window = limits::attempt_window(now);
        let roles: Vec<Role> = asks.iter().map(|(role, _)| *role).collect();
        // Named by customer id, the new contacts are read with the service, in one read (with
        // the requester's unaccepted requests to each: UNACCEPTED_REQUEST_LIMIT), and examined
        // after it; named by address, they are looked up only once the service let the caller ask.
        let by_id: Option<Vec<(Role, AccountId)>> = asks
            .iter()
            .map(|(role, contact)| match contact {
                ContactRef::Account(id) => Some((*role, id.clone())),
                ContactRef::Email(_) => None,
            })
            .collect();
        let (towards, strangers) = by_id.as_deref().map(|asks| towards(caller, asks)).unwrap_or_default();
        let what = AskingFor { service: Some(name), attempts: Some((&prober, window.0)), accounts: &towards, unaccepted: Some((caller, &strangers)) };
        let read = self.store.asking(&what).await?;
        limits::may_attempt(read.attempts, window.1, now).map_err(|retry_after| Error::TooManyProbes { retry_after })?;
        let record = read.service.ok_or_else(no_service)?;
        rules::right_to_ask(&record.service.contacts, caller, &roles)?;
        // The store's write checks the locks again, against a request made meanwhile.
        if let Some(lock) = record.locks.iter().find(|lock| roles.contains(&lock.role) && lock.expires_at > now) {
            return Err(Error::PendingExists(lock.role));
        }

        let opened = match by_id {
            Some(asks) => self.open(caller, record.service, asks, read.accounts, read.unaccepted, now).await,
            None => self.open_by_address(caller, record.service, asks, now).await,
        };
        match opened {
            Err(refused) if refused.probes_the_new_contact() => Err(self.count_probe(&prober, window, refused).await?),
            opened => opened,
        }
    }

    /// [`App::create`] for new contacts some of which are named by address: each address
    /// resolved to its one account, then the accounts read.
    async fn open_by_address(&self, caller: &AccountId, service: Service, asks: Vec<(Role, ContactRef)>, now: OffsetDateTime) -> Result<Vec<ContactChange>> {
        let asks = self.resolve(asks).await?;
        let (towards, strangers) = towards(caller, &asks);
        let read = self.store.asking(&AskingFor { accounts: &towards, unaccepted: Some((caller, &strangers)), ..AskingFor::default() }).await?;
        self.open(caller, service, asks, read.accounts, read.unaccepted, now).await
    }

    /// The new contacts judged by SPEC §2 (`accounts`: those of them that exist; `unaccepted`:
    /// the requester's requests to each that ended unaccepted), then the requests and the mails
    /// they owe written at once (the outbox: the mailer sends them).
    async fn open(
        &self,
        caller: &AccountId,
        service: Service,
        asks: Vec<(Role, AccountId)>,
        accounts: Vec<Account>,
        unaccepted: HashMap<AccountId, Vec<OffsetDateTime>>,
        now: OffsetDateTime,
    ) -> Result<Vec<ContactChange>> {
        let plans = rules::plan(&service.contacts, caller, &asks)?;
        let accounts: HashMap<AccountId, Account> = accounts.into_iter().map(|a| (a.id.clone(), a)).collect();
        for plan in &plans {
            plan.check(&accounts)?;
        }
        for unaccepted in unaccepted.values() {
            limits::may_ask(unaccepted, self.config.unaccepted_request_limit, now).map_err(|retry_after| Error::TooManyRequests { retry_after })?;
        }

        let mut changes: Vec<ContactChange> = plans
            .into_iter()
            .map(|plan| {
                // The change happens in its new contact's zone; the store checks the previous
                // contact is in it too, in the write that makes the request.
                let zone = accounts.get(&plan.to).map(|to| to.zone).unwrap_or_default();
                let mut change = ContactChange::open(service.name.clone(), plan, caller.clone(), zone, now, self.config.token_ttl);
                change.service_when_asked = Some(service.clone());
                change
            })
            .collect();
        self.store.create(&changes, now).await?;
        changes.iter_mut().for_each(|change| {
            change.outbox.clear();
            change.events.clear();
        });
        tracing::info!(contact_changes = ?changes.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(), service = %service.name, "contact change requested");
        Ok(changes)
    }

    /// Counts `refused`, a create refused for its new contact's sake, against the caller's
    /// budget of probes (`prober`, in `window`). The count as it is after this one decides: past
    /// the budget (creates made at once all read it below), this one too is told only to wait.
    async fn count_probe(&self, prober: &str, window: (OffsetDateTime, OffsetDateTime), refused: Error) -> Result<Error> {
        self.spend_probe(prober, window).await?;
        Ok(refused)
    }

    /// Counts one probe against `prober`'s budget in `window`: `TooManyProbes` once it is spent.
    async fn spend_probe(&self, prober: &str, (start, end): (OffsetDateTime, OffsetDateTime)) -> Result<()> {
        let counted = self.store.count_wrong_attempt(prober, start, end).await?;
        if counted > limits::ATTEMPT_LIMIT {
            return Err(Error::TooManyProbes { retry_after: limits::seconds_until(end, self.now()) });
        }
        Ok(())
    }

    /// The new contacts named by address, as accounts: each address must be exactly one
    /// account's. None and several are the same answer (`NoAccountByEmail`, one lookup each
    /// way), which [`App::create`] counts as a probe.
    async fn resolve(&self, asks: Vec<(Role, ContactRef)>) -> Result<Vec<(Role, AccountId)>> {
        let mut resolved = Vec::with_capacity(asks.len());
        let mut known: HashMap<EmailAddress, AccountId> = HashMap::new();
        for (role, contact) in asks {
            let account = match contact {
                ContactRef::Account(id) => id,
                ContactRef::Email(email) => match known.get(&email) {
                    Some(id) => id.clone(),
                    None => {
                        let mut found = self.store.accounts_with_email(&email, 2).await?;
                        if found.len() != 1 {
                            return Err(Error::NoAccountByEmail);
                        }
                        let id = found.remove(0);
                        known.insert(email, id.clone());
                        id
                    }
                },
            };
            resolved.push((role, account));
        }
        Ok(resolved)
    }

    /// One request, as its requester, a party, its previous holder or a contact of its service sees it.
    #[tracing::instrument(skip_all, fields(account = %caller, contact_change = %id))]
    pub async fn contact_change(&self, caller: &AccountId, id: RequestId) -> Result<ContactChange> {
        let mut change = self.visible_contact_change(caller, id).await?;
        change.observe(self.now());
        Ok(change)
    }

    /// The requests that involve the caller, newest first, optionally only those in `state`.
    /// A page may hold fewer than `PAGE_SIZE` matches when `state` filters some out.
    #[tracing::instrument(skip_all, fields(account = %caller))]
    pub async fn my_contact_changes(
        &self,
        caller: &AccountId,
        state: Option<State>,
        before: Option<RequestId>,
    ) -> Result<(Vec<ContactChange>, Option<RequestId>)> {
        let page = self.store.contact_changes_of(caller, before, PAGE_SIZE).await?;
        let cursor = if page.more { page.items.last().map(|c| c.id) } else { None };
        let now = self.now();
        let items = page
            .items
            .into_iter()
            .map(|mut change| {
                change.observe(now);
                change
            })
            .filter(|change| state.is_none_or(|s| change.state == s))
            .collect();
        Ok((items, cursor))
    }

    /// Accepts or refuses with a token. The last acceptance applies the change, once.
    ///
    /// Codes that match no live token are counted against the answerer alone (SPEC §3), never
    /// against the request, and only they are limited: a party's own live token works whatever
    /// anyone tried, the answerer itself or others behind its address (a NAT, a proxy).
    #[tracing::instrument(skip_all, fields(contact_change = %id))]
    pub async fn answer(&self, id: RequestId, token: &str, decision: Decision, answerer: Answerer<'_>) -> Result<ContactChange> {
        let token = &Token::parse(token);
        self.retry_on_stale(|| async move {
            let mut change = match answerer {
                Answerer::Caller(caller) => self.visible_contact_change(caller, id).await?,
                Answerer::LinkHolder { .. } => self.store.contact_change(id).await?.ok_or_else(no_contact_change)?,
            };
            let now = self.now();
            self.ensure_pending(&mut change, now).await?;
            let holder = token.as_ref().and_then(|t| change.party_holding(t)).cloned();
            let party = match (holder, answerer) {
                (Some(party), Answerer::LinkHolder { .. }) => party,
                (Some(party), Answerer::Caller(caller)) if party == *caller => party,
                _ => return Err(self.wrong_code(answerer.attempter()).await?),
            };
            let read = change.clone();
            let closes = match decision {
                Decision::Refuse => {
                    change.step(Step::Refuse { party: party.clone() }, now)?;
                    true
                }
                Decision::Accept => {
                    change.step(Step::Accept { party: party.clone() }, now)?;
                    change.all_accepted()
                }
            };
            // A closing step owes its outcome mails: the save posts them with the request.
            let saved = match (decision, closes) {
                (Decision::Refuse, _) => self.save(&mut change, Effect::ReleaseLocks).await,
                (Decision::Accept, true) => self.take_effect(read, &mut change, party, now).await,
                (Decision::Accept, false) => self.save(&mut change, Effect::Nothing).await,
            };
            unless_stale(saved, change)
        })
        .await
    }

    /// Sends the pending parties' emails again with fresh codes (minted as each mail is sent,
    /// to the party's address then). Within the request's [`ResendPolicy`]: at once, then once
    /// per cooldown, up to the limit; only a party may (the state machine says so).
    #[tracing::instrument(skip_all, fields(account = %caller, contact_change = %id))]
    pub async fn resend(&self, caller: &AccountId, id: RequestId) -> Result<ContactChange> {
        let policy = ResendPolicy { cooldown: self.config.resend_cooldown, limit: self.config.resend_limit };
        self.retry_on_stale(|| async move {
            let mut change = self.visible_contact_change(caller, id).await?;
            let now = self.now();
            self.ensure_pending(&mut change, now).await?;
            change.step(Step::Resend { by: caller.clone(), policy }, now)?;
            let saved = self.save(&mut change, Effect::Nothing).await;
            unless_stale(saved, change)
        })
        .await
    }

    /// The requester withdraws a pending request, or the service's current admin ends it.
    #[tracing::instrument(skip_all, fields(account = %caller, contact_change = %id))]
    pub async fn cancel(&self, caller: &AccountId, id: RequestId) -> Result<ContactChange> {
        let cancelled = self
            .retry_on_stale(|| async move {
                let mut change = self.visible_contact_change(caller, id).await?;
                let now = self.now();
                self.ensure_pending(&mut change, now).await?;
                let by_service_admin =
                    *caller != change.requested_by && self.store.service(&change.service).await?.is_some_and(|r| r.service.contacts.admin == *caller);
                change.step(Step::Cancel { by: caller.clone(), by_service_admin }, now)?;
                let saved = self.save(&mut change, Effect::ReleaseLocks).await;
                unless_stale(saved, change)
            })
            .await?;
        // A part cancelled by its service's admin: its batch goes on without it.
        self.part_cancelled(&cancelled).await?;
        Ok(cancelled)
    }

    /// What the emailed link's page shows to whoever holds its id: the request, whose accounts
    /// the page must not name (SPEC §4: an id reaches every contact of the service, the event
    /// bus and mail gateways), so none is read. Reading changes nothing.
    #[tracing::instrument(skip_all, fields(contact_change = %id))]
    pub async fn confirmation(&self, id: RequestId) -> Result<ContactChange> {
        let mut change = self.store.contact_change(id).await?.ok_or_else(no_contact_change)?;
        change.observe(self.now());
        Ok(change)
    }

    /// Who a pending request involves (the accounts it names), for whoever presents a live code
    /// of it on the link's page. Reading changes nothing: no token is spent, and an expiry noticed
    /// here is left for the sweep (or an answer) to record. A code that is no party's live code
    /// counts against `from`'s budget of wrong codes, the very budget of the page's answers
    /// ([`Answerer::LinkHolder`]), so the read is no free oracle; as there, a right code is never
    /// refused for wrong ones, and a closed request answers 409 whatever the code.
    #[tracing::instrument(skip_all, fields(contact_change = %id))]
    pub async fn confirmation_details(&self, id: RequestId, token: &str, from: Option<IpAddr>) -> Result<(ContactChange, HashMap<AccountId, Account>)> {
        let mut change = self.store.contact_change(id).await?.ok_or_else(no_contact_change)?;
        let now = self.now();
        change.observe(now);
        match change.state {
            State::Pending => {}
            State::Expired => return Err(Error::Expired),
            closed => return Err(Error::NotPending(closed)),
        }
        if Token::parse(token).as_ref().and_then(|t| change.party_holding(t)).is_none() {
            return Err(self.wrong_code(Answerer::LinkHolder { from }.attempter()).await?);
        }
        let accounts = self.accounts_by_id(&change.named()).await?;
        Ok((change, accounts))
    }

    // ---- the sweep (SPEC §3: nothing waits on a reader) ------------------------------------

    /// Ends every request past its expiry (`expired`, its locks released, the notices to every
    /// party and the requester posted) and posts each request within `REMINDER_BEFORE_SECONDS`
    /// of expiry its one reminder with fresh codes, up to [`SWEEP_LIMIT`] requests; then delivers
    /// the mails still unsent [`OUTBOX_REDRIVE_AFTER`] after they were posted (the stream's
    /// mailer gave up on them, or never saw them), and with a bus the events still unpublished
    /// [`EVENTS_REDRIVE_AFTER`] after they were committed; last deletes up to [`PURGE_LIMIT`]
    /// requests and batches past their retention (SPEC §8). A request someone else saved meanwhile (a
    /// stale save) is left to them, or to the next sweep.
    #[tracing::instrument(skip_all)]
    pub async fn sweep(&self) -> Result<SweepReport> {
        let now = self.now();
        let mut report = SweepReport::default();
        for change in self.store.due(now, self.config.reminder_before, SWEEP_LIMIT).await? {
            // On Lambda, within the invocation's deadline: what is left waits for the next sweep.
            if crate::deadline::remaining().is_some_and(|left| left < SWEEP_RESERVE) {
                tracing::warn!("sweep stopped short of the function's deadline");
                break;
            }
            if now >= change.expires_at {
                report.expired += usize::from(self.sweep_expired(change, now).await?);
            } else if !self.config.reminder_before.is_zero() && !change.reminded() {
                report.reminded += usize::from(self.remind(change, now).await?);
            }
        }
        report.batches = self.sweep_batches(now).await?;
        report.redelivered = self.deliver_outbox(now - OUTBOX_REDRIVE_AFTER).await?.sent;
        report.republished = self.publish_outbox(now - EVENTS_REDRIVE_AFTER).await?.published.len();
        // Last: what the outboxes owed of a request went before it goes.
        report.purged = self.purge(now).await?;
        if report != SweepReport::default() {
            let (republished, purged) = (report.republished, report.purged);
            tracing::info!(expired = report.expired, reminded = report.reminded, redelivered = report.redelivered, republished, purged, batches = ?report.batches, "swept");
        }
        Ok(report)
    }

    /// Deletes up to [`PURGE_LIMIT`] requests and batches past their retention, while the
    /// invocation has time; how many.
    async fn purge(&self, now: OffsetDateTime) -> Result<usize> {
        let mut purged = 0;
        for subject in self.store.past_retention(now, PURGE_LIMIT).await? {
            if crate::deadline::remaining().is_some_and(|left| left < SWEEP_RESERVE) {
                break;
            }
            self.store.purge(subject).await?;
            purged += 1;
        }
        Ok(purged)
    }

    /// Ends `change` as expired, posting its notices; false if someone else saved it first.
    async fn sweep_expired(&self, mut change: ContactChange, now: OffsetDateTime) -> Result<bool> {
        change.observe(now);
        match self.save(&mut change, Effect::ReleaseLocks).await {
            Err(StoreError::Stale) => Ok(false),
            Err(other) => Err(other.into()),
            Ok(()) => {
                tracing::info!(contact_change = %change.id, "contact change expired");
                Ok(true)
            }
        }
    }

    /// Starts a new round of codes for every party still awaited, posting each its reminder;
    /// the old codes die in the same save. False if someone else saved it first.
    async fn remind(&self, mut change: ContactChange, now: OffsetDateTime) -> Result<bool> {
        change.step(Step::Remind, now)?;
        match self.save(&mut change, Effect::Nothing).await {
            // Someone acted, or it expired meanwhile: the next sweep sees it as it is.
            Err(StoreError::Stale | StoreError::Expired) => Ok(false),
            Err(other) => Err(other.into()),
            Ok(()) => Ok(true),
        }
    }

    // ---- the provider's systems ------------------------------------------------------------

    /// Upserts an account as the provider's systems have it (its profile, its payment status).
    /// A new address (the provider's support sets it, after its own checks, for someone who
    /// lost the old mailbox) takes the account's codes with it (SPEC §3): those of its pending
    /// requests die before the write, and fresh ones go to the new address after it.
    #[tracing::instrument(skip_all, fields(account = %account.id))]
    pub async fn put_account(&self, account: &Account) -> Result<()> {
        let readdressed = self.store.account(&account.id).await?.is_some_and(|stored| stored.email != account.email);
        if !readdressed {
            return Ok(self.store.put_account(account).await?);
        }
        let awaiting = self.withhold_codes(&account.id).await?;
        let put = self.store.put_account(account).await;
        // Written or not, the codes withheld are owed again: to the new address, or the same.
        self.mail_fresh_codes(&account.id, &awaiting).await;
        Ok(put?)
    }

    /// Upserts a service as the provider's systems have it; its three holders must be accounts
    /// already. Returns the pending requests it overtakes (each will end `failed`, SPEC §3:
    /// [`PendingChange`]), as the service's locks were read just before the write: a request
    /// made in between fails all the same, unreported.
    #[tracing::instrument(skip_all, fields(service = %service.name))]
    pub async fn put_service(&self, service: &Service) -> Result<Vec<PendingChange>> {
        let holders = service.contacts.holders();
        let known = self.store.accounts(&holders).await?;
        if let Some(unknown) = holders.into_iter().find(|holder| !known.iter().any(|account| &account.id == holder)) {
            return Err(Error::UnknownAccount(unknown));
        }
        let before = self.store.service(&service.name).await?;
        self.store.put_service(service).await?;
        let now = self.now();
        Ok(before.map(|record| PendingChange::overtaken(&record.service, service, &record.locks, now)).unwrap_or_default())
    }

    // ---- steps shared by the use cases -----------------------------------------------------

    /// The last acceptance: the change takes effect atomically, or fails with a reason and
    /// changes nothing. `read` is the request as read, before this acceptance.
    async fn take_effect(&self, read: ContactChange, change: &mut ContactChange, party: AccountId, now: OffsetDateTime) -> Result<(), StoreError> {
        let require_good_standing = change.must_be_in_good_standing();
        change.step(Step::Complete, now).expect("every party has accepted");
        let reason = match self.save(change, Effect::Apply { require_good_standing }).await {
            Ok(()) => {
                tracing::info!(contact_change = %change.id, service = %change.service, "contact change done");
                return Ok(());
            }
            Err(StoreError::HoldersChanged) => FailReason::HoldersChanged,
            Err(StoreError::RequesterLostRole) => FailReason::RequesterLostRole,
            Err(StoreError::NotInGoodStanding(_)) => FailReason::PaymentOverdue,
            Err(StoreError::DifferentZone(_)) => FailReason::DifferentZone,
            Err(other) => return Err(other),
        };
        // The read request (its outbox empty), accepted and failed: what it owes is the failure.
        *change = read;
        change.step(Step::Accept { party }, now).expect("it fitted a moment ago");
        change.step(Step::Fail { reason }, now).expect("every party has accepted");
        self.save(change, Effect::ReleaseLocks).await?;
        tracing::info!(contact_change = %change.id, reason = reason.as_str(), "contact change failed");
        Ok(())
    }

    /// Counts a code that is no party's live code against `attempter` alone (SPEC §3), and says
    /// how to answer it: that it did not match, or, for the one over the limit, to wait. Only wrong
    /// codes are counted and limited: a right code is never refused for them (the limit is
    /// against hammering; 256 bits are not guessed).
    async fn wrong_code(&self, attempter: Attempter) -> Result<Error> {
        let (window_start, window_end) = limits::attempt_window(self.now());
        let wrong = self.store.count_wrong_attempt(&attempter.key(), window_start, window_end).await?;
        Ok(if wrong > limits::ATTEMPT_LIMIT {
            Error::TooManyAttempts { retry_after: limits::seconds_until(window_end, self.now()) }
        } else {
            Error::TokenMismatch
        })
    }

    /// Hands `mail` to the mailer within the invocation's deadline (crate::deadline; none
    /// locally), less what recording how the mails went and answering take: one DynamoDB write
    /// at its operation timeout (3 s, contacts_aws::sdk::timeouts) and half a second. A mail not
    /// sent by then fails as a retryable one does, and the answer is still the normal one.
    async fn send(&self, mail: &mail::Mail) -> Result<(), crate::ports::MailError> {
        const RECORD_RESERVE: std::time::Duration = std::time::Duration::from_millis(3_500);
        let late = |what: &str| crate::ports::MailError::Retryable(format!("{what} before the function's deadline").into());
        match crate::deadline::remaining() {
            None => self.mailer.send(mail).await,
            Some(left) if left <= RECORD_RESERVE => Err(late("no time left to send it")),
            Some(left) => tokio::time::timeout(left - RECORD_RESERVE, self.mailer.send(mail)).await.unwrap_or_else(|_| Err(late("not sent"))),
        }
    }

    /// Runs `attempt` again on fresh data while it lost a race (it answers `Ok(None)` when its
    /// save found the request changed since it read it), [`ATTEMPTS`] times at most; then the
    /// caller is asked to try again shortly.
    async fn retry_on_stale<T, Attempt>(&self, mut attempt: impl FnMut() -> Attempt) -> Result<T>
    where
        Attempt: std::future::Future<Output = Result<Option<T>>>,
    {
        for _ in 0..ATTEMPTS {
            if let Some(done) = attempt().await? {
                return Ok(done);
            }
        }
        Err(contended())
    }

    /// Saves over the version that was read, posting the mails its steps owe.
    async fn save(&self, change: &mut ContactChange, effect: Effect) -> Result<(), StoreError> {
        change.version += 1;
        self.store.save(change, effect).await?;
        change.outbox.clear();
        change.events.clear();
        Ok(())
    }

    /// Fails unless the request is pending; a request found past its expiry is closed as
    /// `expired` on the way (so its locks go), whoever notices first.
    async fn ensure_pending(&self, change: &mut ContactChange, now: OffsetDateTime) -> Result<()> {
        if change.observe(now) {
            match self.save(change, Effect::ReleaseLocks).await {
                Ok(()) | Err(StoreError::Stale) => {}
                Err(other) => tracing::warn!(contact_change = %change.id, %other, "could not record expiry"),
            }
            return Err(Error::Expired);
        }
        match change.state {
            State::Pending => Ok(()),
            State::Expired => Err(Error::Expired),
            closed => Err(Error::NotPending(closed)),
        }
    }

    /// The request, if `caller` may see it (`ContactChange::visible_to`); anyone else is told it
    /// does not exist. The service is read only for a caller the request does not involve.
    async fn visible_contact_change(&self, caller: &AccountId, id: RequestId) -> Result<ContactChange> {
        let change = self.store.contact_change(id).await?.ok_or_else(no_contact_change)?;
        // A part of a batch whose create never finished is nobody's (the sweep deletes it).
        if let Some(batch) = change.batch
            && self.store.batch(batch).await?.is_none()
        {
            return Err(no_contact_change());
        }
        if change.involves(caller) {
            return Ok(change);
        }
        let service = self.store.service(&change.service).await?;
        if change.visible_to(caller, service.as_ref().map(|record| &record.service.contacts)) { Ok(change) } else { Err(no_contact_change()) }
    }

    async fn accounts_by_id(&self, ids: &[AccountId]) -> Result<HashMap<AccountId, Account>> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        Ok(self.store.accounts(&ids).await?.into_iter().map(|a| (a.id.clone(), a)).collect())
    }
}

fn no_profile() -> Error {
    Error::NotFound("there is no profile for this account".to_owned())
}

/// The new contacts of `asks`, once each, and those of them that are not the requester (whose
/// requests to them count when they end unaccepted: UNACCEPTED_REQUEST_LIMIT).
fn towards(requester: &AccountId, asks: &[(Role, AccountId)]) -> (Vec<AccountId>, Vec<AccountId>) {
    let mut towards: Vec<AccountId> = asks.iter().map(|(_, to)| to.clone()).collect();
    towards.sort();
    towards.dedup();
    let strangers = towards.iter().filter(|to| *to != requester).cloned().collect();
    (towards, strangers)
}

fn no_service() -> Error {
    Error::NotFound("no such service among yours".to_owned())
}

fn no_contact_change() -> Error {
    Error::NotFound("no such contact-change request among yours".to_owned())
}

/// A save's outcome as an attempt of [`App::retry_on_stale`] answers it: `done` once saved,
/// `None` (read again and retry) when the save lost a race, the error otherwise.
fn unless_stale<T>(saved: Result<(), StoreError>, done: T) -> Result<Option<T>> {
    match saved {
        Ok(()) => Ok(Some(done)),
        Err(StoreError::Stale) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

fn contended() -> Error {
    Error::Contended
}
