//! The publisher's Lambda entry point (`functions/publisher`, issue 19): the table's stream in,
//! as Lambda's DynamoDB event source mapping delivers it (template.yaml's `PublisherStream`,
//! whose filter lets only the `INSERT`s of event items through), the events put on the bus
//! ([`App::publish`], ten per `PutEvents`), and the records to try again out, as Lambda's
//! partial batch response: each event the bus did not take (`PutEvents` fails entries one by
//! one), each whose claim or settling failed, and each whose keys do not parse. The mailer's
//! entry point ([`super::mailer`]) reads the same stream the same way.

use serde_json::Value;

use super::mailer::{BatchResponse, ItemFailure, StreamEvent};
use contacts_app::App;
use contacts_aws::dynamodb::event_id_of;
use contacts_domain::EventId;

/// What to do with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// An event item inserted: publish it.
    Publish { id: EventId, sequence_number: String },
    /// An event item's keys that do not parse: a failure of this record.
    Malformed { sequence_number: String, why: String },
    /// Not an inserted event item: nothing to do.
    Ignore,
}

/// The work of one record. `Err`: a record without a `SequenceNumber`, which no partial batch
/// response can name (the whole invocation fails, and Lambda retries and bisects the batch).
pub fn work_of(record: &Value) -> Result<Work, String> {
    let Some(sequence_number) = record["dynamodb"]["SequenceNumber"].as_str().filter(|s| !s.is_empty()).map(str::to_owned) else {
        return Err(format!("a stream record without a SequenceNumber (eventID {})", record["eventID"]));
    };
    let key = |name: &str| record["dynamodb"]["Keys"][name]["S"].as_str().unwrap_or_default();
    if record["eventName"] != "INSERT" || key("sk") != contacts_aws::dynamodb::items::EVENT_SK {
        return Ok(Work::Ignore);
    }
    match event_id_of(key("pk"), key("sk")) {
        Some(id) => Ok(Work::Publish { id, sequence_number }),
        None => Ok(Work::Malformed { sequence_number, why: format!("an event item's keys that do not parse (pk {:?})", key("pk")) }),
    }
}

/// Publishes every inserted event of `event`, in the stream's order: the response names each
/// record that failed. `Err` only for an event that is not a stream event, or a record no
/// response can name.
pub async fn handle(app: &App, event: Value) -> Result<BatchResponse, String> {
    let event: StreamEvent = serde_json::from_value(event).map_err(|e| format!("not a DynamoDB stream event: {e}"))?;
    let mut response = BatchResponse::default();
    let mut to_publish: Vec<(EventId, String)> = Vec::new();
    for record in &event.records {
        match work_of(record)? {
            Work::Ignore => {}
            Work::Malformed { sequence_number, why } => {
                tracing::error!(sequence_number, why, "a stream record answered as failed");
                response.batch_item_failures.push(ItemFailure { item_identifier: sequence_number });
            }
            Work::Publish { id, sequence_number } => to_publish.push((id, sequence_number)),
        }
    }
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
            response.batch_item_failures.push(ItemFailure { item_identifier: sequence_number });
        }
    }
    Ok(response)
}

/// Hands the stream's batches to [`handle`] until the Lambda runtime stops the process.
pub async fn run() -> Result<(), crate::Error> {
    // No prewarm: the function may only claim and settle event items, not read an account.
    let app = crate::app(false, crate::Mailing::NONE, crate::Publishing::EVENTBRIDGE).await?;
    crate::invocation::run_events("publisher", None, app, |app, event| async move {
        handle(&app, event).await.map_err(|why| {
            tracing::error!(why, "the batch failed as a whole");
            crate::Error::from(why)
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        serde_json::from_str(include_str!("../../../events/publisher.dynamodb-stream.json")).unwrap()
    }

    fn record_with(pk: &str, sk: &str, event_name: &str) -> Value {
        let mut record = sample()["Records"][0].clone();
        record["eventName"] = event_name.into();
        record["dynamodb"]["Keys"]["pk"]["S"] = pk.into();
        record["dynamodb"]["Keys"]["sk"]["S"] = sk.into();
        record
    }

    #[test]
    fn the_sample_event_is_one_event_to_publish() {
        let event: StreamEvent = serde_json::from_value(sample()).unwrap();
        assert_eq!(event.records.len(), 1);
        let Work::Publish { id, sequence_number } = work_of(&event.records[0]).unwrap() else { panic!("an event to publish") };
        assert_eq!(id.as_str(), "01JZZZZZZZZZZZZZZZZZZZZZZZ-0-0");
        assert_eq!(sequence_number, "4421584500000000017450439092");
    }

    #[test]
    fn what_is_not_an_event_insert_is_ignored_and_an_event_key_that_does_not_parse_is_malformed() {
        let pk = "EVENT#01JZZZZZZZZZZZZZZZZZZZZZZZ-0-0";
        assert_eq!(work_of(&record_with(pk, "EVENT", "MODIFY")).unwrap(), Work::Ignore);
        assert_eq!(work_of(&record_with(pk, "EVENT", "REMOVE")).unwrap(), Work::Ignore);
        assert_eq!(work_of(&record_with("REQUEST#01JZZZZZZZZZZZZZZZZZZZZZZZ", "MAIL#0000000000#00", "INSERT")).unwrap(), Work::Ignore);
        for bad in ["EVENT#", "EVENT#x-0-0", "REQUEST#01JZZZZZZZZZZZZZZZZZZZZZZZ"] {
            assert!(matches!(work_of(&record_with(bad, "EVENT", "INSERT")).unwrap(), Work::Malformed { .. }), "{bad}");
        }
    }
}
