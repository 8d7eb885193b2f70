//! What the two outboxes share: the mails' ([`super::outbox`]) and the events'
//! ([`super::events`]). Each item is posted pending in the write that implies it, claimed with
//! a lease by one worker at a time (the claim counts an attempt), and settled, or handed back
//! pending; a worker that dies leaves it to the next after its lease. [`OutboxId`] names, from
//! the id of what is queued, the rest: its order, its status, and how the status reads.

use std::fmt;
use std::hash::Hash;

use time::OffsetDateTime;

use super::{EventId, EventOrder, EventStatus, MailId, MailOrder, MailStatus};

/// The id of something an outbox queues ([`MailId`], [`EventId`]).
pub trait OutboxId: Clone + Ord + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static {
    /// The item as a worker claims it.
    type Order: Clone + fmt::Debug + PartialEq + Send + Sync + 'static;
    /// Where the item stands.
    type Status: Copy + fmt::Debug + PartialEq + Send + Sync + 'static;
    /// Posted, or handed back: free to claim at once.
    const PENDING: Self::Status;

    /// Claimed by one worker until `until`.
    fn held(until: OffsetDateTime) -> Self::Status;
    /// Whether a worker may claim it at `now`: pending, or held by a lease that ran out.
    fn claimable(status: Self::Status, now: OffsetDateTime) -> bool;
    /// Whether nothing more will be done with it: it leaves the outbox.
    fn is_settled(status: Self::Status) -> bool;
    /// The status as the stores keep it.
    fn status_name(status: Self::Status) -> &'static str;
    /// The order's id.
    fn of(order: &Self::Order) -> &Self;
    /// When the order was posted.
    fn posted_at(order: &Self::Order) -> OffsetDateTime;
    /// How many times a worker claimed it, to count one more.
    fn attempts(order: &mut Self::Order) -> &mut u32;
}

impl OutboxId for MailId {
    type Order = MailOrder;
    type Status = MailStatus;
    const PENDING: MailStatus = MailStatus::Pending;

    fn held(until: OffsetDateTime) -> MailStatus {
        MailStatus::Sending { until }
    }
    fn claimable(status: MailStatus, now: OffsetDateTime) -> bool {
        status.claimable(now)
    }
    fn is_settled(status: MailStatus) -> bool {
        status.is_settled()
    }
    fn status_name(status: MailStatus) -> &'static str {
        status.as_str()
    }
    fn of(order: &MailOrder) -> &MailId {
        &order.id
    }
    fn posted_at(order: &MailOrder) -> OffsetDateTime {
        order.posted_at
    }
    fn attempts(order: &mut MailOrder) -> &mut u32 {
        &mut order.attempts
    }
}

impl OutboxId for EventId {
    type Order = EventOrder;
    type Status = EventStatus;
    const PENDING: EventStatus = EventStatus::Pending;

    fn held(until: OffsetDateTime) -> EventStatus {
        EventStatus::Publishing { until }
    }
    fn claimable(status: EventStatus, now: OffsetDateTime) -> bool {
        status.claimable(now)
    }
    fn is_settled(status: EventStatus) -> bool {
        status == EventStatus::Published
    }
    fn status_name(status: EventStatus) -> &'static str {
        status.as_str()
    }
    fn of(order: &EventOrder) -> &EventId {
        &order.event.id
    }
    fn posted_at(order: &EventOrder) -> OffsetDateTime {
        order.posted_at
    }
    fn attempts(order: &mut EventOrder) -> &mut u32 {
        &mut order.attempts
    }
}
