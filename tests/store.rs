//! The store, scenario by scenario, on SQLite and on PostgreSQL.
//!
//! Every scenario runs twice: `sqlite::<name>` on a temporary file and `postgres::<name>` on a
//! fresh database next to `SWITCHDESK_TEST_POSTGRES_URL` (skipped without it, unless
//! `SWITCHDESK_REQUIRE_POSTGRES=1`).

#[macro_use]
mod common;

use std::time::Duration;

use common::{TestDb, TestDbRef};
use switchdesk::blocklist::{Entry, Treatment};
use switchdesk::store::{Backend, Peek, Store, StoreError};
use switchdesk::users::{self, hash_token, Role};

on_both_backends!(
    migrations_run_twice_and_keep_data,
    users_are_unique_by_name,
    users_change_role_password_and_status,
    sessions_expire_and_end,
    sessions_need_an_existing_user,
    api_tokens_are_found_by_hash_until_revoked,
    sign_in_with_password_session_and_token,
    rows_stored_before_a_value_was_refused_are_named_or_kept_safe,
    a_peek_counts_users_read_only,
);

/// `check-config`'s look: the users of an existing database, without a migration or a write.
async fn a_peek_counts_users_read_only(db: TestDbRef) {
    assert_eq!(Store::peek(&db.url).await.unwrap(), Peek::Users(0));
    db.store
        .create_user("alice", Role::Admin, "hash")
        .await
        .unwrap();
    assert_eq!(Store::peek(&db.url).await.unwrap(), Peek::Users(1));
}

#[tokio::test]
async fn a_peek_never_creates_a_missing_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/missing.db");
    let url = format!("sqlite://{}", path.display());
    assert_eq!(
        Store::peek(&url).await.unwrap(),
        Peek::Missing(path.clone())
    );
    assert!(!path.exists() && !path.parent().unwrap().exists());
}

async fn migrations_run_twice_and_keep_data(db: TestDbRef) {
    let store = db.store;
    store.migrate().await.unwrap();
    store
        .create_user("alice", Role::Agent, "hash")
        .await
        .unwrap();
    store.migrate().await.unwrap();

    // A second process opening the same database migrates again without harm.
    let again = Store::connect(&db.url, 2).await.unwrap();
    again.migrate().await.unwrap();
    let alice = again.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(alice.role, Role::Agent);
    assert_eq!(again.backend(), store.backend());
    again.close().await;
}

