//! One account or one service: what a bulk load reads and writes, and an export gives back.

use serde::{Deserialize, Serialize};

use super::{Account, Service};

/// One account or one service, as a line of JSON Lines says it: the fixtures' fields and
/// a `kind` (`"account"` or `"service"`), which comes first when written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Record {
    Account(Account),
    Service(Service),
}

impl Record {
    /// The record as one line of JSON Lines (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("accounts and services always serialize")
    }
}
