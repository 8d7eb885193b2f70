//! What the provider's systems are told (issue 19): one [`Event`] per outcome of a request and
//! per profile change they do not already know, put on an EventBridge bus. As with the mails
//! ([`super::outbox`]), a step leaves the event it owes on the request
//! ([`ContactChange::events`]) and the store commits it with the step, in the same atomic write;
//! a publisher delivers it later, at least once, under the id the store gave it.
//!
//! An event names ids only: no token, no address, no name (the provider has the rest, and an
//! event bus is read by more systems than a mail). docs/events.md is the schema for people.
//!
//! [`ContactChange::events`]: super::ContactChange::events

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use super::state::{BatchState, FailReason, State};
use super::{AccountId, BatchId, InvalidValue, Language, RequestId, Roles, ServiceName};

/// The `Source` of every event on the bus.
pub const EVENT_SOURCE: &str = "service-contacts";

/// The version of the `Detail` schema; a consumer that reads version 1 can trust every field
/// of docs/events.md to be there. A field added keeps it; one changed or removed moves it on.
pub const SCHEMA_VERSION: u32 = 1;

/// An event's id, stable across every publication of it, for consumers to de-duplicate: a
/// request's event is `{request}-{version}-{index}` (the save that committed it, its place
/// among that save's events); a profile's, a ULID drawn when it was committed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(String);

impl EventId {
    pub fn of_request(request: RequestId, version: u64, index: u16) -> Self {
        Self(format!("{request}-{version}-{index}"))
    }

    /// A batch's ids are ULIDs as requests' are, never the same as any request's.
    pub fn of_batch(batch: BatchId, version: u64, index: u16) -> Self {
        Self(format!("{batch}-{version}-{index}"))
    }

    /// A new id for an event of `at` that no request owns.
    pub fn new(at: OffsetDateTime) -> Self {
        Self(RequestId::new(at).to_string())
    }

    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let mut parts = input.splitn(3, '-');
        let ulid_ok = parts.next().is_some_and(|ulid| RequestId::parse(ulid).is_ok());
        let rest: Vec<&str> = parts.collect();
        let numbers_ok = rest.iter().all(|n| !n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b.is_ascii_digit()));
        if ulid_ok && (rest.is_empty() || rest.len() == 2) && numbers_ok {
            return Ok(Self(input.to_owned()));
        }
        Err(InvalidValue::new(format!("'{}' is not an event id", super::ids::printable(input))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        EventId::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// What a request's event says of it: the request as the step left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeFacts {
    pub request: RequestId,
    pub service: ServiceName,
    pub roles: Roles,
    pub from: AccountId,
    pub to: AccountId,
    pub requester: AccountId,
    pub state: State,
    /// Why it failed; `null` for every other outcome.
    pub reason: Option<FailReason>,
}

/// What a batch's event says of it (SPEC §7): ids only; each part's own events say what
/// became of its service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchFacts {
    pub batch: BatchId,
    pub roles: Roles,
    pub to: AccountId,
    pub requester: AccountId,
    pub state: BatchState,
    /// Its parts' requests.
    pub requests: Vec<RequestId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFacts {
    pub account: AccountId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageFacts {
    pub account: AccountId,
    pub language: Language,
}

/// What happened: its `type` (the bus's `DetailType`) and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Fact {
    ContactChangeRequested(ChangeFacts),
    ContactChangeDone(ChangeFacts),
    ContactChangeRefused(ChangeFacts),
    ContactChangeCancelled(ChangeFacts),
    ContactChangeExpired(ChangeFacts),
    ContactChangeFailed(ChangeFacts),
    BatchRequested(BatchFacts),
    /// A batch ended: `done`, `partly_done`, `failed`, `refused`, `cancelled` or `expired`.
    BatchClosed(BatchFacts),
    /// The account's holder verified a new address (which the provider does not know: the
    /// event does not say it; the provider's own read of the account does).
    ProfileEmailVerified(AccountFacts),
    ProfileLanguageChanged(LanguageFacts),
    /// The provider erased the account (SPEC §8): its profile is gone; the requests kept for
    /// the retention period still name its id.
    AccountErased(AccountFacts),
}

impl Fact {
    /// The bus's `DetailType`: the event's `type`.
    pub fn detail_type(&self) -> &'static str {
        match self {
            Fact::ContactChangeRequested(_) => "ContactChangeRequested",
            Fact::ContactChangeDone(_) => "ContactChangeDone",
            Fact::ContactChangeRefused(_) => "ContactChangeRefused",
            Fact::ContactChangeCancelled(_) => "ContactChangeCancelled",
            Fact::ContactChangeExpired(_) => "ContactChangeExpired",
            Fact::ContactChangeFailed(_) => "ContactChangeFailed",
            Fact::BatchRequested(_) => "BatchRequested",
            Fact::BatchClosed(_) => "BatchClosed",
            Fact::ProfileEmailVerified(_) => "ProfileEmailVerified",
            Fact::ProfileLanguageChanged(_) => "ProfileLanguageChanged",
            Fact::AccountErased(_) => "AccountErased",
        }
    }
}