async fn users_are_unique_by_name(db: TestDbRef) {
    let store = db.store;
    let before = switchdesk::clock::now();
    let alice = store
        .create_user("alice", Role::Supervisor, "h1")
        .await
        .unwrap();
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.role, Role::Supervisor);
    assert!(!alice.disabled);
    assert!(alice.created_at >= before);

    let duplicate = store.create_user("alice", Role::Agent, "h2").await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(ref what)) if what.contains("alice")),
        "{duplicate:?}"
    );

    store.create_user("bob", Role::Agent, "h3").await.unwrap();
    assert_eq!(
        store.user_by_name("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_by_name("carol").await.unwrap(), None);

    let (found, hash) = store.user_credentials("alice").await.unwrap().unwrap();
    assert_eq!((found, hash.as_str()), (alice, "h1"));

    let names: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
}

async fn users_change_role_password_and_status(db: TestDbRef) {
    let store = db.store;
    store
        .create_user("alice", Role::Agent, "old")
        .await
        .unwrap();

    store.set_role("alice", Role::Manager).await.unwrap();
    store.set_password("alice", "new").await.unwrap();
    let (alice, hash) = store.user_credentials("alice").await.unwrap().unwrap();
    assert_eq!((alice.role, hash.as_str()), (Role::Manager, "new"));

    store.set_disabled("alice", true).await.unwrap();
    assert!(store.user_by_name("alice").await.unwrap().unwrap().disabled);
    store.set_disabled("alice", false).await.unwrap();
    assert!(!store.user_by_name("alice").await.unwrap().unwrap().disabled);

    for missing in [
        store.set_role("nobody", Role::Admin).await,
        store.set_password("nobody", "x").await,
        store.set_disabled("nobody", true).await,
    ] {
        assert!(
            matches!(missing, Err(StoreError::NotFound(_))),
            "{missing:?}"
        );
    }
}

async fn sessions_expire_and_end(db: TestDbRef) {
    let store = db.store;
    let alice = store.create_user("alice", Role::Agent, "h").await.unwrap();
    let now = 1_700_000_000_000;
    store
        .create_session(alice.id, "live", now, now + 60_000)
        .await
        .unwrap();
    store
        .create_session(alice.id, "short", now, now + 1_000)
        .await
        .unwrap();

    assert_eq!(
        store.session_user("live", now + 500).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.session_user("short", now + 999).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.session_user("short", now + 1_000).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.session_user("unknown", now).await.unwrap(), None);

    assert_eq!(store.purge_expired_sessions(now + 1_000).await.unwrap(), 1);
    assert_eq!(
        store.session_user("short", now).await.unwrap(),
        None,
        "purged"
    );

    assert!(store.delete_session("live").await.unwrap());
    assert!(!store.delete_session("live").await.unwrap());
    assert_eq!(store.session_user("live", now).await.unwrap(), None);

    // Disabling a user or changing the password ends their sessions.
    store
        .create_session(alice.id, "a", now, now + 60_000)
        .await
        .unwrap();
    store.set_disabled("alice", true).await.unwrap();
    store.set_disabled("alice", false).await.unwrap();
    assert_eq!(store.session_user("a", now).await.unwrap(), None);
    store
        .create_session(alice.id, "b", now, now + 60_000)
        .await
        .unwrap();
    store.set_password("alice", "h2").await.unwrap();
    assert_eq!(store.session_user("b", now).await.unwrap(), None);

    // A role change shows on the next request of an open session.
    store
        .create_session(alice.id, "c", now, now + 60_000)
        .await
        .unwrap();
    store.set_role("alice", Role::Supervisor).await.unwrap();
    let seen = store.session_user("c", now).await.unwrap().unwrap();
    assert_eq!(seen.role, Role::Supervisor);
}

async fn sessions_need_an_existing_user(db: TestDbRef) {
    let store = db.store;
    let orphan = store.create_session(4242, "x", 0, 1_000).await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
}

async fn api_tokens_are_found_by_hash_until_revoked(db: TestDbRef) {
    let store = db.store;
    let created = store
        .create_api_token("prometheus", Role::Supervisor, "hash-1")
        .await
        .unwrap();
    assert_eq!(
        (created.name.as_str(), created.role),
        ("prometheus", Role::Supervisor)
    );
    assert!(!created.revoked);
    assert_eq!(created.last_used_at, None);

    let now = switchdesk::clock::now();
    assert_eq!(
        store.token_role("hash-1", now).await.unwrap(),
        Some(("prometheus".to_string(), Role::Supervisor))
    );
    assert_eq!(store.token_role("hash-2", now).await.unwrap(), None);

    let listed = store.list_api_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(now), "use is recorded");

    let duplicate = store
        .create_api_token("prometheus", Role::Agent, "hash-3")
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );

    store.revoke_api_token("prometheus").await.unwrap();
    assert_eq!(store.token_role("hash-1", now).await.unwrap(), None);
    assert!(store.list_api_tokens().await.unwrap()[0].revoked);

    let missing = store.revoke_api_token("grafana").await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn sign_in_with_password_session_and_token(db: TestDbRef) {
    let store = db.store;
    let alice = users::add_user(&store, "alice", Role::Supervisor, "correct horse")
        .await
        .unwrap();
    let (_, stored_hash) = store.user_credentials("alice").await.unwrap().unwrap();
    assert!(
        stored_hash.starts_with("$argon2id$"),
        "only the hash is stored"
    );

    let short = users::add_user(&store, "bob", Role::Agent, "short").await;
    assert!(
        matches!(short, Err(users::UserError::InvalidPassword)),
        "{short:?}"
    );
    let bad_name = users::add_user(&store, "bob smith", Role::Agent, "long enough").await;
    assert!(
        matches!(bad_name, Err(users::UserError::InvalidName(_))),
        "{bad_name:?}"
    );

    let signed_in = users::authenticate(&store, "alice", "correct horse")
        .await
        .unwrap();
    assert_eq!(signed_in, Some(alice.clone()));
    assert_eq!(
        users::authenticate(&store, "alice", "wrong").await.unwrap(),
        None
    );
    assert_eq!(
        users::authenticate(&store, "mallory", "correct horse")
            .await
            .unwrap(),
        None
    );

    let token = users::start_session(&store, &alice, Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(token.starts_with("sds_"));
    assert_eq!(
        store
            .session_user(&token, switchdesk::clock::now())
            .await
            .unwrap(),
        None,
        "only the hash is a key"
    );
    assert_eq!(
        users::session_user(&store, &token).await.unwrap(),
        Some(alice.clone())
    );
    users::end_session(&store, &token).await.unwrap();
    assert_eq!(users::session_user(&store, &token).await.unwrap(), None);

    store.set_disabled("alice", true).await.unwrap();
    assert_eq!(
        users::authenticate(&store, "alice", "correct horse")
            .await
            .unwrap(),
        None
    );

    let secret = users::add_api_token(&store, "scraper", Role::Agent)
        .await
        .unwrap();
    assert!(secret.starts_with("sdk_"));
    let stored = store
        .token_role(&hash_token(&secret), switchdesk::clock::now())
        .await
        .unwrap();
    assert_eq!(stored, Some(("scraper".to_string(), Role::Agent)));
    assert_eq!(
        users::api_token_role(&store, &secret).await.unwrap(),
        Some(("scraper".to_string(), Role::Agent))
    );
    users::revoke_api_token(&store, "scraper").await.unwrap();
    assert_eq!(users::api_token_role(&store, &secret).await.unwrap(), None);
}

/// SQLite only: the directory and file are created, and the database runs in WAL mode.
#[tokio::test]
async fn sqlite_creates_its_directory_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/switchdesk.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url, 2).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.create_user("alice", Role::Agent, "h").await.unwrap();
    assert!(path.exists());
    assert!(
        dir.path().join("nested/deeper/switchdesk.db-wal").exists(),
        "WAL journal"
    );
    store.close().await;
}

