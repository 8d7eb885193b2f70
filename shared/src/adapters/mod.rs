//! The ports' implementations. The embedded store and the outbox need nothing outside the
//! process; DynamoDB and SES come with the `aws` feature.

pub mod memory;
pub mod outbox;

pub use memory::MemoryStore;
pub use outbox::Outbox;
