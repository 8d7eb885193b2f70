//! `Accounts::erase_account` on the table (SPEC §8; docs/dynamodb.md, "Erasure"). Whether an
//! account is in use is read from several items (its memberships, its request copies, its
//! batches), which no one condition can check; so the erasure fences first and reads after:
//!
//! 1. it marks the account item `erasing = {mark}` (one `UpdateItem`, on its existence);
//! 2. it reads, strongly consistent, what uses the account: its partition (memberships, request
//!    copies and their state, batch listing items) and the batch items listed there;
//! 3. in use, it removes its mark (on its being still its own); else one `TransactWriteItems`
//!    deletes the account item on the condition that the mark is still its own and the address
//!    change is still at the revision marked, deletes that change's verification items, and puts
//!    the `AccountErased` event item.
//!
//! Every write that would make the account used checks its item (exists, and no `erasing`) in
//! its own transaction: `create` and a batch's transactions of parts and of listing items (the
//! accounts they involve), `put_service` (the holders new to the service). One that committed
//! before the mark wrote what step 2 reads; one after it fails its check (`UnknownAccount`).

use super::batch::{Backoff, batch_get};
use super::items::{self, Item, s};
use super::tx::{Cond, Purpose, Tx, failed_condition};
use super::{DynamoStore, cancelled_otherwise};
use contacts_app::ports::{AccountUse, Erasure, StoreError};
use contacts_domain::{AccountId, BatchId, Event, RequestId, ServiceName, State};

/// "The account item still carries this erasure's mark, and its address change is still at the
/// revision the mark found" (so the verification items deleted are that change's).
fn still_marked(mark: &str, marked: &Item) -> Cond {
    let cond = Cond::new("").name("#erasing", items::ERASING).name("#rev", items::EMAIL_REV).value(":mark", s(mark));
    match marked.get(items::EMAIL_REV) {
        Some(revision) => cond.expression("#erasing = :mark AND #rev = :rev").value(":rev", revision.clone()),
        None => cond.expression("#erasing = :mark AND attribute_not_exists(#rev)"),
    }
}

/// "The account exists and no erasure of it is under way": the fence of the writes that would
/// name it (a `ConditionCheck` of its item).
pub(super) fn account_usable() -> Cond {
    Cond::new("attribute_exists(#pk) AND attribute_not_exists(#erasing)").name("#pk", items::PK).name("#erasing", items::ERASING)
}

/// Whether an account item a failed check returned (`None`: absent) is gone or being erased.
pub(super) fn gone_or_erasing(item: Option<&Item>) -> bool {
    item.is_none_or(|item| item.contains_key(items::ERASING))
}

impl DynamoStore {
    /// The whole erasure (the module's steps); `Stale` when the account changed under it.
    pub(super) async fn erase(&self, id: &AccountId, event: &Event) -> Result<Erasure, StoreError> {
        let mark = event.id.to_string();
        let Some(marked) = self.mark_erasing(id, &mark).await? else { return Ok(Erasure::Unknown) };
        if let Some(because) = self.use_of(id).await? {
            self.unmark(id, &mark).await?;
            return Ok(Erasure::InUse(because));
        }
        let mut tx = Tx::new(&self.table);
        tx.delete(items::account_key(id), Some(still_marked(&mark, &marked)), Purpose::Profile)?;
        for hash in items::pending_code_hashes(&marked) {
            tx.delete(items::email_token_key(&hash), None, Purpose::Token)?;
        }
        tx.put(items::event_item(event, self.clock.now()), None, Purpose::Event)?;
        match self.transact(tx).await {
            Ok(()) => Ok(Erasure::Erased),
            Err(Err(error)) => Err(error),
            // Upserted, re-addressed or marked by another erasure since: read it all again.
            Err(Ok(reasons)) if failed_condition(&reasons, &Purpose::Profile).is_some() => Err(StoreError::Stale),
            Err(Ok(reasons)) => Err(cancelled_otherwise("erase_account", &reasons, StoreError::Stale)),
        }
    }

