//! The `Store` on DynamoDB: one table, every read a `GetItem`, `BatchGetItem` or `Query`
//! (never a `Scan`), every change one conditional write or one `TransactWriteItems` (but a
//! batch's create, more than one holds: `batches.rs`).
//! [`bulk`] loads and exports accounts and services for `contacts-admin`, with the same items.
//! The layout is in [`items`] and in docs/dynamodb.md; the table's definition in [`schema`].
//!
//! It keeps the contract of `Store` exactly as the embedded store (`MemoryStore`) does, with
//! one documented difference: listings (`contact_changes_of`) return requests without their
//! parties' token hashes, which live in their own items; `request` returns them.

mod batch;
mod batches;
pub mod bulk;
mod erase;
pub mod errors;
pub mod items;
mod metrics;
mod retention;
mod save;
pub mod schema;
mod tx;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, ReturnValue};
use time::OffsetDateTime;

use crate::sdk::is_transient_code;
use batch::{Backoff, batch_get};
use contacts_app::ports::{
    Accounts, Asking, AskingFor, Clock, Effect, Erasure, Limits, Lock, Outbox, Page, ProfileRecord, Profiles, Requests, ServiceFilter, ServiceRecord, Services,
    StoreError, SystemClock,
};
use contacts_domain::Decision;
use contacts_domain::{
    Account, AccountId, AwaitedCodes, ContactChange, EmailAddress, EmailStatus, Event, EventId, EventOrder, Language, MailId, MailOrder, MailStatus, OutboxId,
    PartyStatus, RequestId, Retention, Role, Service, ServiceName, State, TokenHash,
};
use errors::classify;
use items::{Item, n, s};
use metrics::Meter;
use save::verdict;
use tx::{Cond, Purpose, Reason, Tx, failed_condition};

pub use items::{EVENT_SK, MAIL_PREFIX, event_id_of, mail_id_of};
pub use metrics::Metrics;
pub use schema::{create_table_if_missing, table_definition, table_exists};

pub struct DynamoStore {
    client: Client,
    table: String,
    /// Tells which token items have expired (their TTL deletion is lazy), and what is past
    /// its retention.
    clock: Arc<dyn Clock>,
    /// How long closed requests and batches are kept (SPEC §8): their items' TTL, the purge's
    /// keys, and what reads leave out.
    retention: Retention,
    meter: Meter<Metrics>,
}

