//! What the adapters' DynamoDB calls cost, counted in one way for the store (tests that pin
//! round trips, the benchmarks) and for bulk loads (the import's summary).

use std::sync::Mutex;

use aws_sdk_dynamodb::types::ConsumedCapacity;

/// A tally of calls: what it adds when a call is sent, sent again, or reports the capacity it
/// consumed.
pub trait Tally: Default + Clone {
    /// A call of `operation` ("Query", "BatchGetItem"...) is sent (an SDK-level retry of one
    /// call counts once).
    fn sent(&mut self, operation: &'static str);
    /// A call that succeeded consumed `units` (`ReturnConsumedCapacity=TOTAL`).
    fn consumed(&mut self, units: f64);
    /// A call is sent again for what the previous one left unprocessed (after a backoff).
    fn retried(&mut self) {}
}

/// The DynamoDB calls a store made, for tests that count round trips.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Calls sent (an SDK-level retry of one call counts once).
    pub calls: u64,
    /// The summed `ConsumedCapacity` (`ReturnConsumedCapacity=TOTAL`) of the calls that
    /// succeeded; a cancelled transaction reports none.
    pub capacity_units: f64,
    /// The operations, in order ("Query", "TransactWriteItems"...): the first
    /// [`Metrics::MAX_OPERATIONS`] since the last reset. A warm function's store lives for
    /// hours, and what tests and the bench read must not grow with it; `calls` counts them all.
    pub operations: Vec<&'static str>,
}

impl Metrics {
    pub const MAX_OPERATIONS: usize = 1024;
}

impl Tally for Metrics {
    fn sent(&mut self, operation: &'static str) {
        self.calls += 1;
        if self.operations.len() < Self::MAX_OPERATIONS {
            self.operations.push(operation);
        }
    }

    fn consumed(&mut self, units: f64) {
        self.capacity_units += units;
    }
}

/// One adapter's tally, shared by its concurrent calls. A panic while it is held leaves the
/// counts as they were, so the lock's poison is ignored rather than spread.
#[derive(Debug, Default)]
pub struct Meter<T>(Mutex<T>);

impl<T: Tally> Meter<T> {
    pub fn sent(&self, operation: &'static str) {
        self.update(|tally| tally.sent(operation));
    }

    pub fn consumed<'a>(&self, capacity: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        let units: f64 = capacity.into_iter().filter_map(ConsumedCapacity::capacity_units).sum();
        self.update(|tally| tally.consumed(units));
    }

    pub fn retried(&self) {
        self.update(T::retried);
    }

    pub fn update(&self, change: impl FnOnce(&mut T)) {
        change(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn get(&self) -> T {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn reset(&self) {
        self.update(|tally| *tally = T::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operations_kept_are_bounded_however_many_calls_a_warm_store_makes() {
        let meter: Meter<Metrics> = Meter::default();
        for _ in 0..Metrics::MAX_OPERATIONS + 10 {
            meter.sent("GetItem");
        }
        let metrics = meter.get();
        assert_eq!((metrics.calls, metrics.operations.len()), (Metrics::MAX_OPERATIONS as u64 + 10, Metrics::MAX_OPERATIONS));
    }

    #[test]
    fn a_meter_counts_calls_in_order_and_sums_what_they_consumed() {
        let meter = Meter::<Metrics>::default();
        meter.sent("Query");
        let capacity = [ConsumedCapacity::builder().capacity_units(1.5).build(), ConsumedCapacity::builder().build()];
        meter.consumed(&capacity);
        meter.sent("TransactWriteItems");
        meter.retried();
        assert_eq!(meter.get(), Metrics { calls: 2, capacity_units: 1.5, operations: vec!["Query", "TransactWriteItems"] });
        meter.reset();
        assert_eq!(meter.get(), Metrics::default());
    }
}
