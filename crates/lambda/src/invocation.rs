//! One invocation of any function, whatever its event: the one wrapper of the five entry
//! shapes (the HTTP functions, SES's events, the mailer, the publisher, the scheduled jobs).
//!
//! Each invocation runs
//! - within its deadline (Lambda's `Context.deadline`, [`contacts_app::deadline`]);
//! - in a span named `invocation` whose `lambda_request_id` is Lambda's request id (the one
//!   name of that id on every line of the invocation), with `contact_change` (the ULID of the
//!   contact-change request a route names) and `job` (a scheduled job) when they apply;
//! - measured ([`telemetry::measure`]), its EMF line written before the answer goes back.

use std::future::Future;

use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;
use tracing::field::{Empty, display};
use tracing::{Instrument, Span};

use crate::Error;
use contacts_app::{App, deadline};
use contacts_domain::RequestId;
use contacts_telemetry as telemetry;

/// One invocation of the function `function`, before its work runs.
pub(crate) struct Invocation {
    function: &'static str,
    deadline: Option<Instant>,
    span: Span,
}

impl Invocation {
    /// The invocation Lambda's `context` describes (none: an event without one, which has
    /// neither a request id nor a deadline).
    pub(crate) fn new(function: &'static str, context: Option<&Context>) -> Self {
        let request_id = context.map(|c| c.request_id.as_str()).unwrap_or_default();
        let span = tracing::info_span!("invocation", lambda_request_id = %request_id, contact_change = Empty, job = Empty);
        Invocation { function, deadline: context.and_then(|c| deadline::from_epoch_millis(c.deadline)), span }
    }

    /// Names the contact-change request the invocation acts on, on each of its lines.
    pub(crate) fn of_contact_change(self, id: Option<RequestId>) -> Self {
        if let Some(id) = id {
            self.span.record("contact_change", display(id));
        }
        self
    }

    /// Names the scheduled job the invocation runs, on each of its lines.
    pub(crate) fn of_job(self, job: &'static str) -> Self {
        self.span.record("job", job);
        self
    }

    /// Runs `work` within the deadline, in the span, measured; writes what it measured as
    /// its EMF line in `namespace`.
    pub(crate) async fn run<F: Future>(self, namespace: &str, work: F) -> F::Output {
        let work = deadline::scope(self.deadline, work).instrument(self.span);
        let (output, measured) = telemetry::measure(self.function, work).await;
        measured.emit(namespace);
        output
    }
}

/// Hands each event of a function that no HTTP request starts (SES's events, the table's
/// stream, a schedule) to `handle`, one [`Invocation`] each, until the runtime stops the
/// process; `job` names a scheduled job on each line.
pub(crate) async fn run_events<H, F, T>(function: &'static str, job: Option<&'static str>, app: App, handle: H) -> Result<(), Error>
where
    H: Fn(App, Value) -> F,
    F: Future<Output = Result<T, Error>>,
    T: Serialize,
{
    tracing::info!(function, "ready");
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let invocation = Invocation::new(function, Some(&event.context));
        let invocation = match job {
            Some(job) => invocation.of_job(job),
            None => invocation,
        };
        let namespace = app.config().metrics_namespace.clone();
        let work = handle(app.clone(), event.payload);
        async move { invocation.run(&namespace, work).await }
    }))
    .await
}
