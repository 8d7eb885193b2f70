//! The batches (SPEC §7) in the table. PLACEHOLDER: every call fails until the store is written.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::DynamoStore;
use contacts_app::ports::{Batches, Page, StoreError};
use contacts_domain::{AccountId, Batch, BatchId, ContactChange, MailId, MailStatus, TokenHash};

fn not_yet() -> StoreError {
    StoreError::Failed("the DynamoDB store keeps no batches yet".to_owned().into())
}

#[async_trait]
impl Batches for DynamoStore {
    async fn create_batch(&self, _batch: &Batch, _parts: &[ContactChange], _now: OffsetDateTime) -> Result<(), StoreError> {
        Err(not_yet())
    }
    async fn batch(&self, _id: BatchId) -> Result<Option<Batch>, StoreError> {
        Err(not_yet())
    }
    async fn batches_of(&self, _account: &AccountId, _before: Option<BatchId>, _limit: usize) -> Result<Page<Batch>, StoreError> {
        Err(not_yet())
    }
    async fn save_batch(&self, _batch: &Batch) -> Result<(), StoreError> {
        Err(not_yet())
    }
    async fn issue_batch_token(&self, _batch: &Batch, _party: &AccountId, _hash: &TokenHash) -> Result<(), StoreError> {
        Err(not_yet())
    }
    async fn save_batch_settling(&self, _batch: &Batch, _id: &MailId, _status: MailStatus) -> Result<(), StoreError> {
        Err(not_yet())
    }
    async fn due_batches(&self, _now: OffsetDateTime, _remind_before: time::Duration, _limit: usize) -> Result<Vec<Batch>, StoreError> {
        Ok(Vec::new())
    }
    async fn discard_unopened(&self, _begun_before: OffsetDateTime) -> Result<usize, StoreError> {
        Ok(0)
    }
}
