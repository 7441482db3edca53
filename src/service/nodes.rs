//! The configured FreeSWITCH nodes as the service sees them: one supervised connection each,
//! subscribed to what the switchboard and the fax desk read; its link followed for the
//! dashboard; what it says counted into the metrics (every series at zero from the start).

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::esl::{Connection, ConnectionEvent, Continuity, Links};
use crate::fax;
use crate::metrics::{
    Metrics, ESL_CONNECTED, ESL_EVENTS_SHED_TOTAL, ESL_EVENTS_TOTAL, ESL_RECONNECTS_TOTAL,
    LAGGED_QUEUES, SWITCHBOARD_LAGGED_TOTAL,
};
use crate::supervise::{Policy, Tasks};
use crate::switch::EVENTS;

/// Every configured node, connecting (none by default).
#[derive(Default)]
pub(super) struct Nodes {
    /// Each node's connection and its events, for the switchboard.
    pub feeds: Vec<(Connection, Receiver<ConnectionEvent>)>,
    /// Each node's name and connection with a subscription taken before its first connect,
    /// for its fax watcher.
    pub fax_feeds: Vec<(String, Connection, Receiver<ConnectionEvent>)>,
    /// Every connection, to be shut down at the end.
    pub connections: Vec<Connection>,
    /// Each node's metrics task.
    pub background: Vec<JoinHandle<()>>,
}

/// Connects to every node of `config.esl`, each registered in `links` and counted into
/// `tasks.metrics()`, under `tasks`; its commands pass `gate` (this instance leads).
pub(super) fn connect(
    config: &Config,
    links: &Links,
    tasks: &Tasks,
    gate: Arc<dyn crate::esl::Gate>,
) -> Nodes {
    let metrics = tasks.metrics();
    let mut nodes = Nodes::default();
    for (name, node) in config.esl.all_nodes() {
        let mut options = node.connection_options(&name);
        options.events = EVENTS
            .iter()
            .chain(fax::desk::EVENTS)
            .map(|e| (*e).to_owned())
            .collect();
        prime_node_metrics(metrics, &name, &options.events);
        links.register(&name, &options.address);
        let (connection, events) = Connection::spawn_supervised(options, tasks, gate.clone());
        let (counted, metrics, node) = (connection.clone(), metrics.clone(), name.clone());
        let watched = links.clone();
        // Subscribed before the first connect completes, so it is seen; a restarted task
        // subscribes again and takes the link as it finds it.
        let mut first = Some(connection.subscribe());
        nodes.background.push(tasks.spawn(
            format!("esl-metrics:{name}"),
            Policy::RestartOnPanic,
            move || {
                let feed = first.take().unwrap_or_else(|| counted.subscribe());
                if counted.is_connected() {
                    watched.assume_connected(&node, crate::clock::now());
                    metrics.set(ESL_CONNECTED, "", &[("node", node.as_str())], 1.0);
                }
                record_esl_metrics(
                    feed,
                    counted.clone(),
                    metrics.clone(),
                    watched.clone(),
                    node.clone(),
                )
            },
        ));
        nodes
            .fax_feeds
            .push((name.clone(), connection.clone(), connection.subscribe()));
        nodes.connections.push(connection.clone());
        nodes.feeds.push((connection, events));
    }
    nodes
}

/// A node's series at zero before anything happens on it: its link, reconnects, lags, and
/// the events it is subscribed to.
fn prime_node_metrics(metrics: &Metrics, node: &str, events: &[String]) {
    metrics.set(ESL_CONNECTED, "", &[("node", node)], 0.0);
    metrics.zero(ESL_RECONNECTS_TOTAL, &[("node", node)]);
    for queue in LAGGED_QUEUES {
        metrics.zero(
            SWITCHBOARD_LAGGED_TOTAL,
            &[("node", node), ("queue", queue)],
        );
    }
    for event in events {
        metrics.zero(ESL_EVENTS_TOTAL, &[("event", event)]);
    }
}

/// Counts what one node's ESL connection sees, for `/metrics` and the dashboard; its link
/// state and reconnects carry the node's name. The node's link (`links`) follows it too.
async fn record_esl_metrics(
    mut events: Receiver<ConnectionEvent>,
    connection: Connection,
    metrics: Arc<Metrics>,
    links: Links,
    name: String,
) {
    let node = [("node", name.as_str())];
    let mut connected_before = false;
    let mut continuity = Continuity::default();
    loop {
        let seen = events.recv().await;
        if let Ok(seen) = &seen {
            links.observe(&name, seen, crate::clock::now());
        }
        match seen {
            Ok(ConnectionEvent::Events(batch)) => {
                let missed = continuity.missed_before(&batch);
                if missed > 0 {
                    tracing::warn!(
                        missed,
                        "metrics fell behind the event socket; events were shed"
                    );
                    metrics.inc(
                        ESL_EVENTS_SHED_TOTAL,
                        "Events a slow consumer missed.",
                        &[],
                        missed,
                    );
                }
                for event in &batch {
                    let name = event.name();
                    let name = name.as_deref().unwrap_or("UNKNOWN");
                    metrics.inc(
                        ESL_EVENTS_TOTAL,
                        "Events received from FreeSWITCH, by event name.",
                        &[("event", name)],
                        1,
                    );
                }
            }
            Ok(ConnectionEvent::Connected { .. }) => {
                // The switch's version and uptime at once, not at its first heartbeat; asked
                // aside, so events keep being counted meanwhile.
                let (asking, links, name) = (connection.clone(), links.clone(), name.clone());
                tokio::spawn(async move {
                    match asking.api("status").await {
                        Ok(reply) => links.read_status(&name, &reply),
                        Err(e) => tracing::debug!(node = %name, "api status failed: {e}"),
                    }
                });
                metrics.set(
                    ESL_CONNECTED,
                    "1 while the event socket is connected and subscribed.",
                    &node,
                    1.0,
                );
                if connected_before {
                    metrics.inc(
                        ESL_RECONNECTS_TOTAL,
                        "Event-socket reconnects after a lost connection.",
                        &node,
                        1,
                    );
                }
                connected_before = true;
            }
            Ok(ConnectionEvent::Disconnected { .. }) => {
                metrics.set(
                    ESL_CONNECTED,
                    "1 while the event socket is connected and subscribed.",
                    &node,
                    0.0,
                );
            }
            // Counted in events at the next batch, from the sequence numbers.
            Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => break,
        }
    }
}
