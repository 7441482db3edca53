//! What each node's event socket looks like from here, for the status page: its address,
//! since when it is connected, the switch's version and uptime (from one `api status` after a
//! connect, then from its HEARTBEAT events), the last heartbeat, reconnects and the event rate.
//!
//! Fed by whoever reads a connection's [`ConnectionEvent`]s (the service's metrics task),
//! with the time passed in; read with [`Links::snapshot`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use super::{ConnectionEvent, Event};
use crate::clock::Millis;

/// How far back the event rate looks, in seconds.
const RATE_WINDOW_SECS: i64 = 10;

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

impl Heartbeat {
    /// The same description from the reply to `api status` (`UP 0 years, 0 days, 1 hour, ...`
    /// and `FreeSWITCH (Version 1.10.12-release  64bit) is ready`), read once after a connect
    /// so the page need not wait for the first heartbeat.
    pub fn from_status(reply: &str) -> Heartbeat {
        let uptime = reply
            .lines()
            .find_map(|line| line.trim().strip_prefix("UP "))
            .map(str::to_owned);
        let version = reply.lines().find_map(|line| {
            let rest = line.split_once("(Version ")?.1;
            let version = rest.split_once(')')?.0;
            Some(version.split_whitespace().collect::<Vec<_>>().join(" "))
        });
        Heartbeat {
            version,
            uptime_ms: uptime.as_deref().and_then(uptime_ms),
            uptime,
        }
    }
}

/// `0 years, 0 days, 1 hour, 1 minute, 3 seconds, 403 milliseconds, 120 microseconds` in ms.
fn uptime_ms(words: &str) -> Option<u64> {
    let mut ms = 0u64;
    for part in words.split(',') {
        let (count, unit) = part.trim().split_once(' ')?;
        let count: u64 = count.parse().ok()?;
        let unit_ms = match unit.trim_end_matches('s') {
            "year" => 365 * 86_400_000,
            "day" => 86_400_000,
            "hour" => 3_600_000,
            "minute" => 60_000,
            "second" => 1_000,
            "millisecond" => 1,
            "microsecond" => 0,
            _ => return None,
        };
        ms = ms.saturating_add(count.saturating_mul(unit_ms));
    }
    Some(ms)
}

/// One node's link, as the status page shows it. Times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinkStatus {
    pub node: String,
    pub address: String,
    pub connected: bool,
    /// When the current session was established; `None` while disconnected.
    pub connected_since: Option<Millis>,
    /// Why the last session ended, while disconnected.
    pub disconnect_reason: Option<String>,
    pub last_heartbeat: Option<Millis>,
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
    connected_since: Option<Millis>,
    disconnect_reason: Option<String>,
    last_heartbeat: Option<Millis>,
    heartbeat: Heartbeat,
    events: u64,
    /// Events per whole second (Unix seconds), the last [`RATE_WINDOW_SECS`] of them.
    recent: VecDeque<(i64, u64)>,
}

impl Link {
    fn count_events(&mut self, now: Millis, events: u64) {
        self.events += events;
        let second = unix_second(now);
        match self.recent.back_mut() {
            Some((at, count)) if *at == second => *count += events,
            _ => self.recent.push_back((second, events)),
        }
        self.forget_before(second);
    }

    fn forget_before(&mut self, second: i64) {
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| at + RATE_WINDOW_SECS <= second)
        {
            self.recent.pop_front();
        }
    }

    /// Whole seconds before `now`'s, over the window (or since connecting, if that is shorter).
    fn rate(&self, now: Millis) -> f64 {
        let second = unix_second(now);
        let since = self.connected_since.map_or(second, unix_second);
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

/// The whole Unix second `at` falls in (the epoch's for anything before it).
fn unix_second(at: Millis) -> i64 {
    at.max(0) / 1000
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
    pub fn observe(&self, node: &str, seen: &ConnectionEvent, now: Millis) {
        let mut nodes = self.lock();
        let link = nodes.entry(node.to_owned()).or_default();
        match seen {
            ConnectionEvent::Connected { .. } => {
                link.connects += 1;
                link.connected_since = Some(now);
                link.disconnect_reason = None;
                link.recent.clear();
            }
            ConnectionEvent::Disconnected { reason, .. } => {
                link.connected_since = None;
                link.disconnect_reason = Some(reason.clone());
            }
            ConnectionEvent::Events(batch) => {
                link.count_events(now, batch.len() as u64);
                if let Some(heartbeat) = batch.iter().filter_map(Heartbeat::read).last() {
                    link.last_heartbeat = Some(now);
                    link.heartbeat = heartbeat;
                }
            }
        }
    }

    /// Takes the switch's version and uptime from its reply to `api status`; a heartbeat read
    /// later replaces them.
    pub fn read_status(&self, node: &str, reply: &str) {
        let status = Heartbeat::from_status(reply);
        let mut nodes = self.lock();
        let link = nodes.entry(node.to_owned()).or_default();
        if link.last_heartbeat.is_none() || link.heartbeat.version.is_none() {
            link.heartbeat = status;
        }
    }

    /// Marks `node` connected since `now` unless it is known to be (a watcher that started
    /// after the connect); counts no connect.
    pub fn assume_connected(&self, node: &str, now: Millis) {
        let mut nodes = self.lock();
        let link = nodes.entry(node.to_owned()).or_default();
        if link.connected_since.is_none() {
            link.connected_since = Some(now);
            link.connects = link.connects.max(1);
        }
    }

    /// Every known node, by name, as of `now`.
    pub fn snapshot(&self, now: Millis) -> Vec<LinkStatus> {
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
        ConnectionEvent::Events(super::super::EventBatch::new(0, text.len(), vec![event]))
    }

    #[test]
    fn the_status_reply_gives_version_and_uptime() {
        // As captured from FreeSWITCH 1.10.12 (tests/fixtures/freeswitch/esl/04_commands.rx).
        let reply = "UP 0 years, 0 days, 0 hours, 1 minute, 3 seconds, 403 milliseconds, \
                     120 microseconds\nFreeSWITCH (Version 1.10.12-release  64bit) is ready\n\
                     1 session(s) since startup\n";
        let status = Heartbeat::from_status(reply);
        assert_eq!(status.version.as_deref(), Some("1.10.12-release 64bit"));
        assert_eq!(status.uptime_ms, Some(63_403));
        assert!(status.uptime.unwrap().starts_with("0 years, 0 days"));
        assert_eq!(
            Heartbeat::from_status("-ERR no reply\n"),
            Heartbeat::default()
        );
        let links = Links::new();
        links.read_status("fs1", reply);
        assert_eq!(links.snapshot(0)[0].uptime_ms, Some(63_403));
        assert_eq!(links.snapshot(0)[0].last_heartbeat, None);
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
            goodbye: false,
        };
        links.observe("fs1", &lost, 13_000);
        links.observe("fs1", &ConnectionEvent::Connected { generation: 2 }, 14_000);
        let link = &links.snapshot(14_000)[0];
        assert_eq!(link.reconnects, 1);
        assert_eq!(link.connected_since, Some(14_000));
        assert_eq!(link.events_per_second, 0.0);
    }
}
