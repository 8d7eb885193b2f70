//! What the functions measure, as CloudWatch metrics in the Embedded Metric Format (EMF): one
//! JSON line on stdout per invocation, beside the JSON log lines, which CloudWatch Logs turns
//! into metrics with no API call in the request's path (issue 17).
//!
//! - [`Metric`] is every metric the code emits, one list: the template's alarms and dashboard
//!   are tested against it, so an alarm cannot watch a metric nobody emits.
//! - The entry points run each invocation inside [`measure`] (a tokio task-local, like
//!   the deadline of `contacts-app`); what happens inside it counts itself with [`count`] and [`count_by`],
//!   and [`Invocation::emit`] writes the lines when it ends. Outside a scope nothing is counted.
//! - The outcomes are observed where they are committed, not where they are decided: the
//!   store and the mailer the use cases are given are wrapped (`contacts-app`'s `observed`), so every path
//!   that ends a request (an answer, a cancel, the sweep, a reader noticing expiry) counts the
//!   same way. DynamoDB's calls, retries and conditional-check failures are counted by an
//!   interceptor on the SDK client (`contacts_aws::sdk`).
//! - It is a leaf: it knows no error type of the layers above it. They name what they count in
//!   its words ([`Metric`], [`Refusal`]).
//!
//! Dimensions are few and bounded: the function, and for two metrics a reason from a closed
//! set of `&'static str`. Never an id, an address, a name or a token: nothing the types here
//! take can carry one.

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The namespace when `METRICS_NAMESPACE` is not set (template.yaml's default too).
pub const DEFAULT_NAMESPACE: &str = "ServiceContacts";

/// The dimension every metric has: the function that emitted it (`create`, `mailer`...).
pub const FUNCTION: &str = "function";
/// The second dimension of [`Metric::ChangesFailed`] and [`Metric::RateLimited`]: why.
pub const REASON: &str = "reason";

/// Every metric the code emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// New contact-change requests committed.
    ChangesRequested,
    /// Acceptances with a party's code that took (the last one included).
    ChangesAccepted,
    /// Requests closed `done`: the roles moved.
    ChangesDone,
    ChangesRefused,
    ChangesCancelled,
    /// Requests closed `expired`, by the sweep or by a reader who noticed first.
    ChangesExpired,
    /// Requests every party accepted that could not take effect, by [`REASON`] (`FailReason`);
    /// a batch's parts too, each on its own.
    ChangesFailed,
    /// Batches of contact changes committed (SPEC §7); their parts count as `ChangesRequested`.
    BatchesRequested,
    /// The parts of the batches committed: per invocation, the size of the batch it asked for
    /// (its maximum and average are the batches' sizes).
    BatchParts,
    /// Mails the mail service (SES) took.
    MailsSent,
    /// Mails the mail service refused for good.
    MailsRefused,
    /// Mails handed back after a failure that may pass, to be tried again.
    MailsRetried,
    /// Mails given up on or refused: recorded `mail_failed` in their request's history.
    MailsFailed,
    /// Events the bus (EventBridge) took.
    EventsPublished,
    /// Events the bus did not take, handed back to be published again.
    EventsRetried,
    /// Addresses marked bouncing from SES's bounce and complaint events.
    AddressesBouncing,
    /// Codes that matched no live token (a request's or an address verification's).
    WrongCodes,
    /// Calls refused by a per-caller or per-request limit (429), by [`REASON`].
    RateLimited,
    /// DynamoDB calls (an SDK retry of one call counts once).
    DynamoCalls,
    /// DynamoDB attempts beyond each call's first: the SDK's retries (throttling, 5xx, timeouts).
    DynamoRetries,
    /// DynamoDB calls refused by their condition: lost races, held locks, claimed mails.
    DynamoConditionalFailures,
    /// The invocation's duration, as the function measured it.
    Latency,
}

impl Metric {
    /// A request's outcomes, the funnel's steps.
    pub const OUTCOMES: [Metric; 7] = [
        Metric::ChangesRequested,
        Metric::ChangesAccepted,
        Metric::ChangesDone,
        Metric::ChangesRefused,
        Metric::ChangesCancelled,
        Metric::ChangesExpired,
        Metric::ChangesFailed,
    ];

    pub const ALL: [Metric; 22] = [
        Metric::ChangesRequested,
        Metric::ChangesAccepted,
        Metric::ChangesDone,
        Metric::ChangesRefused,
        Metric::ChangesCancelled,
        Metric::ChangesExpired,
        Metric::ChangesFailed,
        Metric::BatchesRequested,
        Metric::BatchParts,
        Metric::MailsSent,
        Metric::MailsRefused,
        Metric::MailsRetried,
        Metric::MailsFailed,
        Metric::EventsPublished,
        Metric::EventsRetried,
        Metric::AddressesBouncing,
        Metric::WrongCodes,
        Metric::RateLimited,
        Metric::DynamoCalls,
        Metric::DynamoRetries,
        Metric::DynamoConditionalFailures,
        Metric::Latency,
    ];

