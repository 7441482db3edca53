//! Test databases: a SQLite file in a temporary directory, or a fresh PostgreSQL database per
//! test (created next to the one in `SWITCHDESK_TEST_POSTGRES_URL`, dropped afterwards).
//!
//! Without that variable the PostgreSQL half is skipped with a message; with
//! `SWITCHDESK_REQUIRE_POSTGRES=1` a missing or unreachable server fails the test instead.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::future::Future;
use std::io::Write as _;
use std::sync::Once;

use sqlx::{Connection as _, Executor as _};
use switchdesk::store::Store;

pub const POSTGRES_URL_VAR: &str = "SWITCHDESK_TEST_POSTGRES_URL";
pub const REQUIRE_POSTGRES_VAR: &str = "SWITCHDESK_REQUIRE_POSTGRES";

/// A store on its own database, and what it takes to remove that database.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, database: String },
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/switchdesk.db", dir.path().display());
        let store = Store::connect(&url, 4).await.expect("open SQLite store");
        TestDb {
            store,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// `None` (after saying so on stderr) when PostgreSQL is not configured and not required.
    pub async fn postgres() -> Option<TestDb> {
        let required = std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1");
        let admin_url = match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ if required => panic!("{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set"),
            _ => {
                skipping(&format!("set {POSTGRES_URL_VAR} to run them"));
                return None;
            }
        };
        sqlx::any::install_default_drivers();
        let mut admin = match sqlx::AnyConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) if required => panic!("PostgreSQL at {POSTGRES_URL_VAR} is unreachable: {e}"),
            Err(e) => {
                skipping(&format!("cannot connect to {POSTGRES_URL_VAR}: {e}"));
                return None;
            }
        };
        let database = format!("sd_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(format!("CREATE DATABASE {database}").as_str())
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let mut url = reqwest::Url::parse(&admin_url).expect("PostgreSQL URL");
        url.set_path(&database);
        let url = url.to_string();
        let store = Store::connect(&url, 4)
            .await
            .expect("open PostgreSQL store");
        Some(TestDb {
            store,
            url,
            cleanup: Cleanup::Postgres {
                admin_url,
                database,
            },
        })
    }

    /// Runs `scenario` on this database, removes the database whether or not it panicked, then
    /// reports the scenario's outcome.
    pub async fn run<F, Fut>(self, scenario: F)
    where
        F: FnOnce(TestDbRef) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = TestDbRef {
            store: self.store.clone(),
            url: self.url.clone(),
        };
        let outcome = tokio::spawn(scenario(handle)).await;
        self.finish().await;
        if let Err(e) = outcome {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
            panic!("scenario did not finish: {e}");
        }
    }

    async fn finish(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::Sqlite(dir) => drop(dir),
            Cleanup::Postgres {
                admin_url,
                database,
            } => {
                let dropped = async {
                    let mut admin = sqlx::AnyConnection::connect(&admin_url).await?;
                    admin
                        .execute(
                            format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str(),
                        )
                        .await?;
                    admin.close().await
                };
                if let Err(e) = dropped.await {
                    eprintln!("could not drop test database {database}: {e}");
                }
            }
        }
    }
}

/// Says once per test binary why the PostgreSQL tests did nothing. Written to the real stderr:
/// `eprintln!` inside a passing test is captured and would never be seen.
fn skipping(reason: &str) {
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\nskipping the PostgreSQL tests: {reason} (or set {REQUIRE_POSTGRES_VAR}=1 to fail)"
        );
    });
}

/// What a scenario gets: the store and the URL it was opened with (to open it again).
#[derive(Clone)]
pub struct TestDbRef {
    pub store: Store,
    pub url: String,
}

impl TestDbRef {
    /// Drops a table behind the store's back, to make the database fail on purpose.
    pub async fn drop_table(&self, table: &str) {
        let cascade = if self.url.starts_with("postgres") {
            " CASCADE"
        } else {
            ""
        };
        self.execute(&format!("DROP TABLE {table}{cascade}")).await;
    }

    /// Runs `sql` behind the store's back: a row as an older version (or a hand) left it.
    pub async fn execute(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url)
            .await
            .expect("connect to the test database");
        conn.execute(sql).await.expect("the statement runs");
        let _ = conn.close().await;
    }
}

/// Runs each scenario `async fn name(db: TestDbRef)` twice: `sqlite::name` on a temporary
/// file and `postgres::name` on a fresh PostgreSQL database (see [`TestDb::postgres`]). The
/// test file must import `TestDb` from this module.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::TestDb::sqlite().await.run(super::$scenario).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    if let Some(db) = super::TestDb::postgres().await {
                        db.run(super::$scenario).await;
                    }
                }
            )*
        }
    };
}

pub mod service;
