//! The batches (SPEC §7) in the table (docs/dynamodb.md, "Batches"). A batch's item
//! (`BATCH#{id}` / `BATCH`) holds all of it but its parties' codes, which are token items beside
//! it, as a request's; each part is a request item of its own with its locks, neither listed
//! nor swept on its own (its batch is); each account the batch involves lists it by an item of
//! its keys. A create writes more than one transaction holds: the batch item `opening` first
//! (no reader sees it) with a small mark beside it that each next transaction checks, then its
//! parts, its listing's items (each beside a check of its account: no erasure of it is under
//! way, `erase.rs`) and its parts' events, and last, in one transaction, the batch opened (the
//! mark deleted) with its letters, its events and its unaccepted record.
//! Each write accepts its own item written by an earlier try, so that calling again finishes
//! the work; what a create left unopened, the sweep discards (`discard_unopened`).

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::batch::{Backoff, batch_get};
use super::items::{self, BatchPhase, Item, n, s};
use super::save::{account_refused, account_unknown, check_accounts};
use super::tx::{Cond, Purpose, Reason, TX_MAX_ITEMS, Tx, failed_condition};
use super::{DynamoStore, SortKeys, cancelled_otherwise, retention, status_update};
use contacts_app::ports::{Batches, Lock, Page, StoreError};
use contacts_domain::{
    AccountId, Batch, BatchId, BatchState, ContactChange, Decision, Event, EventId, MailId, MailStatus, Part, PartyStatus, RequestId, TokenHash,
};

/// The events a part owes as it is created (`ContactChange::open_part`: its `Requested`, of
/// index 0 at version 0), which a discard deletes with it.
const PART_EVENTS_AT_CREATE: u16 = 1;

/// The most unopened batches one `discard_unopened` clears (each up to a few dozen
/// transactions): the sweep's next run takes the rest, within its time.
const DISCARD_LIMIT: usize = 20;

/// One transaction of a create.
enum Step {
    /// The batch item, opening, on the condition that it is absent or still this opening batch,
    /// and its opening mark, on the condition that no discard began.
    Begin(Tx),
    /// Parts: their request items and locks, the checks of their accounts (`standing`: those that
    /// must be in good standing) and of the opening mark; `parts`: their requests.
    Parts { tx: Tx, parts: Vec<RequestId>, standing: Vec<AccountId> },
    /// The listing's items, each with the check of its account (the fence of an erasure:
    /// `erase.rs`), or the parts' events (each put only if absent); with the check of the mark.
    Rest(Tx),
    /// The batch opened and its mark deleted, with its letters (those that fit), its events
    /// and its unaccepted record.
    Open(Tx),
    /// The letters that did not fit in `Open`, each put only if absent.
    Letters(Tx),
}

/// What the condition on the batch item or on its opening mark found, when it failed.
enum Found {
    /// Opened: the create was finished (by an earlier try), only letters may be left.
    Opened,
    /// Being discarded, or gone with its leftovers: nothing more of it may be written.
    Discarded,
    /// The mark is gone: opened, or discarded (the batch item tells which).
    MarkGone,
}

fn found(reasons: &[Reason]) -> Option<Found> {
    if let Some(reason) = failed_condition(reasons, &Purpose::Batch) {
        return Some(match &reason.item {
            Some(item) if !items::is_opening(item) => Found::Opened,
            _ => Found::Discarded,
        });
    }
    let reason = failed_condition(reasons, &Purpose::Opening)?;
    Some(if reason.item.is_some() { Found::Discarded } else { Found::MarkGone })
}

fn discarded() -> StoreError {
    StoreError::Failed("create_batch: the unopened batch was discarded meanwhile".to_owned().into())
}

/// On the opening mark: "the batch is still opening, and no discard of it began".
fn mark_live() -> Cond {
    Cond::new("attribute_exists(#pk) AND attribute_not_exists(#discarding)").name("#pk", items::PK).name("#discarding", items::DISCARDING)
}

