//! Roles and their ranking: agent < supervisor < manager < admin.
//!
//! A role is a rank, not a set of permissions: a higher role may do everything a lower one may.
//! Never knows how a role is stored or sent; the lower-case name is its only outside form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a signed-in user or an API token may do, ordered from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Manager,
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Agent, Role::Supervisor, Role::Manager, Role::Admin];

    /// True when this role ranks at least as high as `required`.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of agent, supervisor, manager, admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (expected agent, supervisor, manager or admin)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_roles_allow_everything_lower_roles_do() {
        assert!(Role::Admin.allows(Role::Agent));
        assert!(Role::Supervisor.allows(Role::Supervisor));
        assert!(!Role::Supervisor.allows(Role::Manager));
        assert!(!Role::Agent.allows(Role::Supervisor));
    }

    #[test]
    fn names_round_trip_in_lower_case() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
        assert_eq!(" Admin ".parse::<Role>(), Ok(Role::Admin));
        assert!("root"
            .parse::<Role>()
            .unwrap_err()
            .to_string()
            .contains("root"));
    }
}
