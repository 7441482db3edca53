//! Support lines and categories, and the one rule of which SLA target a ticket gets. Pure.
//!
//! A ticket's deadlines count from its creation:
//! - first response: its category's `first_response_seconds[priority]` when the category sets
//!   them; else, for a ticket a caller opened by phoning a queue (kind `call` or `callback`),
//!   `call_first_response_seconds` when that is above 0; else `first_response_minutes[priority]`;
//! - resolution: its category's `resolution_minutes[priority]` when set, else
//!   `resolution_minutes[priority]`.
//!
//! A category key no longer configured gets the per-priority targets.

use serde::{Deserialize, Serialize};

/// Lines a ticket can be on: 1 to [`TOP_LINE`].
pub const TOP_LINE: u8 = 3;

/// The longest category key.
const MAX_KEY: usize = 40;

/// One entry of `[[tickets.categories]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// What the API and the store use: lower-case letters, digits, `_` and `-`.
    pub key: String,
    /// What the screens show.
    pub name: String,
    /// First-response targets for priorities 1, 2 and 3, in seconds (overriding the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_seconds: Option<[i64; 3]>,
    /// Resolution targets for priorities 1, 2 and 3, in minutes (overriding the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_minutes: Option<[i64; 3]>,
}

impl Category {
    fn plain(key: &str, name: &str) -> Category {
        Category {
            key: key.into(),
            name: name.into(),
            first_response_seconds: None,
            resolution_minutes: None,
        }
    }

    /// The four categories of an ITIL service desk.
    pub fn defaults() -> Vec<Category> {
        vec![
            Category::plain("information", "Information request"),
            Category::plain("configuration", "Configuration change"),
            Category::plain("maintenance", "Maintenance"),
            Category::plain("emergency", "Emergency"),
        ]
    }
}

/// The default names of lines 1, 2 and 3.
pub fn default_lines() -> [String; 3] {
    ["1st line".into(), "2nd line".into(), "3rd line".into()]
}

/// What is wrong with the lines and categories of `[tickets]`.
pub fn problems(lines: &[String; 3], categories: &[Category], default: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if lines.iter().any(|l| l.trim().is_empty()) {
        problems.push("tickets.lines must name lines 1, 2 and 3".into());
    }
    if categories.is_empty() {
        problems.push("tickets.categories must hold at least one category".into());
    }
    for (i, category) in categories.iter().enumerate() {
        let key = &category.key;
        if !is_key(key) {
            problems.push(format!(
                "tickets.categories: key {key:?} must be 1 to {MAX_KEY} of a-z, 0-9, _ and -"
            ));
        }
        if categories[..i].iter().any(|c| &c.key == key) {
            problems.push(format!("tickets.categories: key {key:?} appears twice"));
        }
        if category.name.trim().is_empty() {
            problems.push(format!("tickets.categories: {key:?} needs a name"));
        }
        let targets = category.first_response_seconds.iter().flatten();
        if targets
            .chain(category.resolution_minutes.iter().flatten())
            .any(|&t| t <= 0)
        {
            problems.push(format!(
                "tickets.categories: {key:?} SLA targets must be positive"
            ));
        }
    }
    if !categories.iter().any(|c| c.key == default) {
        problems.push(format!(
            "tickets.default_category {default:?} is not one of tickets.categories"
        ));
    }
    problems
}

fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_hold_and_mistakes_are_named() {
        let lines = default_lines();
        assert!(problems(&lines, &Category::defaults(), "information").is_empty());
        let mut twice = Category::defaults();
        twice.push(Category::plain("emergency", "Again"));
        twice.push(Category::plain("Bad Key", "x"));
        twice[0].resolution_minutes = Some([60, 0, 60]);
        let found = problems(&lines, &twice, "nothing");
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().any(|p| p.contains("appears twice")));
        assert!(found.iter().any(|p| p.contains("\"Bad Key\"")));
        assert!(found.iter().any(|p| p.contains("must be positive")));
        assert!(found.iter().any(|p| p.contains("default_category")));
    }
}
