//! The outbox's mailer (issue 12): each mail item inserted in the table, as its stream
//! announces it, is rendered, sent through SES and settled. Not HTTP: the stream's event source
//! mapping invokes it, and it answers the records to retry.

use contacts_lambda::Error;
use contacts_lambda::mailer::run;

// One thread: Lambda hands a sandbox one batch at a time, so worker threads would only add
// to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run().await
}
