//! SPEC §8's retention in the table: a closed request's item and copies carry a `ttl` at the end
//! of its retention, and its item the `due` index's keys of the purge (`PURGE#{day}`), so that
//! the sweep deletes what TTL has not yet (TTL is lazy) without a Scan. A batch's item carries
//! the same keys; its TTL comes a week after its retention's end, because its listing items
//! (keys only, never rewritten: there may be thousands) are found only through it, by the
//! purge, which must come first. Reads leave out what is past its retention either way.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use super::items::{self, Item, n, s};
use super::tx::{Cond, Purpose, TX_MAX_ITEMS, Tx, failed_condition};
use super::{DynamoStore, SortKeys, cancelled_otherwise};
use contacts_app::ports::{DUE_LOOKBACK, Purge, StoreError};
use contacts_domain::{AccountId, Batch, BatchId, ContactChange, EventId, RequestId, Retention, Subject};

/// The `due` index's day buckets of what is past its retention: `PURGE#{YYYY-MM-DD}`.
const PURGE_PREFIX: &str = "PURGE#";

/// How long after its retention ended a batch item's TTL deletes it (see the module's comment).
const BATCH_TTL_AFTER: Duration = Duration::days(7);

/// The events one save of a request or a batch may post, for the purge's deletes by key (an
/// event item sits in a partition of its own, `EVENT#{subject}-{version}-{index}`).
const EVENTS_PER_SAVE: u16 = 2;

fn purge_pk(at: OffsetDateTime) -> String {
    let date = at.date();
    format!("{PURGE_PREFIX}{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Puts what a closed request keeps until its retention ends on its item and copies: their
/// `ttl`, and on the item of a request of its own the purge's keys in the `due` index (a part
/// goes with its batch). A pending request's are left as they are.
pub fn mark_request(request: &mut Item, copies: &mut [Item], change: &ContactChange, retention: Retention) {
    let Some(closed_at) = change.closed_at else { return };
    let ends = retention.ends(closed_at);
    for item in std::iter::once(&mut *request).chain(copies.iter_mut()) {
        item.insert(items::TTL.into(), n(items::ttl_seconds(ends)));
    }
    if change.batch.is_none() {
        mark_purge(request, ends, &items::request_pk(change.id));
    }
}

/// The same for a closed batch's item, once no part is left to end (until then the sweep's
/// settling partition holds it).
pub fn mark_batch(item: &mut Item, batch: &Batch, retention: Retention) {
    let Some(closed_at) = batch.closed_at.filter(|_| !batch.parts_to_end) else { return };
    let ends = retention.ends(closed_at);
    item.insert(items::TTL.into(), n(items::ttl_seconds(ends + BATCH_TTL_AFTER)));
    mark_purge(item, ends, &items::batch_pk(batch.id));
}

fn mark_purge(item: &mut Item, ends: OffsetDateTime, pk: &str) {
    item.insert(items::DUE_PK.into(), s(purge_pk(ends)));
    item.insert(items::DUE_SK.into(), s(format!("{:015}#{pk}", items::millis(ends))));
}

/// The subject an item of the purge's buckets is of.
fn subject_of(item: &Item) -> Option<Subject> {
    let pk = item.get(items::PK)?.as_s().ok()?;
    match (pk.strip_prefix("REQUEST#"), pk.strip_prefix("BATCH#")) {
        (Some(id), _) => RequestId::parse(id).ok().map(Subject::Request),
        (_, Some(id)) => BatchId::parse(id).ok().map(Subject::Batch),
        _ => None,
    }
}

/// The keys of the events a request's or batch's saves up to version `versions` may have
/// posted, `id` naming each (deleting a key that holds nothing writes nothing).
fn event_keys(versions: u64, id: impl Fn(u64, u16) -> EventId) -> Vec<Item> {
    (0..=versions)
        .flat_map(|version| (0..EVENTS_PER_SAVE).map(move |index| (version, index)))
        .map(|(version, index)| items::event_key(&id(version, index)))
        .collect()
}

impl DynamoStore {
    /// Every key of the partition `pk` (its item, codes, mails, an opening mark), the subject's
    /// own item (`own_sk`) last, and the item as read (`None`: gone already).
    async fn partition_keys(&self, pk: String, own_sk: &str) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let found = self.query(pk, SortKeys::All, None, true, usize::MAX).await?;
        let own = found.iter().find(|item| items::sort_key(item) == own_sk).cloned();
        let mut keys: Vec<Item> =
            found.iter().filter(|item| items::sort_key(item) != own_sk).map(|item| items::key(items::partition_key(item), items::sort_key(item))).collect();
        if let Some(own) = &own {
            keys.push(items::key(items::partition_key(own), own_sk));
        }
        Ok((keys, own))
    }

    /// Deletes `keys`, in transactions of at most 100, in order.
    async fn delete_keys(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        for group in keys.chunks(TX_MAX_ITEMS) {
            let mut tx = Tx::new(&self.table);
            for key in group {
                tx.delete(key.clone(), None, Purpose::Request)?;
            }
            match self.transact(tx).await {
                Ok(()) => {}
                Err(Err(error)) => return Err(error),
                Err(Ok(reasons)) => return Err(cancelled_otherwise("purge", &reasons, StoreError::Unavailable("purge: conflicting writes".to_owned().into()))),
            }
        }
        Ok(())
    }

    /// Removes `id`'s entry from `requester`'s record towards `to`, if the record is still there.
    async fn forget_asked(&self, requester: &AccountId, to: &AccountId, id: &str) -> Result<(), StoreError> {
        if requester == to {
            return Ok(());
        }
        let update = Cond::new("REMOVE #at").name("#at", &format!("{}{id}", items::ASKS_ATTRIBUTE_PREFIX));
        let exists = Cond::new("attribute_exists(#pk)").name("#pk", items::PK);
        let mut tx = Tx::new(&self.table);
        tx.update(items::asks_key(requester, to), update, Some(exists), Purpose::Unaccepted)?;
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(Err(error)) => Err(error),
            // Gone with its own TTL: nothing to remove.
            Err(Ok(reasons)) if failed_condition(&reasons, &Purpose::Unaccepted).is_some() => Ok(()),
            Err(Ok(reasons)) => Err(cancelled_otherwise("purge", &reasons, StoreError::Unavailable("purge: conflicting writes".to_owned().into()))),
        }
    }

    /// A request's every item: its partition, its copies, its events, its entry in the record.
    async fn purge_request(&self, id: RequestId) -> Result<(), StoreError> {
        let (mut keys, own) = self.partition_keys(items::request_pk(id), items::REQUEST_SK).await?;
        let Some(own) = own else { return self.delete_keys(keys).await };
        let change = items::request_from(&own)?;
        let mut others: Vec<Item> = change.involved().iter().map(|account| items::copy_key(account, id)).collect();
        others.extend(event_keys(change.version, |version, index| EventId::of_request(id, version, index)));
        if change.batch.is_none() {
            self.forget_asked(&change.requested_by, &change.to, &id.to_string()).await?;
        }
        others.append(&mut keys);
        self.delete_keys(others).await
    }

    /// A batch's every item, its parts' first, then its listing items, events, record entry
    /// and partition, its own item last.
    async fn purge_batch(&self, id: BatchId) -> Result<(), StoreError> {
        let (mut keys, own) = self.partition_keys(items::batch_pk(id), items::BATCH_SK).await?;
        let Some(own) = own else { return self.delete_keys(keys).await };
        let batch = items::batch_from(&own)?;
        for part in &batch.parts {
            self.purge_request(part.request).await?;
        }
        let mut others: Vec<Item> = batch.involved().iter().map(|account| items::batch_copy_key(account, id)).collect();
        others.extend(event_keys(batch.version, |version, index| EventId::of_batch(id, version, index)));
        self.forget_asked(&batch.requested_by, &batch.to, &id.to_string()).await?;
        others.append(&mut keys);
        self.delete_keys(others).await
    }
}

