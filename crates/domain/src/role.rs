//! The three contact roles of a service.

use serde::{Deserialize, Serialize};

use super::InvalidValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Administrative and technical matters; may change every other contact.
    Admin,
    /// Technical matters only.
    Tech,
    /// Billing matters only; receives renewal notices.
    Billing,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Tech, Role::Billing];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Tech => "tech",
            Role::Billing => "billing",
        }
    }

    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        Role::ALL.into_iter().find(|role| role.as_str() == input).ok_or_else(|| InvalidValue::new("a role is one of admin, tech, billing"))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty set of roles, always in the order admin, tech, billing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Result<Self, InvalidValue> {
        let mut roles: Vec<Role> = roles.into_iter().collect();
        roles.sort();
        roles.dedup();
        if roles.is_empty() {
            return Err(InvalidValue::new("a request moves at least one role"));
        }
        Ok(Self(roles))
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }
}

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Roles::new(Vec::<Role>::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}