    /// Its name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Metric::ChangesRequested => "ChangesRequested",
            Metric::ChangesAccepted => "ChangesAccepted",
            Metric::ChangesDone => "ChangesDone",
            Metric::ChangesRefused => "ChangesRefused",
            Metric::ChangesCancelled => "ChangesCancelled",
            Metric::ChangesExpired => "ChangesExpired",
            Metric::ChangesFailed => "ChangesFailed",
            Metric::BatchesRequested => "BatchesRequested",
            Metric::BatchParts => "BatchParts",
            Metric::MailsSent => "MailsSent",
            Metric::MailsRefused => "MailsRefused",
            Metric::MailsRetried => "MailsRetried",
            Metric::MailsFailed => "MailsFailed",
            Metric::EventsPublished => "EventsPublished",
            Metric::EventsRetried => "EventsRetried",
            Metric::AddressesBouncing => "AddressesBouncing",
            Metric::WrongCodes => "WrongCodes",
            Metric::RateLimited => "RateLimited",
            Metric::DynamoCalls => "DynamoCalls",
            Metric::DynamoRetries => "DynamoRetries",
            Metric::DynamoConditionalFailures => "DynamoConditionalFailures",
            Metric::Latency => "Latency",
        }
    }

    /// Its EMF unit.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Latency => "Milliseconds",
            _ => "Count",
        }
    }

    /// The dimension sets it is published with.
    pub fn dimensions(self) -> &'static [&'static [&'static str]] {
        match self {
            Metric::ChangesFailed | Metric::RateLimited => &[&[FUNCTION], &[FUNCTION, REASON]],
            _ => &[&[FUNCTION]],
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What one invocation counted so far.
#[derive(Debug, Clone, Default)]
struct Tally {
    counts: [u64; Metric::ALL.len()],
    /// DynamoDB attempts, first ones included: `DynamoRetries` is what exceeds `DynamoCalls`.
    dynamo_attempts: u64,
    /// The counts of the metrics with a reason, per reason.
    by_reason: Vec<(Metric, &'static str, u64)>,
}

tokio::task_local! {
    static TALLY: RefCell<Tally>;
}

/// Counts one `metric` in the current invocation (nothing outside [`measure`]).
pub fn count(metric: Metric) {
    count_n(metric, 1);
}

/// Counts `n` of `metric`.
pub fn count_n(metric: Metric, n: u64) {
    let _ = TALLY.try_with(|tally| tally.borrow_mut().counts[metric.index()] += n);
}

/// Counts one `metric` for `reason`, which must be one of a closed set (an enum's `as_str`).
pub fn count_by(metric: Metric, reason: &'static str) {
    let _ = TALLY.try_with(|tally| {
        let mut tally = tally.borrow_mut();
        tally.counts[metric.index()] += 1;
        match tally.by_reason.iter_mut().find(|(m, r, _)| *m == metric && *r == reason) {
            Some((_, _, n)) => *n += 1,
            None => tally.by_reason.push((metric, reason, 1)),
        }
    });
}

/// One DynamoDB attempt (the SDK interceptor's; public for the AWS adapters, nobody else's).
pub fn dynamo_attempt() {
    let _ = TALLY.try_with(|tally| tally.borrow_mut().dynamo_attempts += 1);
}

/// A refusal that counts, in the words of the metrics: the layers above map their errors to it
/// (the use cases' `Error::refusal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A code that matched no live token: [`Metric::WrongCodes`].
    WrongCode,
    /// A limit's refusal (429), for a reason from a closed set: [`Metric::RateLimited`].
    RateLimited(&'static str),
}

/// A call refused, as the router answers it: the wrong codes and the limits' refusals count.
pub fn refused(refusal: Refusal) {
    match refusal {
        Refusal::WrongCode => count(Metric::WrongCodes),
        Refusal::RateLimited(reason) => count_by(Metric::RateLimited, reason),
    }
}

/// Runs `work` as one invocation of `function`: what it counted, and how long it took.
pub async fn measure<F: Future>(function: &'static str, work: F) -> (F::Output, Invocation) {
    let started = Instant::now();
    let (output, tally) = TALLY
        .scope(RefCell::new(Tally::default()), async {
            let output = work.await;
            (output, TALLY.with(RefCell::take))
        })
        .await;
    (output, Invocation { function, latency: started.elapsed(), tally })
}

/// What one invocation measured.
#[derive(Debug, Clone)]
pub struct Invocation {
    function: &'static str,
    latency: Duration,
    tally: Tally,
}

impl Invocation {
    /// How many of `metric` it counted (for [`Metric::Latency`], its milliseconds).
    pub fn get(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Latency => self.latency.as_secs_f64() * 1000.0,
            Metric::DynamoRetries => self.tally.dynamo_attempts.saturating_sub(self.tally.counts[Metric::DynamoCalls.index()]) as f64,
            _ => self.tally.counts[metric.index()] as f64,
        }
    }

    /// Whether it counted nothing (the local server's idle passes over the outbox print no line).
    pub fn is_empty(&self) -> bool {
        self.tally.counts.iter().all(|n| *n == 0)
    }

    /// Its EMF lines, stamped `at`: one with every metric it counted (and its latency) by
    /// function, then one per reason of the metrics that have one, by function and reason.
    /// A metric it did not count is left out rather than sent as zero: a metric exists (and is
    /// paid for) only where it happens; alarms read a missing value as zero.
    pub fn emf(&self, namespace: &str, at: SystemTime) -> Vec<Value> {
        let timestamp = at.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let counted: Vec<Metric> = Metric::ALL.into_iter().filter(|m| *m == Metric::Latency || self.get(*m) > 0.0).collect();
        let mut lines = vec![line(namespace, timestamp, &[FUNCTION], &[(FUNCTION, self.function)], counted.iter().map(|m| (*m, self.get(*m))))];
        for (metric, reason, n) in &self.tally.by_reason {
            lines.push(line(namespace, timestamp, &[FUNCTION, REASON], &[(FUNCTION, self.function), (REASON, reason)], [(*metric, *n as f64)]));
        }
        lines
    }

    /// Writes its EMF lines to stdout, where Lambda takes every line to CloudWatch Logs.
    pub fn emit(&self, namespace: &str) {
        let mut out = std::io::stdout().lock();
        for line in self.emf(namespace, SystemTime::now()) {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// One EMF document: the directive under `_aws`, then the dimensions' and metrics' values as
/// members of the root.
fn line(namespace: &str, timestamp: u64, dimensions: &[&str], values: &[(&str, &str)], metrics: impl IntoIterator<Item = (Metric, f64)>) -> Value {
    let mut root = Map::new();
    let mut definitions = Vec::new();
    for (metric, value) in metrics {
        definitions.push(json!({ "Name": metric.name(), "Unit": metric.unit() }));
        root.insert(metric.name().to_owned(), json!(value));
    }
    for (name, value) in values {
        root.insert((*name).to_owned(), json!(value));
    }
    let directive = json!({ "Namespace": namespace, "Dimensions": [dimensions], "Metrics": definitions });
    root.insert("_aws".to_owned(), json!({ "Timestamp": timestamp, "CloudWatchMetrics": [directive] }));
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_listed_once_under_a_distinct_name() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        assert!(Metric::ALL.iter().enumerate().all(|(i, m)| m.index() == i), "ALL is in declaration order");
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
    }

    #[tokio::test]
    async fn an_invocation_emits_what_it_counted_by_function_and_each_reason_by_function_and_reason() {
        let ((), invocation) = measure("confirm", async {
            count(Metric::ChangesAccepted);
            count_by(Metric::ChangesFailed, "holders_changed");
            count_by(Metric::ChangesFailed, "holders_changed");
        })
        .await;
        let lines = invocation.emf("Test", UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
        assert_eq!(lines.len(), 2, "{lines:?}");
        let main = &lines[0];
        assert_eq!(main["_aws"]["Timestamp"], 1_700_000_000_123u64);
        assert_eq!(main["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Test");
        assert_eq!(main["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["function"]]));
        assert_eq!((main["function"].as_str(), main["ChangesAccepted"].as_f64(), main["ChangesFailed"].as_f64()), (Some("confirm"), Some(1.0), Some(2.0)));
        assert!(main["Latency"].is_number());
        assert!(main.get("ChangesDone").is_none(), "what was not counted is not sent");
        let reason = &lines[1];
        assert_eq!(reason["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["function", "reason"]]));
        assert_eq!((reason["reason"].as_str(), reason["ChangesFailed"].as_f64()), (Some("holders_changed"), Some(2.0)));
    }

    #[tokio::test]
    async fn outside_an_invocation_nothing_is_counted_and_retries_are_attempts_beyond_the_calls() {
        count(Metric::ChangesDone);
        let ((), invocation) = measure("read", async {
            for attempts in [1, 3] {
                count(Metric::DynamoCalls);
                (0..attempts).for_each(|_| dynamo_attempt());
            }
        })
        .await;
        assert_eq!((invocation.get(Metric::DynamoCalls), invocation.get(Metric::DynamoRetries)), (2.0, 2.0));
        assert_eq!(invocation.get(Metric::ChangesDone), 0.0);
        let ((), idle) = measure("mailer", async {}).await;
        assert!(idle.is_empty() && !invocation.is_empty());
    }
}
