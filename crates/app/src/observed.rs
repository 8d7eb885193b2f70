//! The store and the mailer as the use cases get them ([`crate::App::new`] wraps them):
//! each call goes straight through, and what it committed is counted on the way back. The
//! outcomes are counted here, where they become true, rather than at each place a use case
//! decides one: a request closed by an answer, a cancel, the sweep or a reader who noticed its
//! expiry is closed by one successful save, whichever it was.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::mail::Mail;
use crate::ports::{
    Accounts, Asking, AskingFor, Batches, Effect, Erasure, Limits, MailError, Mailer, Outbox, Page, ProfileRecord, Profiles, PublishError, Publisher, Purge,
    Requests, ServiceFilter, ServiceRecord, Services, Store, StoreError,
};
use contacts_domain::{
    Account, AccountId, Batch, BatchId, ContactChange, EmailAddress, Event, EventId, Language, MailId, MailStatus, OutboxId, RequestId, Service, ServiceName,
    State, Subject, TokenHash,
};
use contacts_telemetry::{Metric, count, count_by, count_n};

/// A store whose commits are counted.
pub(crate) struct ObservedStore(pub(crate) Arc<dyn Store>);

/// A mailer whose sends are counted.
pub(crate) struct ObservedMailer(pub(crate) Arc<dyn Mailer>);

/// A publisher whose events are counted, each entry of a call on its own.
pub(crate) struct ObservedPublisher(pub(crate) Arc<dyn Publisher>);

/// The outcome metric of a request saved in `state`. A save of a closed request is the one
/// that closed it: once closed, a request is only written again by the mailer's settling
/// (`save_settling`), never by `save`.
fn closed(change: &ContactChange) {
    match change.state {
        State::Pending => {}
        State::Done => count(Metric::ChangesDone),
        State::Refused => count(Metric::ChangesRefused),
        State::Cancelled => count(Metric::ChangesCancelled),
        State::Expired => count(Metric::ChangesExpired),
        State::Failed => match change.reason {
            Some(reason) => count_by(Metric::ChangesFailed, reason.as_str()),
            None => count(Metric::ChangesFailed),
        },
    }
}

#[async_trait]
impl Accounts for ObservedStore {
    async fn mark_bouncing(&self, id: &AccountId, email: &EmailAddress) -> Result<bool, StoreError> {
        let marked = self.0.mark_bouncing(id, email).await?;
        if marked {
            count(Metric::AddressesBouncing);
        }
        Ok(marked)
    }
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.0.account(id).await
    }
    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, StoreError> {
        self.0.accounts(ids).await
    }
    async fn accounts_with_email(&self, email: &EmailAddress, limit: usize) -> Result<Vec<AccountId>, StoreError> {
        self.0.accounts_with_email(email, limit).await
    }
    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.0.put_account(account).await
    }
    async fn erase_account(&self, id: &AccountId, event: &Event) -> Result<Erasure, StoreError> {
        self.0.erase_account(id, event).await
    }
}

#[async_trait]
impl Profiles for ObservedStore {
    async fn profile(&self, id: &AccountId) -> Result<Option<ProfileRecord>, StoreError> {
        self.0.profile(id).await
    }
    async fn save_email_change(&self, record: &ProfileRecord, gone: &[TokenHash]) -> Result<(), StoreError> {
        self.0.save_email_change(record, gone).await
    }
    async fn email_token(&self, hash: &TokenHash, now: OffsetDateTime) -> Result<Option<AccountId>, StoreError> {
        self.0.email_token(hash, now).await
    }
    async fn verify_email(&self, read: &ProfileRecord, now: OffsetDateTime, event: &Event) -> Result<Account, StoreError> {
        self.0.verify_email(read, now, event).await
    }
    async fn set_language(&self, id: &AccountId, language: Language, event: &Event) -> Result<Option<ProfileRecord>, StoreError> {
        self.0.set_language(id, language, event).await
    }
}

#[async_trait]
impl Services for ObservedStore {
    async fn service(&self, name: &ServiceName) -> Result<Option<ServiceRecord>, StoreError> {
        self.0.service(name).await
    }
    async fn put_service(&self, service: &Service) -> Result<(), StoreError> {
        self.0.put_service(service).await
    }
    async fn services_of(&self, account: &AccountId, filter: &ServiceFilter, after: Option<&ServiceName>, limit: usize) -> Result<Page<Service>, StoreError> {
        self.0.services_of(account, filter, after, limit).await
    }
    async fn held_among(&self, account: &AccountId, names: &[ServiceName]) -> Result<std::collections::BTreeSet<ServiceName>, StoreError> {
        self.0.held_among(account, names).await
    }
}

