//! The Lambda entry point of the functions that no HTTP request starts: an event of another
//! AWS service in (SES's bounces through EventBridge), with the HTTP functions' setup (the
//! configuration, the SDK clients, the log caps: [`crate`]) and the invocation's deadline.

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use tracing::Instrument;

use super::bounces;
use crate::{Error, Mailing, Publishing, app};
use contacts_app::deadline;
use contacts_telemetry as telemetry;

/// Hands SES's bounce and complaint events to the use case until the runtime stops the process.
pub async fn run_bounces() -> Result<(), Error> {
    // No prewarm: the function may only update accounts (template.yaml), not read one; and
    // it sends no mail.
    let app = app(false, Mailing::NONE, Publishing::NONE).await?;
    tracing::info!(function = "bounces", "ready");
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            let deadline = deadline::from_epoch_millis(event.context.deadline);
            let span = tracing::info_span!("invocation", lambda_request_id = %event.context.request_id);
            let work = deadline::scope(deadline, bounces::handle(&app, event.payload)).instrument(span);
            let (marked, invocation) = telemetry::measure("bounces", work).await;
            invocation.emit(&app.config().metrics_namespace);
            Ok::<_, Error>(serde_json::json!({ "marked": marked? }))
        }
    }))
    .await
}