    /// `erase_account`'s first step alone, with `mark`: an erasure stopped there (a crash), for
    /// tests of the fence. Whether there was an account to mark.
    #[doc(hidden)]
    pub async fn erase_account_partly(&self, id: &AccountId, mark: &str) -> Result<bool, StoreError> {
        Ok(self.mark_erasing(id, mark).await?.is_some())
    }

    /// Step 1, one `UpdateItem` on the item's existence: the item as marked, `None` if absent.
    async fn mark_erasing(&self, id: &AccountId, mark: &str) -> Result<Option<Item>, StoreError> {
        let update = self
            .client
            .update_item()
            .set_key(Some(items::account_key(id)))
            .update_expression("SET #erasing = :mark")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#erasing", items::ERASING)
            .expression_attribute_names("#pk", items::PK)
            .expression_attribute_values(":mark", s(mark));
        self.update_returning(update).await
    }

    /// A refused erasure's end: its mark goes, if it is still its own (an upsert or another
    /// erasure may have replaced it).
    async fn unmark(&self, id: &AccountId, mark: &str) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .set_key(Some(items::account_key(id)))
            .update_expression("REMOVE #erasing")
            .condition_expression("#erasing = :mark")
            .expression_attribute_names("#erasing", items::ERASING)
            .expression_attribute_values(":mark", s(mark));
        self.update_returning(update).await.map(|_| ())
    }

    /// Step 2: the first of the account's memberships (by service name), else of its pending
    /// requests' copies, else of its batches in progress (both oldest first). One `Query` of its
    /// partition (keys and `state` only), then a `BatchGetItem` of the batches it lists.
    async fn use_of(&self, id: &AccountId) -> Result<Option<AccountUse>, StoreError> {
        let found = self.partition_states(id).await?;
        let corrupt = |what: &str| StoreError::Failed(format!("an account's {what} item has an unreadable key").into());
        let (mut request, mut batches) = (None, Vec::new());
        for item in &found {
            let sk = items::sort_key(item);
            if let Some(name) = sk.strip_prefix(items::MEMBERSHIP_PREFIX) {
                return Ok(Some(AccountUse::HoldsRole(ServiceName::parse(name).map_err(|_| corrupt("membership"))?)));
            } else if let Some(copy) = sk.strip_prefix(items::COPY_PREFIX) {
                let pending = item.get("state").and_then(|v| v.as_s().ok()).is_some_and(|state| state == State::Pending.as_str());
                if pending && request.is_none() {
                    request = Some(RequestId::parse(copy).map_err(|_| corrupt("request copy"))?);
                }
            } else if sk.starts_with(items::BATCH_COPY_PREFIX) {
                batches.push(items::batch_of_copy(item)?);
            }
        }
        if let Some(request) = request {
            return Ok(Some(AccountUse::PendingRequest(request)));
        }
        Ok(self.first_in_progress(batches).await?.map(AccountUse::BatchInProgress))
    }

    /// Every item of the account's partition, ascending, with its keys and `state` only.
    async fn partition_states(&self, id: &AccountId) -> Result<Vec<Item>, StoreError> {
        let query = || {
            self.client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#pk = :pk")
                .projection_expression("#pk, #sk, #state")
                .expression_attribute_names("#pk", items::PK)
                .expression_attribute_names("#sk", items::SK)
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":pk", s(items::account_pk(id)))
        };
        self.paged(usize::MAX, None, query, |_| true).await
    }

    /// The oldest of `batches` still in progress: opening (its create not finished, or being
    /// discarded), pending, or with parts to end. One listed whose item is gone is a discarded
    /// create's leftover.
    async fn first_in_progress(&self, mut batches: Vec<BatchId>) -> Result<Option<BatchId>, StoreError> {
        if batches.is_empty() {
            return Ok(None);
        }
        let keys = batches.iter().map(|id| items::batch_key(*id)).collect();
        let found = batch_get(&self.client, &self.table, &self.meter, keys, Backoff::REQUEST).await?;
        let mut in_progress = Vec::new();
        for item in &found {
            let opening = items::is_opening(item);
            let batch = items::batch_from(item)?;
            if opening || batch.in_progress() {
                in_progress.push(batch.id);
            }
        }
        batches.retain(|id| in_progress.contains(id));
        Ok(batches.into_iter().min())
    }
}
