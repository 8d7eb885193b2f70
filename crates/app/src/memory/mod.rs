//! The ports' twins in memory, which need nothing outside the process: the embedded store,
//! the outbox (a mailer that keeps what it sends) and the event log (a bus that keeps what it
//! is given). The local server runs on them, and the tests beside the AWS adapters.

pub mod eventlog;
pub mod outbox;
pub mod store;

pub use eventlog::EventLog;
pub use outbox::Outbox;
pub use store::MemoryStore;
