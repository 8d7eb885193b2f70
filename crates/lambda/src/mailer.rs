//! The mailer's Lambda entry point (`functions/mailer`): the table's stream in, as Lambda's
//! DynamoDB event source mapping delivers it (template.yaml's `MailerStream`, whose filter lets
//! only the `INSERT`s of mail items through), each mail delivered ([`App::deliver`]), and the
//! records to try again out, as Lambda's partial batch response (`ReportBatchItemFailures`).
//!
//! The stream holds keys only (`KEYS_ONLY`): a record is a mail item's `pk` and `sk`, which
//! [`mail_id_of`] reads as the mail's id; the use case reads the mail itself. A record answered
//! as failed is one whose delivery failed (SES or DynamoDB unavailable: Lambda retries from it,
//! then gives it to the dead-letter queue, and the sweeper's redrive sends the mail later) or
//! whose keys do not parse (it will not parse better on a retry, but it lands in the dead-letter
//! queue, where someone sees it, rather than vanishing). Any other record (not an `INSERT`, not
//! a mail item) is left alone.
//!
//! It shares the HTTP functions' setup and deadline ([`crate`], [`contacts_app::deadline`]),
//! as the scheduled jobs do ([`super::scheduled`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use contacts_app::App;
use contacts_aws::dynamodb::mail_id_of;
use contacts_domain::MailId;

/// The time one mail may take at most (its claim, its request's read, its code's save, the
/// send and the settling, each bounded by the SDK's timeouts; the send also by the deadline),
/// as `App::deliver_outbox` reckons it: a mail is not begun with less than this left of the
/// invocation; its record is answered as failed instead, for Lambda to retry, rather than the
/// whole batch timing out with a mail half done.
const DELIVERY_RESERVE: Duration = Duration::from_secs(10);

/// Lambda's DynamoDB event: only what the mailer reads of it. Each record is read on its own
/// ([`Record`]), so that one of an unexpected shape fails alone.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<Value>,
}

/// One stream record: its event, the item's keys and its place in the shard.
#[derive(Debug, Deserialize)]
pub struct Record {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub dynamodb: StreamData,
}

#[derive(Debug, Deserialize)]
pub struct StreamData {
    /// Attribute values in DynamoDB's JSON (`{"S": "..."}`); the table's keys are strings.
    #[serde(rename = "Keys", default)]
    pub keys: serde_json::Map<String, Value>,
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
}

impl Record {
    /// The string value of the key attribute `name`, if the record has one.
    fn key(&self, name: &str) -> Option<&str> {
        self.dynamodb.keys.get(name)?.get("S")?.as_str()
    }
}

/// Lambda's partial batch response: the records to retry, by `SequenceNumber`.
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

/// What to do with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// A mail item inserted: deliver it.
    Deliver { id: MailId, sequence_number: String },
    /// A mail item's keys that do not parse: a failure of this record.
    Malformed { sequence_number: String, why: String },
    /// Not an inserted mail item: nothing to do.
    Ignore,
}

/// The work of one record of the event. `Err`: a record without a `SequenceNumber`, which no
/// partial batch response can name: the whole invocation fails, and Lambda retries (and
/// bisects) the batch.
pub fn work_of(record: &Value) -> Result<Work, String> {
    let sequence_number = record["dynamodb"]["SequenceNumber"].as_str().filter(|s| !s.is_empty());
    let Some(sequence_number) = sequence_number.map(str::to_owned) else {
        return Err(format!("a stream record without a SequenceNumber (eventID {})", record["eventID"]));
    };
    let record: Record = match serde_json::from_value(record.clone()) {
        Ok(record) => record,
        Err(error) => return Ok(Work::Malformed { sequence_number, why: format!("not a DynamoDB stream record: {error}") }),
    };
    let sk = record.key("sk").unwrap_or_default();
    if record.event_name != "INSERT" || !sk.starts_with("MAIL#") {
        return Ok(Work::Ignore);
    }
    match record.key("pk").and_then(|pk| mail_id_of(pk, sk)) {
        Some(id) => Ok(Work::Deliver { id, sequence_number }),
        None => Ok(Work::Malformed { sequence_number, why: format!("a mail item's keys that do not parse (sk {sk:?})") }),
    }
}

