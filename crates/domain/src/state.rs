//! Where a contact-change request and a batch stand, and why a request that every party
//! accepted failed: what the lifecycles ([`crate::lifecycle`], [`crate::batch`]) decide and the
//! events ([`crate::events`]) tell.

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

/// Where a batch stands. Pending until a party refuses, the requester cancels, it expires, or
/// every party accepted and its parts took effect or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    Pending,
    /// Every part took effect.
    Done,
    /// Some parts took effect, others failed (or were cancelled by their service's admin).
    PartlyDone,
    /// Every party accepted, yet no part could take effect.
    Failed,
    Refused,
    Cancelled,
    Expired,
}

impl BatchState {
    pub const ALL: [BatchState; 7] =
        [BatchState::Pending, BatchState::Done, BatchState::PartlyDone, BatchState::Failed, BatchState::Refused, BatchState::Cancelled, BatchState::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Pending => "pending",
            BatchState::Done => "done",
            BatchState::PartlyDone => "partly_done",
            BatchState::Failed => "failed",
            BatchState::Refused => "refused",
            BatchState::Cancelled => "cancelled",
            BatchState::Expired => "expired",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        BatchState::ALL.into_iter().find(|state| state.as_str() == input)
    }

    /// The state of a batch whose every party accepted, from its parts' outcomes: `done` when
    /// every part is, `partly_done` when some are, `failed` when none could take effect, and
    /// `cancelled` when every part was cancelled by its service's admin.
    pub fn of_outcomes(parts: &[State]) -> BatchState {
        let done = parts.iter().filter(|state| **state == State::Done).count();
        if parts.iter().all(|state| *state == State::Cancelled) {
            BatchState::Cancelled
        } else if done == parts.len() {
            BatchState::Done
        } else if done > 0 {
            BatchState::PartlyDone
        } else {
            BatchState::Failed
        }
    }

    /// What a part still pending becomes when its batch ends so.
    pub fn for_pending_parts(self) -> Option<State> {
        match self {
            BatchState::Refused => Some(State::Refused),
            BatchState::Cancelled => Some(State::Cancelled),
            BatchState::Expired => Some(State::Expired),
            _ => None,
        }
    }
}
