//! SPEC §4: an address that bounced (permanently) or drew a complaint is marked `bouncing` on
//! its account, and the views show it to those who may see the requests that name it. A
//! verified new address, or a provider's upsert of the account, clears the mark.

use super::{App, Result};
use contacts_domain::{AccountId, ContactChange, EmailAddress, EmailStatus, State};

/// What SES reported of one mail to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bounce {
    /// The address does not exist or refuses mail for good: marked.
    Permanent,
    /// A full mailbox, a greylisting, an out-of-office: SES retried and gave up, but the
    /// address is sound; not marked.
    Transient,
    /// The recipient reported the mail as spam: marked, as SES stops delivering to it.
    Complaint,
}

impl Bounce {
    pub fn marks(self) -> bool {
        self != Bounce::Transient
    }
}

impl App {
    /// Marks `account`'s address bouncing if `bounce` calls for it and `email` (the address
    /// the mail went to) is still its address; whether it marked.
    #[tracing::instrument(skip_all, fields(account = %account))]
    pub async fn bounced(&self, account: &AccountId, email: &EmailAddress, bounce: Bounce) -> Result<bool> {
        if !bounce.marks() {
            tracing::info!(%account, "a transient bounce: the address stays as it is");
            return Ok(false);
        }
        let marked = self.store.mark_bouncing(account, email).await?;
        tracing::info!(%account, marked, ?bounce, "a bounce reported");
        Ok(marked)
    }

    /// The accounts named by the pending ones of `changes` whose address bounces, sorted, once
    /// each: what a request's views show (SPEC §4), in one read of the accounts, and none for a
    /// closed request (no mail of it awaits an answer any more), which then costs no read.
    pub async fn bouncing_in(&self, changes: &[&ContactChange]) -> Result<Vec<AccountId>> {
        let named: Vec<AccountId> = changes.iter().filter(|c| c.state == State::Pending).flat_map(|c| c.named()).collect();
        self.bouncing_among(&named).await
    }

    /// The accounts among `ids` whose address bounces, sorted, once each (one read of the accounts).
    pub async fn bouncing_among(&self, ids: &[AccountId]) -> Result<Vec<AccountId>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let accounts = self.accounts_by_id(ids).await?;
        let mut bouncing: Vec<AccountId> = accounts.into_values().filter(|a| a.email_status == EmailStatus::Bouncing).map(|a| a.id).collect();
        bouncing.sort();
        Ok(bouncing)
    }
}
