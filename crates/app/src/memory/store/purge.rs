//! The embedded store's retention (SPEC §8): what closed longer ago than the retention goes,
//! with everything of it, as the DynamoDB store's purge deletes its items.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{MemoryStore, Tables};
use crate::ports::{Purge, StoreError};
use contacts_domain::{BatchId, EventId, MailId, RequestId, Subject};

impl Tables {
    /// A request and everything of it: its codes, mails, events and unaccepted entry.
    fn forget_request(&mut self, id: RequestId) {
        self.requests.remove(&id);
        self.tokens.retain(|(request, _), _| *request != id);
        self.forget_subject(Subject::Request(id), &id.to_string());
    }

    /// A batch and everything of it, its parts included.
    fn forget_batch(&mut self, id: BatchId) {
        if let Some(batch) = self.batches.remove(&id) {
            batch.parts.iter().for_each(|part| self.forget_request(part.request));
        }
        self.batch_tokens.retain(|(batch, _), _| *batch != id);
        self.forget_subject(Subject::Batch(id), &id.to_string());
    }

    /// The mails, events and unaccepted entries of `subject`, whose event ids begin `{ulid}-`.
    fn forget_subject(&mut self, subject: Subject, ulid: &str) {
        self.mails.0.retain(|mail: &MailId, _| mail.of != subject);
        let prefix = format!("{ulid}-");
        self.events.0.retain(|event: &EventId, _| !event.to_string().starts_with(&prefix));
        for entries in self.unaccepted.values_mut() {
            entries.remove(&subject);
        }
        self.unaccepted.retain(|_, entries| !entries.is_empty());
    }
}

#[async_trait]
impl Purge for MemoryStore {
    async fn past_retention(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Subject>, StoreError> {
        let tables = self.tables();
        let gone = |closed_at: Option<OffsetDateTime>| !self.retention.keeps(closed_at, now);
        // A batch goes with its parts once none is left to end; a part only with its batch.
        let batches = tables.batches.values().filter(|b| gone(b.closed_at) && !b.parts_to_end).map(|b| Subject::Batch(b.id));
        let requests = tables.requests.values().filter(|c| c.batch.is_none() && gone(c.closed_at)).map(|c| Subject::Request(c.id));
        Ok(batches.chain(requests).take(limit).collect())
    }

    async fn purge(&self, subject: Subject) -> Result<(), StoreError> {
        let mut tables = self.tables();
        match subject {
            Subject::Request(id) => tables.forget_request(id),
            Subject::Batch(id) => tables.forget_batch(id),
        }
        Ok(())
    }
}
