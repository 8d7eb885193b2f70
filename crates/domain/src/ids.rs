//! Identifiers that can only hold valid values: the only way in is `parse`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::InvalidValue;

/// A customer id: two letters, one or more digits, then `-ovh` (`aa123456-ovh`).
/// Matched case-insensitively, held lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// Generous against real ids, small enough that no key or log line balloons.
    const MAX_LEN: usize = 64;

    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let lower = input.to_ascii_lowercase();
        // Bytes, not chars: every valid id is ASCII, and slicing a `str` inside a multi-byte
        // character would panic.
        let valid = lower.len() <= Self::MAX_LEN
            && lower.strip_suffix("-ovh").is_some_and(|head| match head.as_bytes() {
                [a, b, digits @ ..] => a.is_ascii_lowercase() && b.is_ascii_lowercase() && !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
                _ => false,
            });
        if valid {
            Ok(Self(lower))
        } else {
            Err(InvalidValue::new(format!("'{}' is not a customer id: expected two letters, digits, then -ovh (like aa123456-ovh)", printable(input))))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A service's name: 1-253 characters of `a-z0-9.-_`, held lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName(String);

impl ServiceName {
    pub const MAX_LEN: usize = 253;

    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let lower = input.to_ascii_lowercase();
        let valid =
            !lower.is_empty() && lower.len() <= Self::MAX_LEN && lower.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b));
        if valid {
            Ok(Self(lower))
        } else {
            Err(InvalidValue::new(format!("'{}' is not a service name: expected 1 to 253 characters among a-z, 0-9, '.', '-', '_'", printable(input))))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Ids that are ULIDs, so that they sort by creation time: `$what` names one in errors.
macro_rules! ulid_identifier {
    ($($(#[$doc:meta])* $name:ident, $what:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(ulid::Ulid);

        /// As it is written everywhere (`RequestId(01J...)`), not as the number inside.
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl $name {
            /// A new id for one created at `at`, its random part from the OS.
            pub fn new(at: time::OffsetDateTime) -> Self {
                let millis = (at.unix_timestamp_nanos() / 1_000_000).clamp(0, (1 << 48) - 1) as u64;
                let mut random = [0u8; 16];
                getrandom::fill(&mut random).expect("the OS random source is available");
                Self(ulid::Ulid::from_parts(millis, u128::from_le_bytes(random)))
            }

            pub fn parse(input: &str) -> Result<Self, InvalidValue> {
                if input.len() == 26
                    && let Ok(ulid) = ulid::Ulid::from_string(input)
                {
                    return Ok(Self(ulid));
                }
                Err(InvalidValue::new(format!(concat!("'{}' is not ", $what, " (a 26-character ULID)"), printable(input))))
            }
        }
    )*};
}
ulid_identifier! {
    /// A contact-change request's id.
    RequestId, "a request id";
    /// A batch's id (SPEC §7): its parts are requests, each with a [`RequestId`] of its own.
    BatchId, "a batch id";
}

/// Input echoed in an error: bounded and free of control characters.
pub fn printable(input: &str) -> String {
    let mut out: String = input.chars().take(64).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect();
    if input.chars().count() > 64 {
        out.push('…');
    }
    out
}

macro_rules! text_identifier {
    ($($name:ident),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    )*};
}
text_identifier!(AccountId, ServiceName, RequestId, BatchId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_id_is_two_letters_digits_and_ovh_held_lower_case() {
        assert_eq!(AccountId::parse("AA123456-OVH").unwrap().as_str(), "aa123456-ovh");
        assert_eq!(AccountId::parse("xy1-ovh").unwrap().as_str(), "xy1-ovh");
        for bad in [
            "",
            "a123-ovh",
            "abc123-ovh",
            "aa-ovh",
            "aa12x-ovh",
            "aa123",
            "aa123-ovhx",
            "1a123-ovh",
            "àa123-ovh",
            "aé1-ovh",
            "té999-ovh",
            "aa1é-ovh",
            "\u{feff}-ovh",
            "aa123-ovh ",
        ] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_service_name_is_1_to_253_allowed_characters_held_lower_case() {
        assert_eq!(ServiceName::parse("Example.COM").unwrap().as_str(), "example.com");
        assert!(ServiceName::parse(&"a".repeat(253)).is_ok());
        for bad in [String::new(), "a".repeat(254), "a/b".into(), "a b".into(), "é.com".into(), "a\0".into()] {
            assert!(ServiceName::parse(&bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_request_id_round_trips_and_sorts_by_time() {
        let early = RequestId::new(time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(10));
        let late = RequestId::new(time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(20));
        assert!(early < late);
        assert_eq!(RequestId::parse(&early.to_string()).unwrap(), early);
        assert!(RequestId::parse("not-a-ulid").is_err());
        assert!(RequestId::parse("").is_err());
    }

    #[test]
    fn errors_never_echo_control_characters_or_unbounded_input() {
        let message = AccountId::parse(&format!("\n{}", "x".repeat(500))).unwrap_err().0;
        assert!(!message.contains('\n'));
        assert!(message.len() < 200);
    }
}
