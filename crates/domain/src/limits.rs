//! SPEC §2 and §3: the limits that keep one person from flooding another with mail, or from
//! deciding for another. Each is kept per the one who pulls it, never on what others share: a
//! limit one caller could trip for everyone would be a veto.

use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use super::AccountId;

/// Requests from one requester to one new contact that ended unaccepted (cancelled by anyone,
/// refused, expired) count against `UNACCEPTED_REQUEST_LIMIT` for this long.
pub const UNACCEPTED_WINDOW: Duration = Duration::hours(24);

/// A profile address change's two codes work this long (SPEC §5): both must come back within it.
pub const EMAIL_CHANGE_TTL: Duration = Duration::hours(24);

/// At most [`EMAIL_CHANGE_LIMIT`] address changes that mail (the new address and the current
/// one) per account within this window (SPEC §5: 3 per 24 hours): a stolen session cannot turn
/// the profile into a way of mailing arbitrary addresses, nor the owner's mailbox into a flood.
pub const EMAIL_CHANGE_WINDOW: Duration = Duration::hours(24);
pub const EMAIL_CHANGE_LIMIT: usize = 3;
/// Attempts that fail, per caller and per window of [`ATTEMPT_WINDOW`], before that caller is
/// told to wait; each kind is counted on its own ([`Attempter::key`], [`prober_key`]):
/// - codes that matched no live token (SPEC §3; 429 `too_many_attempts` for further wrong
///   ones). Tokens have 256 bits, so this is not what stops guessing; it stops a script from
///   hammering, at the cost of one caller only;
/// - creates refused for the new contact's sake (SPEC §2; 429 `too_many_requests` for every
///   further create): each such answer tells something about another account.
pub const ATTEMPT_LIMIT: u32 = 10;
pub const ATTEMPT_WINDOW: Duration = Duration::minutes(15);

/// Who tried a code: the signed-in account, or on the public page the source address that
/// API Gateway (or the local server) saw. Every attempter has a budget of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attempter {
    Account(AccountId),
    /// `None` when the entry point could not tell (never on API Gateway, which always
    /// reports `sourceIp`): those share one budget.
    Address(Option<IpAddr>),
}

impl Attempter {
    /// A stable key for the stores: `account#aa1-ovh`, `ip#192.0.2.1`.
    pub fn key(&self) -> String {
        match self {
            Attempter::Account(account) => format!("account#{account}"),
            Attempter::Address(Some(ip)) => format!("ip#{ip}"),
            Attempter::Address(None) => "ip#unknown".to_owned(),
        }
    }
}

/// The stores' key of `caller`'s creates refused for the new contact's sake (`probe#aa1-ovh`):
/// one budget per caller, whichever service and new contact it named, apart from its wrong codes.
pub fn prober_key(caller: &AccountId) -> String {
    format!("probe#{caller}")
}

/// The stores' key of `caller`'s exports (`GET /v1/me/data`, `export#aa1-ovh`): each reads
/// everything held about the account, thousands of items for a large one, so a stolen session or
/// a script may export [`ATTEMPT_LIMIT`] times a window and no more; the budget is the caller's own.
pub fn exporter_key(caller: &AccountId) -> String {
    format!("export#{caller}")
}

/// The fixed window of [`ATTEMPT_WINDOW`] that `now` falls in: `(start, end)`.
pub fn attempt_window(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let width = ATTEMPT_WINDOW.whole_seconds();
    let start = now.unix_timestamp().div_euclid(width) * width;
    let start = OffsetDateTime::from_unix_timestamp(start).expect("a window start near now is a valid time");
    (start, start + ATTEMPT_WINDOW)
}

/// Whether a caller who already failed `failed` attempts of one kind in the window ending at
/// `window_end` may try again: `Err(seconds to wait)` once it reached [`ATTEMPT_LIMIT`].
pub fn may_attempt(failed: u32, window_end: OffsetDateTime, now: OffsetDateTime) -> Result<(), u64> {
    if failed < ATTEMPT_LIMIT { Ok(()) } else { Err(seconds_until(window_end, now)) }
}

