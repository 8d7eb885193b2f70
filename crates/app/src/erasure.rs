//! SPEC §8's erasure of an account, for the provider's systems (`DELETE /internal/accounts/{id}`,
//! `contacts-admin erase`): refused while the account is in use, else its profile and pending
//! address change go, in one write with the `AccountErased` event. What else names the account
//! (the requests and batches kept for the retention period, their mails and events) names it by
//! id only, and keeps that id: the audit trail says that an account did what it did, not who.

use super::{App, Error, Result};
use crate::ports::{Erasure, StoreError};
use contacts_domain::events::AccountFacts;
use contacts_domain::{AccountId, Event, EventId, Fact, Occurrence};

impl App {
    /// Erases the account `id` unless it holds a role or is involved in a pending request or a
    /// batch in progress (`AccountInUse`); an unknown id (or one erased already) is `NotFound`.
    /// An erasure that an upsert or an address change overtook is tried again on fresh data.
    #[tracing::instrument(skip_all, fields(account = %id))]
    pub async fn erase_account(&self, id: &AccountId) -> Result<()> {
        let now = self.now();
        let erased = Event::new(EventId::new(now), Occurrence { at: now, fact: Fact::AccountErased(AccountFacts { account: id.clone() }) });
        self.retry_on_stale(|| async {
            match self.store.erase_account(id, &erased).await {
                Ok(Erasure::Erased) => Ok(Some(())),
                Ok(Erasure::InUse(because)) => Err(Error::AccountInUse { account: id.clone(), because }),
                Ok(Erasure::Unknown) => Err(Error::NotFound("there is no such account".to_owned())),
                Err(StoreError::Stale) => Ok(None),
                Err(other) => Err(other.into()),
            }
        })
        .await?;
        tracing::info!("account erased");
        Ok(())
    }
}