/// Which sort keys of a partition a [`DynamoStore::query`] reads.
#[derive(Debug, Clone, Copy)]
enum SortKeys<'a> {
    All,
    Prefix(&'a str),
    /// This one and every one that sorts after it.
    From(&'a str),
}

/// How many times a write is rebuilt on fresh data when something it does not decide on
/// (an unmoved role's holder, another request's lock) changed under it.
const REBUILDS: usize = 4;

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), clock: Arc::new(SystemClock), retention: Retention::DEFAULT, meter: Meter::default() }
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

    /// Uses `clock` to tell expired token items (tests move time; production keeps the system clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The calls made since the store was built or [`reset_metrics`](Self::reset_metrics).
    pub fn metrics(&self) -> Metrics {
        self.meter.get()
    }

    pub fn reset_metrics(&self) {
        self.meter.reset();
    }

    // ---- reads -----------------------------------------------------------------------------

    async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        self.meter.sent("GetItem");
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| classify("GetItem", e))?;
        self.meter.consumed(output.consumed_capacity());
        Ok(output.item)
    }

    /// Queries one partition: the items whose sort key `range` admits, in sort-key order
    /// (descending unless `forward`), after `start` (a sort key, exclusive), until `want` items
    /// are in or the partition is exhausted. One call unless DynamoDB's 1 MB page limit cuts in first.
    async fn query(&self, pk: String, range: SortKeys<'_>, start: Option<String>, forward: bool, want: usize) -> Result<Vec<Item>, StoreError> {
        let start_key = start.map(|sk| items::key(pk.clone(), sk));
        let query = || {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(forward)
                .expression_attribute_names("#pk", items::PK)
                .expression_attribute_values(":pk", s(pk.clone()));
            match range {
                SortKeys::Prefix(prefix) => query
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", items::SK)
                    .expression_attribute_values(":prefix", s(prefix)),
                SortKeys::From(first) => query
                    .key_condition_expression("#pk = :pk AND #sk >= :first")
                    .expression_attribute_names("#sk", items::SK)
                    .expression_attribute_values(":first", s(first)),
                SortKeys::All => query.key_condition_expression("#pk = :pk"),
            }
        };
        self.paged(want.max(1), start_key, query, |_| true).await
    }

    /// The pages of one Query that `query` builds (its key condition, index, filter, order),
    /// from `start_key` on, until `want` items are in (`usize::MAX`: no limit), the query is
    /// exhausted, or an item is not one to `take` (the first that is not ends it: a range read
    /// past its end). One call unless DynamoDB's 1 MB page limit (or a filter) cuts in first.
    async fn paged(
        &self,
        want: usize,
        mut start_key: Option<Item>,
        query: impl Fn() -> QueryFluentBuilder,
        mut take: impl FnMut(&Item) -> bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        loop {
            let limit = (want != usize::MAX).then(|| i32::try_from(want - found.len()).unwrap_or(i32::MAX));
            self.meter.sent("Query");
            let output = query()
                .set_limit(limit)
                .set_exclusive_start_key(start_key.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| classify("Query", e))?;
            self.meter.consumed(output.consumed_capacity());
            for item in output.items.unwrap_or_default() {
                if !take(&item) {
                    return Ok(found);
                }
                found.push(item);
            }
            match output.last_evaluated_key {
                Some(last) if found.len() < want => start_key = Some(last),
                _ => return Ok(found),
            }
        }
    }

    /// The due index's bucket `bucket`: requests expiring by `horizon` that are past `now` or
    /// not reminded yet, up to `want`, in expiry order.
    async fn due_in(&self, bucket: String, now: OffsetDateTime, horizon: OffsetDateTime, want: usize) -> Result<Vec<Item>, StoreError> {
        let query = || {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(items::DUE_INDEX)
                .key_condition_expression("#pk = :pk AND #sk < :upto")
                .filter_expression("attribute_not_exists(#reminded) OR #expires <= :now")
                .expression_attribute_names("#pk", items::DUE_PK)
                .expression_attribute_names("#sk", items::DUE_SK)
                .expression_attribute_names("#reminded", items::REMINDED)
                .expression_attribute_names("#expires", "expires_ms")
                .expression_attribute_values(":pk", s(bucket.clone()))
                .expression_attribute_values(":upto", s(items::due_sk_after(items::millis(horizon))))
                .expression_attribute_values(":now", n(items::millis(now)))
        };
        self.paged(want, None, query, |_| true).await
    }

    /// The `by_type` index's partition `pk`: the names starting with `prefix`, after `after`,
    /// up to `want`. One range of the sort key: past `after` (a page's cursor) if given, else
    /// the prefix; the first name past the prefix ends it, as every later one is past it too.
    async fn by_type(&self, pk: String, prefix: &str, after: Option<&ServiceName>, want: usize) -> Result<Vec<Item>, StoreError> {
        // DynamoDB takes no empty string as a value: no prefix, no bound.
        let (condition, bound) = match after {
            Some(name) => ("#pk = :pk AND #sk > :bound", Some(name.as_str())),
            None if prefix.is_empty() => ("#pk = :pk", None),
            None => ("#pk = :pk AND begins_with(#sk, :bound)", Some(prefix)),
        };
        let mut names = HashMap::from([("#pk".to_owned(), items::TYPE_PK.to_owned())]);
        let mut values = HashMap::from([(":pk".to_owned(), s(pk))]);
        if let Some(bound) = bound {
            names.insert("#sk".to_owned(), items::TYPE_SK.to_owned());
            values.insert(":bound".to_owned(), s(bound));
        }
        let query = || {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(items::TYPE_INDEX)
                .key_condition_expression(condition)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
        };
        let within_prefix = |item: &Item| item.get(items::TYPE_SK).and_then(|v| v.as_s().ok()).is_some_and(|name| name.starts_with(prefix));
        self.paged(want, None, query, within_prefix).await
    }

    /// The outbox's unsettled items posted by `upto_ms`, oldest first, up to `want`: the mails
    /// (`partition` [`items::OUTBOX_PK`]) or the events ([`items::EVENTS_PK`]).
    async fn outbox(&self, partition: &str, upto_ms: i64, want: usize) -> Result<Vec<Item>, StoreError> {
        self.due_partition(partition, items::outbox_sk_upto(upto_ms), want, false).await
    }

    /// The due index's items of `partition` whose `due_sk` sorts before `before`, in order, up
    /// to `want`; with `keys_only`, their table keys alone (a batch item is up to 400 KB).
    async fn due_partition(&self, partition: &str, before: String, want: usize, keys_only: bool) -> Result<Vec<Item>, StoreError> {
        let query = || {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(items::DUE_INDEX)
                .key_condition_expression("#pk = :pk AND #sk < :before")
                .expression_attribute_names("#pk", items::DUE_PK)
                .expression_attribute_names("#sk", items::DUE_SK)
                .expression_attribute_values(":pk", s(partition))
                .expression_attribute_values(":before", s(before.clone()));
            match keys_only {
                true => query.projection_expression("#key, #sort").expression_attribute_names("#key", items::PK).expression_attribute_names("#sort", items::SK),
                false => query,
            }
        };
        self.paged(want, None, query, |_| true).await
    }

    async fn read_service(&self, name: &ServiceName) -> Result<Option<Service>, StoreError> {
        self.get(items::service_key(name)).await?.as_ref().map(items::service_from).transpose()
    }

    // ---- writes ----------------------------------------------------------------------------

    /// `Requests::save`, and with `settle` the mail's status in the same transaction.
    async fn save_with(&self, change: &ContactChange, effect: Effect, settle: Option<(&MailId, MailStatus)>) -> Result<(), StoreError> {
        let Some(read_version) = change.version.checked_sub(1) else { return Err(StoreError::Stale) };
        // The service as the request saw it when asked, if it kept it: the transaction's
        // condition on the service item says whether it still is, and a failed one hands back
        // the service as it is now (`service_now`), so no read comes first.
        let mut service = match (&effect, &change.service_when_asked) {
            (Effect::Apply { .. }, Some(asked)) => Some(asked.clone()),
            (Effect::Apply { .. }, None) => self.read_service(&change.service).await?,
            _ => None,
        };
        let mut foreign_locks: Vec<Role> = Vec::new();
        for _ in 0..REBUILDS {
            if let Some(obstacle) = service.as_ref().and_then(|old| change.obstacle(&old.contacts)) {
                // The version comes first, as everywhere: a stale save is stale.
                return Err(self.unless_stale(change.id, read_version, obstacle).await);
            }
            let tx = self.save_tx(change, &effect, read_version, service.as_ref(), &foreign_locks, settle)?;
            let reasons = match self.transact(tx).await {
                Ok(()) => return Ok(()),
                Err(Err(error)) => return Err(error),
                Err(Ok(reasons)) => reasons,
            };
            let service_now = self.service_now(change, &reasons).await?;
            let (changed, taken) = verdict(change, &effect, read_version, &reasons, service_now).into_result()?;
            service = changed.or(service);
            foreign_locks.extend(taken);
        }
        Err(StoreError::Unavailable("save: the service or its locks kept changing".to_owned().into()))
    }

    /// One UpdateItem of an outbox item (a mail, an event) on the condition that it exists: one
    /// gone (its TTL) has nothing left to settle.
    async fn settle_outbox_item(&self, key: Item, update: Cond) -> Result<(), StoreError> {
        let (update, names, values) = update.parts();
        self.meter.sent("UpdateItem");
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(names.unwrap_or_default().into_iter().chain([("#pk".to_owned(), items::PK.to_owned())]).collect()))
            .set_expression_attribute_values(values)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match output {
            Ok(output) => {
                self.meter.consumed(output.consumed_capacity());
                Ok(())
            }
            // Gone (its TTL): nothing left to settle.
            Err(error) if matches!(error.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => Ok(()),
            Err(error) => Err(classify("UpdateItem", error)),
        }
    }

    /// Sends `update` (on a condition) on this table with `ReturnValues=ALL_NEW`: the item as it
    /// is now, or `None` when the condition failed.
    async fn update_returning(&self, update: UpdateItemFluentBuilder) -> Result<Option<Item>, StoreError> {
        self.meter.sent("UpdateItem");
        match update.table_name(&self.table).return_values(ReturnValue::AllNew).return_consumed_capacity(ReturnConsumedCapacity::Total).send().await {
            Ok(output) => {
                self.meter.consumed(output.consumed_capacity());
                output.attributes.map(Some).ok_or_else(|| StoreError::Failed("UpdateItem: no attributes returned".to_owned().into()))
            }
            Err(error) if matches!(error.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => Ok(None),
            Err(error) => Err(classify("UpdateItem", error)),
        }
    }

    /// Sends `tx`; `Err(Ok(reasons))` when DynamoDB cancelled it, one reason per item.
    async fn transact(&self, tx: Tx) -> Result<(), Result<Vec<Reason>, StoreError>> {
        if tx.is_empty() {
            return Ok(());
        }
        self.meter.sent("TransactWriteItems");
        let purposes = tx.purposes;
        let result = self.client.transact_write_items().set_transact_items(Some(tx.items)).return_consumed_capacity(ReturnConsumedCapacity::Total).send().await;
        match result {
            Ok(output) => {
                self.meter.consumed(output.consumed_capacity());
                Ok(())
            }
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let reasons = cancelled.cancellation_reasons();
                    Err(Ok(purposes
                        .into_iter()
                        .enumerate()
                        .map(|(i, purpose)| {
                            let reason = reasons.get(i);
                            Reason { purpose, code: reason.and_then(|r| r.code().map(str::to_owned)), item: reason.and_then(|r| r.item().cloned()) }
                        })
                        .collect()))
                }
                _ => Err(Err(classify("TransactWriteItems", error))),
            },
        }
    }
}

