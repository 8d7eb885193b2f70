//! The table's stream as the mailer and the publisher read it: Lambda's DynamoDB event in, one
//! [`Work`] per record (the items of one kind inserted: the mails, the events), and Lambda's
//! partial batch response out, naming the records to deliver again. Both entry points are this
//! and their own `handle`: [`super::mailer`] one mail at a time, [`super::publisher`] ten events
//! per `PutEvents`.

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use contacts_app::App;
use contacts_aws::dynamodb::{EVENT_SK, MAIL_PREFIX, event_id_of, mail_id_of};
use contacts_domain::{EventId, MailId};

use crate::Error;

/// Lambda's DynamoDB event: only what the stream's readers read of it. Each record is read on
/// its own (`Record`), so that one of an unexpected shape fails alone.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<Value>,
}

/// One stream record: its event, the item's keys and its place in the shard.
#[derive(Debug, Deserialize)]
struct Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    dynamodb: StreamData,
}

#[derive(Debug, Deserialize)]
struct StreamData {
    /// Attribute values in DynamoDB's JSON (`{"S": "..."}`); the table's keys are strings.
    #[serde(rename = "Keys", default)]
    keys: serde_json::Map<String, Value>,
}

impl Record {
    /// The string value of the key attribute `name`, if the record has one.
    fn key(&self, name: &str) -> Option<&str> {
        self.dynamodb.keys.get(name)?.get("S")?.as_str()
    }
}

/// Lambda's partial batch response (`ReportBatchItemFailures`): the records to deliver again,
/// by sequence number; the others are done.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl BatchResponse {
    /// Names the record `sequence_number` as failed, to be delivered again.
    pub fn fail(&mut self, sequence_number: String) {
        self.batch_item_failures.push(ItemFailure { item_identifier: sequence_number });
    }
}

/// The items of one kind that a reader of the stream takes: how their keys look.
pub struct Items<I> {
    /// Whether an item's sort key is one of them.
    pub sorted_as: fn(&str) -> bool,
    /// The id their keys name; `None` if they do not parse.
    pub id_of: fn(&str, &str) -> Option<I>,
}

/// The outbox's mails (`REQUEST#{id}`, `MAIL#{version}#{index}`): the mailer's.
pub const MAILS: Items<MailId> = Items { sorted_as: |sk| sk.starts_with(MAIL_PREFIX), id_of: mail_id_of };
/// The outbox's events (`EVENT#{id}`, `EVENT`): the publisher's.
pub const EVENTS: Items<EventId> = Items { sorted_as: |sk| sk == EVENT_SK, id_of: event_id_of };

/// What to do with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work<I> {
    /// One of the items inserted: take it (deliver it, publish it).
    Take { id: I, sequence_number: String },
    /// A record that names one but cannot be read: answered as failed, and logged, so that it
    /// is looked into rather than dropped (the template's maximum retry age bounds its retries).
    Malformed { sequence_number: String, why: String },
    /// Any other item or event (the template's filter lets none through, but a filter is
    /// configuration): nothing to do.
    Ignore,
}

/// `record`'s work for the reader of `items`. `Err` only for a record without a sequence
/// number, which no partial batch response can name: the whole batch fails instead.
pub fn work_of<I>(record: &Value, items: &Items<I>) -> Result<Work<I>, String> {
    let sequence_number = record["dynamodb"]["SequenceNumber"].as_str().filter(|s| !s.is_empty());
    let Some(sequence_number) = sequence_number.map(str::to_owned) else {
        return Err(format!("a stream record without a SequenceNumber (eventID {})", record["eventID"]));
    };
    let record: Record = match serde_json::from_value(record.clone()) {
        Ok(record) => record,
        Err(error) => return Ok(Work::Malformed { sequence_number, why: format!("not a DynamoDB stream record: {error}") }),
    };
    let (pk, sk) = (record.key("pk").unwrap_or_default(), record.key("sk").unwrap_or_default());
    if record.event_name != "INSERT" || !(items.sorted_as)(sk) {
        return Ok(Work::Ignore);
    }
    match (items.id_of)(pk, sk) {
        Some(id) => Ok(Work::Take { id, sequence_number }),
        None => Ok(Work::Malformed { sequence_number, why: format!("keys that do not parse (pk {pk:?}, sk {sk:?})") }),
    }
}

/// The event's records, each as `work_of` reads it; the malformed ones are already answered
/// as failed in the response.
pub fn read<I>(event: Value, items: &Items<I>) -> Result<(Vec<(I, String)>, BatchResponse), String> {
    let event: StreamEvent = serde_json::from_value(event).map_err(|e| format!("not a DynamoDB stream event: {e}"))?;
    let (mut to_take, mut response) = (Vec::new(), BatchResponse::default());
    for record in &event.records {
        match work_of(record, items)? {
            Work::Ignore => {}
            Work::Malformed { sequence_number, why } => {
                tracing::error!(sequence_number, why, "a stream record answered as failed");
                response.fail(sequence_number);
            }
            Work::Take { id, sequence_number } => to_take.push((id, sequence_number)),
        }
    }
    Ok((to_take, response))
}

