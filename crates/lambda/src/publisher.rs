//! The publisher's Lambda entry point (`functions/publisher`, issue 19): the table's stream in,
//! as Lambda's DynamoDB event source mapping delivers it (template.yaml's `PublisherStream`,
//! whose filter lets only the `INSERT`s of event items through), the events put on the bus
//! ([`App::publish`], ten per `PutEvents`), and the records to try again out, as Lambda's
//! partial batch response: each event the bus did not take (`PutEvents` fails entries one by
//! one), each whose claim or settling failed, and each whose keys do not parse. The mailer's
//! entry point ([`super::mailer`]) reads the same stream the same way.

use serde_json::Value;

use crate::stream::{self, BatchResponse, EVENTS};
use contacts_app::App;
use contacts_domain::EventId;

/// Publishes every inserted event of `event` ([`App::publish`]): the response names each record
/// whose event did not make it to the bus. `Err` only for an event that is not a stream event,
/// or a record no response can name ([`stream::work_of`]).
pub async fn handle(app: &App, event: Value) -> Result<BatchResponse, String> {
    let (to_publish, mut response) = stream::read(event, &EVENTS)?;
    if to_publish.is_empty() {
        return Ok(response);
    }
    let ids: Vec<EventId> = to_publish.iter().map(|(id, _)| id.clone()).collect();
    let failed = match app.publish(&ids).await {
        Ok(report) => report.failed,
        Err(error) => {
            tracing::warn!(%error, "publication failed: every event record is answered as failed, to be retried");
            ids
        }
    };
    for (id, sequence_number) in to_publish {
        if failed.contains(&id) {
            response.fail(sequence_number);
        }
    }
    Ok(response)
}

/// Hands the stream's batches to [`handle`] until the Lambda runtime stops the process.
pub async fn run() -> Result<(), crate::Error> {
    let app = crate::app(false, crate::Mailing::NONE, crate::Publishing::EVENTBRIDGE).await?;
    stream::run("publisher", app, |app, event| async move { handle(&app, event).await }).await
}
