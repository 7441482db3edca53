//! What each node's event socket looks like from here, for the status page: its address,
//! since when it is connected, the switch's version and uptime (read from its HEARTBEAT
//! events, so no extra command is sent), the last heartbeat, reconnects and the event rate.
//!
//! Fed by whoever reads a connection's [`ConnectionEvent`]s (the service's metrics task),
//! with the time passed in; read with [`Links::snapshot`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use super::{ConnectionEvent, Event};

/// How far back the event rate looks, in seconds.
const RATE_WINDOW_SECS: u64 = 10;

/// The switch as its HEARTBEAT describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Heartbeat {
    /// `FreeSWITCH-Version`, e.g. `1.10.12-release~64bit`.
    pub version: Option<String>,
    /// `Uptime-msec`.
    pub uptime_ms: Option<u64>,
    /// `Up-Time`, as FreeSWITCH words it (`0 years, 0 days, 1 hour, ...`).
    pub uptime: Option<String>,
}

impl Heartbeat {
    /// The switch's description in a HEARTBEAT event; `None` for any other event.
    pub fn read(event: &Event) -> Option<Heartbeat> {
        if !event.is("HEARTBEAT") {
            return None;
        }
        let text = |name: &str| event.get(name).map(|v| v.trim().to_owned());
        Some(Heartbeat {
            version: text("FreeSWITCH-Version"),
            uptime_ms: event.get("Uptime-msec").and_then(|v| v.trim().parse().ok()),
            uptime: text("Up-Time"),
        })
    }
}

/// One node's link, as the status page shows it. Times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinkStatus {
    pub node: String,
    pub address: String,
    pub connected: bool,
    /// When the current session was established; `None` while disconnected.
    pub connected_since: Option<i64>,
    /// Why the last session ended, while disconnected.
    pub disconnect_reason: Option<String>,
    pub last_heartbeat: Option<i64>,
    /// The switch's version and uptime at the last heartbeat.
    pub version: Option<String>,
    pub uptime_ms: Option<u64>,
    pub uptime: Option<String>,
    pub reconnects: u64,
    pub events: u64,
    /// Events per second over the last few seconds.
    pub events_per_second: f64,
}

#[derive(Default)]
struct Link {
    address: String,
    connects: u64,
    connected_since: Option<i64>,
    disconnect_reason: Option<String>,
    last_heartbeat: Option<i64>,
    heartbeat: Heartbeat,
    events: u64,
    /// Events per whole second (Unix seconds), the last [`RATE_WINDOW_SECS`] of them.
    recent: VecDeque<(u64, u64)>,
}

impl Link {
    fn count_event(&mut self, now: i64) {
        self.events += 1;
        let second = now.max(0) as u64 / 1000;
        match self.recent.back_mut() {
            Some((at, count)) if *at == second => *count += 1,
            _ => self.recent.push_back((second, 1)),
        }
        self.forget_before(second);
    }

    fn forget_before(&mut self, second: u64) {
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| at + RATE_WINDOW_SECS <= second)
        {
            self.recent.pop_front();
        }
    }

    /// Whole seconds before `now`'s, over the window (or since connecting, if that is shorter).
    fn rate(&self, now: i64) -> f64 {
        let second = now.max(0) as u64 / 1000;
        let since = self
            .connected_since
            .map_or(second, |t| t.max(0) as u64 / 1000);
        let span = second.saturating_sub(since).clamp(1, RATE_WINDOW_SECS);
        let counted: u64 = self
            .recent
            .iter()
            .filter(|(at, _)| *at < second && at + span >= second)
            .map(|(_, count)| count)
            .sum();
        counted as f64 / span as f64
    }
}

/// Every node's link; cheap to clone.
#[derive(Clone, Default)]
pub struct Links {
    nodes: Arc<Mutex<BTreeMap<String, Link>>>,
}

impl Links {
    pub fn new() -> Links {
        Links::default()
    }

    /// Makes `node` known (disconnected) at `address`.
    pub fn register(&self, node: &str, address: &str) {
        self.lock().entry(node.to_owned()).or_default().address = address.to_owned();
    }