/// The address changes an account asked within the last [`EMAIL_CHANGE_WINDOW`], if it may
/// ask one more now: `Err(seconds until the oldest of them ages out)` at [`EMAIL_CHANGE_LIMIT`].
pub fn may_change_email(asks: &[OffsetDateTime], now: OffsetDateTime) -> Result<Vec<OffsetDateTime>, u64> {
    let recent: Vec<OffsetDateTime> = asks.iter().copied().filter(|at| *at + EMAIL_CHANGE_WINDOW > now).collect();
    if recent.len() >= EMAIL_CHANGE_LIMIT {
        return Err(seconds_until(recent[recent.len() - EMAIL_CHANGE_LIMIT] + EMAIL_CHANGE_WINDOW, now));
    }
    Ok(recent)
}

/// Whether a requester may ask one more request of a new contact, given when each of its
/// earlier requests to that contact counts as unaccepted (`ContactChange::unaccepted_from`):
/// those whose moment falls within the last [`UNACCEPTED_WINDOW`] count, and at `limit` the
/// answer is `Err(seconds until enough of them age out)`. Pending, done and failed requests
/// do not count until (unless) they end unaccepted.
pub fn may_ask(unaccepted_from: &[OffsetDateTime], limit: u32, now: OffsetDateTime) -> Result<(), u64> {
    let mut counting: Vec<OffsetDateTime> = unaccepted_from.iter().copied().filter(|at| *at <= now && now < *at + UNACCEPTED_WINDOW).collect();
    let limit = limit as usize;
    if counting.len() < limit {
        return Ok(());
    }
    counting.sort();
    // Below the limit again once all but `limit - 1` of them have aged out.
    let freeing = counting[counting.len() - limit];
    Err(seconds_until(freeing + UNACCEPTED_WINDOW, now))
}

pub fn seconds_until(at: OffsetDateTime, now: OffsetDateTime) -> u64 {
    ((at - now).as_seconds_f64().ceil() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn a_caller_may_try_until_it_reaches_the_limit_then_waits_for_the_window_to_end() {
        let (start, end) = attempt_window(t0());
        assert!(start <= t0() && t0() < end && end - start == ATTEMPT_WINDOW);
        assert_eq!(may_attempt(ATTEMPT_LIMIT - 1, end, t0()), Ok(()));
        assert_eq!(may_attempt(ATTEMPT_LIMIT, end, t0()), Err((end - t0()).whole_seconds() as u64));
    }

    #[test]
    fn attempters_have_budgets_of_their_own() {
        let a = Attempter::Account(AccountId::parse("aa1-ovh").unwrap()).key();
        let ip = Attempter::Address(Some("192.0.2.1".parse().unwrap())).key();
        let other = Attempter::Address(Some("192.0.2.2".parse().unwrap())).key();
        assert_eq!((a.as_str(), ip.as_str()), ("account#aa1-ovh", "ip#192.0.2.1"));
        assert_ne!(ip, other);
        // An account's probes are not its wrong codes: neither spends the other's budget.
        assert_eq!(prober_key(&AccountId::parse("aa1-ovh").unwrap()), "probe#aa1-ovh");
    }

    #[test]
    fn an_account_may_ask_three_address_changes_a_day() {
        let now = t0();
        let asks: Vec<OffsetDateTime> = (0..EMAIL_CHANGE_LIMIT as i64).map(|n| now - Duration::hours(23) + Duration::minutes(n)).collect();
        assert_eq!(EMAIL_CHANGE_LIMIT, 3);
        assert_eq!(may_change_email(&asks, now), Err(3600), "until the oldest is a day old");
        assert_eq!(may_change_email(&asks[1..], now).map(|recent| recent.len()), Ok(EMAIL_CHANGE_LIMIT - 1));
        assert_eq!(may_change_email(&[now - Duration::hours(24)], now), Ok(vec![]), "older asks age out");
    }

    #[test]
    fn only_requests_that_ended_unaccepted_in_the_last_day_count() {
        let now = t0();
        let hour = Duration::hours(1);
        // Three within the day: at the limit of 3, free again when the oldest ages out.
        let three = [now - 20 * hour, now - 2 * hour, now - hour];
        assert_eq!(may_ask(&three, 3, now), Err(4 * 3600));
        assert_eq!(may_ask(&three, 4, now), Ok(()));
        // Older than a day, or not yet ended (a pending request counts from its expiry): not counted.
        let stale = [now - 25 * hour, now + hour, now - hour, now - 2 * hour];
        assert_eq!(may_ask(&stale, 3, now), Ok(()));
    }
}
