//! The ports' implementations, now in crates of their own: the memory twins in `contacts-app`,
//! the AWS adapters in `contacts-aws`; the old paths until the entry points move out too.

pub use contacts_app::memory::{EventLog, MemoryStore, Outbox, eventlog, outbox, store as memory};
#[cfg(feature = "aws")]
pub use contacts_aws::sdk as aws;
#[cfg(feature = "aws")]
pub use contacts_aws::{DynamoStore, EventBridgePublisher, SesMailer, dynamodb, eventbridge, https_json, ses};
