//! SPEC §8: how long a closed request or batch, and everything of it, is kept.

use time::{Duration, OffsetDateTime};

/// How long after it closed a request or a batch is kept (`RETENTION_SECONDS`): from a minute
/// to ten years, so none is kept for ever and none vanishes before its outcome's mails went.
/// Until then every reader sees it; from then on it is absent everywhere, whether or not the
/// table's TTL or the sweep has deleted it yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(Duration);

impl Retention {
    /// The shortest and the longest, in seconds: a minute and ten years (of 365 days).
    pub const RANGE_SECONDS: (i64, i64) = (60, 10 * 365 * 24 * 3600);
    /// 400 days: a year of audit trail and a month to spare.
    pub const DEFAULT: Retention = Retention(Duration::days(400));

    /// `None` out of [`Retention::RANGE_SECONDS`].
    pub fn new(kept: Duration) -> Option<Self> {
        let (min, max) = Self::RANGE_SECONDS;
        (Duration::seconds(min)..=Duration::seconds(max)).contains(&kept).then_some(Self(kept))
    }

    pub fn duration(self) -> Duration {
        self.0
    }

    /// When something closed at `closed_at` stops being kept.
    pub fn ends(self, closed_at: OffsetDateTime) -> OffsetDateTime {
        closed_at + self.0
    }

    /// Whether something closed at `closed_at` (`None`: still open, kept) is still kept at `now`.
    pub fn keeps(self, closed_at: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
        closed_at.is_none_or(|closed_at| now < self.ends(closed_at))
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_retention_is_from_a_minute_to_ten_years() {
        assert_eq!(Retention::new(Duration::seconds(59)), None);
        assert_eq!(Retention::new(Duration::seconds(60)).map(Retention::duration), Some(Duration::minutes(1)));
        assert_eq!(Retention::new(Duration::days(3650)).map(Retention::duration), Some(Duration::days(3650)));
        assert_eq!(Retention::new(Duration::days(3650) + Duration::seconds(1)), None);
        assert_eq!(Retention::default().duration(), Duration::seconds(34_560_000));
    }

    #[test]
    fn what_is_open_is_kept_and_what_closed_is_kept_until_its_retention_ends() {
        let kept = Retention::new(Duration::minutes(1)).unwrap();
        let closed = datetime!(2026-12-07 10:00 UTC);
        assert!(kept.keeps(None, closed + Duration::days(1000)));
        assert!(kept.keeps(Some(closed), closed + Duration::seconds(59)));
        assert!(!kept.keeps(Some(closed), closed + Duration::seconds(60)));
        assert_eq!(kept.ends(closed), closed + Duration::minutes(1));
    }
}