/// The domain error a cancelled transaction stands for, when no cause is a condition this
/// adapter can resolve: conflicts and throttling are transient, anything else a failure.
fn cancelled_otherwise(operation: &str, reasons: &[Reason], conflict: StoreError) -> StoreError {
    if reasons.iter().any(Reason::conflict) {
        return conflict;
    }
    let codes: Vec<&str> = reasons.iter().filter(|r| r.failed()).filter_map(|r| r.code.as_deref()).collect();
    let message = format!("{operation}: cancelled ({})", codes.join(", "));
    if !codes.is_empty() && codes.iter().all(|c| is_transient_code(c)) { StoreError::Unavailable(message.into()) } else { StoreError::Failed(message.into()) }
}

/// The letters `change` owes, as mail items posted at `now` (`Requests::save`'s ids), and the
/// events it owes, as event items ([`post_events`]).
fn post_mails(tx: &mut Tx, change: &ContactChange, now: OffsetDateTime) -> Result<(), StoreError> {
    for (index, letter) in change.outbox.iter().enumerate() {
        let index = u16::try_from(index).map_err(|_| StoreError::Failed("a save owes too many mails".to_owned().into()))?;
        let id = MailId::of_request(change.id, change.version, index);
        tx.put(items::mail_item(id, letter, now), None, Purpose::Mail)?;
    }
    post_events(tx, change, now)
}

/// The events `change` owes, as event items committed at `now`, each of id
/// `EventId::of_request(change.id, change.version, its index)`.
fn post_events(tx: &mut Tx, change: &ContactChange, now: OffsetDateTime) -> Result<(), StoreError> {
    for (index, occurrence) in change.events.iter().enumerate() {
        let index = u16::try_from(index).map_err(|_| StoreError::Failed("a save owes too many events".to_owned().into()))?;
        let event = Event::new(EventId::of_request(change.id, change.version, index), occurrence.clone());
        tx.put(items::event_item(&event, now), None, Purpose::Event)?;
    }
    Ok(())
}

/// The update that sets an outbox item's `status` (a mail's, an event's): a settled one leaves
/// the outbox and is kept [`items::SETTLED_MAIL_KEPT`]; a pending one is free to claim at once.
fn status_update<I: OutboxId>(status: I::Status, now: OffsetDateTime) -> Cond {
    let update = if I::is_settled(status) {
        Cond::new("SET #status = :status, #ttl = :ttl REMOVE #lease, #due_pk, #due_sk")
            .name("#ttl", items::TTL)
            .name("#due_pk", items::DUE_PK)
            .name("#due_sk", items::DUE_SK)
            .value(":ttl", n(items::ttl_seconds(now + items::SETTLED_MAIL_KEPT)))
    } else {
        Cond::new("SET #status = :status REMOVE #lease")
    };
    update.name("#status", "status").name("#lease", "lease_ms").value(":status", s(I::status_name(status)))
}

/// How an outbox's items are kept: the mails' under their request, in the `due` index's
/// `OUTBOX` partition while unsettled; the events' on their own, in its `EVENTS` partition.
trait Stored: OutboxId {
    /// The `due` index's partition of the unsettled ones.
    const PARTITION: &'static str;
    fn key(&self) -> Item;
    fn order_from(item: &Item) -> Result<Self::Order, StoreError>;
}

impl Stored for MailId {
    const PARTITION: &'static str = items::OUTBOX_PK;
    fn key(&self) -> Item {
        items::mail_key(self)
    }
    fn order_from(item: &Item) -> Result<MailOrder, StoreError> {
        items::mail_order_from(item)
    }
}

impl Stored for EventId {
    const PARTITION: &'static str = items::EVENTS_PK;
    fn key(&self) -> Item {
        items::event_key(self)
    }
    fn order_from(item: &Item) -> Result<EventOrder, StoreError> {
        items::event_order_from(item)
    }
}

#[async_trait]
impl<I: Stored> Outbox<I> for DynamoStore {
    /// One conditional UpdateItem, returning the claimed item.
    async fn claim(&self, id: &I, now: OffsetDateTime, until: OffsetDateTime) -> Result<Option<I::Order>, StoreError> {
        let update = self
            .client
            .update_item()
            .set_key(Some(id.key()))
            .update_expression("SET #status = :held, #lease = :until ADD #attempts :one")
            .condition_expression("#status = :pending OR (#status = :held AND #lease <= :now)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#lease", "lease_ms")
            .expression_attribute_names("#attempts", "attempts")
            .expression_attribute_values(":held", s(I::status_name(I::held(until))))
            .expression_attribute_values(":pending", s(I::status_name(I::PENDING)))
            .expression_attribute_values(":until", n(items::millis(until)))
            .expression_attribute_values(":now", n(items::millis(now)))
            .expression_attribute_values(":one", n(1));
        self.update_returning(update).await?.as_ref().map(I::order_from).transpose()
    }

