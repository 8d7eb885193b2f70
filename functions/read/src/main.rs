//! Every read of the API: the caller's profile, services and contact-change requests.

use contacts_api::Function;
use contacts_lambda::{Error, Mailing, run};

// One thread: Lambda hands a sandbox one event at a time, so worker threads would only add
// to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Function::Read, Mailing::NONE).await
}