#[async_trait]
impl Requests for ObservedStore {
    async fn create(&self, changes: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError> {
        self.0.create(changes, now).await?;
        count_n(Metric::ChangesRequested, changes.len() as u64);
        Ok(())
    }
    async fn save(&self, change: &ContactChange, effect: Effect) -> Result<(), StoreError> {
        self.0.save(change, effect).await?;
        closed(change);
        Ok(())
    }
    async fn save_settling(&self, change: &ContactChange, id: &MailId, status: MailStatus) -> Result<(), StoreError> {
        MailId::before_settling(status);
        self.0.save_settling(change, id, status).await?;
        MailId::settled(status);
        Ok(())
    }
    async fn contact_change(&self, id: RequestId) -> Result<Option<ContactChange>, StoreError> {
        self.0.contact_change(id).await
    }
    async fn contact_changes_of(&self, account: &AccountId, before: Option<RequestId>, limit: usize) -> Result<Page<ContactChange>, StoreError> {
        self.0.contact_changes_of(account, before, limit).await
    }
    async fn due(&self, now: OffsetDateTime, remind_before: time::Duration, limit: usize) -> Result<Vec<ContactChange>, StoreError> {
        self.0.due(now, remind_before, limit).await
    }
    async fn issue_token(&self, change: &ContactChange, party: &AccountId, hash: &TokenHash) -> Result<(), StoreError> {
        self.0.issue_token(change, party, hash).await
    }
}

#[async_trait]
impl Batches for ObservedStore {
    async fn create_batch(&self, batch: &Batch, parts: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError> {
        self.0.create_batch(batch, parts, now).await?;
        // Each part is a request of its own: the funnel counts services, however they were asked.
        count_n(Metric::ChangesRequested, parts.len() as u64);
        count(Metric::BatchesRequested);
        count_n(Metric::BatchParts, parts.len() as u64);
        Ok(())
    }
    async fn batch(&self, id: BatchId) -> Result<Option<Batch>, StoreError> {
        self.0.batch(id).await
    }
    async fn batches_of(&self, account: &AccountId, before: Option<BatchId>, limit: usize) -> Result<Page<Batch>, StoreError> {
        self.0.batches_of(account, before, limit).await
    }
    async fn save_batch(&self, batch: &Batch) -> Result<(), StoreError> {
        self.0.save_batch(batch).await
    }
    async fn issue_batch_token(&self, batch: &Batch, party: &AccountId, hash: &TokenHash) -> Result<(), StoreError> {
        self.0.issue_batch_token(batch, party, hash).await
    }
    async fn save_batch_settling(&self, batch: &Batch, id: &MailId, status: MailStatus) -> Result<(), StoreError> {
        MailId::before_settling(status);
        self.0.save_batch_settling(batch, id, status).await?;
        MailId::settled(status);
        Ok(())
    }
    async fn due_batches(&self, now: OffsetDateTime, remind_before: time::Duration, limit: usize) -> Result<Vec<Batch>, StoreError> {
        self.0.due_batches(now, remind_before, limit).await
    }
    async fn discard_unopened(&self, begun_before: OffsetDateTime) -> Result<usize, StoreError> {
        self.0.discard_unopened(begun_before).await
    }
}

#[async_trait]
impl Limits for ObservedStore {
    async fn unaccepted(&self, requester: &AccountId, to: &AccountId) -> Result<Vec<OffsetDateTime>, StoreError> {
        self.0.unaccepted(requester, to).await
    }
    async fn asking(&self, what: &AskingFor<'_>) -> Result<Asking, StoreError> {
        self.0.asking(what).await
    }
    async fn wrong_attempts(&self, attempter: &str, window_start: OffsetDateTime) -> Result<u32, StoreError> {
        self.0.wrong_attempts(attempter, window_start).await
    }
    async fn count_wrong_attempt(&self, attempter: &str, window_start: OffsetDateTime, window_end: OffsetDateTime) -> Result<u32, StoreError> {
        self.0.count_wrong_attempt(attempter, window_start, window_end).await
    }
}

#[async_trait]
impl Purge for ObservedStore {
    async fn past_retention(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Subject>, StoreError> {
        self.0.past_retention(now, limit).await
    }
    async fn purge(&self, subject: Subject) -> Result<(), StoreError> {
        self.0.purge(subject).await
    }
}

/// What the settling of one kind of item counts.
trait Counted: OutboxId {
    /// Before the write: a mail handed back will be tried again, whether or not this write
    /// lands (after its lease).
    fn before_settling(_status: Self::Status) {}
    /// Once written.
    fn settled(_status: Self::Status) {}
}

impl Counted for MailId {
    fn before_settling(status: MailStatus) {
        if status == MailStatus::Pending {
            count(Metric::MailsRetried);
        }
    }
    fn settled(status: MailStatus) {
        if status == MailStatus::Rejected {
            count(Metric::MailsFailed);
        }
    }
}

/// The events are counted as the bus takes them (`ObservedPublisher`).
impl Counted for EventId {}

#[async_trait]
impl<I: Counted> Outbox<I> for ObservedStore
where
    dyn Store: Outbox<I>,
{
    async fn claim(&self, id: &I, now: OffsetDateTime, until: OffsetDateTime) -> Result<Option<I::Order>, StoreError> {
        self.0.claim(id, now, until).await
    }

    async fn settle(&self, id: &I, status: I::Status) -> Result<(), StoreError> {
        I::before_settling(status);
        self.0.settle(id, status).await?;
        I::settled(status);
        Ok(())
    }

    async fn unsent(&self, posted_before: OffsetDateTime, limit: usize) -> Result<Vec<I>, StoreError> {
        self.0.unsent(posted_before, limit).await
    }
}

#[async_trait]
impl Publisher for ObservedPublisher {
    async fn publish(&self, events: &[Event]) -> Vec<Result<(), PublishError>> {
        let results = self.0.publish(events).await;
        let published = results.iter().filter(|result| result.is_ok()).count() as u64;
        count_n(Metric::EventsPublished, published);
        // Handed back, each to be published again (the stream's retry, the sweep).
        count_n(Metric::EventsRetried, results.len() as u64 - published);
        results
    }
}

#[async_trait]
impl Mailer for ObservedMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let sent = self.0.send(mail).await;
        match &sent {
            Ok(()) => count(Metric::MailsSent),
            Err(MailError::Rejected(_)) => count(Metric::MailsRefused),
            // Handed back by the mailer (`MailsRetried`), or given up on (`MailsFailed`).
            Err(MailError::Retryable(_) | MailError::Throttled(_)) => {}
        }
        sent
    }
}
