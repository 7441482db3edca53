//! The schema migrations of both backends, embedded in the binary.
//!
//! One numbered file per change under `migrations/sqlite` and `migrations/postgres`, with the same
//! number and meaning in both; list each new file in both tables below (a test checks the lists
//! against the directories). An applied migration is never edited: sqlx refuses a changed
//! checksum.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use super::Backend;

/// (version, description, SQL).
type Embedded = &'static [(i64, &'static str, &'static str)];

const SQLITE: Embedded = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "acd",
        include_str!("../../migrations/sqlite/0002_acd.sql"),
    ),
    (
        3,
        "directory",
        include_str!("../../migrations/sqlite/0003_directory.sql"),
    ),
    (
        4,
        "calls_tickets",
        include_str!("../../migrations/sqlite/0004_calls_tickets.sql"),
    ),
    (
        5,
        "fax_mail",
        include_str!("../../migrations/sqlite/0005_fax_mail.sql"),
    ),
    (
        6,
        "updated_at_indexes",
        include_str!("../../migrations/sqlite/0006_updated_at_indexes.sql"),
    ),
    (
        7,
        "write_check_fax_document_error",
        include_str!("../../migrations/sqlite/0007_write_check_fax_document_error.sql"),
    ),
    (
        8,
        "query_indexes",
        include_str!("../../migrations/sqlite/0008_query_indexes.sql"),
    ),
    (
        9,
        "ticket_queues_agents",
        include_str!("../../migrations/sqlite/0009_ticket_queues_agents.sql"),
    ),
    (
        10,
        "calls_by_extension",
        include_str!("../../migrations/sqlite/0010_calls_by_extension.sql"),
    ),
    (
        11,
        "audit",
        include_str!("../../migrations/sqlite/0011_audit.sql"),
    ),
    (
        12,
        "intervals",
        include_str!("../../migrations/sqlite/0012_intervals.sql"),
    ),
    (
        13,
        "soft_removal",
        include_str!("../../migrations/sqlite/0013_soft_removal.sql"),
    ),
    (
        14,
        "user_language",
        include_str!("../../migrations/sqlite/0014_user_language.sql"),
    ),
    (
        15,
        "ticket_assignee",
        include_str!("../../migrations/sqlite/0015_ticket_assignee.sql"),
    ),
    (
        16,
        "waiting_and_promises",
        include_str!("../../migrations/sqlite/0016_waiting_and_promises.sql"),
    ),
    (
        17,
        "agent_service_level",
        include_str!("../../migrations/sqlite/0017_agent_service_level.sql"),
    ),
    (
        18,
        "leadership",
        include_str!("../../migrations/sqlite/0018_leadership.sql"),
    ),
    (
        19,
        "ticket_lines",
        include_str!("../../migrations/sqlite/0019_ticket_lines.sql"),
    ),
    (
        20,
        "live_view",
        include_str!("../../migrations/sqlite/0020_live_view.sql"),
    ),
    (
        21,
        "caller_ratings",
        include_str!("../../migrations/sqlite/0021_caller_ratings.sql"),
    ),
    (
        22,
        "incidents",
        include_str!("../../migrations/sqlite/0022_incidents.sql"),
    ),
    (
        23,
        "chat_sync",
        include_str!("../../migrations/sqlite/0023_chat_sync.sql"),
    ),
];

const POSTGRES: Embedded = &[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "acd",
        include_str!("../../migrations/postgres/0002_acd.sql"),
    ),
    (
        3,
        "directory",
        include_str!("../../migrations/postgres/0003_directory.sql"),
    ),
    (
        4,
        "calls_tickets",
        include_str!("../../migrations/postgres/0004_calls_tickets.sql"),
    ),
    (
        5,
        "fax_mail",
        include_str!("../../migrations/postgres/0005_fax_mail.sql"),
    ),
    (
        6,
        "updated_at_indexes",
        include_str!("../../migrations/postgres/0006_updated_at_indexes.sql"),
    ),
    (
        7,
        "write_check_fax_document_error",
        include_str!("../../migrations/postgres/0007_write_check_fax_document_error.sql"),
    ),
    (
        8,
        "query_indexes",
        include_str!("../../migrations/postgres/0008_query_indexes.sql"),
    ),
    (
        9,
        "ticket_queues_agents",
        include_str!("../../migrations/postgres/0009_ticket_queues_agents.sql"),
    ),
    (
        10,
        "calls_by_extension",
        include_str!("../../migrations/postgres/0010_calls_by_extension.sql"),
    ),
    (
        11,
        "audit",
        include_str!("../../migrations/postgres/0011_audit.sql"),
    ),
    (
        12,
        "intervals",
        include_str!("../../migrations/postgres/0012_intervals.sql"),
    ),
    (
        13,
        "soft_removal",
        include_str!("../../migrations/postgres/0013_soft_removal.sql"),
    ),
    (
        14,
        "user_language",
        include_str!("../../migrations/postgres/0014_user_language.sql"),
    ),
    (
        15,
        "ticket_assignee",
        include_str!("../../migrations/postgres/0015_ticket_assignee.sql"),
    ),
    (
        16,
        "waiting_and_promises",
        include_str!("../../migrations/postgres/0016_waiting_and_promises.sql"),
    ),
    (
        17,
        "agent_service_level",
        include_str!("../../migrations/postgres/0017_agent_service_level.sql"),
    ),
    (
        18,
        "leadership",
        include_str!("../../migrations/postgres/0018_leadership.sql"),
    ),
    (
        19,
        "ticket_lines",
        include_str!("../../migrations/postgres/0019_ticket_lines.sql"),
    ),
    (
        20,
        "live_view",
        include_str!("../../migrations/postgres/0020_live_view.sql"),
    ),
    (
        21,
        "caller_ratings",
        include_str!("../../migrations/postgres/0021_caller_ratings.sql"),
    ),
    (
        22,
        "incidents",
        include_str!("../../migrations/postgres/0022_incidents.sql"),
    ),
    (
        23,
        "chat_sync",
        include_str!("../../migrations/postgres/0023_chat_sync.sql"),
    ),
];

#[derive(Debug)]
struct Source(Embedded);

impl MigrationSource<'static> for Source {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = self
            .0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

pub(crate) async fn migrator(backend: Backend) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Source(match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    fn listed(embedded: Embedded) -> Vec<String> {
        embedded
            .iter()
            .map(|(v, d, _)| format!("{v:04}_{d}.sql"))
            .collect()
    }

    #[test]
    fn every_migration_file_is_embedded_for_both_backends() {
        assert_eq!(listed(SQLITE), files("migrations/sqlite"));
        assert_eq!(listed(POSTGRES), files("migrations/postgres"));
        assert_eq!(listed(SQLITE), listed(POSTGRES));
    }
}