    /// One UpdateItem on the condition that the item exists: one gone (its TTL) has nothing
    /// left to settle.
    async fn settle(&self, id: &I, status: I::Status) -> Result<(), StoreError> {
        self.settle_outbox_item(id.key(), status_update::<I>(status, self.clock.now())).await
    }

    /// One Query on the due index's partition of the kind (eventually consistent: an item just
    /// settled may still show, and its claim then fails).
    async fn unsent(&self, posted_before: OffsetDateTime, limit: usize) -> Result<Vec<I>, StoreError> {
        let found = self.outbox(I::PARTITION, items::millis(posted_before), limit).await?;
        found.iter().map(|item| I::order_from(item).map(|order| I::of(&order).clone())).collect()
    }
}

#[async_trait]
impl Accounts for DynamoStore {
    #[tracing::instrument(name = "dynamodb.account", skip_all, fields(account = %id))]
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.get(items::account_key(id)).await?.as_ref().map(items::account_from).transpose()
    }

    /// One Query of the `by_email` index, at most `limit` entries.
    #[tracing::instrument(name = "dynamodb.accounts_with_email", skip_all)]
    async fn accounts_with_email(&self, email: &EmailAddress, limit: usize) -> Result<Vec<AccountId>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(items::EMAIL_INDEX)
            .key_condition_expression("#key = :key")
            .expression_attribute_names("#key", items::EMAIL_KEY)
            .expression_attribute_values(":key", s(email.lookup_key()))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        self.meter.sent("Query");
        let output = query.send().await.map_err(|e| classify("Query", e))?;
        self.meter.consumed(output.consumed_capacity());
        output.items().iter().map(items::account_of_index_entry).collect()
    }

    /// `BatchGetItem`s of the `PROFILE` items, 100 keys a call (`batch::batch_get`).
    #[tracing::instrument(name = "dynamodb.accounts", skip_all, fields(count = ids.len()))]
    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, StoreError> {
        let mut ids: Vec<&AccountId> = ids.iter().collect();
        ids.sort();
        ids.dedup(); // BatchGetItem refuses a key listed twice
        let keys = ids.into_iter().map(items::account_key).collect();
        let found = batch_get(&self.client, &self.table, &self.meter, keys, Backoff::REQUEST).await?;
        found.iter().map(items::account_from).collect()
    }

    /// One PutItem (the whole item: a pending email change goes), answering the item it
    /// replaced; when that had this same address marked bouncing, one conditional UpdateItem
    /// marks it again (only a new address clears the mark); when it had an address change
    /// pending, one TransactWriteItems deletes that change's verification items (which hold the
    /// address asked for, and could verify nothing any more).
    #[tracing::instrument(name = "dynamodb.put_account", skip_all, fields(account = %account.id))]
    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.meter.sent("PutItem");
        let output = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(items::account_item(account)))
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| classify("PutItem", e))?;
        self.meter.consumed(output.consumed_capacity());
        let dropped = output.attributes().map(items::pending_code_hashes).unwrap_or_default();
        let old = output.attributes().map(items::account_from).and_then(Result::ok);
        if old.is_some_and(|old| old.email == account.email && old.email_status == EmailStatus::Bouncing) && account.email_status != EmailStatus::Bouncing {
            self.mark_bouncing(&account.id, &account.email).await?;
        }
        let mut tx = Tx::new(&self.table);
        for hash in dropped {
            tx.delete(items::email_token_key(&hash), None, Purpose::Token)?;
        }
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(Err(error)) => Err(error),
            Err(Ok(reasons)) => Err(cancelled_otherwise("put_account", &reasons, StoreError::Unavailable("put_account: conflicting writes".to_owned().into()))),
        }
    }

    /// One UpdateItem on the condition that the account's address is still `email`.
    #[tracing::instrument(name = "dynamodb.mark_bouncing", skip_all, fields(account = %id))]
    async fn mark_bouncing(&self, id: &AccountId, email: &EmailAddress) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .set_key(Some(items::account_key(id)))
            .update_expression("SET #es = :bouncing")
            .condition_expression("#email = :email")
            .expression_attribute_names("#es", items::EMAIL_STATUS)
            .expression_attribute_names("#email", "email")
            .expression_attribute_values(":bouncing", s(EmailStatus::Bouncing.as_str()))
            .expression_attribute_values(":email", s(email.as_str()));
        Ok(self.update_returning(update).await?.is_some())
    }

    /// `UpdateItem` (the mark), `Query` (the account's partition, keys and states) and, when it
    /// lists batches, `BatchGetItem` of them; then `UpdateItem` (the mark removed: in use) or one
    /// `TransactWriteItems` (the account item, its change's verification items, the event).
    /// The fence and its steps: `erase.rs`.
    #[tracing::instrument(name = "dynamodb.erase_account", skip_all, fields(account = %id))]
    async fn erase_account(&self, id: &AccountId, event: &Event) -> Result<Erasure, StoreError> {
        self.erase(id, event).await
    }
}

#[async_trait]
impl Profiles for DynamoStore {
    /// One GetItem: the account item carries its address change.
    #[tracing::instrument(name = "dynamodb.profile", skip_all, fields(account = %id))]
    async fn profile(&self, id: &AccountId) -> Result<Option<ProfileRecord>, StoreError> {
        self.get(items::account_key(id)).await?.as_ref().map(items::profile_from).transpose()
    }

