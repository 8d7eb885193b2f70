//! SPEC §8's access: everything held about the caller, in one answer: its profile, the
//! services it holds a role of, and every request and batch that names it (as requester,
//! party, previous holder or holder told), each with its whole history.
//!
//! Every listing is read to its end, page after page (never a `Scan`); then each request and
//! each batch by id, since the listings' copies leave out the events of their mails.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::batches::{BatchView, concurrently};
use super::{App, Error, PAGE_SIZE, Profile, Result, ServiceView};
use crate::ports::ServiceFilter;
use contacts_domain::limits;
use contacts_domain::{AccountId, Batch, BatchId, ContactChange, RequestId, ServiceName};

/// How many requests and batches one export reads at most: more than its answer can ever carry
/// (`contacts_api`'s bound on the document's size, under Lambda's 6 MB, which the smallest
/// record, a batch's part of some 850 bytes, fills at about 7,000), so that an account with far
/// more is told so ([`Error::ExportTooLarge`]) without reading everything first.
pub const EXPORT_LIMIT: usize = 10_000;

/// Everything held about one account (SPEC §8): what `GET /v1/me/data` answers.
#[derive(Debug, Clone)]
pub struct MyData {
    pub generated_at: OffsetDateTime,
    /// As `GET /v1/me` shows it, with its pending address if any.
    pub profile: Profile,
    /// The services where it holds a role, by name.
    pub services: Vec<ServiceView>,
    /// Every request that names it, newest first, each with its whole history: its own, and
    /// the parts of its batches that name it (those it sees of each batch).
    pub contact_changes: Vec<ContactChange>,
    /// Every batch that names it, newest first, each with its whole history and the parts of
    /// it that the account may see (SPEC §7: a holder told of some sees only those).
    pub batches: Vec<BatchView>,
}

impl App {
    /// `GET /v1/me/data`: everything held about the caller, whatever the number of its requests
    /// and batches up to [`EXPORT_LIMIT`]; at most [`limits::ATTEMPT_LIMIT`] times a window of
    /// [`limits::ATTEMPT_WINDOW`] (`TooManyRequests` after: each export reads it all again).
    pub async fn my_data(&self, caller: &AccountId) -> Result<MyData> {
        let (start, end) = limits::attempt_window(self.now());
        let exports = self.store.count_wrong_attempt(&limits::exporter_key(caller), start, end).await?;
        if exports > limits::ATTEMPT_LIMIT {
            return Err(Error::TooManyRequests { retry_after: limits::seconds_until(end, self.now()) });
        }
        self.data_of(caller, EXPORT_LIMIT).await
    }

    /// Everything held about `account`, refused ([`Error::ExportTooLarge`]) past `limit`
    /// requests and batches: the export's, and with no limit the support's copy of an account
    /// whose data one answer cannot carry (`contacts-admin data`).
    #[tracing::instrument(skip_all, fields(account = %account))]
    pub async fn data_of(&self, account: &AccountId, limit: usize) -> Result<MyData> {
        let caller = account;
        let profile = self.my_profile(caller).await?;
        let services = self.every_service_of(caller).await?;
        let batch_ids = self.every_batch_of(caller, limit).await?;
        let mut request_ids = self.every_request_of(caller, limit.saturating_sub(batch_ids.len())).await?;
        let batches = self.batches_seen_by(caller, batch_ids).await?;
        request_ids.extend(batches.iter().flat_map(|view| view.parts.iter().map(|part| part.request)));
        if request_ids.len() + batches.len() > limit {
            return Err(too_large(caller));
        }
        let contact_changes = self.requests_by_id(request_ids).await?;
        Ok(MyData { generated_at: self.now(), profile, services, contact_changes, batches })
    }

    /// Every page of the caller's services.
    async fn every_service_of(&self, caller: &AccountId) -> Result<Vec<ServiceView>> {
        let all = ServiceFilter::default();
        let next = |after: Option<ServiceName>| self.my_services(caller, &all, after);
        every_page(next, |view: ServiceView| view, |view| view.service.name.clone(), usize::MAX).await
    }