/// Hands the stream's batches to `handle` until the Lambda runtime stops the process; a batch
/// that fails as a whole (no partial response can be made) is logged and delivered again.
pub(crate) async fn run<H, F>(function: &'static str, app: App, handle: H) -> Result<(), Error>
where
    H: Fn(App, Value) -> F,
    F: Future<Output = Result<BatchResponse, String>>,
{
    crate::invocation::run_events(function, None, app, move |app, event| {
        let handled = handle(app, event);
        async move {
            handled.await.map_err(|why| {
                tracing::error!(why, "the batch failed as a whole");
                Error::from(why)
            })
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(reader: &str) -> Value {
        let text = match reader {
            "mailer" => include_str!("../../../events/mailer.dynamodb-stream.json"),
            _ => include_str!("../../../events/publisher.dynamodb-stream.json"),
        };
        serde_json::from_str(text).unwrap()
    }

    fn record_with(reader: &str, pk: Option<&str>, sk: &str, event_name: &str) -> Value {
        let mut record = sample(reader)["Records"][0].clone();
        record["eventName"] = event_name.into();
        if let Some(pk) = pk {
            record["dynamodb"]["Keys"]["pk"]["S"] = pk.into();
        }
        record["dynamodb"]["Keys"]["sk"]["S"] = sk.into();
        record
    }

    #[test]
    fn the_sample_events_are_one_mail_to_deliver_and_one_event_to_publish() {
        let (mails, response) = read(sample("mailer"), &MAILS).unwrap();
        let [(id, sequence_number)] = &mails[..] else { panic!("one mail: {mails:?}") };
        assert_eq!((id.of.to_string().as_str(), id.version, id.index), ("01JZZZZZZZZZZZZZZZZZZZZZZZ", 0, 0));
        assert_eq!((sequence_number.as_str(), response), ("4421584500000000017450439091", BatchResponse::default()));
        let (events, _) = read(sample("publisher"), &EVENTS).unwrap();
        let [(id, sequence_number)] = &events[..] else { panic!("one event: {events:?}") };
        assert_eq!((id.as_str(), sequence_number.as_str()), ("01JZZZZZZZZZZZZZZZZZZZZZZZ-0-0", "4421584500000000017450439092"));
        assert_eq!(read(sample("mailer"), &EVENTS).unwrap().0, [], "each reader takes its own items only");
        assert_eq!(read(sample("publisher"), &MAILS).unwrap().0, [], "each reader takes its own items only");
    }

    #[test]
    fn what_is_not_a_mail_insert_is_ignored_and_a_mail_key_that_does_not_parse_is_malformed() {
        let work = |record: Value| work_of(&record, &MAILS).unwrap();
        assert_eq!(work(record_with("mailer", None, "MAIL#0000000001#00", "MODIFY")), Work::Ignore);
        assert_eq!(work(record_with("mailer", None, "MAIL#0000000001#00", "REMOVE")), Work::Ignore);
        assert_eq!(work(record_with("mailer", None, "REQUEST", "INSERT")), Work::Ignore);
        assert_eq!(work(record_with("mailer", None, "TOKEN#ad1000-ovh", "INSERT")), Work::Ignore);
        for bad in ["MAIL#1#0", "MAIL#0000000001", "MAIL#000000000x#00", "MAIL#"] {
            assert!(matches!(work(record_with("mailer", None, bad, "INSERT")), Work::Malformed { .. }), "{bad}");
        }
        assert!(matches!(work(record_with("mailer", Some("REQUEST#not-a-ulid"), "MAIL#0000000001#00", "INSERT")), Work::Malformed { .. }));
        let mut no_dynamodb = sample("mailer")["Records"][0].clone();
        no_dynamodb["dynamodb"] = serde_json::json!({"SequenceNumber": "12", "Keys": "not a map"});
        assert!(matches!(work(no_dynamodb), Work::Malformed { sequence_number, .. } if sequence_number == "12"));
        let mut unnamed = sample("mailer")["Records"][0].clone();
        unnamed["dynamodb"].as_object_mut().unwrap().remove("SequenceNumber");
        assert!(work_of(&unnamed, &MAILS).is_err(), "no response can name it");
    }

    #[test]
    fn what_is_not_an_event_insert_is_ignored_and_an_event_key_that_does_not_parse_is_malformed() {
        let work = |pk: &str, sk: &str, event_name: &str| work_of(&record_with("publisher", Some(pk), sk, event_name), &EVENTS).unwrap();
        let pk = "EVENT#01JZZZZZZZZZZZZZZZZZZZZZZZ-0-0";
        assert_eq!(work(pk, "EVENT", "MODIFY"), Work::Ignore);
        assert_eq!(work(pk, "EVENT", "REMOVE"), Work::Ignore);
        assert_eq!(work("REQUEST#01JZZZZZZZZZZZZZZZZZZZZZZZ", "MAIL#0000000000#00", "INSERT"), Work::Ignore);
        for bad in ["EVENT#", "EVENT#x-0-0", "REQUEST#01JZZZZZZZZZZZZZZZZZZZZZZZ"] {
            assert!(matches!(work(bad, "EVENT", "INSERT"), Work::Malformed { .. }), "{bad}");
        }
    }

    #[test]
    fn the_response_is_lambdas_partial_batch_response() {
        let mut response = BatchResponse::default();
        assert_eq!(serde_json::to_value(&response).unwrap(), serde_json::json!({"batchItemFailures": []}));
        response.fail("42".to_owned());
        assert_eq!(serde_json::to_value(&response).unwrap(), serde_json::json!({"batchItemFailures": [{"itemIdentifier": "42"}]}));
    }
}
