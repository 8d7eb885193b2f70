//! The time an invocation has left, so that what runs after a commit (the mails, then the
//! record of how they went) never outlives the Lambda function.
//!
//! The Lambda entry point runs each invocation inside [`scope`] with the deadline Lambda gives
//! (`Context.deadline`); the use cases ask [`remaining`]. The local server and the tests set
//! none: there the work is unbounded, and [`remaining`] is `None`.
//!
//! A tokio task-local: it follows the invocation's future through every `.await`, and is not
//! seen by other invocations or by tasks it spawns (it spawns none: a batch's parts run
//! concurrently within the invocation's task).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` (none: unbounded).
pub async fn scope<F: Future>(deadline: Option<Instant>, work: F) -> F::Output {
    match deadline {
        Some(deadline) => DEADLINE.scope(deadline, work).await,
        None => work.await,
    }
}

/// The time left before the deadline of the current scope (zero once past it), or `None`
/// outside any deadline.
pub fn remaining() -> Option<Duration> {
    DEADLINE.try_with(|deadline| deadline.saturating_duration_since(Instant::now())).ok()
}

/// The instant of a deadline given in milliseconds since the Unix epoch (Lambda's
/// `Context.deadline`), on the monotonic clock; one already past is now. `None` for 0 (no
/// deadline given).
pub fn from_epoch_millis(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let left = u128::from(deadline_ms).saturating_sub(now_ms);
    Some(Instant::now() + Duration::from_millis(u64::try_from(left).unwrap_or(u64::MAX).min(u64::from(u32::MAX))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outside_a_scope_there_is_no_deadline_and_inside_the_time_left_shrinks() {
        assert_eq!(remaining(), None);
        let deadline = Instant::now() + Duration::from_secs(5);
        scope(Some(deadline), async {
            let left = remaining().expect("a deadline in scope");
            assert!(left <= Duration::from_secs(5) && left > Duration::from_secs(4), "{left:?}");
        })
        .await;
        assert_eq!(scope(None, async { remaining() }).await, None, "no deadline given, none set");
        let past = Instant::now() - Duration::from_millis(1);
        assert_eq!(scope(Some(past), async { remaining() }).await, Some(Duration::ZERO));
    }

    #[test]
    fn lambdas_epoch_millis_become_an_instant() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let deadline = from_epoch_millis(now_ms + 3_000).expect("a deadline");
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(left > Duration::from_millis(2_500) && left <= Duration::from_millis(3_000), "{left:?}");
        assert!(from_epoch_millis(now_ms - 10_000).expect("a deadline").saturating_duration_since(Instant::now()).is_zero(), "past is now");
        assert_eq!(from_epoch_millis(0), None);
    }
}
