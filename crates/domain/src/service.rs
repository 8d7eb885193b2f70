//! A service and the three accounts that hold its roles.

use serde::{Deserialize, Serialize};

use super::{AccountId, InvalidValue, Role, ServiceName, ids::printable};

/// In JSON, flat: `{"name", "type", "admin", "tech", "billing"}` (the fixtures' shape; `type`
/// optional), nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "FlatService")]
pub struct Service {
    pub name: ServiceName,
    #[serde(rename = "type")]
    pub kind: ServiceType,
    #[serde(flatten)]
    pub contacts: Contacts,
}

/// `flatten` cannot deny unknown fields; this flat twin can.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatService {
    name: ServiceName,
    #[serde(rename = "type", default)]
    kind: ServiceType,
    admin: AccountId,
    tech: AccountId,
    billing: AccountId,
}

impl From<FlatService> for Service {
    fn from(flat: FlatService) -> Self {
        Service { name: flat.name, kind: flat.kind, contacts: Contacts { admin: flat.admin, tech: flat.tech, billing: flat.billing } }
    }
}

/// What kind of service it is, as the provider's catalogue names it (the 2025 guide's "type"
/// column): `domain`, `vps`, `hosting`, ... A short lower-case word: a letter, then up to 19
/// letters, digits or hyphens. `other` when the provider gives none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ServiceType(String);

impl ServiceType {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let valid = (1..=20).contains(&input.len())
            && input.starts_with(|c: char| c.is_ascii_lowercase())
            && input.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidValue::new(format!("'{}' is not a service type: a lower-case word of up to 20 letters, digits or hyphens", printable(input))))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ServiceType {
    fn default() -> Self {
        Self("other".to_owned())
    }
}

impl<'de> Deserialize<'de> for ServiceType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ServiceType::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
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