    /// One transaction: the account item's change attributes on the condition that its
    /// revision is the one read, the verification item of each code it awaits, and the deletion
    /// of the `gone` codes' items.
    #[tracing::instrument(name = "dynamodb.save_email_change", skip_all, fields(account = %record.account.id))]
    async fn save_email_change(&self, record: &ProfileRecord, gone: &[TokenHash]) -> Result<(), StoreError> {
        let Some(read) = record.revision.checked_sub(1) else { return Err(StoreError::Stale) };
        let asks = AttributeValue::L(record.email_asks.iter().map(|at| n(items::millis(*at))).collect());
        let update = match &record.pending_email {
            Some(pending) => {
                // The codes still awaited are set, a code that came back removed.
                let (set, remove, values) = match pending.awaiting {
                    AwaitedCodes::Both { new_address, current_address } => {
                        ("#pn = :pn, #pc = :pc", "#one", vec![(":pn", new_address), (":pc", current_address)])
                    }
                    AwaitedCodes::NewAddress(new_address) => ("#pn = :pn", "#pc, #one", vec![(":pn", new_address)]),
                    AwaitedCodes::CurrentAddress(current_address) => ("#pc = :pc", "#pn, #one", vec![(":pc", current_address)]),
                };
                let expression = format!("SET {set}, #pe = :pe, #pk_key = :pk_key, #px = :px, #asks = :asks, #rev = :rev REMOVE {remove}");
                values
                    .into_iter()
                    .fold(Cond::new(expression), |cond, (placeholder, hash)| cond.value(placeholder, s(hash.to_hex())))
                    .name("#pk_key", items::PENDING_EMAIL_KEY)
                    .value(":pk_key", s(pending.email.lookup_key()))
                    .value(":pe", s(pending.email.as_str()))
                    .value(":px", n(items::millis(pending.expires_at)))
            }
            None => Cond::new("SET #asks = :asks, #rev = :rev REMOVE #pe, #pk_key, #pn, #pc, #one, #px").name("#pk_key", items::PENDING_EMAIL_KEY),
        }
        .name("#pe", items::PENDING_EMAIL)
        .name("#pn", items::PENDING_NEW_CODE)
        .name("#pc", items::PENDING_CURRENT_CODE)
        .name("#one", items::PENDING_HASH_OF_ONE_CODE)
        .name("#px", items::PENDING_EXPIRES)
        .name("#asks", items::EMAIL_ASKS)
        .name("#rev", items::EMAIL_REV)
        .value(":asks", asks)
        .value(":rev", n(record.revision));
        let cond = if read == 0 {
            Cond::new("attribute_exists(#pk) AND attribute_not_exists(#rev)")
        } else {
            Cond::new("attribute_exists(#pk) AND #rev = :read").value(":read", n(read))
        }
        .name("#pk", items::PK);
        let mut tx = Tx::new(&self.table);
        tx.update(items::account_key(&record.account.id), update, Some(cond), Purpose::Profile)?;
        if let Some(pending) = &record.pending_email {
            for hash in pending.awaiting.hashes() {
                tx.put(items::email_token_item(&record.account.id, pending, &hash), None, Purpose::Token)?;
            }
        }
        for old in gone {
            tx.delete(items::email_token_key(old), None, Purpose::Token)?;
        }
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(Err(error)) => Err(error),
            Err(Ok(reasons)) if failed_condition(&reasons, &Purpose::Profile).is_some() => Err(StoreError::Stale),
            Err(Ok(reasons)) => Err(cancelled_otherwise("save_email_change", &reasons, StoreError::Stale)),
        }
    }

    /// One GetItem of the verification item; one past its expiry is ignored, whether or not TTL
    /// has deleted it yet.
    #[tracing::instrument(name = "dynamodb.email_token", skip_all)]
    async fn email_token(&self, hash: &TokenHash, now: OffsetDateTime) -> Result<Option<AccountId>, StoreError> {
        let Some(item) = self.get(items::email_token_key(hash)).await? else { return Ok(None) };
        let (account, expires_ms) = items::email_token_from(&item)?;
        Ok((expires_ms > items::millis(now)).then_some(account))
    }

    /// One transaction: the pending address becomes the address and the change goes, on the
    /// condition that the change's revision is the one read and the change is live; its
    /// verification items are deleted (they can verify nothing any more), and the event is
    /// committed. Then the account as it is now, one GetItem.
    #[tracing::instrument(name = "dynamodb.verify_email", skip_all, fields(account = %read.account.id))]
    async fn verify_email(&self, read: &ProfileRecord, now: OffsetDateTime, event: &Event) -> Result<Account, StoreError> {
        let Some(pending) = &read.pending_email else { return Err(StoreError::Stale) };
        let update = Cond::new("SET #email = #pe, #email_key = #pe_key, #rev = #rev + :one REMOVE #pe, #pe_key, #pn, #pc, #ph, #px, #es")
            .name("#email_key", items::EMAIL_KEY)
            .name("#pe_key", items::PENDING_EMAIL_KEY)
            .name("#email", "email")
            .name("#pe", items::PENDING_EMAIL)
            .name("#rev", items::EMAIL_REV)
            .name("#es", items::EMAIL_STATUS)
            .name("#pn", items::PENDING_NEW_CODE)
            .name("#pc", items::PENDING_CURRENT_CODE)
            .name("#ph", items::PENDING_HASH_OF_ONE_CODE)
            .value(":one", n(1));
        let live = Cond::new("#rev = :read AND #px > :now")
            .name("#rev", items::EMAIL_REV)
            .name("#px", items::PENDING_EXPIRES)
            .value(":read", n(read.revision))
            .value(":now", n(items::millis(now)));
        let mut tx = Tx::new(&self.table);
        tx.update(items::account_key(&read.account.id), update, Some(live), Purpose::Profile)?;
        for hash in pending.awaiting.hashes() {
            tx.delete(items::email_token_key(&hash), None, Purpose::Token)?;
        }
        tx.put(items::event_item(event, self.clock.now()), None, Purpose::Event)?;
        match self.transact(tx).await {
            Ok(()) => {}
            Err(Ok(reasons)) if failed_condition(&reasons, &Purpose::Profile).is_some() => return Err(StoreError::Stale),
            Err(Ok(reasons)) => {
                return Err(cancelled_otherwise("verify_email", &reasons, StoreError::Unavailable("verify_email: a concurrent write".to_owned().into())));
            }
            Err(Err(error)) => return Err(error),
        }
        self.account(&read.account.id).await?.ok_or(StoreError::Stale)
    }

    /// One transaction: the account's language on the condition that it exists and had
    /// another one, and the event's item; then the profile, read (a refused condition writes
    /// nothing, and that read tells an account gone from one already in that language).
    #[tracing::instrument(name = "dynamodb.set_language", skip_all, fields(account = %id))]
    async fn set_language(&self, id: &AccountId, language: Language, event: &Event) -> Result<Option<ProfileRecord>, StoreError> {
        let mut tx = Tx::new(&self.table);
        let update = Cond::new("SET #language = :language").name("#language", "language").value(":language", s(language.as_str()));
        let changes = Cond::new("attribute_exists(#pk) AND (attribute_not_exists(#language) OR #language <> :language)").name("#pk", items::PK);
        tx.update(items::account_key(id), update, Some(changes), Purpose::Profile)?;
        tx.put(items::event_item(event, self.clock.now()), None, Purpose::Event)?;
        match self.transact(tx).await {
            Ok(()) => {}
            Err(Ok(reasons)) if failed_condition(&reasons, &Purpose::Profile).is_some() => {}
            Err(Ok(reasons)) => {
                return Err(cancelled_otherwise("set_language", &reasons, StoreError::Unavailable("set_language: a concurrent write".to_owned().into())));
            }
            Err(Err(error)) => return Err(error),
        }
        self.profile(id).await
    }
}

