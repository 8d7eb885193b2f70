//! The mailer's Lambda entry point (`functions/mailer`): the table's stream in, as Lambda's
//! DynamoDB event source mapping delivers it (template.yaml's `MailerStream`, whose filter lets
//! only the `INSERT`s of mail items through), each mail delivered ([`App::deliver`]), and the
//! records to try again out, as Lambda's partial batch response (`ReportBatchItemFailures`).
//!
//! The stream holds keys only (`KEYS_ONLY`): a record is a mail item's `pk` and `sk`, which
//! [`stream::MAILS`] reads as the mail's id; the use case reads the mail itself. A record answered
//! as failed is one whose delivery failed (SES or DynamoDB unavailable: Lambda retries from it,
//! then gives it to the dead-letter queue, and the sweeper's redrive sends the mail later) or
//! whose keys do not parse (it will not parse better on a retry, but it lands in the dead-letter
//! queue, where someone sees it, rather than vanishing). Any other record (not an `INSERT`, not
//! a mail item) is left alone.
//!
//! It shares the HTTP functions' setup and deadline ([`crate`], [`contacts_app::deadline`]),
//! as the scheduled jobs do ([`super::scheduled`]).

use std::time::Duration;

use serde_json::Value;

use crate::stream::{self, BatchResponse, MAILS};
use contacts_app::App;
use contacts_domain::MailId;

/// The time one mail may take at most (its claim, its request's read, its code's save, the
/// send and the settling, each bounded by the SDK's timeouts; the send also by the deadline),
/// as `App::deliver_outbox` reckons it: a mail is not begun with less than this left of the
/// invocation; its record is answered as failed instead, for Lambda to retry, rather than the
/// whole batch timing out with a mail half done.
const DELIVERY_RESERVE: Duration = Duration::from_secs(10);

/// Delivers every inserted mail of `event`, in the stream's order, each whatever became of the
/// ones before it, within the invocation's deadline: the response names each record that
/// failed. Once SES throttles, the rest of the batch is not tried (each would be throttled
/// too): answered as failed, for Lambda to deliver again. `Err` only for an event that is not a
/// stream event, or a record no response can name ([`stream::work_of`]).
pub async fn handle(app: &App, event: Value) -> Result<BatchResponse, String> {
    let (mails, mut response) = stream::read(event, &MAILS)?;
    let mut throttled = false;
    for (id, sequence_number) in mails {
        if throttled {
            response.fail(sequence_number);
        } else if contacts_app::deadline::remaining().is_some_and(|left| left < DELIVERY_RESERVE) {
            tracing::warn!(mail = %id, "too little time left in the invocation: the record is answered as failed, to be retried");
            response.fail(sequence_number);
        } else if let Err(error) = deliver(app, &id).await {
            throttled = error.is_throttling();
            response.fail(sequence_number);
        }
    }
    Ok(response)
}

/// Delivers one mail, in a span naming it (and its request, as every function's log lines
/// do): `Ok` when nothing more is to be done for its record.
async fn deliver(app: &App, id: &MailId) -> Result<(), contacts_app::Error> {
    use tracing::Instrument;
    let span = tracing::info_span!("mail", mail = %id);
    async {
        match app.deliver(id).await {
            Ok(delivery) => {
                tracing::info!(?delivery, "delivered");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, "delivery failed: the record is answered as failed, to be retried");
                Err(error)
            }
        }
    }
    .instrument(span)
    .await
}

/// Hands the stream's batches to [`handle`] until the Lambda runtime stops the process.
pub async fn run() -> Result<(), crate::Error> {
    let app = crate::app(true, crate::Mailing::SES, crate::Publishing::NONE).await?;
    stream::run("mailer", app, |app, event| async move { handle(&app, event).await }).await
}
