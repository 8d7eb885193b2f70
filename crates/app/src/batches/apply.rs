//! What a batch's decision does to its parts: once every party accepted, each part takes
//! effect on its own (or fails, SPEC §3), a few at once, and their outcomes settle the batch;
//! a batch closed otherwise ends its parts still pending. Whatever a stopped function left
//! half done, the sweep finishes ([`App::sweep_batches`]).

use time::OffsetDateTime;

use super::{OPENING_GRACE, SETTLE_GRACE, concurrently, no_batch};
use crate::ports::{Effect, StoreError};
use crate::{App, Error, Result, SWEEP_LIMIT, no_contact_change, unless_stale};
use contacts_domain::{AccountId, Batch, BatchId, BatchStep, ContactChange, Decision as _, FailReason, LifecycleError, RequestId, State, Step};

/// The time one part may take at most (a read and a conditional write, each bounded by its
/// timeout, and the answer): no part is begun with less than this left before the deadline.
const PART_RESERVE: std::time::Duration = std::time::Duration::from_secs(4);

/// A part's outcome, as `BatchStep::Settle` takes it (`pending`: not applied this time).
type Outcome = (RequestId, State, Option<FailReason>);

/// What one sweep did to batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSweep {
    /// Batches it ended `expired`, with their parts.
    pub expired: usize,
    /// Batches whose awaited parties it posted their one reminder.
    pub reminded: usize,
    /// Batches whose parts a stopped function left pending that it finished: made them take
    /// effect (every party had accepted) or ended them with their closed batch.
    pub finished: usize,
    /// Batches whose create never finished, whose leftovers it deleted.
    pub discarded: usize,
}

impl App {
    /// Every party accepted: each part still pending takes effect or fails, in its own
    /// conditional write, a few at once (`CONCURRENCY`); then their outcomes settle the batch.
    /// Near the invocation's deadline the parts not begun are left pending: the sweep finishes
    /// them ([`SETTLE_GRACE`] after the last acceptance).
    pub(super) async fn apply_parts(&self, batch: Batch) -> Result<Batch> {
        let parties: Vec<AccountId> = batch.parties.iter().map(|party| party.account.clone()).collect();
        let pending: Vec<RequestId> = batch.pending_parts().map(|part| part.request).collect();
        let parties = &parties;
        let outcomes = concurrently(pending, |request| self.apply_part(request, parties)).await?;
        let (done, failed) = (outcomes.iter().filter(|o| o.1 == State::Done).count(), outcomes.iter().filter(|o| o.1 == State::Failed).count());
        tracing::info!(batch = %batch.id, done, failed, "batch's parts took effect");
        self.settle_batch(batch.id, outcomes).await
    }

    /// One part, accepted by every party of its batch, takes effect or fails; a part that is
    /// no longer pending (taken effect before a crash, cancelled by its service's admin)
    /// answers what it became.
    async fn apply_part(&self, request: RequestId, parties: &[AccountId]) -> Result<Outcome> {
        // Too close to the invocation's deadline: the part stays pending, for the sweep.
        if crate::deadline::remaining().is_some_and(|left| left < PART_RESERVE) {
            return Ok((request, State::Pending, None));
        }
        self.retry_on_stale(|| async move {
            let mut part = self.store.contact_change(request).await?.ok_or_else(no_contact_change)?;
            if part.state != State::Pending {
                return Ok(Some((request, part.state, part.reason)));
            }
            let now = self.now();
            let (last, others) = parties.split_last().expect("a batch has a party");
            for party in others {
                part.step(Step::Accept { party: party.clone() }, now)?;
            }
            let read = part.clone();
            part.step(Step::Accept { party: last.clone() }, now)?;
            let applied = self.take_effect(read, &mut part, last.clone(), now).await;
            unless_stale(applied, (request, part.state, part.reason))
        })
        .await
    }

    /// Records the parts' outcomes on the batch, which closes once none is left pending.
    async fn settle_batch(&self, id: BatchId, outcomes: Vec<Outcome>) -> Result<Batch> {
        let outcomes = &outcomes;
        self.retry_on_stale(|| async move {
            let mut batch = self.store.batch(id).await?.ok_or_else(no_batch)?;
            match batch.step(BatchStep::Settle { outcomes: outcomes.clone() }, self.now()) {
                Ok(()) => {}
                // Settled meanwhile (the sweep, or a part's cancel that closed it).
                Err(LifecycleError::BatchNotPending(_)) => return Ok(Some(batch)),
                Err(other) => return Err(other.into()),
            }
            let saved = self.save_batch(&mut batch).await;
            unless_stale(saved, batch)
        })
        .await
    }