#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_schema() {
    let store = Store::connect("sqlite::memory:", 8).await.unwrap();
    store.create_user("alice", Role::Agent, "h").await.unwrap();
    assert!(store.user_by_name("alice").await.unwrap().is_some());
}

#[tokio::test]
async fn unknown_database_urls_are_refused() {
    let refused = Store::connect("mysql://localhost/db", 1).await;
    assert!(
        matches!(refused, Err(StoreError::UnsupportedUrl)),
        "{refused:?}"
    );
}

/// PostgreSQL only (SQLite's commit-time failure is a full disk: `tests/full_disk.rs`): a
/// write refused at COMMIT — here by a deferred constraint trigger, as a full disk or a
/// serialization failure would — is an error to the caller, never the id or row its
/// `RETURNING` produced before the commit; nothing is stored, and once the cause is gone the
/// same pool writes again.
#[tokio::test]
async fn postgres_a_write_refused_at_commit_is_never_acknowledged() {
    use sqlx::{Connection as _, Executor as _};
    use switchdesk::directory::model::Contact;

    let Some(db) = TestDb::postgres().await else {
        return;
    };
    db.run(async |db: TestDbRef| {
        let store = db.store;
        store.create_user("alice", Role::Agent, "h").await.unwrap();
        let mut admin = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        admin
            .execute(
                "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$",
            )
            .await
            .unwrap();
        for table in ["contacts", "users"] {
            let sql = format!(
                "CREATE CONSTRAINT TRIGGER refuse_{table} AFTER INSERT OR UPDATE ON {table} \
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()"
            );
            admin.execute(sql.as_str()).await.unwrap();
        }
        let ghost = Contact {
            first_name: "Ghost".into(),
            ..Contact::default()
        };
        // INSERT ... RETURNING id, UPDATE ... RETURNING id, both under autocommit.
        let saved = store.save_record(&ghost).await;
        assert!(saved.is_err(), "acknowledged: {saved:?}");
        let created = store.create_user("bob", Role::Agent, "h").await;
        assert!(created.is_err(), "acknowledged: {created:?}");
        let promoted = store.set_role("alice", Role::Admin).await;
        assert!(promoted.is_err(), "acknowledged: {promoted:?}");

        let contacts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts")
            .fetch_one(&mut admin)
            .await
            .unwrap();
        assert_eq!(contacts, 0);
        assert!(store.user_by_name("bob").await.unwrap().is_none());
        let alice = store.user_by_name("alice").await.unwrap().unwrap();
        assert_eq!(alice.role, Role::Agent);

        for table in ["contacts", "users"] {
            let sql = format!("DROP TRIGGER refuse_{table} ON {table}");
            admin.execute(sql.as_str()).await.unwrap();
        }
        // Every pooled connection is usable again (none kept a failed transaction).
        for n in 0..6 {
            let id = store
                .save_record(&Contact {
                    first_name: format!("Back{n}"),
                    ..Contact::default()
                })
                .await
                .unwrap();
            assert!(id > 0);
        }
        store.set_role("alice", Role::Admin).await.unwrap();
        let _ = admin.close().await;
    })
    .await;
}

/// Rows written before switchdesk refused values FreeSWITCH would interpret (or by hand): a
/// queue that no longer reads is named on its own and does not hide the others; a blocklist
/// entry whose prompt is refused still keeps the caller out, with a plain reject.
async fn rows_stored_before_a_value_was_refused_are_named_or_kept_safe(db: TestDbRef) {
    for name in ["sales", "support"] {
        db.store
            .save_queue(&switchdesk::acd::QueueConfig::named(name))
            .await
            .unwrap();
    }
    db.execute(
        "UPDATE acd_queues SET config = REPLACE(config, 'local_stream://moh', '${system(id)}') \
         WHERE name = 'sales'",
    )
    .await;
    let rows = db.store.queue_rows().await.unwrap();
    assert_eq!(rows.len(), 2);
    let refused = rows[0].as_ref().unwrap_err().to_string();
    assert!(
        refused.contains("queue sales") && refused.contains("'$'"),
        "{refused}"
    );
    assert_eq!(rows[1].as_ref().unwrap().name, "support");
    assert!(
        db.store.queues().await.is_err(),
        "the strict read names it too"
    );

    let entry: Entry = serde_json::from_value(serde_json::json!({
        "match": {"type": "number", "value": "+74951112233"},
        "direction": "inbound",
        "treatment": {"type": "prompt", "file": "ivr/ivr-call_rejected.wav"}
    }))
    .unwrap();
    let saved = db.store.save_block(&entry).await.unwrap();
    db.execute("UPDATE blocklist SET action_arg = '${system(id)}'")
        .await;
    let blocks = db.store.blocks().await.unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].id, saved.id);
    assert_eq!(blocks[0].matches, entry.matches);
    assert_eq!(blocks[0].treatment, Treatment::default());
}