#[async_trait]
impl Services for DynamoStore {
    /// One Query on the service's partition: the service and its lock items. Expired locks
    /// are returned too (as the embedded store does); callers compare `expires_at`.
    #[tracing::instrument(name = "dynamodb.service", skip_all, fields(service = %name))]
    async fn service(&self, name: &ServiceName) -> Result<Option<ServiceRecord>, StoreError> {
        let found = self.query(items::service_pk(name), SortKeys::All, None, true, usize::MAX).await?;
        let mut service = None;
        let mut locks: Vec<Lock> = Vec::new();
        for item in &found {
            let sk = items::sort_key(item);
            if sk == items::SERVICE_SK {
                service = Some(items::service_from(item)?);
            } else if sk.starts_with(items::LOCK_PREFIX) {
                locks.push(items::lock_from(item)?);
            }
        }
        locks.sort_by_key(|lock| lock.role);
        Ok(service.map(|service| ServiceRecord { service, locks }))
    }

    /// `BatchGetItem`s of the account's membership items of `names` (100 keys a call; kept in
    /// step with the services, in their transactions): nothing of a service it holds no role of
    /// is read.
    #[tracing::instrument(name = "dynamodb.held_among", skip_all, fields(account = %account, names = names.len()))]
    async fn held_among(&self, account: &AccountId, names: &[ServiceName]) -> Result<std::collections::BTreeSet<ServiceName>, StoreError> {
        let keys = names.iter().collect::<std::collections::BTreeSet<_>>().into_iter().map(|name| items::membership_key(account, name)).collect();
        let found = batch_get(&self.client, &self.table, &self.meter, keys, Backoff::REQUEST).await?;
        found.iter().map(|item| items::service_from(item).map(|service| service.name)).collect()
    }

    /// Reads the service as it is, then writes it and its members' membership items in one
    /// transaction on the condition that it is still as read (else reads again), with a check
    /// of each holder new to it (it exists, and no erasure of it is under way: `erase.rs`).
    #[tracing::instrument(name = "dynamodb.put_service", skip_all, fields(service = %service.name))]
    async fn put_service(&self, service: &Service) -> Result<(), StoreError> {
        for _ in 0..REBUILDS {
            let old = self.read_service(&service.name).await?;
            let mut tx = Tx::new(&self.table);
            tx.put(items::service_item(service), Some(service_as_read(old.as_ref())), Purpose::Service)?;
            for write in items::membership_writes(old.as_ref(), service) {
                tx.write(write, Purpose::Membership)?;
            }
            let held = old.as_ref().map(|old| old.contacts.holders()).unwrap_or_default();
            for holder in service.contacts.holders().into_iter().filter(|holder| !held.contains(holder)) {
                tx.check(items::account_key(&holder), erase::account_usable(), Purpose::Account(holder))?;
            }
            match self.transact(tx).await {
                Ok(()) => return Ok(()),
                Err(Err(error)) => return Err(error),
                Err(Ok(reasons)) => {
                    if reasons.iter().any(|r| r.purpose == Purpose::Service && (r.condition_failed() || r.conflict())) {
                        continue; // changed since read: read again
                    }
                    if let Some(unknown) = save::account_unknown(&reasons) {
                        return Err(unknown);
                    }
                    return Err(cancelled_otherwise("put_service", &reasons, StoreError::Unavailable("put_service: conflicting writes".to_owned().into())));
                }
            }
        }
        Err(StoreError::Unavailable("put_service: the service kept changing".to_owned().into()))
    }

    /// One Query on the account's partition (its membership items, by service name, from the
    /// prefix), or, for one type, on the `by_type` index (eventually consistent: a role moved a
    /// moment ago may still show there).
    #[tracing::instrument(name = "dynamodb.services_of", skip_all, fields(account = %account))]
    async fn services_of(&self, account: &AccountId, filter: &ServiceFilter, after: Option<&ServiceName>, limit: usize) -> Result<Page<Service>, StoreError> {
        let prefix = filter.name_prefix.as_deref().unwrap_or("");
        let found = match &filter.kind {
            None => {
                let start = after.map(items::membership_sk);
                let prefix = format!("{}{prefix}", items::MEMBERSHIP_PREFIX);
                self.query(items::account_pk(account), SortKeys::Prefix(&prefix), start, true, limit.saturating_add(1)).await?
            }
            Some(kind) => self.by_type(items::type_pk(account, kind), prefix, after, limit.saturating_add(1)).await?,
        };
        let mut services = found.iter().map(items::service_from).collect::<Result<Vec<_>, _>>()?;
        let more = services.len() > limit;
        services.truncate(limit);
        Ok(Page { items: services, more })
    }
}