/// On the batch item: "it is still opening".
fn opening() -> Cond {
    Cond::new("#opening = :true").name("#opening", items::OPENING).value(":true", AttributeValue::Bool(true))
}

/// A deletion of a create's leftovers: the item's key, its condition, what it is.
type Deletion = (Item, Option<Cond>, Purpose);

/// Why a transaction of parts was refused, as `Requests::create` says it: a live lock of
/// another request, an account gone or being erased, out of standing or zone, or a request of
/// a part's id.
fn refusal(reasons: &[Reason], standing: &[AccountId]) -> Option<StoreError> {
    let locked = reasons.iter().find_map(|r| match r.purpose {
        Purpose::Lock(role) if r.condition_failed() => Some(role),
        _ => None,
    });
    if let Some(role) = locked {
        return Some(StoreError::PendingExists(role));
    }
    if let Some(unknown) = account_unknown(reasons) {
        return Some(unknown);
    }
    if let Some(refused) = account_refused(reasons, standing) {
        return Some(refused);
    }
    failed_condition(reasons, &Purpose::Request).map(|_| StoreError::Failed("create_batch: a request of a part's id exists".to_owned().into()))
}

/// Whether every failed item of a cancelled transaction is a put only if absent of an event or
/// a letter (then an earlier try wrote the whole transaction: its items are all or none).
fn written_before(reasons: &[Reason]) -> bool {
    reasons.iter().filter(|r| r.failed()).all(|r| r.condition_failed() && matches!(r.purpose, Purpose::Event | Purpose::Mail))
}

/// A put only if absent (events and letters, which a put again would post again).
fn if_absent() -> Cond {
    Cond::new("attribute_not_exists(#pk)").name("#pk", items::PK)
}

/// The items a transaction of `parts` writes or checks: the check of the opening mark, each
/// part's request and locks, and one check per account involved (`check_accounts`, fenced: the
/// accounts of its zone and standing checks are among them).
fn items_of(parts: &[&ContactChange]) -> usize {
    let accounts: BTreeSet<AccountId> = parts.iter().flat_map(|p| p.involved()).collect();
    1 + parts.iter().map(|p| 1 + p.roles.iter().count()).sum::<usize>() + accounts.len()
}

/// How many accounts' listing items a transaction of the listing holds: each with the check of
/// its account (the fence of an erasure, `erase.rs`), beside the check of the opening mark.
const LISTINGS_PER_TX: usize = (TX_MAX_ITEMS - 1) / 2;

impl DynamoStore {
    /// The transactions of a create, in order (`Step`).
    fn create_steps(&self, batch: &Batch, parts: &[ContactChange], now: OffsetDateTime) -> Result<Vec<Step>, StoreError> {
        let mut begin = Tx::new(&self.table);
        let absent_or_opening = opening().expression("attribute_not_exists(#pk) OR #opening = :true").name("#pk", items::PK);
        begin.put(items::batch_item(batch, BatchPhase::Opening)?, Some(absent_or_opening), Purpose::Batch)?;
        let no_discard = Cond::new("attribute_not_exists(#discarding)").name("#discarding", items::DISCARDING);
        begin.put(items::opening_item(batch.id), Some(no_discard), Purpose::Opening)?;
        let mut steps = vec![Step::Begin(begin)];
        let mut chunk: Vec<&ContactChange> = Vec::new();
        for part in parts {
            chunk.push(part);
            if items_of(&chunk) > TX_MAX_ITEMS {
                chunk.pop();
                steps.push(self.parts_step(batch, &chunk, now)?);
                chunk = vec![part];
            }
        }
        if !chunk.is_empty() {
            steps.push(self.parts_step(batch, &chunk, now)?);
        }
        for group in batch.involved().chunks(LISTINGS_PER_TX) {
            let mut tx = Tx::new(&self.table);
            tx.check(items::opening_key(batch.id), mark_live(), Purpose::Opening)?;
            for account in group {
                tx.put(items::batch_copy_item(account, batch.id), None, Purpose::Copy)?;
                tx.check(items::account_key(account), super::erase::account_usable(), Purpose::Account(account.clone()))?;
            }
            steps.push(Step::Rest(tx));
        }
        let events = parts.iter().flat_map(|part| {
            part.events.iter().enumerate().map(move |(index, occurrence)| {
                let index = u16::try_from(index).map_err(|_| StoreError::Failed("a part owes too many events".to_owned().into()))?;
                Ok(items::event_item(&Event::new(EventId::of_request(part.id, part.version, index), occurrence.clone()), now))
            })
        });
        let events = events.collect::<Result<Vec<Item>, StoreError>>()?;
        for group in events.chunks(TX_MAX_ITEMS - 1) {
            let mut tx = Tx::new(&self.table);
            tx.check(items::opening_key(batch.id), mark_live(), Purpose::Opening)?;
            for item in group {
                tx.put(item.clone(), Some(if_absent()), Purpose::Event)?;
            }
            steps.push(Step::Rest(tx));
        }
        let (open, posted) = self.batch_tx(batch, opening(), now, None, true)?;
        steps.push(Step::Open(open));
        steps.extend(self.letters_after(batch, posted, now)?.into_iter().map(Step::Letters));
        Ok(steps)
    }

