//! The `Publisher` on Amazon EventBridge: one `PutEvents` per call (ten entries at most), each
//! entry `Source` [`EVENT_SOURCE`], `DetailType` the event's type, `Detail` its JSON, on the
//! configured bus. `PutEvents` answers per entry: an entry with an `ErrorCode` failed alone
//! (the others went), and is handed back to be put again, under the same id.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::sdk::{self, Failure};
use contacts_app::config::AwsConfig;
use contacts_app::ports::{Cause, PublishError, Publisher};
use contacts_domain::Event;
use contacts_domain::events::EVENT_SOURCE;

/// Whether a Lambda function puts events on the bus, chosen by its entry point as [`Mailing`]
/// chooses its mail: [`Publishing::EVENTBRIDGE`] for the functions that template.yaml lets call
/// `events:PutEvents` (the publisher, the sweeper's redrive), else [`Publishing::NONE`]: the
/// others commit their events with their writes and leave them to those. Only a binary whose
/// entry point names `EVENTBRIDGE` links the EventBridge client (BENCHMARKS.md: the size target).
///
/// [`Mailing`]: crate::ses::Mailing
#[derive(Clone, Copy)]
pub struct Publishing(fn(&SdkConfig, &AwsConfig) -> Option<Arc<dyn Publisher>>);

impl Publishing {
    /// The bus `EVENT_BUS_NAME` names (none when it is not set), at
    /// `AWS_ENDPOINT_URL_EVENTBRIDGE` (else `AWS_ENDPOINT_URL`) when set.
    pub const EVENTBRIDGE: Publishing = Publishing(|sdk, aws| {
        let bus = aws.event_bus_name.clone()?;
        let client = match aws.eventbridge_endpoint() {
            Some(url) => sdk::eventbridge_client_at(sdk, url),
            None => sdk::eventbridge_client(sdk),
        };
        Some(Arc::new(EventBridgePublisher::new(client, bus)))
    });
    /// No bus.
    pub const NONE: Publishing = Publishing(|_, _| None);

    pub fn publisher(self, sdk: &SdkConfig, aws: &AwsConfig) -> Option<Arc<dyn Publisher>> {
        (self.0)(sdk, aws)
    }
}

pub struct EventBridgePublisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgePublisher {
    /// `bus`: the event bus's name or ARN (`default`: the account's default bus).
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self { client, bus: bus.into() }
    }
}

#[async_trait]
impl Publisher for EventBridgePublisher {
    #[tracing::instrument(name = "eventbridge.put_events", skip_all, fields(count = events.len()))]
    async fn publish(&self, events: &[Event]) -> Vec<Result<(), PublishError>> {
        let entries = events.iter().map(|event| {
            PutEventsRequestEntry::builder()
                .event_bus_name(&self.bus)
                .source(EVENT_SOURCE)
                .detail_type(event.fact.detail_type())
                .detail(event.detail())
                .time(aws_sdk_eventbridge::primitives::DateTime::from_millis((event.at.unix_timestamp_nanos() / 1_000_000) as i64))
                .build()
        });
        let answer = match self.client.put_events().set_entries(Some(entries.collect())).send().await {
            Ok(answer) => answer,
            Err(error) => {
                // Nothing was put: every entry fails alike, and is tried again (a permanent
                // failure too: it is logged with each try, never dropped).
                let message = match sdk::classify("EventBridge", "PutEvents", &error) {
                    Failure::Throttled(message) | Failure::Transient(message) | Failure::Permanent(message) => message,
                };
                let cause = Cause::of(message, error);
                return events.iter().map(|_| Err(PublishError(cause.clone()))).collect();
            }
        };
        let results = answer.entries();
        events
            .iter()
            .enumerate()
            .map(|(index, _)| match results.get(index) {
                Some(entry) if entry.error_code().is_none() && entry.event_id().is_some() => Ok(()),
                Some(entry) => Err(PublishError(format!("PutEvents: {} for this entry", entry.error_code().unwrap_or("no event id")).into())),
                None => Err(PublishError("PutEvents: no result for this entry".to_owned().into())),
            })
            .collect()
    }
}