#[async_trait]
impl Requests for DynamoStore {
    /// One transaction: per request its item, its copies, its token items and its locks,
    /// each lock on the condition that there is none or that it has expired, and a check of
    /// each account involved (it exists, no erasure of it is under way, and its zone and
    /// standing as the request needs).
    #[tracing::instrument(name = "dynamodb.create", skip_all, fields(count = changes.len()))]
    async fn create(&self, changes: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = Tx::new(&self.table);
        for change in changes {
            let (request, copies) = items::request_items(change)?;
            tx.put(request, Some(Cond::new("attribute_not_exists(#pk)").name("#pk", items::PK)), Purpose::Request)?;
            for copy in copies {
                tx.put(copy, None, Purpose::Copy)?;
            }
            for role in change.roles.iter() {
                let lock = Lock::of(change, role);
                // An expired lock blocks nothing, whether or not TTL has deleted it yet.
                let cond = Cond::new("attribute_not_exists(#pk) OR #expires <= :now")
                    .name("#pk", items::PK)
                    .name("#expires", "expires_ms")
                    .value(":now", n(items::millis(now)));
                tx.put(items::lock_item(&change.service, &lock), Some(cond), Purpose::Lock(role))?;
            }
            post_mails(&mut tx, change, now)?;
        }
        let standing: Vec<AccountId> = changes.iter().flat_map(ContactChange::must_be_in_good_standing).collect();
        save::check_accounts(&mut tx, &changes.iter().collect::<Vec<_>>(), &standing, true)?;
        // One record per new contact: two requests may go to one account (other previous holders).
        let mut counted: Vec<&ContactChange> = changes.iter().filter(|c| c.unaccepted_from().is_some()).collect();
        counted.sort_by(|a, b| a.to.cmp(&b.to));
        for same_to in counted.chunk_by(|a, b| a.to == b.to) {
            let (requester, to) = (&same_to[0].requested_by, &same_to[0].to);
            tx.update(items::asks_key(requester, to), items::asks_update(same_to, true), None, Purpose::Unaccepted)?;
        }
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(Err(error)) => Err(error),
            Err(Ok(reasons)) => {
                if let Some(role) = reasons.iter().find_map(|r| match r.purpose {
                    Purpose::Lock(role) if r.condition_failed() => Some(role),
                    _ => None,
                }) {
                    return Err(StoreError::PendingExists(role));
                }
                if let Some(unknown) = save::account_unknown(&reasons) {
                    return Err(unknown);
                }
                if let Some(refused) = save::account_refused(&reasons, &standing) {
                    return Err(refused);
                }
                if failed_condition(&reasons, &Purpose::Request).is_some() {
                    return Err(StoreError::Failed("create: a request with this id exists".to_owned().into()));
                }
                // A conflict means another write is in flight on a lock or a copy; its outcome
                // is unknown here, so it is not reported as `PendingExists`.
                Err(cancelled_otherwise("create", &reasons, StoreError::Unavailable("create: conflicting writes".to_owned().into())))
            }
        }
    }

    /// One Query on the request's partition: the request and its live token items. A token
    /// item past its expiry, or of an older round of codes, is ignored, whether or not TTL has
    /// deleted it yet.
    #[tracing::instrument(name = "dynamodb.contact_change", skip_all, fields(contact_change = %id))]
    async fn contact_change(&self, id: RequestId) -> Result<Option<ContactChange>, StoreError> {
        // From the request item on (its tokens follow it): its posted mails sort before it and
        // are not read here.
        let found = self.query(items::request_pk(id), SortKeys::From(items::REQUEST_SK), None, true, usize::MAX).await?;
        let now_ms = items::millis(self.clock.now());
        let mut change = None;
        let mut tokens = Vec::new();
        for item in &found {
            let sk = items::sort_key(item);
            if sk == items::REQUEST_SK {
                change = Some(items::request_from(item)?).filter(|change| self.keeps(change.closed_at));
            } else if sk.starts_with(items::TOKEN_PREFIX) {
                let token = items::token_from(item)?;
                if token.expires_ms > now_ms {
                    tokens.push(token);
                }
            }
        }
        Ok(change.map(|mut change| {
            let rounds: Vec<u32> = change.parties.iter().map(|p| change.round_of(&p.account)).collect();
            let live = change.state == State::Pending;
            for (party, round) in change.parties.iter_mut().zip(rounds).filter(|(p, _)| live && p.status == PartyStatus::Pending) {
                // A token item without a round was written before rounds were kept, when a
                // resend deleted the older ones: it is the current round's.
                party.token = tokens.iter().find(|t| t.account == party.account && t.round.is_none_or(|r| r == round)).map(|t| t.hash);
            }
            change
        }))
    }

    /// One Query on the account's partition: its request copies, newest first (ULIDs sort by
    /// time). The requests come without token hashes.
    #[tracing::instrument(name = "dynamodb.contact_changes_of", skip_all, fields(account = %account))]
    async fn contact_changes_of(&self, account: &AccountId, before: Option<RequestId>, limit: usize) -> Result<Page<ContactChange>, StoreError> {
        let mut start = before.map(items::copy_sk);
        let mut changes = Vec::new();
        // Past their retention, copies are left out (their TTL is lazy): read on until the
        // page is full.
        while changes.len() <= limit {
            let want = limit + 1 - changes.len();
            let found = self.query(items::account_pk(account), SortKeys::Prefix(items::COPY_PREFIX), start.clone(), false, want).await?;
            for item in &found {
                changes.extend(Some(items::request_from(item)?).filter(|change| self.keeps(change.closed_at)));
            }
            match found.last() {
                Some(last) if found.len() == want => start = Some(items::sort_key(last).to_owned()),
                _ => break,
            }
        }
        let more = changes.len() > limit;
        changes.truncate(limit);
        Ok(Page { items: changes, more })
    }

    /// One transaction (`save_tx`, in save.rs): the request on the condition that its
    /// version is the one read (and, unless this save ends it as expired, that it is not
    /// pending past its expiry), its copies and the effect's writes. `Apply` writes the new contacts into
    /// every member's membership item over the request's snapshot of the service (or, for a
    /// request that kept none, over the service read first, one GetItem). A cancelled
    /// transaction is judged by `verdict`; when only what the save does not decide on changed
    /// (an unmoved role's holder, another request's lock), it is rebuilt on that and sent again.
    #[tracing::instrument(name = "dynamodb.save", skip_all, fields(contact_change = %change.id))]
    async fn save(&self, change: &ContactChange, effect: Effect) -> Result<(), StoreError> {
        self.save_with(change, effect, None).await
    }

    /// One transaction of two small items: a `ConditionCheck` that the request is at the
    /// version read and not pending past its expiry, and the `Put` of the party's token item
    /// with its round. Nothing else is rewritten: the request, its copies and the other
    /// parties' tokens stay as they are.
    #[tracing::instrument(name = "dynamodb.issue_token", skip_all, fields(contact_change = %change.id, account = %party))]
    async fn issue_token(&self, change: &ContactChange, party: &AccountId, hash: &TokenHash) -> Result<(), StoreError> {
        let mut tx = Tx::new(&self.table);
        tx.check(items::request_key(change.id), self.request_condition(change, change.version), Purpose::Request)?;
        tx.put(items::token_item(change, party, change.round_of(party), hash), None, Purpose::Token)?;
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(Err(error)) => Err(error),
            Err(Ok(reasons)) if failed_condition(&reasons, &Purpose::Request).is_some() => Err(StoreError::Stale),
            Err(Ok(reasons)) => Err(cancelled_otherwise("issue_token", &reasons, StoreError::Unavailable("issue_token: conflicting writes".to_owned().into()))),
        }
    }

    /// One transaction: the save's and the mail's update.
    async fn save_settling(&self, change: &ContactChange, id: &MailId, status: MailStatus) -> Result<(), StoreError> {
        self.save_with(change, Effect::Nothing, Some((id, status))).await
    }

    /// One Query on the sparse `due` index per day bucket of expiry, from [`DUE_LOOKBACK`](contacts_app::ports::DUE_LOOKBACK)
    /// before `now` to the bucket of `now + remind_before` (at most 45), oldest first, until
    /// `limit` are in; never a Scan. The index is eventually consistent: a request just closed
    /// may still show, and its save is then stale.
    #[tracing::instrument(name = "dynamodb.due", skip_all)]
    async fn due(&self, now: OffsetDateTime, remind_before: time::Duration, limit: usize) -> Result<Vec<ContactChange>, StoreError> {
        let horizon = now + remind_before;
        let mut day = now - contacts_app::ports::DUE_LOOKBACK;
        let mut due = Vec::new();
        while due.len() < limit && items::due_pk(day) <= items::due_pk(horizon) {
            for item in self.due_in(items::due_pk(day), now, horizon, limit - due.len()).await? {
                due.push(items::request_from(&item)?);
            }
            day += time::Duration::days(1);
        }
        Ok(due)
    }
}

