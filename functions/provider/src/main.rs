//! The internal API: the provider's billing and provisioning systems upsert accounts and
//! services (`PUT /internal/...`), authorised by AWS IAM, never by a customer's JWT.

use contacts_api::Function;
use contacts_lambda::{Error, Mailing, run};

// One thread: Lambda hands a sandbox one event at a time, so worker threads would only add
// to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Function::Provider, Mailing::NONE).await
}