    /// Takes in what `node`'s connection reported at `now`.
    pub fn observe(&self, node: &str, seen: &ConnectionEvent, now: i64) {
        let mut nodes = self.lock();
        let link = nodes.entry(node.to_owned()).or_default();
        match seen {
            ConnectionEvent::Connected { .. } => {
                link.connects += 1;
                link.connected_since = Some(now);
                link.disconnect_reason = None;
                link.recent.clear();
            }
            ConnectionEvent::Disconnected { reason } => {
                link.connected_since = None;
                link.disconnect_reason = Some(reason.clone());
            }
            ConnectionEvent::Event(event) => {
                link.count_event(now);
                if let Some(heartbeat) = Heartbeat::read(event) {
                    link.last_heartbeat = Some(now);
                    link.heartbeat = heartbeat;
                }
            }
        }
    }

    /// Marks `node` connected since `now` unless it is known to be (a watcher that started
    /// after the connect); counts no connect.
    pub fn assume_connected(&self, node: &str, now: i64) {
        let mut nodes = self.lock();
        let link = nodes.entry(node.to_owned()).or_default();
        if link.connected_since.is_none() {
            link.connected_since = Some(now);
            link.connects = link.connects.max(1);
        }
    }

    /// Every known node, by name, as of `now`.
    pub fn snapshot(&self, now: i64) -> Vec<LinkStatus> {
        self.lock()
            .iter()
            .map(|(node, link)| LinkStatus {
                node: node.clone(),
                address: link.address.clone(),
                connected: link.connected_since.is_some(),
                connected_since: link.connected_since,
                disconnect_reason: link.disconnect_reason.clone(),
                last_heartbeat: link.last_heartbeat,
                version: link.heartbeat.version.clone(),
                uptime_ms: link.heartbeat.uptime_ms,
                uptime: link.heartbeat.uptime.clone(),
                reconnects: link.connects.saturating_sub(1),
                events: link.events,
                events_per_second: if link.connected_since.is_some() {
                    link.rate(now)
                } else {
                    0.0
                },
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Link>> {
        // Every change is a few plain stores: a poisoned map is still consistent.
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn event(text: &str) -> ConnectionEvent {
        let event = Event::parse(
            super::super::EventFormat::Plain,
            Bytes::from(text.to_owned()),
        )
        .unwrap();
        ConnectionEvent::Event(Arc::new(event))
    }

    #[test]
    fn heartbeats_give_version_and_uptime_and_events_a_rate() {
        let links = Links::new();
        links.register("fs1", "10.0.0.5:8021");
        assert!(!links.snapshot(0)[0].connected);
        links.observe("fs1", &ConnectionEvent::Connected { generation: 1 }, 10_000);
        for at in [10_100, 10_500, 11_200, 11_300] {
            links.observe("fs1", &event("Event-Name: CHANNEL_PARK\n"), at);
        }
        links.observe(
            "fs1",
            &event(
                "Event-Name: HEARTBEAT\nFreeSWITCH-Version: 1.10.12-release~64bit\n\
                 Uptime-msec: 93000\nUp-Time: 0%20years,%200%20days,%200%20hours,%201%20minute\n",
            ),
            12_100,
        );
        let link = &links.snapshot(12_500)[0];
        assert_eq!(link.address, "10.0.0.5:8021");
        assert!(link.connected);
        assert_eq!(link.connected_since, Some(10_000));
        assert_eq!(link.last_heartbeat, Some(12_100));
        assert_eq!(link.version.as_deref(), Some("1.10.12-release~64bit"));
        assert_eq!(link.uptime_ms, Some(93_000));
        assert_eq!(
            link.uptime.as_deref(),
            Some("0 years, 0 days, 0 hours, 1 minute")
        );
        assert_eq!(link.events, 5);
        // Seconds 10 and 11 are whole: 4 events over 2 s.
        assert_eq!(link.events_per_second, 2.0);
        assert_eq!(link.reconnects, 0);

        let lost = ConnectionEvent::Disconnected {
            reason: "peer closed".into(),
        };
        links.observe("fs1", &lost, 13_000);
        links.observe("fs1", &ConnectionEvent::Connected { generation: 2 }, 14_000);
        let link = &links.snapshot(14_000)[0];
        assert_eq!(link.reconnects, 1);
        assert_eq!(link.connected_since, Some(14_000));
        assert_eq!(link.events_per_second, 0.0);
    }
}
