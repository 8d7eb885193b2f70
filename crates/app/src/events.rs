//! The publisher's use case (issue 19): committed events ([`contacts_domain::Event`]) go onto
//! the provider's event bus, at least once each, under the id the store gave them.
//!
//! As the mails' ([`super::outbox`]): a claim is a conditional write with a lease, so a stream
//! batch delivered twice, or the stream's publisher and the sweep at once, put an event once in
//! the common case; a publisher that dies between the bus taking an event and its settling puts
//! it again after the lease, with the same id, which is what consumers de-duplicate on. Unlike
//! a mail, an event is never given up: the bus's failure of an entry hands it back, the next
//! try (the stream's retry, then every sweep) puts it again.

use time::{Duration, OffsetDateTime};

use super::{App, Error, Result};
use crate::ports::{Outbox, PublishError};
use contacts_domain::{EventId, EventOrder, EventStatus};

/// How long a claim holds an event: far more than one `PutEvents` (bounded by the client's
/// timeouts) and the writes around it take.
const EVENT_LEASE: Duration = Duration::seconds(60);

/// How long after it was committed an event still unpublished is the sweep's: the stream's
/// publisher takes an event within seconds, and gives up after its bounded retries.
pub const EVENTS_REDRIVE_AFTER: Duration = Duration::minutes(5);

/// How many events one pass over the outbox takes at most; the next pass takes the rest.
const EVENTS_LIMIT: usize = 100;

/// The most entries one `PutEvents` takes.
pub const PUT_EVENTS_MAX: usize = 10;

/// What one publication did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// The events the bus took.
    pub published: Vec<EventId>,
    /// The events it did not take (or that could not be claimed or settled for a failure that
    /// may pass): handed back, to be tried again.
    pub failed: Vec<EventId>,
}

impl App {
    /// Publishes the committed events `ids`, each once, in calls of [`PUT_EVENTS_MAX`]: those
    /// settled already, or held by another publisher, are skipped. An `Err` of the store before
    /// anything was claimed fails the whole call (every event is still to publish).
    pub async fn publish(&self, ids: &[EventId]) -> Result<PublishReport> {
        let Some(publisher) = &self.publisher else {
            return Err(Error::Internal("no event bus to publish on".into()));
        };
        let mut report = PublishReport::default();
        let now = self.now();
        let mut claimed: Vec<EventOrder> = Vec::new();
        for id in ids {
            match self.store.claim(id, now, now + EVENT_LEASE).await {
                Ok(Some(order)) => claimed.push(order),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(event = %id, %error, "could not claim the event: it is tried again");
                    report.failed.push(id.clone());
                }
            }
        }
        for batch in claimed.chunks(PUT_EVENTS_MAX) {
            let events: Vec<_> = batch.iter().map(|order| order.event.clone()).collect();
            let results = publisher.publish(&events).await;
            for (order, result) in batch.iter().zip(results.into_iter().chain(std::iter::repeat_with(|| Err(PublishError("no result for the entry".into()))))) {
                let id = &order.event.id;
                let status = match &result {
                    Ok(()) => EventStatus::Published,
                    Err(error) => {
                        tracing::warn!(event = %id, attempts = order.attempts, %error, "event not published yet: handed back");
                        EventStatus::Pending
                    }
                };
                match (self.store.settle(id, status).await, result) {
                    (Ok(()), Ok(())) => report.published.push(id.clone()),
                    // Published but not settled: it goes again after its lease, under its id.
                    (Err(error), Ok(())) => {
                        tracing::error!(event = %id, %error, "a published event could not be settled: it may be published again");
                        report.published.push(id.clone());
                    }
                    (_, Err(_)) => report.failed.push(id.clone()),
                }
            }
        }
        Ok(report)
    }

    /// Publishes every event not published that was committed at or before `posted_before`,
    /// oldest first, up to `EVENTS_LIMIT`: the local server's drain loop runs it on
    /// everything, the sweep on what the stream's publisher left behind. Nothing without a bus.
    pub async fn publish_outbox(&self, posted_before: OffsetDateTime) -> Result<PublishReport> {
        if self.publisher.is_none() {
            return Ok(PublishReport::default());
        }
        let ids = Outbox::<EventId>::unsent(&*self.store, posted_before, EVENTS_LIMIT).await?;
        if ids.is_empty() {
            return Ok(PublishReport::default());
        }
        self.publish(&ids).await
    }
}
