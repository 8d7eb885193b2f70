//! A mailer that keeps what it sends instead of sending it, for the local server (its
//! `/_local/outbox`) and the tests. Not the transactional outbox (`ports::Outbox`), which
//! holds the mails a change owes until a mailer sends them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;

use crate::mail::Mail;
use crate::ports::{MailError, Mailer};

#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Mail>>,
    unavailable: AtomicBool,
}

impl MemoryMailer {
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
impl Mailer for MemoryMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(MailError::Retryable("the outbox is set to fail".to_owned().into()));
        }
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).push(mail.clone());
        Ok(())
    }
}
