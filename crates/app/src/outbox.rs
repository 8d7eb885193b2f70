//! The mailer's use case (SPEC §4): a posted letter ([`MailOrder`]) becomes a mail. The change
//! that implied it committed long ago, with it; here it is claimed, rendered in its
//! recipient's language, given its code if it carries one, sent, and settled, with `mailed`
//! (or `mail_failed`) in the request's history.
//!
//! Exactly once, as far as a mail service without an idempotency key allows: a claim is a
//! conditional write with a lease, a settled mail is never claimed again (so a stream batch
//! delivered twice sends nothing twice), and a failure that may pass hands the mail back
//! rather than losing it. What remains is a mailer that dies between the mail service taking
//! a mail and its settling: after the lease the mail goes again, with a new code that replaces
//! the first mail's.

use time::{Duration, OffsetDateTime};

mod batch;

use super::{ATTEMPTS, App, Error, Result, contended, no_contact_change};
use crate::mail::{self, MailKind};
use crate::ports::{MailError, Outbox, StoreError};
use contacts_domain::{ContactChange, LetterKind, MailId, MailOrder, MailStatus, RequestId, State, Step, Subject, Token};

/// How long a claim holds a mail: far more than rendering, one send (bounded by the SES
/// client's timeouts) and the writes around it take.
const MAIL_LEASE: Duration = Duration::seconds(120);

/// After how many claims a mail that still fails is given up and recorded `mail_failed`:
/// with the stream's retries and then one sweep every few minutes, hours of an outage.
pub const MAIL_ATTEMPTS: u32 = 30;

/// How long after it was posted a mail still unsent is the sweep's to deliver: the stream's
/// mailer takes a mail within seconds, and gives up after its bounded retries.
pub const OUTBOX_REDRIVE_AFTER: Duration = Duration::minutes(5);

/// How many mails one pass over the outbox takes at most; the next pass takes the rest.
const OUTBOX_LIMIT: usize = 100;

/// The time one mail may take at most (a few store calls and a send, each bounded by its
/// timeout): a pass over the outbox takes no other one with less than this left.
const DELIVERY_RESERVE: std::time::Duration = std::time::Duration::from_secs(10);

/// What became of one mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Refused by the mail service for good, or given up after [`MAIL_ATTEMPTS`].
    Rejected,
    /// Not to be sent: its request closed, or a later round of codes replaced its code.
    Superseded,
    /// Nothing to do: settled already, or another mailer holds it.
    Skipped,
}

/// What one pass over the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxReport {
    pub sent: usize,
    /// Rejected or superseded.
    pub settled: usize,
    /// Whether it stopped at a failure that may pass (the mail service or the store down): the
    /// mail is handed back for the next pass.
    pub interrupted: bool,
}

impl App {
    /// Sends the posted mail `id`, once. `Err`: it could not now, and is handed back to be
    /// tried again (the stream's retry, the next pass over the outbox).
    pub async fn deliver(&self, id: &MailId) -> Result<Delivery> {
        let now = self.now();
        let Some(order) = self.store.claim(id, now, now + MAIL_LEASE).await? else { return Ok(Delivery::Skipped) };
        match self.send_claimed(&order).await {
            Ok(delivery) => Ok(delivery),
            Err(error) => Err(self.hand_back(id, error).await),
        }
    }

    /// [`Self::deliver`] once the mail is claimed: an `Err` is a failure before the mail
    /// service took the mail (after, nothing is handed back: the mail went).
    async fn send_claimed(&self, order: &MailOrder) -> Result<Delivery> {
        match order.id.of {
            Subject::Request(request) => self.send_request_letter(request, order).await,
            Subject::Batch(batch) => self.send_batch_letter(batch, order).await,
        }
    }

    /// [`Self::send_claimed`] for a request's letter.
    async fn send_request_letter(&self, request: RequestId, order: &MailOrder) -> Result<Delivery> {
        let id = &order.id;
        let Some(mut change) = self.store.contact_change(request).await? else {
            tracing::error!(mail = %id, "a mail whose request is gone");
            self.store.settle(id, MailStatus::Superseded).await?;
            return Ok(Delivery::Superseded);
        };
        let token = match order.letter.kind.round() {
            None => None,
            Some(round) => match self.issue(&mut change, order, round).await? {
                Some(token) => Some(token),
                None => {
                    self.store.settle(id, MailStatus::Superseded).await?;
                    return Ok(Delivery::Superseded);
                }
            },
        };
        let accounts = self.accounts_by_id(&change.named()).await?;
        let Some(recipient) = accounts.get(&order.letter.to) else {
            tracing::error!(mail = %id, account = %order.letter.to, "no account to mail");
            return Ok(self.settle(change, order, Delivery::Rejected).await);
        };
        let link = token.as_ref().map(|token| format!("{}/confirm/{}#token={}", self.config.public_base_url, change.id, token.expose()));
        let kind = match (order.letter.kind, &link, &token) {
            (LetterKind::Confirm { .. }, Some(link), Some(token)) => MailKind::Confirm { link, token },
            (LetterKind::Reminder { .. }, Some(link), Some(token)) => MailKind::Reminder { link, token },
            (LetterKind::Informed, ..) => MailKind::Informed,
            (LetterKind::Outcome(state), ..) => outcome(state),
            (LetterKind::Closed, ..) => {
                tracing::error!(mail = %id, "a batch's letter in a request's outbox");
                return Ok(self.settle(change, order, Delivery::Rejected).await);
            }
            _ => unreachable!("a letter with a round has its code"),
        };
        let rendered = mail::compose(kind, &change, recipient, &accounts, &self.config.mail_from);
        let delivery = self.send_once(&rendered, order).await?;
        Ok(self.settle(change, order, delivery).await)
    }

