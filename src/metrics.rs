//! A small Prometheus registry: counters and gauges with labels, rendered in the text
//! exposition format 0.0.4, and a JSON snapshot for the dashboard.
//!
//! Cheap enough to call for every ESL event: updating an existing series takes one lock and
//! allocates nothing. It never exports anything by itself and knows nothing of HTTP; the web
//! layer serves [`Metrics::render`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Map, Value};

pub mod queues;

/// Events received from FreeSWITCH, labelled `event` (e.g. `CHANNEL_PARK`).
pub const ESL_EVENTS_TOTAL: &str = "switchdesk_esl_events_total";
/// 1 while the event socket is authenticated and subscribed, else 0.
pub const ESL_CONNECTED: &str = "switchdesk_esl_connected";
pub const ESL_RECONNECTS_TOTAL: &str = "switchdesk_esl_reconnects_total";
/// Events dropped because a consumer fell behind.
pub const ESL_EVENTS_SHED_TOTAL: &str = "switchdesk_esl_events_shed_total";
/// HTTP responses, labelled `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "switchdesk_http_requests_total";
/// CDR POSTs, labelled `result` (stored, duplicate, rejected, unauthorized, failed).
pub const CDR_RECEIVED_TOTAL: &str = "switchdesk_cdr_received_total";
/// Restarts of supervised tasks after a panic or an unexpected end, labelled `task`.
pub const TASK_RESTARTS_TOTAL: &str = "switchdesk_task_restarts_total";
/// 1 while this instance leads (drives the queues), 0 while it stands by; by `instance`.
pub const LEADER: &str = "switchdesk_leader";
/// Times this instance took the lead (each a new fencing epoch); by `instance`.
pub const LEADER_TAKEOVERS_TOTAL: &str = "switchdesk_leader_takeovers_total";
/// Times the switchboard dropped a node's events or commands because the queue between two of
/// its tasks was full, and resynced the node; labelled `node` and `queue` (`inbox`, `steps`).
pub const SWITCHBOARD_LAGGED_TOTAL: &str = "switchdesk_switchboard_lagged_total";

/// Callers waiting in a queue now (callbacks keeping a place not counted), labelled `queue`.
pub const QUEUE_WAITING: &str = "switchdesk_queue_waiting";
/// How long the queue's longest-waiting caller has waited, in seconds, labelled `queue`.
pub const QUEUE_LONGEST_WAIT_SECONDS: &str = "switchdesk_queue_longest_wait_seconds";
/// A queue's member agents by state, labelled `queue` and `state` (one of [`AGENT_STATES`]).
pub const QUEUE_AGENTS: &str = "switchdesk_queue_agents";
/// Answered within the service-level threshold / answered, labelled `queue`.
pub const QUEUE_SERVICE_LEVEL: &str = "switchdesk_queue_service_level";
/// Callers of a queue by outcome, labelled `queue` and `outcome` (one of [`CALL_OUTCOMES`]).
pub const QUEUE_CALLS_TOTAL: &str = "switchdesk_queue_calls_total";
/// Calls an agent was connected to, labelled `agent`.
pub const AGENT_CALLS_TOTAL: &str = "switchdesk_agent_calls_total";
/// An agent's talk time, labelled `agent`.
pub const AGENT_TALK_SECONDS_TOTAL: &str = "switchdesk_agent_talk_seconds_total";

/// When the last phone-book sync of a source ended (Unix seconds), labelled `source`.
pub const PHONEBOOK_SYNC_LAST_RUN: &str = "switchdesk_phonebook_sync_last_run_timestamp_seconds";
/// When the last phone-book sync of a source that did not fail ended, labelled `source`.
pub const PHONEBOOK_SYNC_LAST_SUCCESS: &str =
    "switchdesk_phonebook_sync_last_success_timestamp_seconds";
/// 1 when the last sync of a source failed (unreachable, refused, the database), labelled
/// `source`.
pub const PHONEBOOK_SYNC_FAILED: &str = "switchdesk_phonebook_sync_failed";
/// The last successful sync's records by outcome, labelled `source` and `outcome` (created,
/// updated, unchanged, removed, restored, refused).
pub const PHONEBOOK_SYNC_RECORDS: &str = "switchdesk_phonebook_sync_records";

/// The values of `state` in [`QUEUE_AGENTS`]: [`crate::acd::AgentView::state`].
pub const AGENT_STATES: &[&str] = &[
    "available",
    "ringing",
    "in_call",
    "wrap_up",
    "on_break",
    "logged_out",
];

/// The values of `outcome` in [`QUEUE_CALLS_TOTAL`].
pub const CALL_OUTCOMES: &[&str] = &[
    "offered",
    "answered",
    "abandoned",
    "overflowed",
    "moved",
    "callback_requested",
    "exited",
];

