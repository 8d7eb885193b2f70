//! The Lambda entry point of the functions that no HTTP request starts: an event of another
//! AWS service in (SES's bounces through EventBridge), with the HTTP functions' setup (the
//! configuration, the SDK clients, the log caps: [`crate`]) and the invocation's deadline.

use super::bounces;
use crate::invocation::run_events;
use crate::{Error, Mailing, Publishing, app};

/// Hands SES's bounce and complaint events to the use case until the runtime stops the process.
pub async fn run_bounces() -> Result<(), Error> {
    // No prewarm: the function may only update accounts (template.yaml), not read one; and
    // it sends no mail.
    let app = app(false, Mailing::NONE, Publishing::NONE).await?;
    run_events("bounces", None, app, |app, event| async move { Ok::<_, Error>(serde_json::json!({ "marked": bounces::handle(&app, event).await? })) }).await
}
