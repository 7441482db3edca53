//! The audit log's record: who (a user, `token:NAME`, or `-` for a failed sign-in), in which
//! role, did what (`kind` of thing, `action`) to which `target`, with the state before and
//! after as JSON, and from which address. Pure: the store writes and reads these, `web` makes
//! them from each write route.
//!
//! Secrets never reach a record: every document passes [`redact`], which drops any key that
//! names a password, a hash, a token or a secret, however deep, so a record built from a row
//! that carries one (a user with its password hash, a created token) keeps everything else.

use serde::Serialize;
use serde_json::Value;

use crate::clock::Millis;

/// The actor of a failed sign-in: nobody is known yet (the name tried is the target).
pub const ANONYMOUS: &str = "-";

/// One row of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    /// 0 until stored.
    pub id: i64,
    /// Unix milliseconds; set by the store when written.
    pub at: Millis,
    pub actor: String,
    /// The actor's role then (empty for [`ANONYMOUS`]).
    pub actor_role: String,
    /// `queue`, `agent`, `user`, `token`, `blocklist`, `contact`, `organization`, `asset`,
    /// `billing_rate`, `ticket`, `login`.
    pub kind: String,
    /// `create`, `update`, `delete`, `import`, `status`, `password_reset`, `password_change`,
    /// `login`, `login_failed`, `logout`.
    pub action: String,
    /// The record's name or id.
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The client's address, when the change came over HTTP.
    pub peer: Option<String>,
}

impl AuditEntry {
    /// A record of `actor` (in `actor_role`) doing `action` to the `kind` named `target`.
    pub fn new(
        actor: impl Into<String>,
        actor_role: impl Into<String>,
        kind: &str,
        action: &str,
        target: impl ToString,
    ) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: 0,
            actor: actor.into(),
            actor_role: actor_role.into(),
            kind: kind.to_owned(),
            action: action.to_owned(),
            target: target.to_string(),
            before: None,
            after: None,
            peer: None,
        }
    }

    /// The state before the change, secrets removed.
    pub fn before<T: Serialize + ?Sized>(mut self, state: &T) -> AuditEntry {
        self.before = document(state);
        self
    }

    /// The state after the change, secrets removed.
    pub fn after<T: Serialize + ?Sized>(mut self, state: &T) -> AuditEntry {
        self.after = document(state);
        self
    }

    /// The client's address.
    pub fn peer(mut self, peer: impl ToString) -> AuditEntry {
        self.peer = Some(peer.to_string());
        self
    }

    /// Was anything recorded as changed? An update whose before and after are equal is not
    /// worth a row.
    pub fn changes_something(&self) -> bool {
        self.before.is_none() || self.after.is_none() || self.before != self.after
    }
}

/// `state` as a JSON document without secrets (`None` for JSON `null`).
fn document<T: Serialize + ?Sized>(state: &T) -> Option<Value> {
    let mut value = serde_json::to_value(state).ok()?;
    redact(&mut value);
    (!value.is_null()).then_some(value)
}

/// Whether a key names something that must never be recorded.
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "hash", "token", "secret"]
        .iter()
        .any(|word| key.contains(word))
}

/// Removes every secret-named key from `value`, at any depth.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|key, _| !is_secret(key));
            fields.values_mut().for_each(redact);
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// One record as compact text (`before → after`), for the CSV export and log lines.
pub fn change_text(entry: &AuditEntry) -> String {
    let text = |v: &Option<Value>| v.as_ref().map_or("-".to_owned(), Value::to_string);
    format!("{} → {}", text(&entry.before), text(&entry.after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_dropped_at_any_depth() {
        let entry = AuditEntry::new("root", "admin", "user", "create", "ann")
            .before(&json!({"name": "ann", "password_hash": "$argon2id$x"}))
            .after(&json!({
                "name": "ann",
                "password": "hunter22",
                "nested": [{"token": "sdk_x", "TokenHash": "ab", "role": "agent"}],
                "api_secret": "s",
            }));
        assert_eq!(entry.before, Some(json!({"name": "ann"})));
        assert_eq!(
            entry.after,
            Some(json!({"name": "ann", "nested": [{"role": "agent"}]}))
        );
    }

    #[test]
    fn an_update_that_changes_nothing_is_told_apart() {
        let same = AuditEntry::new("a", "admin", "queue", "update", "q")
            .before(&json!({"x": 1}))
            .after(&json!({"x": 1}));
        assert!(!same.changes_something());
        let other = same.clone().after(&json!({"x": 2}));
        assert!(other.changes_something());
        assert_eq!(change_text(&other), "{\"x\":1} → {\"x\":2}");
        let event = AuditEntry::new("a", "admin", "login", "login", "a");
        assert!(event.changes_something());
    }
}