/// Delivers every inserted mail of `event`, in the stream's order, each whatever became of the
/// ones before it, within the invocation's deadline: the response names each record that
/// failed. `Err` only for an event that is not a stream event, or a record no response can
/// name ([`work_of`]).
pub async fn handle(app: &App, event: Value) -> Result<BatchResponse, String> {
    let event: StreamEvent = serde_json::from_value(event).map_err(|e| format!("not a DynamoDB stream event: {e}"))?;
    let mut response = BatchResponse::default();
    for record in &event.records {
        let failed = match work_of(record)? {
            Work::Ignore => None,
            Work::Malformed { sequence_number, why } => {
                tracing::error!(sequence_number, why, "a stream record answered as failed");
                Some(sequence_number)
            }
            Work::Deliver { id, sequence_number } if contacts_app::deadline::remaining().is_some_and(|left| left < DELIVERY_RESERVE) => {
                tracing::warn!(mail = %id, "too little time left in the invocation: the record is answered as failed, to be retried");
                Some(sequence_number)
            }
            Work::Deliver { id, sequence_number } => (!delivered(app, &id).await).then_some(sequence_number),
        };
        response.batch_item_failures.extend(failed.map(|item_identifier| ItemFailure { item_identifier }));
    }
    Ok(response)
}

/// Delivers one mail, in a span naming it (and its request, as every function's log lines
/// do): whether nothing more is to be done for its record.
async fn delivered(app: &App, id: &MailId) -> bool {
    use tracing::Instrument;
    let span = tracing::info_span!("mail", contact_change = %id.request, mail = %id);
    async {
        match app.deliver(id).await {
            Ok(delivery) => {
                tracing::info!(?delivery, "delivered");
                true
            }
            Err(error) => {
                tracing::warn!(%error, "delivery failed: the record is answered as failed, to be retried");
                false
            }
        }
    }
    .instrument(span)
    .await
}

/// Hands the stream's batches to [`handle`] until the Lambda runtime stops the process.
pub async fn run() -> Result<(), crate::Error> {
    let app = crate::app(true, crate::Mailing::SES, crate::Publishing::NONE).await?;
    crate::invocation::run_events("mailer", None, app, |app, event| async move {
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
        serde_json::from_str(include_str!("../../../events/mailer.dynamodb-stream.json")).unwrap()
    }

    fn record_with(sk: &str, event_name: &str) -> Value {
        let mut record = sample()["Records"][0].clone();
        record["eventName"] = event_name.into();
        record["dynamodb"]["Keys"]["sk"]["S"] = sk.into();
        record
    }

    #[test]
    fn the_sample_event_is_one_mail_to_deliver() {
        let event: StreamEvent = serde_json::from_value(sample()).unwrap();
        assert_eq!(event.records.len(), 1);
        let Work::Deliver { id, sequence_number } = work_of(&event.records[0]).unwrap() else { panic!("a mail to deliver") };
        assert_eq!((id.request.to_string().as_str(), id.version, id.index), ("01JZZZZZZZZZZZZZZZZZZZZZZZ", 0, 0));
        assert_eq!(sequence_number, "4421584500000000017450439091");
    }

    #[test]
    fn what_is_not_a_mail_insert_is_ignored_and_a_mail_key_that_does_not_parse_is_malformed() {
        assert_eq!(work_of(&record_with("MAIL#0000000001#00", "MODIFY")).unwrap(), Work::Ignore);
        assert_eq!(work_of(&record_with("MAIL#0000000001#00", "REMOVE")).unwrap(), Work::Ignore);
        assert_eq!(work_of(&record_with("REQUEST", "INSERT")).unwrap(), Work::Ignore);
        assert_eq!(work_of(&record_with("TOKEN#ad1000-ovh", "INSERT")).unwrap(), Work::Ignore);
        for bad in ["MAIL#1#0", "MAIL#0000000001", "MAIL#000000000x#00", "MAIL#"] {
            assert!(matches!(work_of(&record_with(bad, "INSERT")).unwrap(), Work::Malformed { .. }), "{bad}");
        }
        let mut bad_pk = record_with("MAIL#0000000001#00", "INSERT");
        bad_pk["dynamodb"]["Keys"]["pk"]["S"] = "REQUEST#not-a-ulid".into();
        assert!(matches!(work_of(&bad_pk).unwrap(), Work::Malformed { .. }));
        let mut no_dynamodb = sample()["Records"][0].clone();
        no_dynamodb["dynamodb"] = serde_json::json!({"SequenceNumber": "12", "Keys": "not a map"});
        assert!(matches!(work_of(&no_dynamodb).unwrap(), Work::Malformed { sequence_number, .. } if sequence_number == "12"));
        let mut unnamed = sample()["Records"][0].clone();
        unnamed["dynamodb"].as_object_mut().unwrap().remove("SequenceNumber");
        assert!(work_of(&unnamed).is_err(), "no response can name it");
    }

    #[test]
    fn the_response_is_lambdas_partial_batch_response() {
        let response = BatchResponse { batch_item_failures: vec![ItemFailure { item_identifier: "42".to_owned() }] };
        assert_eq!(serde_json::to_value(&response).unwrap(), serde_json::json!({"batchItemFailures": [{"itemIdentifier": "42"}]}));
        assert_eq!(serde_json::to_value(BatchResponse::default()).unwrap(), serde_json::json!({"batchItemFailures": []}));
    }
}