/// An event a step owes, before the store gives it its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub at: OffsetDateTime,
    pub fact: Fact,
}

/// One event as committed and published: the bus's `Detail` is its JSON ([`Event::detail`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "schema")]
    pub schema: Schema,
    pub id: EventId,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(flatten)]
    pub fact: Fact,
}

impl Event {
    pub fn new(id: EventId, occurrence: Occurrence) -> Self {
        Self { schema: Schema, id, at: occurrence.at, fact: occurrence.fact }
    }

    /// The bus's `Detail`: this event as JSON.
    pub fn detail(&self) -> String {
        serde_json::to_string(self).expect("an event is plain data")
    }

    /// An event from its `Detail`; `None` if it is not one of [`SCHEMA_VERSION`].
    pub fn from_detail(detail: &str) -> Option<Self> {
        serde_json::from_str(detail).ok()
    }
}

/// The schema's version as the `Detail` carries it: always [`SCHEMA_VERSION`] (another one
/// does not read as an event of this one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema;

impl Serialize for Schema {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(SCHEMA_VERSION)
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u32::deserialize(deserializer)? {
            SCHEMA_VERSION => Ok(Schema),
            other => Err(serde::de::Error::custom(format!("schema {other} is not {SCHEMA_VERSION}"))),
        }
    }
}

/// An event in the outbox, as a publisher claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOrder {
    pub event: Event,
    pub posted_at: OffsetDateTime,
    /// How many times a publisher claimed it, this claim included.
    pub attempts: u32,
}

/// Where a committed event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    /// Committed and not yet published, or handed back after a failure.
    Pending,
    /// Claimed by a publisher until `until`; after that another may claim it.
    Publishing { until: OffsetDateTime },
    /// The bus took it.
    Published,
}

impl EventStatus {
    pub fn claimable(self, now: OffsetDateTime) -> bool {
        match self {
            EventStatus::Pending => true,
            EventStatus::Publishing { until } => until <= now,
            EventStatus::Published => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Pending => "pending",
            EventStatus::Publishing { .. } => "publishing",
            EventStatus::Published => "published",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    fn at() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000)
    }

    #[test]
    fn an_event_id_is_a_ulid_alone_or_with_the_saves_version_and_index() {
        let request = RequestId::new(at());
        let of_request = EventId::of_request(request, 3, 0);
        assert_eq!(of_request.as_str(), format!("{request}-3-0"));
        assert_eq!(EventId::parse(of_request.as_str()), Ok(of_request));
        let alone = EventId::new(at());
        assert_eq!(EventId::parse(alone.as_str()), Ok(alone));
        for bad in ["", "x", &format!("{request}-3"), &format!("{request}-3-"), &format!("{request}-a-0"), &format!("{request}-1-2-3")] {
            assert!(EventId::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_detail_is_versioned_json_of_ids_only_and_reads_back() {
        let facts = ChangeFacts {
            request: RequestId::new(at()),
            service: ServiceName::parse("example.com").unwrap(),
            roles: Roles::new([Role::Tech, Role::Admin]).unwrap(),
            from: id("tt1-ovh"),
            to: id("nn1-ovh"),
            requester: id("aa1-ovh"),
            state: State::Failed,
            reason: Some(FailReason::PaymentOverdue),
        };
        let event = Event::new(EventId::of_request(facts.request, 4, 0), Occurrence { at: at(), fact: Fact::ContactChangeFailed(facts.clone()) });
        let json: serde_json::Value = serde_json::from_str(&event.detail()).unwrap();
        let expected = serde_json::json!({
            "schema": 1, "id": event.id.as_str(), "type": "ContactChangeFailed", "at": "2024-10-04T00:00:00Z",
            "request": facts.request.to_string(), "service": "example.com", "roles": ["admin", "tech"],
            "from": "tt1-ovh", "to": "nn1-ovh", "requester": "aa1-ovh", "state": "failed", "reason": "payment_overdue",
        });
        assert_eq!(json, expected);
        assert_eq!(Event::from_detail(&event.detail()), Some(event.clone()));
        let other_schema = event.detail().replace("\"schema\":1", "\"schema\":2");
        assert_eq!(Event::from_detail(&other_schema), None, "another schema is not read as this one");

        let language = Event::new(
            EventId::new(at()),
            Occurrence { at: at(), fact: Fact::ProfileLanguageChanged(LanguageFacts { account: id("bi3-ovh"), language: Language::Fr }) },
        );
        let json: serde_json::Value = serde_json::from_str(&language.detail()).unwrap();
        assert_eq!(json["type"], "ProfileLanguageChanged");
        assert_eq!(json["language"], "fr");
        assert_eq!(Event::from_detail(&language.detail()), Some(language));
    }

    #[test]
    fn a_claim_lapses_with_its_lease_and_a_published_event_is_never_claimed() {
        assert!(EventStatus::Pending.claimable(at()));
        assert!(!EventStatus::Publishing { until: at() + time::Duration::seconds(1) }.claimable(at()));
        assert!(EventStatus::Publishing { until: at() }.claimable(at()));
        assert!(!EventStatus::Published.claimable(at()));
    }
}
