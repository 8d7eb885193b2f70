//! SES's bounce and complaint events (EventBridge): marks the address of the account they name bouncing.

use contacts_lambda::Error;
use contacts_lambda::job::run_bounces;

// One thread: Lambda hands a sandbox one event at a time, so worker threads would only add
// to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_bounces().await
}