    /// Sends a claimed mail: `Sent`, `Rejected` for good (refused, or failing past
    /// [`MAIL_ATTEMPTS`]), or `Err` when it may go later (to hand it back).
    async fn send_once(&self, rendered: &mail::Mail, order: &MailOrder) -> Result<Delivery> {
        match self.send(rendered).await {
            Ok(()) => Ok(Delivery::Sent),
            // Throttling says "later", never "no": it does not use the mail's attempts up.
            Err(MailError::Throttled(error)) => Err(Error::MailUnavailable(MailError::Throttled(error))),
            Err(MailError::Retryable(error)) if order.attempts < MAIL_ATTEMPTS => Err(Error::MailUnavailable(MailError::Retryable(error))),
            Err(error) => {
                tracing::warn!(mail = %order.id, account = %order.letter.to, attempts = order.attempts, %error, "mail not sent, for good");
                Ok(Delivery::Rejected)
            }
        }
    }

    /// Delivers every mail not settled that was posted at or before `posted_before`, oldest
    /// first, up to `OUTBOX_LIMIT`, within the invocation's deadline; it stops at the first
    /// failure that may pass (the next pass tries again). The local server's drain loop runs it
    /// on everything; the sweep on what the stream's mailer left behind.
    pub async fn deliver_outbox(&self, posted_before: OffsetDateTime) -> Result<OutboxReport> {
        let mut report = OutboxReport::default();
        for id in Outbox::<MailId>::unsent(&*self.store, posted_before, OUTBOX_LIMIT).await? {
            if crate::deadline::remaining().is_some_and(|left| left < DELIVERY_RESERVE) {
                break;
            }
            match self.deliver(&id).await {
                Ok(Delivery::Sent) => report.sent += 1,
                Ok(Delivery::Rejected | Delivery::Superseded) => report.settled += 1,
                Ok(Delivery::Skipped) => {}
                Err(error) => {
                    tracing::warn!(mail = %id, %error, "outbox pass stopped: the mail waits for the next");
                    report.interrupted = true;
                    break;
                }
            }
        }
        Ok(report)
    }

    /// Gives the letter's recipient its code of `round`, kept before the mail goes (the
    /// request itself is not rewritten: `Requests::issue_token`): the new token, or `None` when
    /// the letter is superseded (the request closed or expired, the party answered, a later
    /// round replaced this one). `change` is then as stored, with the code.
    async fn issue(&self, change: &mut ContactChange, order: &MailOrder, round: u32) -> Result<Option<Token>> {
        for _ in 0..ATTEMPTS {
            let token = Token::generate();
            let mut issued = change.clone();
            let step = Step::Issue { party: order.letter.to.clone(), round, hash: token.hash() };
            if issued.step(step, self.now()).is_err() {
                return Ok(None);
            }
            match self.store.issue_token(change, &order.letter.to, &token.hash()).await {
                Ok(()) => {
                    *change = issued;
                    return Ok(Some(token));
                }
                Err(StoreError::Stale) => *change = self.store.contact_change(change.id).await?.ok_or_else(no_contact_change)?,
                Err(other) => return Err(other.into()),
            }
        }
        Err(contended())
    }

    /// Settles the claimed mail as `delivery` (sent or rejected) with its history step, on
    /// fresh data if the request moved on, trying a failed write once more. The mail went (or
    /// never will) whatever this does: if the step cannot be recorded, the mail is settled
    /// alone; if even that fails, it stays claimed, and goes again only after its lease.
    async fn settle(&self, change: ContactChange, order: &MailOrder, delivery: Delivery) -> Delivery {
        let (status, step) = match delivery {
            Delivery::Sent => (MailStatus::Sent, Step::Mailed { to: order.letter.to.clone() }),
            _ => (MailStatus::Rejected, Step::MailFailed { to: order.letter.to.clone() }),
        };
        let (mut base, mut failures) = (change, 0);
        for _ in 0..ATTEMPTS {
            let mut recorded = base.clone();
            recorded.step(step.clone(), self.now()).expect("mail events fit every state");
            recorded.version += 1;
            let error = match self.store.save_settling(&recorded, &order.id, status).await {
                Ok(()) => return delivery,
                Err(StoreError::Stale) => match self.store.contact_change(base.id).await {
                    Ok(Some(fresh)) => {
                        base = fresh;
                        continue;
                    }
                    Ok(None) => break,
                    Err(error) => error,
                },
                Err(error) => error,
            };
            tracing::warn!(mail = %order.id, %error, "could not record the mail event");
            failures += 1;
            if failures == 2 {
                break;
            }
        }
        if let Err(error) = self.store.settle(&order.id, status).await {
            tracing::error!(mail = %order.id, %error, "a mail that went could not be settled: it may go again after its lease");
        }
        delivery
    }

    /// Hands a claimed mail back after a failure that may pass, so that the next try need not
    /// wait for its lease; the failure is returned.
    async fn hand_back(&self, id: &MailId, error: Error) -> Error {
        tracing::warn!(mail = %id, %error, "mail not sent yet: handed back");
        if let Err(store) = self.store.settle(id, MailStatus::Pending).await {
            tracing::warn!(mail = %id, error = %store, "could not hand the mail back: it waits for its lease");
        }
        error
    }
}

fn outcome(state: State) -> MailKind<'static> {
    match state {
        State::Done => MailKind::Done,
        State::Refused => MailKind::Refused,
        State::Cancelled => MailKind::Cancelled,
        State::Failed => MailKind::Failed,
        State::Expired | State::Pending => MailKind::Expired,
    }
}
