//! The scheduled sweep (SPEC §3): ends the requests past their expiry and sends each awaited
//! party its one reminder before expiry. Not HTTP: EventBridge Scheduler invokes it.

use contacts_lambda::Error;
use contacts_lambda::scheduled::{Job, run_scheduled};

// One thread: Lambda hands a sandbox one event at a time, so worker threads would only add
// to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_scheduled(Job::Sweep).await
}