    /// A closed batch's parts still pending end with it, releasing their locks; then the batch
    /// records that they did (until then, the sweep finds it and finishes this). The batch as
    /// it then is.
    pub(super) async fn end_parts(&self, batch: Batch) -> Result<Batch> {
        let Some(state) = batch.state.for_pending_parts().filter(|_| batch.parts_to_end) else { return Ok(batch) };
        let parts: Vec<RequestId> = batch.parts.iter().map(|part| part.request).collect();
        concurrently(parts, |request| self.end_part(request, state)).await?;
        let id = batch.id;
        self.retry_on_stale(|| async move {
            let mut batch = self.store.batch(id).await?.ok_or_else(no_batch)?;
            // Recorded meanwhile (the sweep, another reader) or never owed: nothing to save.
            if !batch.parts_to_end || batch.step(BatchStep::PartsEnded, self.now()).is_err() {
                return Ok(Some(batch));
            }
            let saved = self.save_batch(&mut batch).await;
            unless_stale(saved, batch)
        })
        .await
    }

    async fn end_part(&self, request: RequestId, state: State) -> Result<()> {
        self.retry_on_stale(|| async move {
            let Some(mut part) = self.store.contact_change(request).await? else { return Ok(Some(())) };
            if part.state != State::Pending {
                return Ok(Some(()));
            }
            part.step(Step::EndWithBatch { state }, self.now())?;
            let saved = self.save(&mut part, Effect::ReleaseLocks).await;
            unless_stale(saved, ())
        })
        .await
    }

    /// A part its service's admin cancelled (saved already): its batch records it, and closes
    /// if no part is left to take effect.
    pub(crate) async fn part_cancelled(&self, part: &ContactChange) -> Result<()> {
        let Some(id) = part.batch else { return Ok(()) };
        let request = part.id;
        self.retry_on_stale(|| async move {
            let mut batch = self.store.batch(id).await?.ok_or_else(no_batch)?;
            match batch.step(BatchStep::PartCancelled { request }, self.now()) {
                Ok(()) => {}
                Err(LifecycleError::NotPending(_) | LifecycleError::BatchNotPending(_)) => return Ok(Some(())),
                Err(other) => return Err(other.into()),
            }
            let saved = self.save_batch(&mut batch).await;
            unless_stale(saved, ())
        })
        .await
    }

    /// The sweep's work on batches: what unfinished creates left is deleted; batches whose
    /// parts a stopped function left pending are finished; those past their expiry end with
    /// their parts; those close to it get their one reminder.
    pub(crate) async fn sweep_batches(&self, now: OffsetDateTime) -> Result<BatchSweep> {
        let mut report = BatchSweep { discarded: self.store.discard_unopened(now - OPENING_GRACE).await?, ..BatchSweep::default() };
        for batch in self.store.due_batches(now, self.config.reminder_before, SWEEP_LIMIT).await? {
            if crate::deadline::remaining().is_some_and(|left| left < crate::SWEEP_RESERVE) {
                break;
            }
            if batch.parts_to_end {
                self.end_parts(batch).await?;
                report.finished += 1;
            } else if batch.settling() {
                if batch.stalled(now, SETTLE_GRACE) {
                    self.apply_parts(batch).await?;
                    report.finished += 1;
                }
            } else if now >= batch.expires_at {
                report.expired += usize::from(self.sweep_expired_batch(batch, now).await?);
            } else if !self.config.reminder_before.is_zero() && !batch.reminded() {
                report.reminded += usize::from(self.remind_batch(batch, now).await?);
            }
        }
        Ok(report)
    }

    async fn sweep_expired_batch(&self, mut batch: Batch, now: OffsetDateTime) -> Result<bool> {
        batch.observe(now);
        match self.save_batch(&mut batch).await {
            Err(StoreError::Stale) => Ok(false),
            Err(other) => Err(other.into()),
            Ok(()) => {
                tracing::info!(batch = %batch.id, "batch expired");
                self.end_parts(batch).await?;
                Ok(true)
            }
        }
    }

    async fn remind_batch(&self, mut batch: Batch, now: OffsetDateTime) -> Result<bool> {
        batch.step(BatchStep::Remind, now)?;
        match self.save_batch(&mut batch).await {
            Err(StoreError::Stale) => Ok(false),
            Err(other) => Err(Error::from(other)),
            Ok(()) => Ok(true),
        }
    }
}
