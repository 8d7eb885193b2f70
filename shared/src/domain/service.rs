//! A service and the three accounts that hold its roles.

use serde::{Deserialize, Serialize};

use super::{AccountId, Role, ServiceName};

/// In JSON, flat: `{"name", "admin", "tech", "billing"}` (the fixtures' shape), nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "FlatService")]
pub struct Service {
    pub name: ServiceName,
    #[serde(flatten)]
    pub contacts: Contacts,
}

/// `flatten` cannot deny unknown fields; this flat twin can.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatService {
    name: ServiceName,
    admin: AccountId,
    tech: AccountId,
    billing: AccountId,
}

impl From<FlatService> for Service {
    fn from(flat: FlatService) -> Self {
        Service { name: flat.name, contacts: Contacts { admin: flat.admin, tech: flat.tech, billing: flat.billing } }
    }
}

/// Exactly one holder per role; one account may hold several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contacts {
    pub admin: AccountId,
    pub tech: AccountId,
    pub billing: AccountId,
}

impl Contacts {
    pub fn holder(&self, role: Role) -> &AccountId {
        match role {
            Role::Admin => &self.admin,
            Role::Tech => &self.tech,
            Role::Billing => &self.billing,
        }
    }

    pub fn set(&mut self, role: Role, account: AccountId) {
        match role {
            Role::Admin => self.admin = account,
            Role::Tech => self.tech = account,
            Role::Billing => self.billing = account,
        }
    }

    /// The roles `account` holds, in the order admin, tech, billing.
    pub fn roles_of(&self, account: &AccountId) -> Vec<Role> {
        Role::ALL.into_iter().filter(|role| self.holder(*role) == account).collect()
    }

    /// Every account holding a role, without repeats.
    pub fn holders(&self) -> Vec<AccountId> {
        let mut holders: Vec<AccountId> = Role::ALL.iter().map(|role| self.holder(*role).clone()).collect();
        holders.sort();
        holders.dedup();
        holders
    }
}
