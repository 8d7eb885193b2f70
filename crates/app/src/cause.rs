//! Why a port failed: the adapter's own summary of it, and the error it came from.
//!
//! The summary is what the error's message and the logs show: an adapter writes it to name the
//! operation and the error's code, never a value (an item, an address, a token). The error it
//! came from (the SDK's) is the summary's [`source`](std::error::Error::source), for a caller
//! that inspects it; its own text may name what the summary leaves out (SES's refusal names the
//! address), so the chain the API logs stops at a `Cause` (`contacts_api`'s `ApiError::chain`),
//! and `Debug` shows the summary only (an SDK error's `Debug` holds the raw response).
//!
//! An `Arc` keeps the errors that hold one `Clone`. Two causes are equal when their summaries
//! are: the tests compare errors by what they say, the source is not compared.

use std::fmt;
use std::sync::Arc;

/// An error's cause: a summary, and the error it came from when there is one.
#[derive(Clone)]
pub struct Cause {
    summary: Arc<str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl Cause {
    /// A cause with nothing beneath it.
    pub fn new(summary: impl Into<String>) -> Self {
        Cause { summary: summary.into().into(), source: None }
    }

    /// `summary`, caused by `source`.
    pub fn of(summary: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Cause { summary: summary.into().into(), source: Some(Arc::new(source)) }
    }

    /// The summary.
    pub fn summary(&self) -> &str {
        &self.summary
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.summary, f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.summary == other.summary
    }
}

impl Eq for Cause {}

impl From<String> for Cause {
    fn from(summary: String) -> Self {
        Cause::new(summary)
    }
}

impl From<&str> for Cause {
    fn from(summary: &str) -> Self {
        Cause::new(summary)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_cause_says_its_summary_keeps_its_source_and_equals_by_summary() {
        let io = std::io::Error::other("connection reset by peer");
        let cause = Cause::of("GetItem: could not reach DynamoDB", io);
        assert_eq!(cause.to_string(), "GetItem: could not reach DynamoDB");
        assert_eq!(format!("{cause:?}"), "\"GetItem: could not reach DynamoDB\"");
        assert_eq!(cause.source().map(ToString::to_string).as_deref(), Some("connection reset by peer"));
        assert_eq!(cause.clone(), Cause::new("GetItem: could not reach DynamoDB"));
        assert!(Cause::new("a").source().is_none());
    }
}
