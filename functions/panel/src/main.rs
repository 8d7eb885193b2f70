//! The customer control panel: its page (`GET /`), its sign-in configuration and its
//! embedded, content-hashed assets. It reads nothing from the store.

use contacts_lambda::{Error, run_panel};

// One thread: Lambda hands a sandbox one event at a time, so worker threads would only add
// to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_panel().await
}
