//! What several benchmarks share: an empty database on either backend, and its removal.

#![allow(dead_code)]

use sqlx::{Connection as _, Executor as _};
use switchdesk::store::Store;

/// An empty database, and how to remove it.
pub enum Fresh {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, database: String },
}

pub async fn fresh(postgres: Option<&str>) -> (Store, Fresh) {
    match postgres {
        None => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/bench.db", dir.path().display());
            (
                Store::connect(&url, 4).await.unwrap(),
                Fresh::Sqlite { _dir: dir },
            )
        }
        Some(admin_url) => {
            let database = format!("sd_bench_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::AnyConnection::connect(admin_url).await.unwrap();
            admin
                .execute(format!("CREATE DATABASE {database}").as_str())
                .await
                .unwrap();
            admin.close().await.unwrap();
            let mut url = reqwest::Url::parse(admin_url).unwrap();
            url.set_path(&database);
            let store = Store::connect(url.as_str(), 4).await.unwrap();
            let admin_url = admin_url.to_owned();
            (
                store,
                Fresh::Postgres {
                    admin_url,
                    database,
                },
            )
        }
    }
}

pub async fn remove(store: Store, fresh: Fresh) {
    store.close().await;
    if let Fresh::Postgres {
        admin_url,
        database,
    } = fresh
    {
        let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
        admin
            .execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
    }
}

/// The backends to measure: SQLite always, PostgreSQL (its admin URL) when
/// `SWITCHDESK_TEST_POSTGRES_URL` is set.
pub fn backends() -> Vec<(&'static str, Option<String>)> {
    let postgres = std::env::var("SWITCHDESK_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty());
    if postgres.is_none() {
        eprintln!("SWITCHDESK_TEST_POSTGRES_URL is not set: SQLite only");
    }
    let mut backends = vec![("sqlite", None)];
    backends.extend(postgres.map(|url| ("postgres", Some(url))));
    backends
}