    /// A transaction of parts, as `Requests::create` writes requests (each its request item,
    /// and per role its lock on the condition that no other request's live lock holds it; the
    /// checks of their accounts' zone and standing), without copies, due keys or unaccepted
    /// records, which are the batch's; each write accepts what an earlier try of it wrote.
    fn parts_step(&self, batch: &Batch, chunk: &[&ContactChange], now: OffsetDateTime) -> Result<Step, StoreError> {
        let mut tx = Tx::new(&self.table);
        tx.check(items::opening_key(batch.id), mark_live(), Purpose::Opening)?;
        for part in chunk {
            let (request, _) = items::request_items(part)?;
            let own = Cond::new("attribute_not_exists(#pk) OR (#batch = :batch AND #version = :version)")
                .name("#pk", items::PK)
                .name("#batch", items::BATCH)
                .name("#version", "version")
                .value(":batch", s(batch.id.to_string()))
                .value(":version", n(part.version));
            tx.put(request, Some(own), Purpose::Request)?;
            for role in part.roles.iter() {
                let free = Cond::new("attribute_not_exists(#pk) OR #expires <= :now OR #request = :request")
                    .name("#pk", items::PK)
                    .name("#expires", "expires_ms")
                    .name("#request", "request")
                    .value(":now", n(items::millis(now)))
                    .value(":request", s(part.id.to_string()));
                tx.put(items::lock_item(&part.service, &Lock::of(part, role)), Some(free), Purpose::Lock(role))?;
            }
        }
        let standing: Vec<AccountId> = chunk.iter().flat_map(|part| part.must_be_in_good_standing()).collect();
        check_accounts(&mut tx, chunk, &standing, true)?;
        Ok(Step::Parts { tx, parts: chunk.iter().map(|part| part.id).collect(), standing })
    }

    /// The transaction that writes `batch` (opened) on `cond`, with its record of when it counts
    /// as unaccepted, its events, `settle`'s mail status and as many of its letters as fit: how
    /// many did. `opens`: the create's last, which deletes the opening mark (on the condition
    /// that no discard began) and pushes the record's TTL.
    fn batch_tx(&self, batch: &Batch, cond: Cond, now: OffsetDateTime, settle: Option<(&MailId, MailStatus)>, opens: bool) -> Result<(Tx, usize), StoreError> {
        let mut tx = Tx::new(&self.table);
        let mut item = items::batch_item(batch, BatchPhase::Open)?;
        retention::mark_batch(&mut item, batch, self.retention);
        tx.put(item, Some(cond), Purpose::Batch)?;
        if opens {
            tx.delete(items::opening_key(batch.id), Some(mark_live()), Purpose::Opening)?;
        }
        if batch.to != batch.requested_by {
            tx.update(items::asks_key(&batch.requested_by, &batch.to), items::batch_asks_update(batch, opens), None, Purpose::Unaccepted)?;
        }
        for (index, occurrence) in batch.events.iter().enumerate() {
            let index = u16::try_from(index).map_err(|_| StoreError::Failed("a batch owes too many events".to_owned().into()))?;
            let event = Event::new(EventId::of_batch(batch.id, batch.version, index), occurrence.clone());
            tx.put(items::event_item(&event, now), None, Purpose::Event)?;
        }
        if let Some((mail, status)) = settle {
            let exists = Cond::new("attribute_exists(#mail_pk)").name("#mail_pk", items::PK);
            tx.update(items::mail_key(mail), status_update::<MailId>(status, now), Some(exists), Purpose::Mail)?;
        }
        let posted = batch.outbox.len().min(TX_MAX_ITEMS.saturating_sub(tx.items.len()));
        post_letters(&mut tx, batch, 0..posted, now, false)?;
        Ok((tx, posted))
    }

