//! Loading accounts and services in bulk (`contacts-admin import`), and reading them all back
//! (`contacts-admin export`). The items are the store's own ([`items`]): one mapping of
//! accounts and services to items, whoever writes them.
//!
//! A load works on a chunk of records at a time (the caller streams its file), so memory
//! does not grow with the file:
//!
//! - it reads what the table holds for the chunk's keys (`BatchGetItem`, 100 keys a call) and
//!   writes only what differs, so that a second run of the same file writes nothing;
//! - it writes with `BatchWriteItem`, 25 items a call, a few calls in flight at once; the
//!   items DynamoDB leaves unprocessed (throttling) are sent again after an exponential
//!   backoff with jitter, a bounded number of times;
//! - a service's memberships ("services of an account") change exactly as `put_service`
//!   changes them: a membership put for each holder, a delete for each former holder that
//!   holds no role any more. The memberships of a chunk are written before its service items,
//!   so that a load cut short leaves service items as they were, and running it again (which
//!   compares the service items) completes the memberships;
//! - the service items are written 100 to a `TransactWriteItems`, each on the condition that the
//!   table still has it as read (`BatchWriteItem` takes no conditions). A service someone else
//!   wrote in between (the internal API's upsert, which may run during a load) fails it, and is
//!   written again by the store's own [`DynamoStore::put_service`](super::DynamoStore), which
//!   reads it again and puts and deletes memberships from what it finds: the memberships follow
//!   the service item whoever wrote last;
//! - a service with a live lock (a pending request) is written by `put_service` directly: one
//!   transaction conditioned on the service as read, so that it cannot interleave with that
//!   request taking effect. When the load changes the holder of a locked role, the change is
//!   reported ([`PendingChange`]): that request will end `failed` (`holders_changed`) if it is
//!   ever completed, as SPEC §3 says.
//!
//! The export is the project's only `Scan`, filtered to account and service items. It reads
//! the whole table, as an export must; no request path ever calls it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, ReturnConsumedCapacity, WriteRequest};
use time::OffsetDateTime;
use tokio::task::JoinSet;

use super::DynamoStore;
use super::batch::{BATCH_GET_MAX, Backoff, batch_get};
use super::errors::{build_error, classify};
use super::items::{self, Item, Write, s};
use super::metrics::{Meter, Tally};
use super::tx::{Purpose, Tx};
use contacts_app::ports::{Cause, Lock, PendingChange, Services, StoreError};
use contacts_domain::Record;
use contacts_domain::{Account, AccountId, Role, Service, ServiceName};

/// `BatchWriteItem` takes at most 25 requests.
const WRITE_BATCH: usize = 25;
/// Service items per `TransactWriteItems` (at most 100 actions): a conflict cancels them all,
/// and they are written again one by one, so this is also the most a conflict costs.
const SERVICES_PER_TRANSACTION: usize = 100;

/// The calls a [`Bulk`] made, for the import's summary and for tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkMetrics {
    pub batch_get_calls: u64,
    pub batch_write_calls: u64,
    /// Calls sent again for their unprocessed items or keys (each after a backoff).
    pub retried_calls: u64,
    pub scan_calls: u64,
    /// Services written through `put_service`'s transaction: those with a live lock, and
    /// those written again because they changed between the load's read and its write.
    pub transactional_services: u64,
    /// Services that changed between the load's read and its write (by someone else), and so
    /// were written again through `put_service`.
    pub written_again: u64,
    /// `TransactWriteItems` calls that wrote service items on the condition they were as read.
    pub service_transactions: u64,
    /// Items put or deleted by `BatchWriteItem`.
    pub items_written: u64,
    /// The summed `ConsumedCapacity` of the calls (`TOTAL`).
    pub capacity_units: f64,
}

impl Tally for BulkMetrics {
    fn sent(&mut self, operation: &'static str) {
        match operation {
            "BatchGetItem" => self.batch_get_calls += 1,
            "BatchWriteItem" => self.batch_write_calls += 1,
            "Scan" => self.scan_calls += 1,
            // A load's own transactions write service items as read; `put_service`'s are the store's.
            "TransactWriteItems" => self.service_transactions += 1,
            _ => {}
        }
    }

