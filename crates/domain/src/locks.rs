//! SPEC §2-§3: at most one pending request per (service, role), and what a provider's upsert
//! does to the pending requests it overtakes.

use time::OffsetDateTime;

use super::state::FailReason;
use super::{AccountId, ContactChange, RequestId, Role, Roles, Service, ServiceName, rules};

/// "A pending request holds this role of this service": at most one per (service, role).
/// It lapses at `expires_at` even if nobody deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub role: Role,
    pub request: RequestId,
    /// Who asked, and for whom: so that an upsert can tell which pending requests it leaves
    /// without authority (SPEC §3) from the service's partition alone.
    pub requested_by: AccountId,
    pub to: AccountId,
    pub expires_at: OffsetDateTime,
}

impl Lock {
    /// The lock of `change` on `role`.
    pub fn of(change: &ContactChange, role: Role) -> Self {
        Lock { role, request: change.id, requested_by: change.requested_by.clone(), to: change.to.clone(), expires_at: change.expires_at }
    }
}

/// An upsert from the provider's systems overtakes a pending request: it moves one of its
/// roles to another holder (`holders_changed`), or takes from its requester the role that
/// entitled it to ask (`requester_lost_role`). That request can no longer take effect (it
/// will end `failed` with `reason`, SPEC §3), which whoever made the upsert is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChange {
    pub service: ServiceName,
    pub role: Role,
    pub request: RequestId,
    /// The holder as the store had it, and as the upsert makes it.
    pub from: AccountId,
    pub to: AccountId,
    pub reason: FailReason,
}

impl PendingChange {
    /// The requests, among `locks` live at `now`, that `new` overtakes (see the type), one
    /// entry per role they hold, by role.
    pub fn overtaken(old: &Service, new: &Service, locks: &[Lock], now: OffsetDateTime) -> Vec<PendingChange> {
        let mut live: Vec<&Lock> = locks.iter().filter(|lock| lock.expires_at > now).collect();
        live.sort_by_key(|lock| lock.role);
        let reason = |lock: &Lock| -> Option<FailReason> {
            let held: Vec<Role> = live.iter().filter(|other| other.request == lock.request).map(|other| other.role).collect();
            if held.iter().any(|role| old.contacts.holder(*role) != new.contacts.holder(*role)) {
                return Some(FailReason::HoldersChanged);
            }
            let roles = Roles::new(held).expect("the lock's own role at least");
            (!rules::entitled(&new.contacts, &lock.requested_by, &roles, &lock.to)).then_some(FailReason::RequesterLostRole)
        };
        live.iter()
            .filter_map(|lock| {
                Some(PendingChange {
                    service: new.name.clone(),
                    role: lock.role,
                    request: lock.request,
                    from: old.contacts.holder(lock.role).clone(),
                    to: new.contacts.holder(lock.role).clone(),
                    reason: reason(lock)?,
                })
            })
            .collect()
    }
}