/// The values of `result` in [`CDR_RECEIVED_TOTAL`].
pub const CDR_RESULTS: &[&str] = &["stored", "duplicate", "rejected", "unauthorized", "failed"];

/// The values of `queue` in [`SWITCHBOARD_LAGGED_TOTAL`].
pub const LAGGED_QUEUES: &[&str] = &["inbox", "steps"];

/// Every family the service exports, with its help text and type: each is rendered (HELP and
/// TYPE) from the moment the registry is made, before any of its series is recorded.
pub const DOCUMENTED: &[(&str, &str, &str)] = &[
    (
        LEADER,
        "1 while this instance leads (drives the queues), 0 while it stands by.",
        "gauge",
    ),
    (
        LEADER_TAKEOVERS_TOTAL,
        "Times this instance took the lead, each a new fencing epoch.",
        "counter",
    ),
    (
        ESL_EVENTS_TOTAL,
        "Events received from FreeSWITCH, by event name.",
        "counter",
    ),
    (
        ESL_CONNECTED,
        "1 while the event socket is connected and subscribed.",
        "gauge",
    ),
    (
        ESL_RECONNECTS_TOTAL,
        "Event-socket reconnects after a lost connection.",
        "counter",
    ),
    (
        ESL_EVENTS_SHED_TOTAL,
        "Events a slow consumer missed.",
        "counter",
    ),
    (HTTP_REQUESTS_TOTAL, "HTTP responses by status.", "counter"),
    (
        CDR_RECEIVED_TOTAL,
        "CDR POSTs by result (stored, duplicate, rejected, unauthorized, failed).",
        "counter",
    ),
    (
        TASK_RESTARTS_TOTAL,
        "Restarts of supervised background tasks after a panic or an unexpected end.",
        "counter",
    ),
    (
        SWITCHBOARD_LAGGED_TOTAL,
        "Times a node's events (inbox) or commands (steps) were dropped because the \
         switchboard's queue was full, and the node was read again.",
        "counter",
    ),
    (
        QUEUE_WAITING,
        "Callers waiting in the queue now (callbacks keeping a place not counted).",
        "gauge",
    ),
    (
        QUEUE_LONGEST_WAIT_SECONDS,
        "How long the longest-waiting caller of the queue has waited, in seconds.",
        "gauge",
    ),
    (QUEUE_AGENTS, "The queue's member agents by state.", "gauge"),
    (
        QUEUE_SERVICE_LEVEL,
        "Answered within the queue's service-level threshold / answered (0 until a call is \
         answered).",
        "gauge",
    ),
    (
        QUEUE_CALLS_TOTAL,
        "Callers of the queue by outcome (offered, answered, abandoned, overflowed, moved, \
         callback_requested, exited).",
        "counter",
    ),
    (
        AGENT_CALLS_TOTAL,
        "Calls an agent was connected to.",
        "counter",
    ),
    (
        AGENT_TALK_SECONDS_TOTAL,
        "An agent's talk time, in seconds.",
        "counter",
    ),
    (
        PHONEBOOK_SYNC_LAST_RUN,
        "When the last phone-book sync of the source ended, in Unix seconds.",
        "gauge",
    ),
    (
        PHONEBOOK_SYNC_LAST_SUCCESS,
        "When the last phone-book sync of the source that did not fail ended, in Unix seconds.",
        "gauge",
    ),
    (
        PHONEBOOK_SYNC_FAILED,
        "1 when the last phone-book sync of the source failed.",
        "gauge",
    ),
    (
        PHONEBOOK_SYNC_RECORDS,
        "Records of the last phone-book sync of the source by outcome (created, updated, \
         unchanged, removed, restored, refused).",
        "gauge",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

struct Series {
    labels: Box<[(&'static str, String)]>,
    value: f64,
}

struct Family {
    help: &'static str,
    kind: Kind,
    /// Keyed by the rendered label set (`a="1",b="2"`, sorted by label name), which is also
    /// exactly what `render` prints between the braces.
    series: BTreeMap<String, Series>,
}

#[derive(Default)]
struct Registry {
    families: BTreeMap<&'static str, Family>,
    /// Reused for rendering lookup keys, so updates to existing series never allocate.
    scratch: String,
}

/// The process-wide metrics registry; share it as `Arc<Metrics>`.
pub struct Metrics {
    registry: Mutex<Registry>,
}

impl Metrics {
    /// A registry holding every [`DOCUMENTED`] family, with no series yet.
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::default();
        for (name, help, kind) in DOCUMENTED {
            let kind = if *kind == "gauge" {
                Kind::Gauge
            } else {
                Kind::Counter
            };
            registry.families.insert(
                name,
                Family {
                    help,
                    kind,
                    series: BTreeMap::new(),
                },
            );
        }
        Arc::new(Metrics {
            registry: Mutex::new(registry),
        })
    }

    /// Records a counter's series at zero unless it exists, so it is exported before its
    /// first increase.
    pub fn zero(&self, name: &'static str, labels: &[(&'static str, &str)]) {
        let help = DOCUMENTED
            .iter()
            .find(|(documented, _, _)| *documented == name)
            .map_or(name, |(_, help, _)| help);
        self.update(name, help, Kind::Counter, labels, |_| {});
    }

    /// Sets a counter kept elsewhere (the queue engine's) to its current value.
    pub fn set_counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        self.update(name, help, Kind::Counter, labels, |current| {
            *current = value
        });
    }

    /// Drops the series of `name` whose `label` is not one `keep` accepts (a queue or an agent
    /// that was removed).
    pub fn retain(&self, name: &str, label: &str, keep: impl Fn(&str) -> bool) {
        let mut registry = self.lock();
        if let Some(family) = registry.families.get_mut(name) {
            family.series.retain(|_, series| {
                series
                    .labels
                    .iter()
                    .find(|(k, _)| *k == label)
                    .is_none_or(|(_, v)| keep(v))
            });
        }
    }

    /// Adds `by` to a counter, creating it (at zero) on first use. `help` is kept from the first
    /// call. Labels given sorted by name (as a single label always is) skip a sort.
    pub fn inc(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        by: u64,
    ) {
        // Counters stay exact up to 2^53, far beyond any realistic event count.
        self.update(name, help, Kind::Counter, labels, |value| {
            *value += by as f64
        });
    }

    /// Sets a gauge.
    pub fn set(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        self.update(name, help, Kind::Gauge, labels, |current| *current = value);
    }

    /// The current value of one series, if it was ever recorded.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut key = String::new();
        write_key(&mut key, labels);
        let registry = self.lock();
        registry
            .families
            .get(name)
            .and_then(|family| family.series.get(key.as_str()))
            .map(|series| series.value)
    }

    /// Everything in the Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let registry = self.lock();
        let mut out = String::with_capacity(256 * registry.families.len().max(1));
        for (name, family) in &registry.families {
            out.push_str("# HELP ");
            out.push_str(name);
            out.push(' ');
            escape(&mut out, family.help, false);
            out.push('\n');
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
            for (key, series) in &family.series {
                out.push_str(name);
                if !key.is_empty() {
                    out.push('{');
                    out.push_str(key);
                    out.push('}');
                }
                out.push(' ');
                write_value(&mut out, series.value);
                out.push('\n');
            }
        }
        out
    }

    /// `{name: {"type", "help", "series": [{"labels": {..}, "value": n}]}}`, for the dashboard.
    pub fn snapshot_json(&self) -> Value {
        let registry = self.lock();
        let mut families = Map::new();
        for (name, family) in &registry.families {
            let series: Vec<Value> = family
                .series
                .values()
                .map(|series| {
                    let labels: Map<String, Value> = series
                        .labels
                        .iter()
                        .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
                        .collect();
                    json!({ "labels": labels, "value": json_value(family.kind, series.value) })
                })
                .collect();
            families.insert(
                (*name).to_string(),
                json!({ "type": family.kind.as_str(), "help": family.help, "series": series }),
            );
        }
        Value::Object(families)
    }

    fn update(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        labels: &[(&'static str, &str)],
        apply: impl FnOnce(&mut f64),
    ) {
        let mut guard = self.lock();
        let registry = &mut *guard;
        registry.scratch.clear();
        write_key(&mut registry.scratch, labels);
        let family = registry.families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            series: BTreeMap::new(),
        });
        if let Some(series) = family.series.get_mut(registry.scratch.as_str()) {
            apply(&mut series.value);
            return;
        }
        let mut owned: Vec<(&'static str, String)> =
            labels.iter().map(|(k, v)| (*k, (*v).to_string())).collect();
        owned.sort_by(|a, b| a.0.cmp(b.0));
        let mut series = Series {
            labels: owned.into_boxed_slice(),
            value: 0.0,
        };
        apply(&mut series.value);
        family.series.insert(registry.scratch.clone(), series);
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panic elsewhere while holding the lock cannot leave a half-written value behind
        // (every update is a single store), so a poisoned registry is still consistent.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Renders `a="1",b="2"` sorted by label name, escaping values.
fn write_key(out: &mut String, labels: &[(&str, &str)]) {
    if labels.windows(2).all(|w| w[0].0 <= w[1].0) {
        write_sorted_key(out, labels.iter());
    } else {
        let mut sorted: Vec<&(&str, &str)> = labels.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        write_sorted_key(out, sorted.into_iter());
    }
}

fn write_sorted_key<'a>(out: &mut String, labels: impl Iterator<Item = &'a (&'a str, &'a str)>) {
    for (i, (name, value)) in labels.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape(out, value, true);
        out.push('"');
    }
}

