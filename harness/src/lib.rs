//! How this workspace runs a Lambda bootstrap offline, once, for the tests
//! (`tests/tests/lambda_rie.rs`) and the benchmark (`bench/runner`):
//!
//! - [`Rie`]: a bootstrap under the Lambda Runtime Interface Emulator, on free ports of
//!   127.0.0.1, in a process group of its own (dropping it kills the RIE and the bootstrap),
//!   with a log file and the environment a [`Launch`] says; it invokes an event and reads the
//!   API Gateway (HTTP API, payload 2.0) [`Response`] the function gave.
//! - [`events`]: the files of `events/` and their placeholders (events/README.md): the request
//!   id and the mailed token, put in place, and the other edits the tests and the bench make.
//! - [`mail`]: the mails the SES v2 emulator took, and the tokens in their links.
//! - [`http`]: the least HTTP/1.1 client the above need: blocking, keep-alive.
//!
//! Every function here panics with a message that says what failed (and where the log is):
//! it is for tests and a benchmark, never for the service itself.

pub mod events;
pub mod http;
pub mod mail;
mod response;
mod rie;

pub use response::Response;
pub use rie::{EnvChange, INVOKE_PATH, Launch, Rie, free_address};