#[async_trait]
impl Purge for DynamoStore {
    /// One Query of the `due` index per day bucket of the purge, from [`DUE_LOOKBACK`] before
    /// `now` to its day (at most 15), keys only, until `limit` are in. Eventually consistent: a
    /// subject just purged may still show, and purging it again deletes nothing.
    #[tracing::instrument(name = "dynamodb.past_retention", skip_all)]
    async fn past_retention(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Subject>, StoreError> {
        let mut day = now - DUE_LOOKBACK;
        let mut found = Vec::new();
        while found.len() < limit && purge_pk(day) <= purge_pk(now) {
            for item in self.due_partition(&purge_pk(day), items::due_sk_after(items::millis(now)), limit - found.len(), true).await? {
                found.push(subject_of(&item).ok_or_else(|| StoreError::Failed("a purge's index entry names no request or batch".to_owned().into()))?);
            }
            day += Duration::days(1);
        }
        Ok(found)
    }

    #[tracing::instrument(name = "dynamodb.purge", skip_all, fields(subject = %subject))]
    async fn purge(&self, subject: Subject) -> Result<(), StoreError> {
        match subject {
            Subject::Request(id) => self.purge_request(id).await,
            Subject::Batch(id) => self.purge_batch(id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_buckets_are_days_and_its_keys_sort_by_the_end_of_retention() {
        let at = time::macros::datetime!(2026-12-07 10:00 UTC);
        assert_eq!(purge_pk(at), "PURGE#2026-12-07");
        let mut item = items::key("REQUEST#x".to_owned(), "REQUEST");
        mark_purge(&mut item, at, "REQUEST#01JEXAMPLE");
        assert_eq!(item[items::DUE_SK].as_s().unwrap(), &format!("{:015}#REQUEST#01JEXAMPLE", items::millis(at)));
        assert!(item[items::DUE_SK].as_s().unwrap().as_str() < items::due_sk_after(items::millis(at)).as_str());
        assert_eq!(items::partition_key(&item), "REQUEST#x");
    }
}
