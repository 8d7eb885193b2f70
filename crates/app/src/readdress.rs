//! SPEC §3: a code belongs to an address. When an account's address changes (its owner's two
//! codes came back, or the provider set it), its live codes on pending requests stop working at
//! once, and every pending request that still awaits it mails it fresh codes at the new address;
//! the other parties' codes are untouched.
//!
//! In two steps around the address's own write: the codes die before it ([`Step::Withhold`]),
//! so that no crash leaves one alive at the old address; the fresh codes are owed after it
//! ([`Step::Readdress`]), so that the mailer, which mints each code as it sends it to the
//! address of that moment, sends them to the new one. A crash between the two leaves the party
//! without a live code, not with a wrong one: any party may have the mails sent again, and the
//! reminder before expiry mails fresh codes too.

use time::OffsetDateTime;

use super::{App, PAGE_SIZE, Result, unless_stale};
use crate::config::TOKEN_TTL_RANGE;
use crate::ports::{Effect, StoreError};
use contacts_domain::Decision;
use contacts_domain::{AccountId, BatchId, BatchState, BatchStep, ContactChange, RequestId, State, Step};

/// The pending requests and batches that await one account's answer.
#[derive(Debug, Default)]
pub(super) struct Awaiting {
    requests: Vec<RequestId>,
    batches: Vec<BatchId>,
}

impl App {
    /// Kills `account`'s live codes on every pending request and batch that awaits it,
    /// answering them. Fails (and the address must then not change) if one could not be saved.
    pub(super) async fn withhold_codes(&self, account: &AccountId) -> Result<Awaiting> {
        let awaiting = Awaiting { requests: self.requests_awaiting(account).await?, batches: self.batches_awaiting(account).await? };
        for id in &awaiting.requests {
            self.step_awaited(*id, Step::Withhold { party: account.clone() }).await?;
        }
        for id in &awaiting.batches {
            self.step_awaited_batch(*id, BatchStep::Withhold { party: account.clone() }).await?;
        }
        if !awaiting.requests.is_empty() || !awaiting.batches.is_empty() {
            let (requests, batches) = (awaiting.requests.len(), awaiting.batches.len());
            tracing::info!(account = %account, requests, batches, "codes withheld: the address is changing");
        }
        Ok(awaiting)
    }

    /// Owes `account` a confirmation with a fresh code on each of `awaiting` that still awaits
    /// it. Best effort: the address has changed already, and one left without a code still
    /// takes a resend.
    pub(super) async fn mail_fresh_codes(&self, account: &AccountId, awaiting: &Awaiting) {
        for id in &awaiting.requests {
            if let Err(error) = self.step_awaited(*id, Step::Readdress { party: account.clone() }).await {
                tracing::warn!(account = %account, contact_change = %id, %error, "no fresh code owed after an address change: a resend sends one");
            }
        }
        for id in &awaiting.batches {
            if let Err(error) = self.step_awaited_batch(*id, BatchStep::Readdress { party: account.clone() }).await {
                tracing::warn!(account = %account, batch = %id, %error, "no fresh code owed after an address change: a resend sends one");
            }
        }
    }

    /// The pending batches that await `account`'s answer, read back as far as
    /// [`Self::requests_awaiting`] reads requests.
    async fn batches_awaiting(&self, account: &AccountId) -> Result<Vec<BatchId>> {
        let now = self.now();
        let oldest_pending = now - time::Duration::seconds(TOKEN_TTL_RANGE.1);
        let mut found = Vec::new();
        let mut before = None;
        loop {
            let page = self.store.batches_of(account, before, PAGE_SIZE).await?;
            let awaits = |b: &&contacts_domain::Batch| b.state == BatchState::Pending && b.expires_at > now && b.awaiting().any(|a| a == account);
            found.extend(page.items.iter().filter(awaits).map(|batch| batch.id));
            match page.items.last() {
                Some(last) if page.more && last.created_at > oldest_pending => before = Some(last.id),
                _ => return Ok(found),
            }
        }
    }

    /// [`Self::step_awaited`] for a batch.
    async fn step_awaited_batch(&self, id: BatchId, step: BatchStep) -> Result<()> {
        let step = &step;
        self.retry_on_stale(|| async move {
            let Some(mut batch) = self.store.batch(id).await? else { return Ok(Some(())) };
            let now: OffsetDateTime = self.now();
            if batch.observe(now) || batch.step(step.clone(), now).is_err() {
                return Ok(Some(()));
            }
            let saved = self.save_batch(&mut batch).await;
            unless_stale(saved, ())
        })
        .await
    }

    /// The pending requests that await `account`'s answer, newest first. A request is pending
    /// for its token lifetime at most, so the listing is read back only that far.
    async fn requests_awaiting(&self, account: &AccountId) -> Result<Vec<RequestId>> {
        let now = self.now();
        let oldest_pending = now - time::Duration::seconds(TOKEN_TTL_RANGE.1);
        let awaits = |change: &ContactChange| change.state == State::Pending && change.expires_at > now && change.awaiting().any(|a| a == account);
        let mut found = Vec::new();
        let mut before = None;
        loop {
            let page = self.store.contact_changes_of(account, before, PAGE_SIZE).await?;
            found.extend(page.items.iter().filter(|change| awaits(change)).map(|change| change.id));
            match page.items.last() {
                Some(last) if page.more && last.created_at > oldest_pending => before = Some(last.id),
                _ => return Ok(found),
            }
        }
    }

    /// Takes `step` on request `id` and saves it, read again on a lost race; a request that no
    /// longer awaits the party (answered, closed, expired meanwhile) is left as it is.
    async fn step_awaited(&self, id: RequestId, step: Step) -> Result<()> {
        let step = &step;
        self.retry_on_stale(|| async move {
            let Some(mut change) = self.store.contact_change(id).await? else { return Ok(Some(())) };
            let now: OffsetDateTime = self.now();
            if change.observe(now) || change.step(step.clone(), now).is_err() {
                return Ok(Some(()));
            }
            match self.save(&mut change, Effect::Nothing).await {
                Err(StoreError::Expired) => Ok(Some(())),
                saved => unless_stale(saved, ()),
            }
        })
        .await
    }
}
