//! The batched calls' retries: DynamoDB answers a throttled `BatchGetItem` or `BatchWriteItem`
//! with what it left unprocessed rather than with an error, so the SDK's retry policy never
//! sees it and the caller must send the rest again, after a backoff.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnConsumedCapacity};

use super::errors::{build_error, classify};
use super::items::Item;
use super::metrics::{Meter, Tally};
use contacts_app::ports::StoreError;

/// `BatchGetItem` takes at most 100 keys.
pub const BATCH_GET_MAX: usize = 100;

/// How long to wait before each call sent again, and how many such calls at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait's ceiling; each next one's doubles, up to `cap_ms`.
    first_ms: u64,
    cap_ms: u64,
    retries: u32,
}

impl Backoff {
    /// On a request path: 5 calls more at most, waiting up to 50, 100, 200, 400 and 800 ms
    /// (1.55 s in all), small beside the invocation's budget of about 8 calls of 3 s.
    pub const REQUEST: Backoff = Backoff { first_ms: 50, cap_ms: 800, retries: 5 };
    /// In a bulk load, which may wait for throttling to pass: 10 calls more at most, from
    /// 100 ms doubling to 5 s (about half a minute in all at the most).
    pub const BULK: Backoff = Backoff { first_ms: 100, cap_ms: 5_000, retries: 10 };

    /// The wait before the `retry`th call sent again (from 1), `None` once there have been
    /// enough. "Full jitter": anywhere from nothing to the step, so that throttled callers
    /// spread out instead of coming back together.
    pub fn wait(&self, retry: u32) -> Option<Duration> {
        if retry == 0 || retry > self.retries {
            return None;
        }
        let step = self.first_ms.saturating_mul(1 << (retry - 1).min(16)).min(self.cap_ms);
        let mut random = [0u8; 8];
        let jitter = match getrandom::fill(&mut random) {
            Ok(()) => u64::from_le_bytes(random) % (step + 1),
            Err(_) => step / 2,
        };
        Some(Duration::from_millis(jitter))
    }
}

/// The items at `keys` (distinct, strongly consistent reads) that exist, in no particular
/// order: `BatchGetItem` in chunks of [`BATCH_GET_MAX`] one after the other, each chunk's
/// `UnprocessedKeys` asked again after `backoff`'s waits; still unprocessed after its last
/// one, `Unavailable`.
pub async fn batch_get<T: Tally>(client: &Client, table: &str, meter: &Meter<T>, keys: Vec<Item>, backoff: Backoff) -> Result<Vec<Item>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    let mut keys = keys.into_iter().peekable();
    while keys.peek().is_some() {
        let chunk: Vec<Item> = keys.by_ref().take(BATCH_GET_MAX).collect();
        let mut pending = Some(KeysAndAttributes::builder().set_keys(Some(chunk)).consistent_read(true).build().map_err(build_error)?);
        let mut retry = 0;
        while let Some(request) = pending.take() {
            if retry > 0 {
                let wait = backoff.wait(retry).ok_or_else(|| StoreError::Unavailable("BatchGetItem: keys left unprocessed (throttled)".to_owned().into()))?;
                meter.retried();
                tokio::time::sleep(wait).await;
            }
            retry += 1;
            meter.sent("BatchGetItem");
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| classify("BatchGetItem", e))?;
            meter.consumed(output.consumed_capacity());
            found.extend(output.responses.and_then(|mut responses| responses.remove(table)).unwrap_or_default());
            pending = output.unprocessed_keys.and_then(|mut left| left.remove(table)).filter(|left| !left.keys().is_empty());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_anywhere_up_to_a_step_that_doubles_to_its_cap_and_stops_after_the_last_retry() {
        for backoff in [Backoff::REQUEST, Backoff::BULK] {
            assert_eq!(backoff.wait(0), None);
            for retry in 1..=backoff.retries {
                let step = (backoff.first_ms << (retry - 1)).min(backoff.cap_ms);
                let longest = (0..50).map(|_| backoff.wait(retry).expect("a wait").as_millis() as u64).max().unwrap_or_default();
                assert!(longest <= step, "retry {retry}: {longest} ms for a step of {step}");
            }
            assert_eq!(backoff.wait(backoff.retries + 1), None, "bounded");
        }
        let total_ms = |b: Backoff| (1..=b.retries).map(|r| (b.first_ms << (r - 1)).min(b.cap_ms)).sum::<u64>();
        assert_eq!(total_ms(Backoff::REQUEST), 1_550);
        assert_eq!(total_ms(Backoff::BULK), 26_300);
        let waits: std::collections::HashSet<Duration> = (0..20).filter_map(|_| Backoff::BULK.wait(8)).collect();
        assert!(waits.len() > 1, "jittered");
    }
}
