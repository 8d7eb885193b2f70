//! A batch's letters (SPEC §7): one per party and per holder told, whatever the number of its
//! services, sent as a request's are (claimed, given its code if it carries one, settled with
//! `mailed` in the batch's history).

use super::{ATTEMPTS, Delivery, MailStatus};
use crate::batches::no_batch;
use crate::mail::{self, BatchMailKind};
use crate::ports::StoreError;
use crate::{App, Error, Result, contended};
use contacts_domain::{Batch, BatchId, BatchStep, LetterKind, MailOrder, Token};

impl App {
    /// `App::send_claimed` for a batch's letter.
    pub(super) async fn send_batch_letter(&self, id: BatchId, order: &MailOrder) -> Result<Delivery> {
        let Some(mut batch) = self.store.batch(id).await? else {
            tracing::error!(mail = %order.id, "a mail whose batch is gone");
            self.store.settle(&order.id, MailStatus::Superseded).await?;
            return Ok(Delivery::Superseded);
        };
        let token = match order.letter.kind.round() {
            None => None,
            Some(round) => match self.issue_batch_code(&mut batch, order, round).await? {
                Some(token) => Some(token),
                None => {
                    self.store.settle(&order.id, MailStatus::Superseded).await?;
                    return Ok(Delivery::Superseded);
                }
            },
        };
        let accounts = self.accounts_by_id(&batch.involved()).await?;
        let Some(recipient) = accounts.get(&order.letter.to) else {
            tracing::error!(mail = %order.id, account = %order.letter.to, "no account to mail");
            return Ok(self.settle_batch_letter(batch, order, Delivery::Rejected).await);
        };
        let link = token.as_ref().map(|token| format!("{}/confirm/batch/{}#token={}", self.config.public_base_url, batch.id, token.expose()));
        let kind = match (order.letter.kind, &link, &token) {
            (LetterKind::Confirm { .. }, Some(link), Some(token)) => BatchMailKind::Confirm { link, token },
            (LetterKind::Reminder { .. }, Some(link), Some(token)) => BatchMailKind::Reminder { link, token },
            (LetterKind::Informed, ..) => BatchMailKind::Informed,
            (LetterKind::Closed, ..) => BatchMailKind::Closed,
            (LetterKind::Outcome(_), ..) => {
                tracing::error!(mail = %order.id, "a request's letter in a batch's outbox");
                return Ok(self.settle_batch_letter(batch, order, Delivery::Rejected).await);
            }
            _ => unreachable!("a letter with a round has its code"),
        };
        let rendered = mail::compose_batch(kind, &batch, recipient, &accounts, &self.config.mail_from);
        let delivery = self.send_once(&rendered, order).await?;
        Ok(self.settle_batch_letter(batch, order, delivery).await)
    }

    /// The batch's code of `round` for the letter's recipient, kept before the mail goes, as
    /// `App::issue` does a request's; `None` when the letter is superseded.
    async fn issue_batch_code(&self, batch: &mut Batch, order: &MailOrder, round: u32) -> Result<Option<Token>> {
        for _ in 0..ATTEMPTS {
            let token = Token::generate();
            let mut issued = batch.clone();
            if issued.step(BatchStep::Issue { party: order.letter.to.clone(), round, hash: token.hash() }, self.now()).is_err() {
                return Ok(None);
            }
            match self.store.issue_batch_token(batch, &order.letter.to, &token.hash()).await {
                Ok(()) => {
                    *batch = issued;
                    return Ok(Some(token));
                }
                Err(StoreError::Stale) => *batch = self.store.batch(batch.id).await?.ok_or_else(no_batch)?,
                Err(other) => return Err(other.into()),
            }
        }
        Err(contended())
    }

    /// Settles the claimed mail with its history step, as `App::settle` does a request's.
    async fn settle_batch_letter(&self, batch: Batch, order: &MailOrder, delivery: Delivery) -> Delivery {
        let (status, step) = match delivery {
            Delivery::Sent => (MailStatus::Sent, BatchStep::Mailed { to: order.letter.to.clone() }),
            _ => (MailStatus::Rejected, BatchStep::MailFailed { to: order.letter.to.clone() }),
        };
        let mut base = batch;
        for _ in 0..ATTEMPTS {
            let mut recorded = base.clone();
            recorded.step(step.clone(), self.now()).expect("mail events fit every state");
            recorded.version += 1;
            let error: Error = match self.store.save_batch_settling(&recorded, &order.id, status).await {
                Ok(()) => return delivery,
                Err(StoreError::Stale) => match self.store.batch(base.id).await {
                    Ok(Some(fresh)) => {
                        base = fresh;
                        continue;
                    }
                    Ok(None) => break,
                    Err(error) => error.into(),
                },
                Err(error) => error.into(),
            };
            tracing::warn!(mail = %order.id, %error, "could not record the mail event");
            break;
        }
        if let Err(error) = self.store.settle(&order.id, status).await {
            tracing::error!(mail = %order.id, %error, "a mail that went could not be settled: it may go again after its lease");
        }
        delivery
    }
}
