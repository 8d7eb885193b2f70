//! The outbox: a mailer that keeps what it sends, for the local server and the tests.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;

use crate::mail::Mail;
use crate::ports::{MailError, Mailer};

#[derive(Default)]
pub struct Outbox {
    sent: Mutex<Vec<Mail>>,
    unavailable: AtomicBool,
}

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every mail sent so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes every send fail as an unreachable mail service would, until set back.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(MailError::Retryable("the outbox is set to fail".to_owned().into()));
        }
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).push(mail.clone());
        Ok(())
    }
}