    fn consumed(&mut self, units: f64) {
        self.capacity_units += units;
    }

    fn retried(&mut self) {
        self.retried_calls += 1;
    }
}

/// How many records of a chunk were new, changed, or already as given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }

    pub fn total(&self) -> u64 {
        self.created + self.updated + self.unchanged
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicesOutcome {
    pub counts: Counts,
    pub pending: Vec<PendingChange>,
}

/// What a load of services will write, as read from the table ([`Bulk::plan_services`]).
pub struct ServicesPlan {
    pub outcome: ServicesOutcome,
    /// Membership puts and deletes, for the services written as read.
    memberships: Vec<WriteRequest>,
    /// Each service to write on the condition that the table still has it as read (`None`:
    /// absent), with what was read.
    as_read: Vec<(Service, Option<Service>)>,
    /// The services with a live lock, written by the store's `put_service`.
    transactional: Vec<Service>,
}

/// A share of a parallel scan: segment `index` of `of` (`of` at most 1000000, DynamoDB's
/// limit); `Segment::WHOLE` is the whole table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub index: u32,
    pub of: u32,
}

impl Segment {
    pub const WHOLE: Segment = Segment { index: 0, of: 1 };

    /// The `of` segments of a parallel scan.
    pub fn all(of: u32) -> impl Iterator<Item = Segment> {
        let of = of.clamp(1, 1_000_000);
        (0..of).map(move |index| Segment { index, of })
    }
}

/// Where an export goes on from.
#[derive(Debug, Clone)]
pub struct ScanCursor(Item);

pub struct ScanPage {
    pub records: Vec<Record>,
    pub next: Option<ScanCursor>,
}

/// Bulk reads and writes on one table. Cheap to clone.
#[derive(Clone)]
pub struct Bulk {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    table: String,
    parallelism: usize,
    /// For services with a live lock: the store's own transactional upsert.
    store: DynamoStore,
    meter: Meter<BulkMetrics>,
}

