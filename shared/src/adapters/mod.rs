//! The ports' implementations. The embedded store and the outbox need nothing outside the
//! process; DynamoDB and SES (and the HTTPS client of the identity provider's discovery
//! document) come with the `aws` feature.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "aws")]
pub mod eventbridge;
#[cfg(feature = "aws")]
pub mod https_json;
#[cfg(feature = "aws")]
pub mod ses;

/// The memory twins, now in the application crate (`contacts_app::memory`).
pub use contacts_app::memory::{EventLog, MemoryStore, Outbox, eventlog, outbox, store as memory};
#[cfg(feature = "aws")]
pub use dynamodb::DynamoStore;
#[cfg(feature = "aws")]
pub use eventbridge::EventBridgePublisher;
#[cfg(feature = "aws")]
pub use ses::SesMailer;
