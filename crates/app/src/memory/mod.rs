//! The ports' twins in memory, which need nothing outside the process: the embedded store,
//! the memory mailer (which keeps what it sends: `/_local/outbox`) and the event log (a bus that keeps what it
//! is given). The local server runs on them, and the tests beside the AWS adapters.

pub mod eventlog;
pub mod mailer;
pub mod store;

pub use eventlog::EventLog;
pub use mailer::MemoryMailer;
pub use store::MemoryStore;