impl Bulk {
    /// At most 4 calls in flight.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self::with_parallelism(client, table, 4)
    }

    pub fn with_parallelism(client: Client, table: impl Into<String>, parallelism: usize) -> Self {
        let table = table.into();
        let store = DynamoStore::new(client.clone(), table.clone());
        Self { inner: Arc::new(Inner { client, table, parallelism: parallelism.max(1), store, meter: Meter::default() }) }
    }

    pub fn table(&self) -> &str {
        &self.inner.table
    }

    pub fn metrics(&self) -> BulkMetrics {
        self.inner.meter.get()
    }

    /// The accounts among `ids` that the table does not hold.
    pub async fn missing_accounts(&self, ids: &[AccountId]) -> Result<Vec<AccountId>, StoreError> {
        let mut ids: Vec<&AccountId> = ids.iter().collect();
        ids.sort();
        ids.dedup();
        let found = self.get_many(ids.iter().map(|id| items::account_key(id)).collect()).await?;
        Ok(ids.into_iter().filter(|id| !found.contains_key(&items::account_pk(id))).cloned().collect())
    }

    /// Upserts `accounts` (the last of one id wins), writing only those that differ from the
    /// table; with `write` false, only tells what it would do.
    pub async fn put_accounts(&self, accounts: Vec<Account>, write: bool) -> Result<Counts, StoreError> {
        let accounts: HashMap<AccountId, Account> = accounts.into_iter().map(|account| (account.id.clone(), account)).collect();
        let old = self.get_many(accounts.keys().map(items::account_key).collect()).await?;
        let mut counts = Counts::default();
        let mut writes = Vec::new();
        for account in accounts.values() {
            let mut account = account.clone();
            match old.get(&items::account_pk(&account.id)).map(items::account_from) {
                None => counts.created += 1,
                // As the internal API's upsert: only a new address clears a bouncing mark.
                Some(Ok(stored)) if stored.email == account.email && Account { email_status: stored.email_status, ..account.clone() } == stored => {
                    counts.unchanged += 1;
                    continue;
                }
                Some(Ok(stored)) => {
                    if stored.email == account.email {
                        account.email_status = stored.email_status;
                    }
                    counts.updated += 1
                }
                // An unreadable item is overwritten: the file is the source of truth.
                Some(Err(_)) => counts.updated += 1,
            }
            writes.push(put(items::account_item(&account))?);
        }
        if write {
            self.write_all(writes).await?;
        }
        Ok(counts)
    }

    /// Upserts `services` (the last of one name wins) and their memberships, writing only the
    /// services that differ from the table; reports the pending requests whose role changes
    /// hands (a lock live at `now`). With `write` false, only tells what it would do. The
    /// services' accounts must exist (the caller checks them, as the app's `put_service` does).
    pub async fn put_services(&self, services: Vec<Service>, now: OffsetDateTime, write: bool) -> Result<ServicesOutcome, StoreError> {
        let plan = self.plan_services(services, now).await?;
        if write { self.apply(plan).await } else { Ok(plan.outcome) }
    }

    /// The first half of [`put_services`](Self::put_services): reads what the table holds for
    /// `services` and works out the writes, writing nothing.
    pub async fn plan_services(&self, services: Vec<Service>, now: OffsetDateTime) -> Result<ServicesPlan, StoreError> {
        let services: HashMap<ServiceName, Service> = services.into_iter().map(|service| (service.name.clone(), service)).collect();
        let old_items = self.get_many(services.keys().map(items::service_key).collect()).await?;
        let mut outcome = ServicesOutcome::default();
        // (new, old): the services to write, with what the table had.
        let mut changed: Vec<(Service, Option<Service>)> = Vec::new();
        for service in services.into_values() {
            match old_items.get(&items::service_pk(&service.name)).map(items::service_from).transpose()? {
                None => {
                    outcome.counts.created += 1;
                    changed.push((service, None));
                }
                Some(old) if old == service => outcome.counts.unchanged += 1,
                Some(old) => {
                    outcome.counts.updated += 1;
                    changed.push((service, Some(old)));
                }
            }
        }

        // Locks can exist only on a service that exists: read those of the updated ones.
        let lock_keys: Vec<Item> =
            changed.iter().filter(|(_, old)| old.is_some()).flat_map(|(service, _)| Role::ALL.map(|role| items::lock_key(&service.name, role))).collect();
        let mut live_locks: HashMap<String, Vec<Lock>> = HashMap::new();
        for (_, item) in self.get_many(lock_keys).await? {
            let lock = items::lock_from(&item)?;
            if lock.expires_at > now {
                let pk = item.get(items::PK).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                live_locks.entry(pk).or_default().push(lock);
            }
        }

        let mut plan = ServicesPlan { outcome, memberships: Vec::new(), as_read: Vec::new(), transactional: Vec::new() };
        for (service, old) in changed {
            if let (Some(old), Some(locks)) = (&old, live_locks.get(&items::service_pk(&service.name))) {
                plan.outcome.pending.extend(PendingChange::overtaken(old, &service, locks, now));
                plan.transactional.push(service);
                continue;
            }
            // Exactly `put_service`'s writes.
            for write in items::membership_writes(old.as_ref(), &service) {
                plan.memberships.push(match write {
                    Write::Put(item) => put(item)?,
                    Write::Delete(key) => delete(key)?,
                });
            }
            plan.as_read.push((service, old));
        }
        plan.outcome.pending.sort_by(|a, b| (&a.service, a.role).cmp(&(&b.service, b.role)));
        Ok(plan)
    }

    /// The second half of [`put_services`](Self::put_services): the memberships first (in
    /// batches), then the service items, 100 to a transaction, each on the condition that it is
    /// still as the plan read it. A service someone else wrote in between (the internal API's
    /// upsert) fails its condition: it goes, with the rest of its transaction, through the
    /// store's own `put_service`, which reads it again and sets its memberships right, as it
    /// does for the services with a live lock. So the memberships always end up following the
    /// service item, whoever wrote last.
    pub async fn apply(&self, plan: ServicesPlan) -> Result<ServicesOutcome, StoreError> {
        self.write_all(plan.memberships).await?;
        let mut as_read = plan.as_read.into_iter().peekable();
        let mut tasks = Vec::new();
        while as_read.peek().is_some() {
            tasks.push(put_services_as_read(self.inner.clone(), as_read.by_ref().take(SERVICES_PER_TRANSACTION).collect()));
        }
        let overtaken: Vec<Service> = bounded(self.inner.parallelism, tasks).await?.into_iter().flatten().collect();
        let again = overtaken.len() as u64;
        let transactional: Vec<Service> = plan.transactional.into_iter().chain(overtaken).collect();
        let count = transactional.len() as u64;
        let tasks = transactional.into_iter().map(|service| {
            let inner = self.inner.clone();
            async move { inner.store.put_service(&service).await }
        });
        bounded(self.inner.parallelism, tasks).await?;
        self.inner.meter.update(|metrics| {
            metrics.transactional_services += count;
            metrics.written_again += again;
        });
        Ok(plan.outcome)
    }

    /// One page of the export: the account and service items of one `segment` of the table
    /// (a parallel scan's share), from `cursor` (`None`: the start). A filtered `Scan`: see
    /// the module's documentation.
    pub async fn export_page(&self, segment: Segment, cursor: Option<ScanCursor>) -> Result<ScanPage, StoreError> {
        self.inner.meter.sent("Scan");
        let parallel = segment.of > 1;
        let output = self
            .inner
            .client
            .scan()
            .table_name(&self.inner.table)
            .set_segment(parallel.then_some(segment.index as i32))
            .set_total_segments(parallel.then_some(segment.of as i32))
            .consistent_read(true)
            .filter_expression("#sk IN (:profile, :service)")
            .expression_attribute_names("#sk", items::SK)
            .expression_attribute_values(":profile", s(items::PROFILE_SK))
            .expression_attribute_values(":service", s(items::SERVICE_SK))
            .set_exclusive_start_key(cursor.map(|c| c.0))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| classify("Scan", e))?;
        self.inner.meter.consumed(output.consumed_capacity());
        let mut records = Vec::new();
        for item in output.items.unwrap_or_default() {
            match items::sort_key(&item) {
                items::PROFILE_SK => records.push(Record::Account(items::account_from(&item)?)),
                items::SERVICE_SK => records.push(Record::Service(items::service_from(&item)?)),
                _ => {}
            }
        }
        Ok(ScanPage { records, next: output.last_evaluated_key.filter(|key| !key.is_empty()).map(ScanCursor) })
    }

    // ---- the calls -----------------------------------------------------------------------------

    /// The items at `keys` (distinct) that exist, by partition key (every key here is the
    /// only one of its partition that is asked for). One [`batch_get`] per 100 keys, a few at once.
    async fn get_many(&self, keys: Vec<Item>) -> Result<HashMap<String, Item>, StoreError> {
        let mut keys = keys.into_iter().peekable();
        let mut tasks = Vec::new();
        while keys.peek().is_some() {
            let chunk: Vec<Item> = keys.by_ref().take(BATCH_GET_MAX).collect();
            let inner = self.inner.clone();
            tasks.push(async move { batch_get(&inner.client, &inner.table, &inner.meter, chunk, Backoff::BULK).await });
        }
        let mut found = HashMap::new();
        for items in bounded(self.inner.parallelism, tasks).await? {
            for item in items {
                let pk = item.get(items::PK).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                // Locks share their service's partition: key them by pk and sk.
                let key = if items::sort_key(&item).starts_with(items::LOCK_PREFIX) { format!("{pk}\n{}", items::sort_key(&item)) } else { pk };
                found.insert(key, item);
            }
        }
        Ok(found)
    }

    /// Sends `writes` (to distinct items) in batches of 25, a few at once.
    async fn write_all(&self, writes: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut writes = writes.into_iter().peekable();
        let mut tasks = Vec::new();
        while writes.peek().is_some() {
            let chunk: Vec<WriteRequest> = writes.by_ref().take(WRITE_BATCH).collect();
            tasks.push(write_batch(self.inner.clone(), chunk));
        }
        bounded(self.inner.parallelism, tasks).await?;
        Ok(())
    }
}

