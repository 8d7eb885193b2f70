//! The event log: a bus that keeps what it is given, for the local server (`GET /_local/events`)
//! and the tests, as the outbox keeps the mails.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::ports::{PublishError, Publisher};
use contacts_domain::Event;

#[derive(Default)]
pub struct EventLog {
    published: Mutex<Vec<Event>>,
    unavailable: AtomicBool,
    /// How many entries still to fail, one by one, as `PutEvents` fails some entries of a call.
    failing_entries: AtomicUsize,
}

impl EventLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event published so far, oldest first (an event published twice is there twice).
    pub fn published(&self) -> Vec<Event> {
        self.published.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes every call fail as an unreachable bus would, until set back.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Fails the next `entries` entries, the others of their call going through.
    pub fn fail_entries(&self, entries: usize) {
        self.failing_entries.store(entries, Ordering::SeqCst);
    }
}

#[async_trait]
impl Publisher for EventLog {
    async fn publish(&self, events: &[Event]) -> Vec<Result<(), PublishError>> {
        if self.unavailable.load(Ordering::SeqCst) {
            return events.iter().map(|_| Err(PublishError("the event log is set to fail".to_owned().into()))).collect();
        }
        let mut published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        events
            .iter()
            .map(|event| {
                if self.failing_entries.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                    return Err(PublishError("InternalFailure: the event log failed this entry".to_owned().into()));
                }
                published.push(event.clone());
                Ok(())
            })
            .collect()
    }
}