    /// The ids of every batch that involves the caller, newest first, every page of the
    /// listing read (refused past `limit`).
    async fn every_batch_of(&self, caller: &AccountId, limit: usize) -> Result<Vec<BatchId>> {
        let next = |before: Option<BatchId>| async move { Ok(self.store.batches_of(caller, before, PAGE_SIZE).await?) };
        every_page(next, |batch: Batch| batch.id, |id| *id, limit).await.map_err(|e| too_large_or(caller, e))
    }

    /// The ids of every request that involves the caller (never a batch's part), newest first,
    /// every page of the listing read (refused past `limit`).
    async fn every_request_of(&self, caller: &AccountId, limit: usize) -> Result<Vec<RequestId>> {
        let next = |before: Option<RequestId>| async move { Ok(self.store.contact_changes_of(caller, before, PAGE_SIZE).await?) };
        every_page(next, |change: ContactChange| change.id, |id| *id, limit).await.map_err(|e| too_large_or(caller, e))
    }

    /// Each batch whole (its history with its mails' events), as the caller may see it: the
    /// parts it is involved in (all of them for its requester and parties). One gone since it
    /// was listed is left out.
    async fn batches_seen_by(&self, caller: &AccountId, ids: Vec<BatchId>) -> Result<Vec<BatchView>> {
        let now = self.now();
        let read = concurrently(ids, |id| async move { Ok(self.store.batch(id).await?) }).await?;
        Ok(read
            .into_iter()
            .flatten()
            .map(|mut batch| {
                batch.observe(now);
                let parts = batch.parts_seen_by(caller, &BTreeSet::new()).into_iter().cloned().collect();
                BatchView { batch, parts }
            })
            .filter(|view| !view.parts.is_empty())
            .collect())
    }

    /// Each request whole (its history with its mails' events), newest first, once each; one
    /// gone since it was listed is left out.
    async fn requests_by_id(&self, mut ids: Vec<RequestId>) -> Result<Vec<ContactChange>> {
        ids.sort_by(|a, b| b.cmp(a));
        ids.dedup();
        let now = self.now();
        let read = concurrently(ids, |id| async move { Ok(self.store.contact_change(id).await?) }).await?;
        Ok(read
            .into_iter()
            .flatten()
            .map(|mut change| {
                // As its own GET shows it: a pending request past its expiry is expired.
                change.observe(now);
                change
            })
            .collect())
    }
}

/// What `keep` keeps of every item of a paged listing (an id, not a batch of a thousand parts):
/// `next` asked for the page after the last kept one's `cursor`, until a page says there is no
/// more; `ExportTooLarge` past `limit` items.
async fn every_page<T, K, C, Page, Next>(next: Next, keep: impl Fn(T) -> K, cursor: impl Fn(&K) -> C, limit: usize) -> Result<Vec<K>>
where
    Next: Fn(Option<C>) -> Page,
    Page: std::future::Future<Output = Result<crate::ports::Page<T>>>,
{
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = next(after).await?;
        items.extend(page.items.into_iter().map(&keep));
        if items.len() > limit {
            return Err(Error::ExportTooLarge);
        }
        after = items.last().map(&cursor);
        if !page.more || after.is_none() {
            return Ok(items);
        }
    }
}

/// `error`, said in the log when it is the export's bound.
fn too_large_or(caller: &AccountId, error: Error) -> Error {
    match error {
        Error::ExportTooLarge => too_large(caller),
        other => other,
    }
}

/// The export would not fit one answer: said in the log too, for the provider's support, who
/// then gives the account its data another way.
fn too_large(caller: &AccountId) -> Error {
    tracing::warn!(account = %caller, "the account's data is more than one export carries: contacts-admin data gives it whole");
    Error::ExportTooLarge
}
