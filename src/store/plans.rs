//! Every filter and order the API and the agent's pop-up put to the calls, tickets and audit tables is
//! served by an index: SQLite's own query plan for each, on the migrated schema, may walk an
//! index but never read a whole table; the tickets list by queue or agent reads that queue's or
//! agent's rows in the list's order. (The figures at a million calls are in the `queries`
//! benchmark; this test keeps a new filter from shipping without its index.)

use sqlx::Row as _;

use super::calls::calls_query;
use super::filter::Filter;
use super::tickets::tickets_query;
use super::{CallFilter, Store, TicketFilter};

/// SQLite's plan for `sql`: one line per step (`SEARCH calls USING INDEX ...`).
async fn plan(store: &Store, sql: &str, values: &Filter<'_>) -> Vec<String> {
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let rows = values
        .bind(sqlx::query(&explain))
        .fetch_all(&store.pool)
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get::<String, _>("detail").unwrap())
        .collect()
}

/// A step that reads a table row by row without an index.
fn full_scan(step: &str) -> bool {
    step.starts_with("SCAN ") && !step.contains("USING INDEX") && !step.contains("COVERING INDEX")
}

#[tokio::test]
async fn every_calls_and_tickets_filter_is_served_by_an_index() {
    let store = Store::connect("sqlite::memory:", 1).await.unwrap();
    let text = |v: &str| Some(v.to_owned());
    let calls = [
        (
            "the pop-up by contact",
            CallFilter {
                contact_id: Some(7),
                limit: Some(5),
                ..CallFilter::default()
            },
        ),
        (
            "the pop-up by number",
            CallFilter {
                caller_number: text("+74951234567"),
                limit: Some(5),
                ..CallFilter::default()
            },
        ),
        (
            "by an internal extension",
            CallFilter {
                caller_number: text("1001"),
                ..CallFilter::default()
            },
        ),
        (
            "by queue",
            CallFilter {
                queue: text("support"),
                ..CallFilter::default()
            },
        ),
        (
            "by agent",
            CallFilter {
                agent: text("alice"),
                ..CallFilter::default()
            },
        ),
        (
            "by outcome",
            CallFilter {
                outcome: text("abandoned"),
                ..CallFilter::default()
            },
        ),
        (
            "by organization",
            CallFilter {
                organization_id: Some(3),
                ..CallFilter::default()
            },
        ),
        (
            "by ticket",
            CallFilter {
                ticket_id: Some(9),
                ..CallFilter::default()
            },
        ),
        (
            "a period",
            CallFilter {
                from: Some(1),
                to: Some(2),
                ..CallFilter::default()
            },
        ),
        ("everything, newest first", CallFilter::default()),
    ];
    for (what, filter) in &calls {
        let (sql, values) = calls_query(filter);
        let steps = plan(&store, &sql, &values).await;
        assert!(
            !steps.iter().any(|s| full_scan(s)),
            "calls {what}: {steps:?}"
        );
    }
    let tickets = [
        (
            "open, by contact",
            TicketFilter {
                status: text("open"),
                contact_id: Some(7),
                ..TicketFilter::default()
            },
        ),
        (
            "open, by number",
            TicketFilter {
                status: text("open"),
                caller_number: text("+74951234567"),
                ..TicketFilter::default()
            },
        ),
        (
            "by status",
            TicketFilter {
                status: text("resolved"),
                ..TicketFilter::default()
            },
        ),
        (
            "by queue",
            TicketFilter {
                queue: text("support"),
                ..TicketFilter::default()
            },
        ),
        (
            "by agent",
            TicketFilter {
                agent: text("alice"),
                ..TicketFilter::default()
            },
        ),
        (
            "by organization",
            TicketFilter {
                organization_id: Some(3),
                ..TicketFilter::default()
            },
        ),
        (
            "a period",
            TicketFilter {
                from: Some(1),
                to: Some(2),
                ..TicketFilter::default()
            },
        ),
        (
            "by assignee",
            TicketFilter {
                assignee: text("alice"),
                ..TicketFilter::default()
            },
        ),
        ("everything, starred then newest", TicketFilter::default()),
    ];
    for (what, filter) in &tickets {
        let (sql, values) = tickets_query(filter);
        let steps = plan(&store, &sql, &values).await;
        assert!(
            !steps.iter().any(|s| full_scan(s)),
            "tickets {what}: {steps:?}"
        );
    }
}

