//! Who signs in: the ranks of roles, and the account records (people and machine tokens)
//! the store keeps. A leaf: the store reads and writes these, and [`crate::users`] combines
//! them with the store into sign-in, sessions and tokens, so the dependency runs one way.

mod role;

use serde::Serialize;

use crate::clock::Millis;

pub use role::{Role, UnknownRole};

/// A person who signs in to the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    /// Unix milliseconds.
    pub created_at: Millis,
}

/// A machine credential (Prometheus, scripts); the secret itself is never kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// Unix milliseconds.
    pub created_at: Millis,
    /// Unix milliseconds, updated at most once a minute.
    pub last_used_at: Option<Millis>,
    pub revoked: bool,
}