fn put(item: Item) -> Result<WriteRequest, StoreError> {
    Ok(WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item)).build().map_err(build_error)?).build())
}

fn delete(key: Item) -> Result<WriteRequest, StoreError> {
    Ok(WriteRequest::builder().delete_request(DeleteRequest::builder().set_key(Some(key)).build().map_err(build_error)?).build())
}

/// One `BatchWriteItem`, sent again for its unprocessed items.
async fn write_batch(inner: Arc<Inner>, mut writes: Vec<WriteRequest>) -> Result<(), StoreError> {
    let mut retry = 0;
    loop {
        let sent = writes.len() as u64;
        inner.meter.sent("BatchWriteItem");
        let output = inner
            .client
            .batch_write_item()
            .request_items(&inner.table, writes)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| classify("BatchWriteItem", e))?;
        inner.meter.consumed(output.consumed_capacity());
        let left = output.unprocessed_items.and_then(|mut left| left.remove(&inner.table)).unwrap_or_default();
        inner.meter.update(|metrics| metrics.items_written += sent - left.len() as u64);
        if left.is_empty() {
            return Ok(());
        }
        retry += 1;
        let wait = Backoff::BULK
            .wait(retry)
            .ok_or_else(|| StoreError::Unavailable(format!("BatchWriteItem: {} items left unprocessed (throttled)", left.len()).into()))?;
        inner.meter.retried();
        tokio::time::sleep(wait).await;
        writes = left;
    }
}

