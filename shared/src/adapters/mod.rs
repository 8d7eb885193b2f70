//! The ports' implementations. The embedded store and the outbox need nothing outside the
//! process; DynamoDB and SES (and the HTTPS client of the identity provider's discovery
//! document) come with the `aws` feature.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "aws")]
pub mod eventbridge;
pub mod eventlog;
#[cfg(feature = "aws")]
pub mod https_json;
pub mod memory;
pub mod outbox;
#[cfg(feature = "aws")]
pub mod ses;

#[cfg(feature = "aws")]
pub use dynamodb::DynamoStore;
#[cfg(feature = "aws")]
pub use eventbridge::EventBridgePublisher;
pub use eventlog::EventLog;
pub use memory::MemoryStore;
pub use outbox::Outbox;
#[cfg(feature = "aws")]
pub use ses::SesMailer;
