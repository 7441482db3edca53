//! The database: SQLite by default (a file under `./data`, created on first run) or PostgreSQL,
//! chosen by URL. The only module with SQL.
//!
//! Every query is written once with `$N` placeholders, which both backends accept through the
//! sqlx `Any` driver, and reads only types both backends return alike (i64, f64, TEXT, NULL;
//! timestamps are Unix milliseconds, booleans 0/1). Rows leave as domain types
//! ([`crate::accounts::User`], ...). Never holds business rules: who may sign in or how long a
//! session lasts is decided by the caller.

mod acd;
mod audit;
mod blocklist;
mod calls;
mod chat;
mod directory;
mod error;
mod fax;
mod filter;
mod incidents;
mod intervals;
mod leadership;
mod live_view;
mod migrations;
#[cfg(test)]
mod plans;
mod sessions;
mod tickets;
mod tokens;
mod users;
mod write;

use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor as _};

pub use acd::{StoredAgent, StoredCallback};
pub use audit::AuditFilter;
pub use blocklist::BlockedAttempt;
pub use calls::{CallFilter, CallTx};
pub use directory::{Record, Removable};
pub use error::StoreError;
pub use fax::{Attach, FaxRecord, MailState, NewFile, NewMail, OutboxMail, Recorded, StoredFile};
pub use incidents::{HostAsset, NewIncident, RanOut};
pub use leadership::{LeaderRow, LockSession};
pub use live_view::PublishedView;
pub use tickets::{TicketFilter, TicketSearch, WebhookDelivery};

use crate::accounts::Role;

/// Which database engine sits behind a [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

/// A pool of database connections; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// What `check-config` learns of the configured database without creating, migrating or
/// writing anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peek {
    /// A SQLite file that does not exist: the service creates it when it starts.
    Missing(std::path::PathBuf),
    /// An in-memory database: nothing to look at before the service runs.
    InMemory,
    /// How many dashboard users it has (0 on a database never migrated).
    Users(u64),
}

/// How long SQLite waits for another writer before giving up with "database is locked".
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

impl Store {
    /// Opens the database (creating a SQLite file and its directory if missing) and brings its
    /// schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let mut pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_release(write::release_clean);
        let url = match backend {
            Backend::Postgres => url.to_string(),
            Backend::Sqlite => {
                let sqlite = SqliteUrl::parse(url);
                if sqlite.in_memory {
                    // Every connection to `:memory:` is its own empty database: keep exactly one
                    // connection, forever.
                    pool = pool
                        .max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None);
                } else {
                    sqlite.create_dir()?;
                }
                pool = pool.after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        // A commit is on disk when it returns: CDR POSTs are answered after it.
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute(
                            format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str(),
                        )
                        .await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        Ok(())
                    })
                });
                sqlite.url
            }
        };
        let store = Store {
            pool: pool.connect(&url).await?,
            backend,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Looks at the database at `url` read-only: whether it exists and how many users it has.
    /// A missing SQLite file is not created (nor its directory).
    pub async fn peek(url: &str) -> Result<Peek, StoreError> {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Postgres => url.to_string(),
            Backend::Sqlite => {
                let sqlite = SqliteUrl::parse(url);
                if sqlite.in_memory {
                    return Ok(Peek::InMemory);
                }
                if !Path::new(&sqlite.path).exists() {
                    return Ok(Peek::Missing(sqlite.path.into()));
                }
                format!("sqlite://{}?mode=ro", sqlite.path)
            }
        };
        let mut conn = sqlx::AnyConnection::connect(&url).await?;
        let tables = match backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_name = 'users' AND table_schema = current_schema()"
            }
        };
        let has_users: i64 = sqlx::query_scalar(tables).fetch_one(&mut conn).await?;
        let users: i64 = if has_users == 0 {
            0
        } else {
            sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(&mut conn)
                .await?
        };
        let _ = conn.close().await;
        Ok(Peek::Users(users.max(0) as u64))
    }

    /// Applies the migrations this binary knows and the database has not seen; running it again
    /// changes nothing.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::migrator(self.backend)
            .await?
            .run(&self.pool)
            .await?;
        Ok(())
    }

    /// The file of a `sqlite:` URL (`None` for PostgreSQL and in-memory databases).
    pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
        if Backend::from_url(url).ok()? != Backend::Sqlite {
            return None;
        }
        let sqlite = SqliteUrl::parse(url);
        (!sqlite.in_memory).then(|| sqlite.path.into())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// One round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The parts of a `sqlite:` URL the store cares about before sqlx sees it.
struct SqliteUrl {
    url: String,
    path: String,
    in_memory: bool,
}

impl SqliteUrl {
    /// `sqlite://data/x.db` and `sqlite:data/x.db` are the relative file `data/x.db`;
    /// `sqlite:///var/x.db` is absolute. `mode=rwc` is added unless a mode is given, so a
    /// missing file is created. In-memory URLs pass through unchanged.
    fn parse(url: &str) -> SqliteUrl {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let in_memory =
            path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
        let has_mode = query.split('&').any(|p| p.starts_with("mode="));
        let query = match (query.is_empty(), has_mode) {
            (_, true) => query.to_string(),
            (true, false) => "mode=rwc".to_string(),
            (false, false) => format!("{query}&mode=rwc"),
        };
        if in_memory {
            return SqliteUrl {
                url: url.to_string(),
                path: String::new(),
                in_memory,
            };
        }
        SqliteUrl {
            url: format!("sqlite://{path}?{query}"),
            path: path.to_string(),
            in_memory,
        }
    }

    fn create_dir(&self) -> Result<(), StoreError> {
        match Path::new(&self.path).parent() {
            Some(dir) if !dir.as_os_str().is_empty() => {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                    path: dir.to_path_buf(),
                    source,
                })
            }
            _ => Ok(()),
        }
    }
}

/// Stored role names are written only by this module, so an unknown one means the row was
/// edited by hand or by a newer version.
fn parse_role(text: &str) -> Result<Role, StoreError> {
    text.parse()
        .map_err(|e: crate::accounts::UnknownRole| StoreError::Corrupt(e.to_string()))
}

/// A query being built, with its arguments bound one by one.
pub type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// A value as a JSON document for a TEXT column.
fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A JSON document read back from a TEXT column; `what` names it in the error.
fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_a_create_mode_and_a_directory() {
        let u = SqliteUrl::parse("sqlite://data/switchdesk.db");
        assert_eq!(u.url, "sqlite://data/switchdesk.db?mode=rwc");
        assert_eq!(u.path, "data/switchdesk.db");
        assert!(!u.in_memory);

        let u = SqliteUrl::parse("sqlite:///var/lib/sd.db?mode=ro");
        assert_eq!(u.url, "sqlite:///var/lib/sd.db?mode=ro");

        let u = SqliteUrl::parse("sqlite::memory:");
        assert!(u.in_memory);
        assert_eq!(u.url, "sqlite::memory:");
        assert!(SqliteUrl::parse("sqlite://x.db?mode=memory").in_memory);
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_accepted() {
        assert_eq!(
            Backend::from_url("sqlite::memory:").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(Backend::from_url("mysql://h/db").is_err());
    }
}
