//! SPEC §2 and §3: the limits that keep one person from flooding another with mail, or a
//! request from growing without end.

use time::Duration;

/// Requests from one requester to one new contact that ended unaccepted (cancelled by the
/// requester, refused, expired) count against `UNACCEPTED_REQUEST_LIMIT` for this long.
pub const UNACCEPTED_WINDOW: Duration = Duration::hours(24);

/// A profile address change's verification link works this long (SPEC §5).
pub const EMAIL_CHANGE_TTL: Duration = Duration::hours(24);

/// At most [`EMAIL_CHANGE_LIMIT`] address changes that mail (the new address and the old one)
/// per account within this window: a stolen session cannot turn the profile into a way of
/// mailing arbitrary addresses.
pub const EMAIL_CHANGE_WINDOW: Duration = Duration::hours(1);
pub const EMAIL_CHANGE_LIMIT: usize = 3;
