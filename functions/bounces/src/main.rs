//! SES's bounce and complaint events (EventBridge): marks the address of the account they name bouncing.

use shared::entrypoints::job::run_bounces;
use shared::entrypoints::lambda::Error;

// One thread: Lambda hands a sandbox one event at a time, so worker threads would only add
// to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_bounces().await
}
