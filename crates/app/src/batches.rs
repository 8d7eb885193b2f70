//! SPEC §7's use cases: a batch moves the same roles to the same new account on many services
//! of one requester, each service judged as a single request would be, decided once by each
//! party; when the last party accepts, each part takes effect on its own.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use time::OffsetDateTime;

mod apply;

pub use apply::BatchSweep;

use super::{Answerer, App, Decision, Error, Result, no_service, towards, unless_stale};
use crate::ports::{AskingFor, ServiceRecord, StoreError};
use contacts_domain::Decision as _;
use contacts_domain::batch::BatchError;
use contacts_domain::decision::ResendPolicy;
use contacts_domain::limits;
use contacts_domain::rules::{self, Plan};
use contacts_domain::{Account, AccountId, Batch, BatchId, BatchState, BatchStep, ContactRef, Part, RequestId, Role, Roles, ServiceName, Token};

/// How many services' records a create reads at once, and how many parts take effect at once:
/// enough to finish 1,000 in seconds, few enough not to crowd one account's partitions.
const CONCURRENCY: usize = 16;

/// How long after a batch's last acceptance the sweep finishes its parts itself: the function
/// that took the acceptance applies them within seconds, unless it stopped, and it runs no
/// longer than its timeout (25 s, template.yaml): after that, nobody else is applying them.
pub const SETTLE_GRACE: time::Duration = time::Duration::seconds(25);

/// How long a store may take to open a batch: what a create begun longer ago left unfinished
/// is the sweep's to discard.
pub const OPENING_GRACE: time::Duration = time::Duration::minutes(5);

/// What a create of a batch answered for one service: its part's request, or why the service
/// was left out (the error a single request for it would have had).
#[derive(Debug)]
pub struct ServiceAnswer {
    pub service: ServiceName,
    pub outcome: Result<RequestId>,
}

/// A new batch, and the answer for every service asked, in the order asked.
#[derive(Debug)]
pub struct BatchCreated {
    pub batch: Batch,
    pub answers: Vec<ServiceAnswer>,
}

/// A batch as one caller sees it: only the parts it may see (SPEC §7).
#[derive(Debug, Clone)]
pub struct BatchView {
    pub batch: Batch,
    pub parts: Vec<Part>,
}

impl App {
    /// Asks to move `asks`' roles (all to one new contact) on each of `services`, as one batch.
    /// Each service is judged as [`App::create`] judges one, and those that pass form the
    /// batch; none passing is the first service's problem. The new contact is examined only
    /// once some service let the caller ask, and a refusal for its sake counts once.
    #[tracing::instrument(skip_all, fields(account = %caller, services = services.len()))]
    pub async fn create_batch(&self, caller: &AccountId, services: Vec<ServiceName>, asks: Vec<(Role, ContactRef)>) -> Result<BatchCreated> {
        let now = self.now();
        let prober = limits::prober_key(caller);
        let window = limits::attempt_window(now);
        let read = self.store.asking(&AskingFor { attempts: Some((&prober, window.0)), ..AskingFor::default() }).await?;
        limits::may_attempt(read.attempts, window.1, now).map_err(|retry_after| Error::TooManyProbes { retry_after })?;
        let roles: Vec<Role> = asks.iter().map(|(role, _)| *role).collect();
        // Only the services the caller holds are read (their records and locks): one it does
        // not hold is answered as a single create answers it, unread.
        let held = self.store.held_among(caller, &services).await?;
        let records = self.service_records(&services.iter().filter(|name| held.contains(*name)).cloned().collect::<Vec<_>>()).await?;
        let mut records = records.into_iter();
        let mut judged: Vec<(ServiceName, Result<ServiceRecord>)> = Vec::with_capacity(services.len());
        for name in services {
            let judgement = match held.contains(&name) {
                true => records.next().expect("a record per service held").and_then(|record| may_ask(&record, caller, &roles, now).map(|()| record)),
                false => Err(no_service()),
            };
            judged.push((name, judgement));
        }
        if judged.iter().any(|(name, _)| !held.contains(name)) {
            // Naming services one does not hold is never needed (the panel offers one's own):
            // it counts against the budget of probes, which bounds what a script costs.
            self.spend_probe(&prober, window).await?;
        }
        if let Some(refused) = refusal_of_all(&mut judged) {
            return Err(refused);
        }
        match self.open_batch(caller, judged, asks, now).await {
            Err(refused) if refused.probes_the_new_contact() => Err(self.count_probe(&prober, window, refused).await?),
            opened => opened,
        }
    }