#[async_trait]
impl Limits for DynamoStore {
    /// One GetItem: the requester's record towards `to` (`items::asks_key`).
    #[tracing::instrument(name = "dynamodb.unaccepted", skip_all, fields(account = %requester))]
    async fn unaccepted(&self, requester: &AccountId, to: &AccountId) -> Result<Vec<OffsetDateTime>, StoreError> {
        Ok(self.get(items::asks_key(requester, to)).await?.as_ref().map(items::asks_from).transpose()?.unwrap_or_default())
    }

    /// One `BatchGetItem` (more only past 100 keys) of what is asked for: the service item and
    /// its three lock items, the attempter's window item, the account items, the requester's
    /// records towards each of `towards`; none when nothing is asked for.
    #[tracing::instrument(name = "dynamodb.asking", skip_all)]
    async fn asking(&self, what: &AskingFor<'_>) -> Result<Asking, StoreError> {
        let mut ids: Vec<&AccountId> = what.accounts.iter().collect();
        ids.sort();
        ids.dedup();
        let (requester, mut towards): (Option<&AccountId>, Vec<&AccountId>) =
            what.unaccepted.map_or((None, Vec::new()), |(requester, towards)| (Some(requester), towards.iter().collect()));
        towards.sort();
        towards.dedup();
        let mut keys = Vec::new();
        if let Some(name) = what.service {
            keys.push(items::service_key(name));
            keys.extend(Role::ALL.map(|role| items::lock_key(name, role)));
        }
        if let Some((attempter, window_start)) = what.attempts {
            keys.push(items::attempts_key(attempter, window_start));
        }
        keys.extend(ids.into_iter().map(items::account_key));
        if let Some(requester) = requester {
            keys.extend(towards.iter().map(|to| items::asks_key(requester, to)));
        }
        let found = batch_get(&self.client, &self.table, &self.meter, keys, Backoff::REQUEST).await?;
        let mut asking = Asking { unaccepted: towards.iter().map(|to| ((*to).clone(), Vec::new())).collect(), ..Asking::default() };
        let (mut service, mut locks) = (None, Vec::new());
        for item in &found {
            let sk = items::sort_key(item);
            if sk == items::SERVICE_SK {
                service = Some(items::service_from(item)?);
            } else if sk.starts_with(items::LOCK_PREFIX) {
                locks.push(items::lock_from(item)?);
            } else if sk.starts_with(items::WINDOW_PREFIX) {
                asking.attempts = items::attempts_from(item);
            } else if sk == items::PROFILE_SK {
                asking.accounts.push(items::account_from(item)?);
            } else if let Some(to) = sk.strip_prefix(items::ASKS_PREFIX) {
                let to = AccountId::parse(to).map_err(|e| StoreError::Failed(format!("an asks item names no account: {e}").into()))?;
                asking.unaccepted.insert(to, items::asks_from(item)?);
            }
        }
        locks.sort_by_key(|lock| lock.role);
        asking.service = service.map(|service| ServiceRecord { service, locks });
        Ok(asking)
    }

    #[tracing::instrument(name = "dynamodb.wrong_attempts", skip_all)]
    async fn wrong_attempts(&self, attempter: &str, window_start: OffsetDateTime) -> Result<u32, StoreError> {
        Ok(self.get(items::attempts_key(attempter, window_start)).await?.as_ref().map_or(0, items::attempts_from))
    }

    /// One UpdateItem: `ADD count 1`, the item gone (by TTL) with its window.
    #[tracing::instrument(name = "dynamodb.count_wrong_attempt", skip_all)]
    async fn count_wrong_attempt(&self, attempter: &str, window_start: OffsetDateTime, window_end: OffsetDateTime) -> Result<u32, StoreError> {
        self.meter.sent("UpdateItem");
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::attempts_key(attempter, window_start)))
            .update_expression("ADD #count :one SET #type = :type, #ttl = :ttl")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#type", "type")
            .expression_attribute_names("#ttl", items::TTL)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":type", s("attempts"))
            .expression_attribute_values(":ttl", n(items::ttl_seconds(window_end)))
            .return_values(ReturnValue::UpdatedNew)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| classify("UpdateItem", e))?;
        self.meter.consumed(output.consumed_capacity());
        output
            .attributes()
            .and_then(|a| a.get("count"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::Failed("UpdateItem: no count returned".to_owned().into()))
    }
}

/// "The service's holders are these three."
/// A service's item is still as read: absent (`None`), or with the same three holders.
fn service_as_read(old: Option<&Service>) -> Cond {
    match old {
        None => Cond::new("attribute_not_exists(#pk)").name("#pk", items::PK),
        Some(old) => holders_are(&old.contacts.admin, &old.contacts.tech, &old.contacts.billing),
    }
}

/// The condition of [`holders_are`], to build on.
const HOLDERS_ARE: &str = "#admin = :admin AND #tech = :tech AND #billing = :billing";

fn holders_are(admin: &AccountId, tech: &AccountId, billing: &AccountId) -> Cond {
    Cond::new(HOLDERS_ARE)
        .name("#admin", "admin")
        .name("#tech", "tech")
        .name("#billing", "billing")
        .value(":admin", s(admin.as_str()))
        .value(":tech", s(tech.as_str()))
        .value(":billing", s(billing.as_str()))
}
