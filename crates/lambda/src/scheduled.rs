//! The Lambda entry point of the scheduled jobs: an EventBridge Scheduler (or EventBridge
//! rule) event in, one run of the job out. The sweeper (`functions/sweeper`) is
//! `run_scheduled(Job::Sweep)`. It shares the HTTP functions' setup
//! ([`crate`]: configuration, SDK clients, logging caps) and respects the
//! invocation's deadline the same way ([`contacts_app::deadline`]).

use serde_json::{Value, json};

use crate::invocation::run_events;
use crate::{Error, Mailing, Publishing, app as setup};
use contacts_app::App;

/// What a scheduled function does on each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `App::sweep`: expiry and reminders (SPEC §3).
    Sweep,
}

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Job::Sweep => "sweeper",
        }
    }
}

/// Runs `job` on every event until the Lambda runtime stops the process. The event's content
/// is not read (a schedule's event says only that it is time); a failed run is an error of the
/// invocation, which the scheduler's retry policy and the function's errors metric see.
pub async fn run_scheduled(job: Job) -> Result<(), Error> {
    // Reminders are mails, and the outbox's redrive sends what the mailer left behind.
    let app = setup(true, Mailing::SES, Publishing::EVENTBRIDGE).await?;
    run_events(job.name(), Some(job.name()), app, move |app, _event| async move { run(&app, job).await }).await
}

async fn run(app: &App, job: Job) -> Result<Value, Error> {
    match job {
        Job::Sweep => {
            let report = app.sweep().await.map_err(|e| {
                tracing::error!(error = %e, "sweep failed");
                Error::from(format!("sweep failed: {e}"))
            })?;
            let batches = report.batches;
            Ok(json!({
                "expired": report.expired,
                "reminded": report.reminded,
                "redelivered": report.redelivered,
                "republished": report.republished,
                "purged": report.purged,
                "batches": {"expired": batches.expired, "reminded": batches.reminded, "finished": batches.finished, "discarded": batches.discarded},
            }))
        }
    }
}