    /// [`App::create_batch`] once some service let the caller ask: the new contact resolved
    /// and judged (a problem of its own refuses the whole batch), then each service planned.
    async fn open_batch(
        &self,
        caller: &AccountId,
        judged: Vec<(ServiceName, Result<ServiceRecord>)>,
        asks: Vec<(Role, ContactRef)>,
        now: OffsetDateTime,
    ) -> Result<BatchCreated> {
        let asks = self.resolve(asks).await?;
        let to = asks.first().map(|(_, to)| to.clone()).ok_or_else(|| Error::Forbidden("a batch moves at least one role".to_owned()))?;
        let (towards, strangers) = towards(caller, &asks);
        let read = self.store.asking(&AskingFor { accounts: &towards, unaccepted: Some((caller, &strangers)), ..AskingFor::default() }).await?;
        let mut accounts: HashMap<AccountId, Account> = read.accounts.into_iter().map(|a| (a.id.clone(), a)).collect();
        let new_contact = accounts.get(&to).cloned().ok_or_else(|| Error::UnknownAccount(to.clone()))?;
        for unaccepted in read.unaccepted.values() {
            limits::may_ask(unaccepted, self.config.unaccepted_request_limit, now).map_err(|retry_after| Error::TooManyRequests { retry_after })?;
        }
        let holders: Vec<AccountId> = judged.iter().filter_map(|(_, j)| j.as_ref().ok()).flat_map(|r| r.service.contacts.holders()).collect();
        accounts.extend(self.accounts_by_id(&holders).await?);
        let mut plans = Vec::new();
        let mut answers: Vec<(ServiceName, Option<Error>)> = Vec::with_capacity(judged.len());
        for (service, judgement) in judged {
            match judgement.and_then(|record| plan_service(&record, caller, &asks, &new_contact, &accounts)) {
                Ok(service_plans) => {
                    plans.extend(service_plans.into_iter().map(|plan| (service.clone(), plan)));
                    answers.push((service, None));
                }
                Err(problem) => answers.push((service, Some(problem))),
            }
        }
        if plans.is_empty() {
            return Err(answers.into_iter().find_map(|(_, problem)| problem).expect("a service without a plan has its problem"));
        }
        let roles = Roles::new(asks.iter().map(|(role, _)| *role).collect::<Vec<_>>()).map_err(|e| Error::Forbidden(e.to_string()))?;
        let (mut batch, parts) = Batch::open(plans, caller.clone(), roles, to, new_contact.zone, now, self.config.token_ttl)
            .map_err(|e: BatchError| Error::Internal(Box::new(e)))?;
        self.store.create_batch(&batch, &parts, now).await?;
        batch.outbox.clear();
        batch.events.clear();
        tracing::info!(batch = %batch.id, parts = parts.len(), "batch of contact changes requested");
        Ok(BatchCreated { answers: answer_each(answers, &batch), batch })
    }

    /// The services' records, each `Err` when there is no such service (as the caller is told
    /// of a service that is not its), read a few at once.
    async fn service_records(&self, names: &[ServiceName]) -> Result<Vec<Result<ServiceRecord>>> {
        // Owned names: a future borrowing its item would not be `Send` for every lifetime.
        concurrently(names.to_vec(), |name| async move { Ok(self.store.service(&name).await?.ok_or_else(no_service)) }).await
    }

    /// One batch, as `caller` may see it: its requester, a party or a holder told sees it
    /// whole; a contact of some of its services sees only those services' parts; anyone else
    /// is told it does not exist.
    #[tracing::instrument(skip_all, fields(account = %caller, batch = %id))]
    pub async fn batch(&self, caller: &AccountId, id: BatchId) -> Result<BatchView> {
        let mut batch = self.store.batch(id).await?.ok_or_else(no_batch)?;
        batch.observe(self.now());
        let its_services = if batch.involves(caller) { BTreeSet::new() } else { self.services_held_among(caller, &batch).await? };
        let parts: Vec<Part> = batch.parts_seen_by(caller, &its_services).into_iter().cloned().collect();
        if parts.is_empty() {
            return Err(no_batch());
        }
        Ok(BatchView { batch, parts })
    }

    /// The services of `batch`'s parts where `caller` holds a role now (from its memberships:
    /// no part's service is read).
    async fn services_held_among(&self, caller: &AccountId, batch: &Batch) -> Result<BTreeSet<ServiceName>> {
        let names: Vec<ServiceName> = batch.parts.iter().map(|part| part.service.clone()).collect();
        Ok(self.store.held_among(caller, &names).await?)
    }

