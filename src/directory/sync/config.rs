//! `[phonebook.sync]`: which sources the phone book follows, and how often `serve` syncs.

use serde::{Deserialize, Serialize};

use super::itop::ItopConfig;
use super::ldap::LdapConfig;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// `serve` syncs every configured source this often, and once at start; 0 syncs only on
    /// demand (`switchdesk phonebook sync`).
    pub interval_minutes: u64,
    /// Organizations and people from an iTop CMDB (`[phonebook.sync.itop]`).
    pub itop: Option<ItopConfig>,
    /// People from LDAP or Active Directory (`[phonebook.sync.ldap]`).
    pub ldap: Option<LdapConfig>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            interval_minutes: 60,
            itop: None,
            ldap: None,
        }
    }
}

/// A week: a longer interval is a typo for a shorter one, not a schedule.
const MAX_INTERVAL_MINUTES: u64 = 7 * 24 * 60;

impl SyncConfig {
    /// Whether any source is configured.
    pub fn has_sources(&self) -> bool {
        self.itop.is_some() || self.ldap.is_some()
    }

    /// Every problem of the section, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.interval_minutes > MAX_INTERVAL_MINUTES {
            problems.push(format!(
                "phonebook.sync.interval_minutes must be at most {MAX_INTERVAL_MINUTES} (a week); \
                 0 syncs only on demand"
            ));
        }
        if let Some(itop) = &self.itop {
            problems.extend(itop.problems());
        }
        if let Some(ldap) = &self.ldap {
            problems.extend(ldap.problems());
        }
        problems
    }
}
