//! `contacts-admin erase FILE`: erases the accounts a file names (SPEC §8), each through the
//! use case of the internal API's `DELETE /internal/accounts/{id}`, with its refusals: an
//! account that holds a role, or that a pending request or a batch in progress involves, is
//! not erased, and said so.
//!
//! The file names one account a line: its customer id, or an account's line of JSON Lines as
//! `export` writes it (`{"kind": "account", "id", ...}`: its `id`). Blank lines and lines
//! starting with `#` are skipped; an id named twice is erased once.

use contacts_app::{App, Error};
use contacts_domain::AccountId;
use serde_json::Value;

/// A line of the file that names no account: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub line: usize,
    pub reason: String,
}

/// What became of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Erased,
    /// There is no such account: never was, or erased already (nothing left to erase).
    Unknown,
    /// Still in use, not erased: why, in the internal API's words (its 409's detail).
    InUse(String),
}

/// The outcome of each account tried, in the file's order; `failed`: the account at which the
/// store failed, and why (it and the ones after it were not tried).
#[derive(Debug, Default)]
pub struct EraseReport {
    pub outcomes: Vec<(AccountId, Outcome)>,
    pub failed: Option<(AccountId, String)>,
}

impl EraseReport {
    /// How many accounts ended each way: erased, unknown, in use.
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |wanted: fn(&Outcome) -> bool| self.outcomes.iter().filter(|(_, outcome)| wanted(outcome)).count();
        (count(|o| *o == Outcome::Erased), count(|o| *o == Outcome::Unknown), count(|o| matches!(o, Outcome::InUse(_))))
    }
}

/// The accounts `text` names, in its order, once each; or every line that names none.
pub fn read_ids(text: &str) -> Result<Vec<AccountId>, Vec<Invalid>> {
    let (mut ids, mut invalid) = (Vec::new(), Vec::new());
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match id_of(line) {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(reason) => invalid.push(Invalid { line: index + 1, reason }),
        }
    }
    if invalid.is_empty() { Ok(ids) } else { Err(invalid) }
}

/// The account a line names: a customer id, or an account's JSON line.
fn id_of(line: &str) -> Result<AccountId, String> {
    if !line.starts_with('{') {
        return AccountId::parse(line).map_err(|e| e.to_string());
    }
    let record: Value = serde_json::from_str(line).map_err(|_| "not valid JSON".to_owned())?;
    match record.get("kind").and_then(Value::as_str) {
        None | Some("account") => {}
        Some(other) => return Err(format!("a record of kind {other:?}, not an account")),
    }
    let id = record.get("id").and_then(Value::as_str).ok_or("an account's record without an \"id\"")?;
    AccountId::parse(id).map_err(|e| e.to_string())
}

/// Erases each of `ids` in turn (`App::erase_account`), until the store fails.
pub async fn erase(app: &App, ids: &[AccountId]) -> EraseReport {
    let mut report = EraseReport::default();
    for id in ids {
        let outcome = match app.erase_account(id).await {
            Ok(()) => Outcome::Erased,
            Err(Error::NotFound(_)) => Outcome::Unknown,
            Err(in_use @ Error::AccountInUse { .. }) => Outcome::InUse(in_use.to_string()),
            Err(other) => {
                report.failed = Some((id.clone(), other.to_string()));
                return report;
            }
        };
        report.outcomes.push((id.clone(), outcome));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> AccountId {
        AccountId::parse(text).unwrap()
    }

    #[test]
    fn a_file_names_accounts_by_id_or_by_an_exports_line_once_each() {
        let text = "# to erase\naa1-ovh\n\n  BB2-OVH  \n{\"kind\":\"account\",\"id\":\"cc3-ovh\",\"name\":\"C\",\"email\":\"c@example.com\"}\naa1-ovh\n";
        assert_eq!(read_ids(text), Ok(vec![id("aa1-ovh"), id("bb2-ovh"), id("cc3-ovh")]));
    }

    #[test]
    fn every_line_that_names_no_account_is_reported_with_its_number() {
        let text = "aa1-ovh\nnot an id\n{\"kind\":\"service\",\"name\":\"example.com\"}\n{\"kind\":\"account\"}\n{oops\n";
        let invalid = read_ids(text).unwrap_err();
        assert_eq!(invalid.iter().map(|i| i.line).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
        assert!(invalid[1].reason.contains("not an account") && invalid[3].reason.contains("JSON"), "{invalid:?}");
    }
}