    /// The batches that involve the caller, newest first, optionally only those in `state`,
    /// each with the parts the caller may see.
    #[tracing::instrument(skip_all, fields(account = %caller))]
    pub async fn my_batches(&self, caller: &AccountId, state: Option<BatchState>, before: Option<BatchId>) -> Result<(Vec<BatchView>, Option<BatchId>)> {
        let page = self.store.batches_of(caller, before, super::PAGE_SIZE).await?;
        let cursor = if page.more { page.items.last().map(|b| b.id) } else { None };
        let now = self.now();
        let mut views = Vec::with_capacity(page.items.len());
        for mut batch in page.items {
            batch.observe(now);
            if state.is_none_or(|s| batch.state == s) {
                let parts = batch.parts_seen_by(caller, &BTreeSet::new()).into_iter().cloned().collect();
                views.push(BatchView { batch, parts });
            }
        }
        Ok((views, cursor))
    }

    /// Accepts or refuses every part still pending with the batch's code, as [`App::answer`]
    /// does a request's. The last acceptance makes each part take effect on its own.
    #[tracing::instrument(skip_all, fields(batch = %id))]
    pub async fn answer_batch(&self, id: BatchId, token: &str, decision: Decision, answerer: Answerer<'_>) -> Result<Batch> {
        let token = &Token::parse(token);
        let answered = self
            .retry_on_stale(|| async move {
                let mut batch = match answerer {
                    Answerer::Caller(caller) => self.batch(caller, id).await?.batch,
                    Answerer::LinkHolder { .. } => self.store.batch(id).await?.ok_or_else(no_batch)?,
                };
                let now = self.now();
                self.ensure_batch_pending(&mut batch, now).await?;
                let holder = token.as_ref().and_then(|t| batch.party_holding(t)).cloned();
                let party = match (holder, answerer) {
                    (Some(party), Answerer::LinkHolder { .. }) => party,
                    (Some(party), Answerer::Caller(caller)) if party == *caller => party,
                    _ => return Err(self.wrong_code(answerer.attempter()).await?),
                };
                let step = match decision {
                    Decision::Accept => BatchStep::Accept { party },
                    Decision::Refuse => BatchStep::Refuse { party },
                };
                batch.step(step, now)?;
                let saved = self.save_batch(&mut batch).await;
                unless_stale(saved, batch)
            })
            .await?;
        self.follow(answered).await
    }

    /// What a saved step of `batch` implies for its parts: a closed batch ends those still
    /// pending with it; one that is now settling applies them. The batch as it then is.
    async fn follow(&self, batch: Batch) -> Result<Batch> {
        if batch.settling() {
            return self.apply_parts(batch).await;
        }
        self.end_parts(batch).await
    }

    /// Sends the batch's confirmation mails again with fresh codes, as [`App::resend`] does.
    #[tracing::instrument(skip_all, fields(account = %caller, batch = %id))]
    pub async fn resend_batch(&self, caller: &AccountId, id: BatchId) -> Result<Batch> {
        let policy = ResendPolicy { cooldown: self.config.resend_cooldown, limit: self.config.resend_limit };
        self.retry_on_stale(|| async move {
            let mut batch = self.batch(caller, id).await?.batch;
            let now = self.now();
            self.ensure_batch_pending(&mut batch, now).await?;
            batch.step(BatchStep::Resend { by: caller.clone(), policy }, now)?;
            let saved = self.save_batch(&mut batch).await;
            unless_stale(saved, batch)
        })
        .await
    }

    /// The requester withdraws the batch, with every part still pending.
    #[tracing::instrument(skip_all, fields(account = %caller, batch = %id))]
    pub async fn cancel_batch(&self, caller: &AccountId, id: BatchId) -> Result<Batch> {
        let cancelled = self
            .retry_on_stale(|| async move {
                let mut batch = self.batch(caller, id).await?.batch;
                let now = self.now();
                self.ensure_batch_pending(&mut batch, now).await?;
                batch.step(BatchStep::Cancel { by: caller.clone() }, now)?;
                let saved = self.save_batch(&mut batch).await;
                unless_stale(saved, batch)
            })
            .await?;
        self.follow(cancelled).await
    }

    /// What the batch's emailed link's page shows to whoever holds its id: the batch, whose
    /// accounts the page does not name. Reading changes nothing.
    #[tracing::instrument(skip_all, fields(batch = %id))]
    pub async fn batch_confirmation(&self, id: BatchId) -> Result<Batch> {
        let mut batch = self.store.batch(id).await?.ok_or_else(no_batch)?;
        batch.observe(self.now());
        Ok(batch)
    }

