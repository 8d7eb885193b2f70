//! The embedded store's batches (SPEC §7): a batch and its parts are written in one step under
//! the lock, so no reader ever sees half of one, and nothing is ever left unopened.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{MemoryStore, Tables, stored_form};
use crate::ports::{Batches, Lock, Page, StoreError};
use contacts_domain::{
    Account, AccountId, Batch, BatchId, BatchState, ContactChange, Decision, Event, EventId, MailId, MailOrder, MailStatus, PartyStatus, Subject, TokenHash,
};

impl Tables {
    /// `Batches::save_batch`, under the lock.
    fn save_batch(&mut self, batch: &Batch, now: OffsetDateTime) -> Result<(), StoreError> {
        let stored = self.batches.get(&batch.id).ok_or(StoreError::Stale)?;
        if stored.version + 1 != batch.version {
            return Err(StoreError::Stale);
        }
        self.put_batch(batch, now);
        Ok(())
    }

    /// Keeps `batch` as stored, its record of when it counts as unaccepted, and posts what it owes.
    fn put_batch(&mut self, batch: &Batch, now: OffsetDateTime) {
        let key = (batch.requested_by.clone(), batch.to.clone());
        self.record_unaccepted_of(key, Subject::Batch(batch.id), batch.unaccepted_from());
        for (index, letter) in batch.outbox.iter().enumerate() {
            let id = MailId::of_batch(batch.id, batch.version, u16::try_from(index).expect("a save owes a few mails per account"));
            self.mails.post(MailOrder { id, letter: letter.clone(), posted_at: now, attempts: 0 });
        }
        for (index, occurrence) in batch.events.iter().enumerate() {
            let id = EventId::of_batch(batch.id, batch.version, u16::try_from(index).expect("a save owes an event or two"));
            self.commit_event(Event::new(id, occurrence.clone()), now);
        }
        let mut stored = Batch { outbox: Vec::new(), events: Vec::new(), ..batch.clone() };
        stored.parties.iter_mut().for_each(|party| party.token = None);
        self.batches.insert(batch.id, stored);
    }

    /// `Requests::create`'s checks, for every part at once: nothing is written unless all pass.
    fn check_parts(&self, parts: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError> {
        for part in parts {
            if let Some(role) = part.roles.iter().find(|role| self.locks.get(&(part.service.clone(), *role)).is_some_and(|lock| lock.expires_at > now)) {
                return Err(StoreError::PendingExists(role));
            }
        }
        let involved: Vec<AccountId> = parts.iter().flat_map(ContactChange::involved).collect();
        self.check_known(involved.iter())?;
        for account in parts.iter().flat_map(ContactChange::must_be_in_good_standing) {
            if !self.accounts.get(&account).is_some_and(Account::in_good_standing) {
                return Err(StoreError::NotInGoodStanding(account));
            }
        }
        parts.iter().try_for_each(|part| self.check_zone(part))
    }

    /// The batch with the live codes of its parties still awaited.
    fn batch_with_tokens(&self, id: BatchId) -> Option<Batch> {
        let mut batch = self.batches.get(&id).cloned()?;
        let rounds: Vec<u32> = batch.parties.iter().map(|party| batch.round_of(&party.account)).collect();
        let live = batch.state == BatchState::Pending;
        for (party, round) in batch.parties.iter_mut().zip(rounds).filter(|(party, _)| live && party.status == PartyStatus::Pending) {
            party.token = self.batch_tokens.get(&(id, party.account.clone())).filter(|(r, _)| *r == round).map(|(_, hash)| *hash);
        }
        Some(batch)
    }
}

#[async_trait]
impl Batches for MemoryStore {
    async fn create_batch(&self, batch: &Batch, parts: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.check_parts(parts, now)?;
        for part in parts {
            for role in part.roles.iter() {
                tables.locks.insert((part.service.clone(), role), Lock::of(part, role));
            }
            tables.requests.insert(part.id, stored_form(part));
            tables.post(part, now);
        }
        tables.put_batch(batch, now);
        Ok(())
    }

    async fn batch(&self, id: BatchId) -> Result<Option<Batch>, StoreError> {
        Ok(self.tables().batch_with_tokens(id).filter(|batch| self.keeps(batch.closed_at)))
    }

    async fn batches_of(&self, account: &AccountId, before: Option<BatchId>, limit: usize) -> Result<Page<Batch>, StoreError> {
        let tables = self.tables();
        let mut matching = tables
            .batches
            .values()
            .rev()
            .filter(|batch| before.is_none_or(|before| batch.id < before) && batch.involves(account) && self.keeps(batch.closed_at));
        // As DynamoDB's copies have them: without the events of their mails.
        let items: Vec<Batch> = matching
            .by_ref()
            .take(limit)
            .cloned()
            .map(|mut batch| {
                batch.history.retain(|entry| !entry.event.is_mail());
                batch
            })
            .collect();
        Ok(Page { items, more: matching.next().is_some() })
    }

    async fn save_batch(&self, batch: &Batch) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.tables().save_batch(batch, now)
    }

    async fn issue_batch_token(&self, batch: &Batch, party: &AccountId, hash: &TokenHash) -> Result<(), StoreError> {
        let mut tables = self.tables();
        if tables.batches.get(&batch.id).is_none_or(|stored| stored.version != batch.version) {
            return Err(StoreError::Stale);
        }
        tables.batch_tokens.insert((batch.id, party.clone()), (batch.round_of(party), *hash));
        Ok(())
    }

    async fn save_batch_settling(&self, batch: &Batch, id: &MailId, status: MailStatus) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut tables = self.tables();
        tables.save_batch(batch, now)?;
        tables.mails.settle(id, status);
        Ok(())
    }

    async fn due_batches(&self, now: OffsetDateTime, remind_before: time::Duration, limit: usize) -> Result<Vec<Batch>, StoreError> {
        let tables = self.tables();
        let horizon = now + remind_before;
        let mut due: Vec<&Batch> = tables
            .batches
            .values()
            .filter(|b| {
                b.parts_to_end || (b.state == BatchState::Pending && (b.settling() || b.expires_at <= now || (b.expires_at <= horizon && !b.reminded())))
            })
            .collect();
        // The settling and the closed first: their parts wait on them.
        due.sort_by_key(|b| (!(b.settling() || b.parts_to_end), b.expires_at, b.id));
        Ok(due.into_iter().take(limit).cloned().collect())
    }

    async fn discard_unopened(&self, _begun_before: OffsetDateTime) -> Result<usize, StoreError> {
        // Every batch is written whole, under the lock: none is ever left unopened.
        Ok(0)
    }
}