/// Writes `services` (at most [`SERVICES_PER_TRANSACTION`]) in one `TransactWriteItems`, each on the condition that
/// the table still has it as read. Returns those to write again: none, or all of them when the
/// transaction was cancelled (a condition failed, or a conflicting write was under way).
async fn put_services_as_read(inner: Arc<Inner>, services: Vec<(Service, Option<Service>)>) -> Result<Vec<Service>, StoreError> {
    let mut tx = Tx::new(&inner.table);
    for (service, old) in &services {
        tx.put(items::service_item(service), Some(super::service_as_read(old.as_ref())), Purpose::Service)?;
    }
    inner.meter.sent("TransactWriteItems");
    let sent = inner.client.transact_write_items().set_transact_items(Some(tx.items)).return_consumed_capacity(ReturnConsumedCapacity::Total).send().await;
    match sent {
        Ok(output) => {
            inner.meter.consumed(output.consumed_capacity());
            Ok(Vec::new())
        }
        Err(error) if matches!(error.as_service_error(), Some(TransactWriteItemsError::TransactionCanceledException(_))) => {
            Ok(services.into_iter().map(|(service, _)| service).collect())
        }
        Err(error) => Err(classify("TransactWriteItems", error)),
    }
}

/// Runs `tasks` with at most `limit` at once; their outputs in completion order. The first
/// error stops the rest (those in flight are aborted).
async fn bounded<O, F>(limit: usize, tasks: impl IntoIterator<Item = F>) -> Result<Vec<O>, StoreError>
where
    O: Send + 'static,
    F: Future<Output = Result<O, StoreError>> + Send + 'static,
{
    let mut set = JoinSet::new();
    let mut outputs = Vec::new();
    for task in tasks {
        if set.len() >= limit {
            outputs.push(join_one(&mut set).await?);
        }
        set.spawn(task);
    }
    while !set.is_empty() {
        outputs.push(join_one(&mut set).await?);
    }
    Ok(outputs)
}

async fn join_one<O: Send + 'static>(set: &mut JoinSet<Result<O, StoreError>>) -> Result<O, StoreError> {
    match set.join_next().await {
        Some(Ok(output)) => output,
        Some(Err(error)) => Err(StoreError::Failed(Cause::of(format!("a bulk task stopped: {error}"), error))),
        None => Err(StoreError::Failed("no bulk task to wait for".to_owned().into())),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn bounded_keeps_at_most_the_limit_in_flight_and_stops_at_the_first_error() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks = (0..20).map(|i| {
            let (now, peak) = (now.clone(), peak.clone());
            async move {
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(current, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, StoreError>(i)
            }
        });
        let mut outputs = bounded(4, tasks).await.unwrap();
        outputs.sort();
        assert_eq!(outputs, (0..20).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 4);
        let failing = (0..5).map(|i| async move { if i == 2 { Err(StoreError::Unavailable("x".into())) } else { Ok(i) } });
        assert!(matches!(bounded(2, failing).await, Err(StoreError::Unavailable(_))));
    }
}
