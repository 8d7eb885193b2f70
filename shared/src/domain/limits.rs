//! SPEC §2 and §3: the limits that keep one person from flooding another with mail, or a
//! request from growing without end.

use time::Duration;

/// Requests from one requester to one new contact that ended unaccepted (cancelled by the
/// requester, refused, expired) count against `UNACCEPTED_REQUEST_LIMIT` for this long.
pub const UNACCEPTED_WINDOW: Duration = Duration::hours(24);
