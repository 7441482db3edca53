//! `[incidents]`: the ticket an incident is, its timers, and how alarms fold.

use serde::{Deserialize, Serialize};

use crate::clock::{self, Millis};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentConfig {
    /// The ticket category of an incident's ticket (a key of `[tickets] categories`).
    pub category: String,
    /// An incident nobody took within this many seconds goes one line up (and the timer
    /// starts again).
    pub take_within_secs: u64,
    /// A taken incident not resolved within this many seconds goes one line up (likewise).
    pub resolve_within_secs: u64,
    /// A problem coming back within this many seconds of its recovery reopens the incident
    /// it recovered instead of opening another (flapping).
    pub flap_window_secs: u64,
    /// How often the timers are checked, in seconds.
    pub check_secs: u64,
    /// Callers of an organization with an open incident hear the notice in the queue.
    pub notice: bool,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        IncidentConfig {
            category: "emergency".into(),
            take_within_secs: 15 * 60,
            resolve_within_secs: 4 * 60 * 60,
            flap_window_secs: 300,
            check_secs: 10,
            notice: true,
        }
    }
}

impl IncidentConfig {
    /// What is wrong with it, given the configured ticket categories.
    pub fn problems(&self, categories: &[crate::tickets::Category]) -> Vec<String> {
        let mut problems = Vec::new();
        if !categories.iter().any(|c| c.key == self.category) {
            problems.push(format!(
                "incidents.category {:?} is not one of tickets.categories",
                self.category
            ));
        }
        for (key, value) in [
            ("take_within_secs", self.take_within_secs),
            ("resolve_within_secs", self.resolve_within_secs),
            ("check_secs", self.check_secs),
        ] {
            if value == 0 {
                problems.push(format!("incidents.{key} must be at least 1"));
            }
        }
        problems
    }

    pub fn take_within(&self) -> Millis {
        clock::secs(self.take_within_secs)
    }

    pub fn resolve_within(&self) -> Millis {
        clock::secs(self.resolve_within_secs)
    }

    pub fn flap_window(&self) -> Millis {
        clock::secs(self.flap_window_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::Category;

    #[test]
    fn the_category_must_be_configured_and_the_timers_run() {
        let categories = Category::defaults();
        assert!(IncidentConfig::default().problems(&categories).is_empty());
        let wrong = IncidentConfig {
            category: "outage".into(),
            take_within_secs: 0,
            ..IncidentConfig::default()
        };
        let problems = wrong.problems(&categories);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("\"outage\""));
        assert!(problems[1].contains("take_within_secs"));
    }
}
