//! What can go wrong in the store, in words an operator or an API client can act on.

/// A failed store operation. `NotFound` and `Conflict` describe the request; the others mean the
/// database itself is unreachable, inconsistent or could not be migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite: or postgres:// (or postgresql://)")]
    UnsupportedUrl,
    #[error("could not create the database directory {path}: {source}")]
    CreateDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("the database holds an invalid value: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// The database refused a queue-state write because a newer leader exists (the
    /// `switchdesk_fence` trigger, migration 0018): this instance no longer leads.
    pub fn is_fenced(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(db)) if db.code().as_deref() == Some("SDF01"))
    }

    /// Turns a unique-constraint violation into `Conflict(what)`; anything else stays a
    /// database error.
    pub(crate) fn unique(error: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what()),
            _ => StoreError::Database(error),
        }
    }
}
