//! Where a contact-change request stands, and why one that every party accepted failed: what
//! the lifecycle ([`crate::lifecycle`]) decides and the events ([`crate::events`]) tell.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Done,
    Refused,
    Expired,
    Cancelled,
    Failed,
}

impl State {
    pub const ALL: [State; 6] = [State::Pending, State::Done, State::Refused, State::Expired, State::Cancelled, State::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Done => "done",
            State::Refused => "refused",
            State::Expired => "expired",
            State::Cancelled => "cancelled",
            State::Failed => "failed",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        State::ALL.into_iter().find(|state| state.as_str() == input)
    }
}

/// Why a request that every party accepted could not take effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// A role's holder is no longer the request's previous holder.
    HoldersChanged,
    /// The previous or the new billing contact is no longer in good standing.
    PaymentOverdue,
    /// The requester no longer holds the role that entitled it to ask (admin for what an
    /// admin asked, the role itself for a handover).
    RequesterLostRole,
    /// The previous or the new contact is no longer in the request's zone.
    DifferentZone,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::HoldersChanged => "holders_changed",
            FailReason::PaymentOverdue => "payment_overdue",
            FailReason::RequesterLostRole => "requester_lost_role",
            FailReason::DifferentZone => "different_zone",
        }
    }
}
