//! Fresh tokens and mails for a request's pending parties.

use contacts_api::Function;
use contacts_lambda::{Error, Mailing, run};

// One thread: Lambda hands a sandbox one event at a time, so worker threads would only add
// to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Function::Resend, Mailing::NONE).await
}