    /// Who a pending batch involves, for whoever presents a live code of it on the link's
    /// page, as [`App::confirmation_details`] says for a request.
    #[tracing::instrument(skip_all, fields(batch = %id))]
    pub async fn batch_confirmation_details(&self, id: BatchId, token: &str, from: Option<IpAddr>) -> Result<(Batch, HashMap<AccountId, Account>)> {
        let batch = self.batch_confirmation(id).await?;
        match batch.state {
            BatchState::Pending => {}
            BatchState::Expired => return Err(Error::Expired),
            closed => return Err(Error::BatchNotPending(closed)),
        }
        if Token::parse(token).as_ref().and_then(|t| batch.party_holding(t)).is_none() {
            return Err(self.wrong_code(Answerer::LinkHolder { from }.attempter()).await?);
        }
        let accounts = self.accounts_by_id(&batch.involved()).await?;
        Ok((batch, accounts))
    }

    /// Saves over the version that was read, posting the mails and events its steps owe.
    pub(crate) async fn save_batch(&self, batch: &mut Batch) -> Result<(), StoreError> {
        batch.version += 1;
        self.store.save_batch(batch).await?;
        batch.outbox.clear();
        batch.events.clear();
        Ok(())
    }

    /// Fails unless the batch is pending and still awaits an answer; one found past its expiry
    /// is closed as `expired` on the way, with its parts.
    async fn ensure_batch_pending(&self, batch: &mut Batch, now: OffsetDateTime) -> Result<()> {
        if batch.observe(now) {
            match self.save_batch(batch).await {
                Ok(()) => *batch = self.end_parts(batch.clone()).await?,
                Err(StoreError::Stale) => {}
                Err(other) => tracing::warn!(batch = %batch.id, %other, "could not record expiry"),
            }
            return Err(Error::Expired);
        }
        match batch.state {
            BatchState::Pending if batch.settling() => Err(Error::TakingEffect),
            BatchState::Pending => Ok(()),
            BatchState::Expired => Err(Error::Expired),
            closed => Err(Error::BatchNotPending(closed)),
        }
    }
}

/// Whether `caller` may ask for `roles` on the service as a single create decides it, before
/// anything about the new contact is read.
fn may_ask(record: &ServiceRecord, caller: &AccountId, roles: &[Role], now: OffsetDateTime) -> Result<()> {
    rules::right_to_ask(&record.service.contacts, caller, roles)?;
    match record.locks.iter().find(|lock| roles.contains(&lock.role) && lock.expires_at > now) {
        Some(lock) => Err(Error::PendingExists(lock.role)),
        None => Ok(()),
    }
}

/// When no service let the caller ask, the first one's problem (nothing about the new contact
/// was read: as for a single create).
fn refusal_of_all(judged: &mut Vec<(ServiceName, Result<ServiceRecord>)>) -> Option<Error> {
    if judged.iter().any(|(_, judgement)| judgement.is_ok()) {
        return None;
    }
    judged.drain(..).find_map(|(_, judgement)| judgement.err())
}

/// The plans of one service's part(s), checked as a single create checks them: the new
/// contact (`new_contact`, the same for every service), the previous billing contact's
/// standing and every holder's zone, read beforehand (the store checks them again).
fn plan_service(
    record: &ServiceRecord,
    caller: &AccountId,
    asks: &[(Role, AccountId)],
    new_contact: &Account,
    accounts: &HashMap<AccountId, Account>,
) -> Result<Vec<Plan>> {
    let plans = rules::plan(&record.service.contacts, caller, asks)?;
    for plan in &plans {
        plan.check(accounts)?;
        if plan.roles.contains(Role::Billing) && !accounts.get(&plan.from).is_some_and(Account::in_good_standing) {
            return Err(Error::PaymentOverdue(plan.from.clone()));
        }
        if accounts.get(&plan.from).is_none_or(|from| from.zone != new_contact.zone) {
            return Err(Error::DifferentZone(plan.from.clone()));
        }
    }
    Ok(plans)
}

/// The answer per service asked: a passing service's part (the first, when its holders
/// differ and it has two), or its problem.
fn answer_each(answers: Vec<(ServiceName, Option<Error>)>, batch: &Batch) -> Vec<ServiceAnswer> {
    answers
        .into_iter()
        .map(|(service, problem)| {
            let outcome = match problem {
                Some(problem) => Err(problem),
                None => Ok(batch.parts.iter().find(|part| part.service == service).expect("a passing service has its part").request),
            };
            ServiceAnswer { service, outcome }
        })
        .collect()
}

/// Runs `work` on each item, [`CONCURRENCY`] at a time, within this task (so that its
/// deadline and its metrics follow): the results in the items' order, or the first error.
pub(crate) async fn concurrently<I, T, F, Work>(items: Vec<I>, work: F) -> Result<Vec<T>>
where
    F: FnMut(I) -> Work,
    Work: std::future::Future<Output = Result<T>>,
{
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    stream::iter(items).map(work).buffered(CONCURRENCY).try_collect().await
}

pub(crate) fn no_batch() -> Error {
    Error::NotFound("no such batch among yours".to_owned())
}