/// Label values escape `\`, `"` and line feeds; help texts only `\` and line feeds.
fn escape(out: &mut String, text: &str, quotes: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if quotes => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn write_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{value}");
    }
}

fn json_value(kind: Kind, value: f64) -> Value {
    if kind == Kind::Counter && (0.0..9.0e15).contains(&value) {
        json!(value as u64)
    } else {
        json!(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parked(m: &Metrics, by: u64) {
        m.inc(
            ESL_EVENTS_TOTAL,
            "ESL events",
            &[("event", "CHANNEL_PARK")],
            by,
        );
    }

    #[test]
    fn counters_add_up_per_label_set() {
        let m = Metrics::new();
        parked(&m, 1);
        parked(&m, 2);
        m.inc(ESL_EVENTS_TOTAL, "ESL events", &[("event", "HEARTBEAT")], 1);
        assert_eq!(
            m.get(ESL_EVENTS_TOTAL, &[("event", "CHANNEL_PARK")]),
            Some(3.0)
        );
        assert_eq!(
            m.get(ESL_EVENTS_TOTAL, &[("event", "HEARTBEAT")]),
            Some(1.0)
        );
        assert_eq!(m.get(ESL_EVENTS_TOTAL, &[("event", "DTMF")]), None);
    }

    #[test]
    fn label_order_does_not_matter() {
        let m = Metrics::new();
        m.inc("x_total", "x", &[("b", "2"), ("a", "1")], 1);
        m.inc("x_total", "x", &[("a", "1"), ("b", "2")], 1);
        assert_eq!(m.get("x_total", &[("b", "2"), ("a", "1")]), Some(2.0));
        assert!(m.render().contains("x_total{a=\"1\",b=\"2\"} 2\n"));
    }

    #[test]
    fn renders_the_text_format_with_escaping() {
        let m = Metrics::new();
        m.set(ESL_CONNECTED, "1 when connected", &[], 1.0);
        m.inc(
            "odd_total",
            "help with \\ and\nnewline",
            &[("v", "a\"b\\c\nd")],
            5,
        );
        let text = m.render();
        // A documented family keeps its documented help.
        assert!(text.contains(
            "# HELP switchdesk_esl_connected 1 while the event socket is connected and subscribed.\n"
        ));
        assert!(
            text.contains("# TYPE switchdesk_esl_connected gauge\nswitchdesk_esl_connected 1\n")
        );
        assert!(text.contains("# HELP odd_total help with \\\\ and\\nnewline\n"));
        assert!(text.contains("# TYPE odd_total counter\n"));
        assert!(
            text.contains("odd_total{v=\"a\\\"b\\\\c\\nd\"} 5\n"),
            "{text}"
        );
    }

    #[test]
    fn every_documented_family_is_there_from_the_start() {
        let m = Metrics::new();
        let text = m.render();
        for (name, _, kind) in DOCUMENTED {
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{text}");
        }
        m.zero(TASK_RESTARTS_TOTAL, &[("task", "outbox")]);
        m.zero(TASK_RESTARTS_TOTAL, &[("task", "outbox")]);
        assert_eq!(m.get(TASK_RESTARTS_TOTAL, &[("task", "outbox")]), Some(0.0));
        m.inc(TASK_RESTARTS_TOTAL, "", &[("task", "outbox")], 1);
        m.zero(TASK_RESTARTS_TOTAL, &[("task", "outbox")]);
        assert_eq!(m.get(TASK_RESTARTS_TOTAL, &[("task", "outbox")]), Some(1.0));
    }

    #[test]
    fn snapshot_lists_series_with_labels() {
        let m = Metrics::new();
        parked(&m, 4);
        m.set(ESL_CONNECTED, "connected", &[], 0.0);
        let snap = m.snapshot_json();
        assert_eq!(snap[ESL_EVENTS_TOTAL]["type"], "counter");
        assert_eq!(
            snap[ESL_EVENTS_TOTAL]["series"][0]["labels"]["event"],
            "CHANNEL_PARK"
        );
        assert_eq!(snap[ESL_EVENTS_TOTAL]["series"][0]["value"], 4);
        assert_eq!(snap[ESL_CONNECTED]["series"][0]["value"], 0.0);
    }
}