    /// The letters of `batch` from the `from`th on, in transactions of their own, each put only if absent.
    fn letters_after(&self, batch: &Batch, from: usize, now: OffsetDateTime) -> Result<Vec<Tx>, StoreError> {
        (from..batch.outbox.len())
            .step_by(TX_MAX_ITEMS)
            .map(|start| {
                let mut tx = Tx::new(&self.table);
                post_letters(&mut tx, batch, start..(start + TX_MAX_ITEMS).min(batch.outbox.len()), now, true)?;
                Ok(tx)
            })
            .collect()
    }

    /// Sends a create's `steps` in order. A transaction of parts refused (a live lock, an
    /// account) deletes what this call wrote before answering why; a batch found opened leaves
    /// only its letters to post.
    async fn run_create(&self, batch: &Batch, steps: Vec<Step>) -> Result<(), StoreError> {
        let mut written = Vec::new();
        let mut opened = false;
        for step in steps {
            let (tx, parts) = match step {
                Step::Letters(tx) => (tx, None),
                _ if opened => continue,
                Step::Begin(tx) | Step::Rest(tx) | Step::Open(tx) => (tx, None),
                Step::Parts { tx, parts, standing } => (tx, Some((parts, standing))),
            };
            let reasons = match self.transact(tx).await {
                Ok(()) => {
                    written.extend(parts.map(|(parts, _)| parts).unwrap_or_default());
                    continue;
                }
                Err(Err(error)) => return Err(error),
                Err(Ok(reasons)) => reasons,
            };
            let found = match found(&reasons) {
                Some(Found::MarkGone) => Some(self.opened_or_discarded(batch.id).await?),
                other => other,
            };
            match found {
                Some(Found::Opened) => opened = true,
                Some(_) => return Err(discarded()),
                None => {
                    // A transaction of parts refused, or of listing items (an account involved
                    // is gone or being erased).
                    if let Some(refused) = parts.as_ref().and_then(|(_, standing)| refusal(&reasons, standing)) {
                        self.roll_back(batch, &written).await?;
                        return Err(refused);
                    }
                    // Every part is written by then (by this call, or one before it).
                    if let Some(unknown) = account_unknown(&reasons).filter(|_| parts.is_none()) {
                        self.roll_back(batch, &batch.parts.iter().map(|part| part.request).collect::<Vec<_>>()).await?;
                        return Err(unknown);
                    }
                    if !written_before(&reasons) {
                        return Err(cancelled_otherwise(
                            "create_batch",
                            &reasons,
                            StoreError::Unavailable("create_batch: conflicting writes".to_owned().into()),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the batch whose opening mark is gone was opened (or discarded: gone too).
    async fn opened_or_discarded(&self, id: BatchId) -> Result<Found, StoreError> {
        let item = self.get(items::batch_key(id)).await?;
        Ok(if item.is_some_and(|item| !items::is_opening(&item)) { Found::Opened } else { Found::Discarded })
    }

    /// Deletes what a refused create wrote: the parts of `written` (their locks where still
    /// theirs), the listing's items, the batch item.
    async fn roll_back(&self, batch: &Batch, written: &[RequestId]) -> Result<(), StoreError> {
        let written: BTreeSet<&RequestId> = written.iter().collect();
        let parts: Vec<&Part> = batch.parts.iter().filter(|part| written.contains(&part.request)).collect();
        self.delete_all(leftovers(batch, &parts, false)).await?;
        self.delete_opening(batch.id).await
    }

    /// `create_batch`, writing only its first `transactions` transactions: a create stopped
    /// half way, for tests of what the sweep does with it.
    #[doc(hidden)]
    pub async fn create_batch_partly(&self, batch: &Batch, parts: &[ContactChange], now: OffsetDateTime, transactions: usize) -> Result<(), StoreError> {
        let mut steps = self.create_steps(batch, parts, now)?;
        steps.truncate(transactions);
        self.run_create(batch, steps).await
    }

    /// `create_batch` from its transaction `first` on: the rest of a create that
    /// [`create_batch_partly`](Self::create_batch_partly) began, as if nothing happened in
    /// between, for tests of what a transaction meets when something did.
    #[doc(hidden)]
    pub async fn create_batch_from(&self, batch: &Batch, parts: &[ContactChange], now: OffsetDateTime, first: usize) -> Result<(), StoreError> {
        let steps = self.create_steps(batch, parts, now)?;
        self.run_create(batch, steps.into_iter().skip(first).collect()).await
    }

    /// Deletes `deletions`, 100 a transaction; a lock found held by another request stays as it is.
    async fn delete_all(&self, deletions: Vec<Deletion>) -> Result<(), StoreError> {
        for group in deletions.chunks(TX_MAX_ITEMS) {
            let mut group = group.to_vec();
            // Each round drops at least one item, so this ends.
            loop {
                let mut tx = Tx::new(&self.table);
                for (key, cond, purpose) in &group {
                    tx.delete(key.clone(), cond.clone(), purpose.clone())?;
                }
                let reasons = match self.transact(tx).await {
                    Ok(()) => break,
                    Err(Err(error)) => return Err(error),
                    Err(Ok(reasons)) => reasons,
                };
                let held: Vec<bool> = reasons.iter().map(|r| r.condition_failed() && matches!(r.purpose, Purpose::Lock(_))).collect();
                if !held.contains(&true) {
                    return Err(cancelled_otherwise("discard", &reasons, StoreError::Unavailable("discard: conflicting writes".to_owned().into())));
                }
                group = group.into_iter().zip(held).filter(|(_, held)| !held).map(|(deletion, _)| deletion).collect();
            }
        }
        Ok(())
    }

    /// Deletes the batch item of an unopened batch and its mark (one opened meanwhile stays).
    async fn delete_opening(&self, id: BatchId) -> Result<(), StoreError> {
        let mut tx = Tx::new(&self.table);
        tx.delete(items::batch_key(id), Some(opening()), Purpose::Batch)?;
        tx.delete(items::opening_key(id), None, Purpose::Opening)?;
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(Err(error)) => Err(error),
            Err(Ok(reasons)) if failed_condition(&reasons, &Purpose::Batch).is_some() => Ok(()),
            Err(Ok(reasons)) => Err(cancelled_otherwise("discard", &reasons, StoreError::Unavailable("discard: conflicting writes".to_owned().into()))),
        }
    }

    /// Discards one unopened batch: marks it (a create resumed meanwhile then writes nothing
    /// more of it), deletes its leftovers, then it. Whether it was still unopened.
    async fn discard(&self, batch: &Batch) -> Result<bool, StoreError> {
        let mark = Cond::new("SET #discarding = :true").name("#discarding", items::DISCARDING).value(":true", AttributeValue::Bool(true));
        let exists = Cond::new("attribute_exists(#pk)").name("#pk", items::PK);
        let mut tx = Tx::new(&self.table);
        tx.update(items::opening_key(batch.id), mark, Some(exists), Purpose::Opening)?;
        match self.transact(tx).await {
            Ok(()) => {}
            Err(Err(error)) => return Err(error),
            // Opened meanwhile (its mark goes with its opening), or discarded already.
            Err(Ok(reasons)) if failed_condition(&reasons, &Purpose::Opening).is_some() => return Ok(false),
            Err(Ok(reasons)) => return Err(cancelled_otherwise("discard", &reasons, StoreError::Unavailable("discard: conflicting writes".to_owned().into()))),
        }
        let parts: Vec<&Part> = batch.parts.iter().collect();
        self.delete_all(leftovers(batch, &parts, true)).await?;
        self.delete_opening(batch.id).await?;
        Ok(true)
    }

    /// `save_batch`, and with `settle` the mail's status in the same transaction; the letters
    /// that do not fit in it follow, in transactions of their own.
    async fn save_batch_with(&self, batch: &Batch, settle: Option<(&MailId, MailStatus)>) -> Result<(), StoreError> {
        let Some(read_version) = batch.version.checked_sub(1) else { return Err(StoreError::Stale) };
        let as_read = Cond::new("#version = :read AND attribute_not_exists(#opening)")
            .name("#version", "version")
            .name("#opening", items::OPENING)
            .value(":read", n(read_version));
        let now = self.clock.now();
        let (tx, posted) = self.batch_tx(batch, as_read, now, settle, false)?;
        match self.transact(tx).await {
            Ok(()) => {}
            Err(Err(error)) => return Err(error),
            Err(Ok(reasons)) if failed_condition(&reasons, &Purpose::Batch).is_some() => return Err(StoreError::Stale),
            // Another write on its items right now: read again and decide on fresh data.
            Err(Ok(reasons)) => return Err(cancelled_otherwise("save_batch", &reasons, StoreError::Stale)),
        }
        for tx in self.letters_after(batch, posted, now)? {
            match self.transact(tx).await {
                Ok(()) => {}
                Err(Err(error)) => return Err(error),
                Err(Ok(reasons)) if written_before(&reasons) => {}
                Err(Ok(reasons)) => {
                    return Err(cancelled_otherwise("save_batch", &reasons, StoreError::Unavailable("save_batch: conflicting writes".to_owned().into())));
                }
            }
        }
        Ok(())
    }

    /// The batch items of `copies` (listing items) that are opened, newest first.
    async fn batches_of_copies(&self, copies: &[Item]) -> Result<Vec<Batch>, StoreError> {
        let keys = copies.iter().map(|copy| items::batch_of_copy(copy).map(items::batch_key)).collect::<Result<Vec<_>, _>>()?;
        let found = batch_get(&self.client, &self.table, &self.meter, keys, Backoff::REQUEST).await?;
        let mut batches = found.iter().filter(|item| !items::is_opening(item)).map(items::batch_from).collect::<Result<Vec<_>, _>>()?;
        batches.retain(|batch| self.keeps(batch.closed_at));
        batches.sort_by_key(|batch| std::cmp::Reverse(batch.id));
        Ok(batches)
    }
}

/// Puts `batch`'s letters of `indexes` in `tx`, each of id `MailId::of_batch(batch.id,
/// batch.version, its index)`, posted at `now`; `only_if_absent` for those sent on their own.
fn post_letters(tx: &mut Tx, batch: &Batch, indexes: std::ops::Range<usize>, now: OffsetDateTime, only_if_absent: bool) -> Result<(), StoreError> {
    for index in indexes {
        let id =
            MailId::of_batch(batch.id, batch.version, u16::try_from(index).map_err(|_| StoreError::Failed("a save owes too many mails".to_owned().into()))?);
        tx.put(items::mail_item(id, &batch.outbox[index], now), only_if_absent.then(if_absent), Purpose::Mail)?;
    }
    Ok(())
}

/// What a create wrote for `parts`: their request items, their locks where still theirs (or
/// gone), with `events` their events; and the batch's listing items.
fn leftovers(batch: &Batch, parts: &[&Part], events: bool) -> Vec<Deletion> {
    let mut deletions: Vec<Deletion> = Vec::new();
    for part in parts {
        deletions.push((items::request_key(part.request), None, Purpose::Request));
        for role in part.roles.iter() {
            let theirs = Cond::new("attribute_not_exists(#pk) OR #request = :request")
                .name("#pk", items::PK)
                .name("#request", "request")
                .value(":request", s(part.request.to_string()));
            deletions.push((items::lock_key(&part.service, role), Some(theirs), Purpose::Lock(role)));
        }
        if events {
            deletions.extend((0..PART_EVENTS_AT_CREATE).map(|index| (items::event_key(&EventId::of_request(part.request, 0, index)), None, Purpose::Event)));
        }
    }
    deletions.extend(batch.involved().iter().map(|account| (items::batch_copy_key(account, batch.id), None, Purpose::Copy)));
    deletions
}

#[async_trait]
impl Batches for DynamoStore {
    /// In transactions of at most 100 items (`Step`): the batch item opening, with its mark; its
    /// parts, as many a transaction as fit; its listing's items; its parts' events (each of
    /// these checking the mark); then the batch opened and its mark deleted, with its letters,
    /// events and unaccepted record (and the letters that did not fit, after).
    /// A part's lock held by another request's live lock, or an account refused, deletes what
    /// this call wrote before answering `PendingExists` (or the account's refusal).
    #[tracing::instrument(name = "dynamodb.create_batch", skip_all, fields(batch = %batch.id, parts = parts.len()))]
    async fn create_batch(&self, batch: &Batch, parts: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError> {
        let steps = self.create_steps(batch, parts, now)?;
        self.run_create(batch, steps).await
    }

    /// One Query on the batch's partition: its item and its live token items (its mails, and
    /// its opening mark while it has one, are skipped); `None` while it is opening.
    #[tracing::instrument(name = "dynamodb.batch", skip_all, fields(batch = %id))]
    async fn batch(&self, id: BatchId) -> Result<Option<Batch>, StoreError> {
        let found = self.query(items::batch_pk(id), SortKeys::All, None, true, usize::MAX).await?;
        let mut batch = None;
        let mut tokens = Vec::new();
        for item in &found {
            let sk = items::sort_key(item);
            if sk == items::BATCH_SK && !items::is_opening(item) {
                batch = Some(items::batch_from(item)?).filter(|batch| self.keeps(batch.closed_at));
            } else if sk.starts_with(items::TOKEN_PREFIX) {
                tokens.push(items::token_from(item)?);
            }
        }
        let now_ms = items::millis(self.clock.now());
        Ok(batch.map(|mut batch| {
            let rounds: Vec<u32> = batch.parties.iter().map(|party| batch.round_of(&party.account)).collect();
            let live = batch.state == BatchState::Pending;
            for (party, round) in batch.parties.iter_mut().zip(rounds).filter(|(party, _)| live && party.status == PartyStatus::Pending) {
                party.token = items::live_token(&tokens, &party.account, round, now_ms);
            }
            batch
        }))
    }

    /// Queries of the account's listing items, newest first (batch ids sort by time), and a
    /// `BatchGetItem` of their batch items; those still opening are left out, and more are read
    /// until the page is full. Without their parties' tokens and their mails' events.
    #[tracing::instrument(name = "dynamodb.batches_of", skip_all, fields(account = %account))]
    async fn batches_of(&self, account: &AccountId, before: Option<BatchId>, limit: usize) -> Result<Page<Batch>, StoreError> {
        let mut start = before.map(items::batch_copy_sk);
        let mut batches = Vec::new();
        while batches.len() <= limit {
            let want = limit + 1 - batches.len();
            let copies = self.query(items::account_pk(account), SortKeys::Prefix(items::BATCH_COPY_PREFIX), start.clone(), false, want).await?;
            batches.extend(self.batches_of_copies(&copies).await?);
            match copies.last() {
                Some(last) if copies.len() == want => start = Some(items::sort_key(last).to_owned()),
                _ => break,
            }
        }
        let more = batches.len() > limit;
        batches.truncate(limit);
        for batch in &mut batches {
            batch.history.retain(|entry| !entry.event.is_mail());
        }
        Ok(Page { items: batches, more })
    }

    /// One transaction: the batch item on the version read (and opened), its letters, events and
    /// unaccepted record (letters beyond the transaction's 100 items follow in their own).
    #[tracing::instrument(name = "dynamodb.save_batch", skip_all, fields(batch = %batch.id))]
    async fn save_batch(&self, batch: &Batch) -> Result<(), StoreError> {
        self.save_batch_with(batch, None).await
    }

    /// One transaction: a `ConditionCheck` of the batch's version, the party's token item.
    #[tracing::instrument(name = "dynamodb.issue_batch_token", skip_all, fields(batch = %batch.id, account = %party))]
    async fn issue_batch_token(&self, batch: &Batch, party: &AccountId, hash: &TokenHash) -> Result<(), StoreError> {
        let at_version = Cond::new("#version = :version AND attribute_not_exists(#opening)")
            .name("#version", "version")
            .name("#opening", items::OPENING)
            .value(":version", n(batch.version));
        let mut tx = Tx::new(&self.table);
        tx.check(items::batch_key(batch.id), at_version, Purpose::Batch)?;
        tx.put(items::batch_token_item(batch, party, batch.round_of(party), hash), None, Purpose::Token)?;
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(Err(error)) => Err(error),
            Err(Ok(reasons)) if failed_condition(&reasons, &Purpose::Batch).is_some() => Err(StoreError::Stale),
            Err(Ok(reasons)) => {
                Err(cancelled_otherwise("issue_batch_token", &reasons, StoreError::Unavailable("issue_batch_token: conflicting writes".to_owned().into())))
            }
        }
    }

    /// `save_batch`'s transaction with the mail's update in it.
    #[tracing::instrument(name = "dynamodb.save_batch_settling", skip_all, fields(batch = %batch.id))]
    async fn save_batch_settling(&self, batch: &Batch, id: &MailId, status: MailStatus) -> Result<(), StoreError> {
        self.save_batch_with(batch, Some((id, status))).await
    }

    /// Queries of the due index: its settling partition, whole, then its due partition (by
    /// expiry, up to `now + remind_before`, the reminded ones only once expired), until
    /// `limit` are in. Eventually consistent: a batch just saved may show as it was, and its
    /// save is then stale.
    #[tracing::instrument(name = "dynamodb.due_batches", skip_all)]
    async fn due_batches(&self, now: OffsetDateTime, remind_before: time::Duration, limit: usize) -> Result<Vec<Batch>, StoreError> {
        let mut found = self.due_partition(items::BATCHES_SETTLING_PK, "~".to_owned(), limit, false).await?;
        if found.len() < limit {
            found.extend(self.due_in(items::BATCHES_DUE_PK.to_owned(), now, now + remind_before, limit - found.len()).await?);
        }
        found.iter().map(items::batch_from).collect()
    }

    /// A Query of the due index's opening partition up to `begun_before`; for each batch (at most
    /// `DISCARD_LIMIT` a call), a transaction that marks its opening mark discarding, then
    /// transactions of the deletions of its parts, their locks where still theirs, their events,
    /// its listing's items, and last its item and its mark.
    #[tracing::instrument(name = "dynamodb.discard_unopened", skip_all)]
    async fn discard_unopened(&self, begun_before: OffsetDateTime) -> Result<usize, StoreError> {
        let before = format!("{:015}#", items::millis(begun_before));
        let mut cleared = 0;
        for item in self.due_partition(items::BATCHES_OPENING_PK, before, DISCARD_LIMIT, false).await? {
            let batch = items::batch_from(&item)?;
            if self.discard(&batch).await? {
                tracing::warn!(batch = %batch.id, parts = batch.parts.len(), "an unopened batch's leftovers discarded");
                cleared += 1;
            }
        }
        Ok(cleared)
    }
}