#[tokio::test]
async fn tickets_by_queue_or_agent_are_read_in_order_from_their_rows() {
    let store = Store::connect("sqlite::memory:", 1).await.unwrap();
    let text = |v: &str| Some(v.to_owned());
    let by_queue = "SEARCH l USING COVERING INDEX ticket_queues_listed (queue=?)";
    let by_agent = "SEARCH l USING COVERING INDEX ticket_agents_listed (agent=?)";
    let cases = [
        (
            "by queue",
            TicketFilter {
                queue: text("support"),
                ..TicketFilter::default()
            },
            by_queue,
        ),
        (
            "by agent",
            TicketFilter {
                agent: text("alice"),
                ..TicketFilter::default()
            },
            by_agent,
        ),
        (
            "open, by queue and agent",
            TicketFilter {
                status: text("open"),
                queue: text("support"),
                agent: text("alice"),
                ..TicketFilter::default()
            },
            by_queue,
        ),
        (
            "resolved, by agent, a period, second page",
            TicketFilter {
                status: text("resolved"),
                agent: text("alice"),
                from: Some(1),
                to: Some(2),
                limit: Some(20),
                offset: Some(20),
                ..TicketFilter::default()
            },
            by_agent,
        ),
    ];
    for (what, filter, first) in &cases {
        let (sql, values) = tickets_query(filter);
        let steps = plan(&store, &sql, &values).await;
        // The outer loop walks the queue's (agent's) rows, and nothing is sorted afterwards:
        // a page stops reading once it is full.
        assert_eq!(
            steps.first().map(String::as_str),
            Some(*first),
            "tickets {what}: {steps:?}"
        );
        assert!(
            !steps
                .iter()
                .any(|s| full_scan(s) || s.contains("TEMP B-TREE")),
            "tickets {what}: {steps:?}"
        );
    }
}

#[tokio::test]
async fn every_audit_filter_is_read_from_an_index() {
    use super::audit::audit_query;
    use super::AuditFilter;
    let store = Store::connect("sqlite::memory:", 1).await.unwrap();
    let text = |v: &str| Some(v.to_owned());
    let cases = [
        ("everything, newest first", AuditFilter::default()),
        (
            "by kind, next page",
            AuditFilter {
                kind: text("queue"),
                before: Some(500),
                ..AuditFilter::default()
            },
        ),
        (
            "by actor",
            AuditFilter {
                actor: text("root"),
                ..AuditFilter::default()
            },
        ),
        (
            "by target",
            AuditFilter {
                target: text("support"),
                ..AuditFilter::default()
            },
        ),
        (
            "a period",
            AuditFilter {
                from: Some(1),
                to: Some(2),
                ..AuditFilter::default()
            },
        ),
        (
            "by kind and actor in a period",
            AuditFilter {
                kind: text("user"),
                actor: text("root"),
                from: Some(1),
                to: Some(2),
                ..AuditFilter::default()
            },
        ),
    ];
    for (what, filter) in &cases {
        let (sql, values) = audit_query(filter);
        let steps = plan(&store, &sql, &values).await;
        // Unfiltered, the log is read backwards along its own key (the rowid, the list's
        // order) and stops at the page; every filter is a search of an index.
        let unfiltered = what.starts_with("everything");
        assert!(
            !steps
                .iter()
                .any(|s| full_scan(s) && !(unfiltered && s == "SCAN audit_log")),
            "audit {what}: {steps:?}"
        );
        if !what.contains("period") {
            assert!(
                !steps.iter().any(|s| s.contains("TEMP B-TREE")),
                "audit {what} is sorted after reading: {steps:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_removed_records_list_is_read_from_its_partial_index() {
    let store = Store::connect("sqlite::memory:", 1).await.unwrap();
    for table in ["contacts", "organizations"] {
        // As `Store::records_after_by_removal` asks for a page of removed records.
        let sql = format!(
            "SELECT * FROM {table} WHERE id > 0 AND removed_at IS NOT NULL ORDER BY id LIMIT 100"
        );
        let steps = plan(&store, &sql, &Filter::default()).await;
        assert!(
            steps
                .iter()
                .any(|s| s.contains(&format!("INDEX {table}_removed"))),
            "{table}: {steps:?}"
        );
        assert!(
            !steps.iter().any(|s| s.contains("TEMP B-TREE")),
            "{table}: {steps:?}"
        );
    }
}
