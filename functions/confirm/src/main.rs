//! Accept, refuse and cancel a contact-change request, and the emailed link's page.

use contacts_api::Function;
use contacts_lambda::{Error, Mailing, run};

// One thread: Lambda hands a sandbox one event at a time, so worker threads would only add
// to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Function::Confirm, Mailing::NONE).await
}
