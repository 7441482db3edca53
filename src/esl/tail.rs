//! `switchdesk esl tail`: every event of one FreeSWITCH, as JSON lines, as rates, or as totals.
//!
//! Nothing is dropped. The tool reads the connection's lossless receiver, so when the output is
//! slower than FreeSWITCH the socket stops being read, FreeSWITCH buffers (it drops a listener
//! only 100,000 events behind) and the tool says so on stderr. FreeSWITCH's disconnect notice
//! (`fsctl shutdown`, an operator's `/exit`) is an orderly end, not an error.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::batch::EventBatch;
use super::connection::ConnectionEvent;
use super::event::Event;

/// What the tool prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TailMode {
    /// Every second, a line of rates (events by name, bytes, lag) instead of the events.
    pub stats: bool,
    /// Only the totals, at the end (with `stats`, after the rate lines).
    pub count: bool,
}

impl TailMode {
    fn prints_events(self) -> bool {
        !self.stats && !self.count
    }
}

/// How the session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// FreeSWITCH said goodbye, or the operator stopped the tool: exit status 0.
    Orderly(String),
    /// The connection failed or was lost: exit status 1.
    Lost(String),
}

/// What went through, for `--count` and the closing line on stderr.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    pub events: u64,
    pub bytes: u64,
    pub by_name: BTreeMap<String, u64>,
}

impl Totals {
    fn add(&mut self, batch: &EventBatch) {
        self.events += batch.len() as u64;
        self.bytes += batch.wire_bytes() as u64;
    }
}

/// Prints what arrives on `events` until the session ends or `stop` completes.
pub async fn run(
    mut events: mpsc::Receiver<ConnectionEvent>,
    mode: TailMode,
    out: &mut impl Write,
    notes: &mut impl Write,
    stop: impl std::future::Future<Output = ()>,
) -> io::Result<(Ending, Totals)> {
    tokio::pin!(stop);
    let mut totals = Totals::default();
    let mut second = Second::new(Instant::now());
    let second_ms = Duration::from_secs(1);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + second_ms, second_ms);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut line = Vec::with_capacity(64 * 1024);
    let ending = loop {
        let received = tokio::select! {
            biased;
            _ = &mut stop => break Ending::Orderly("interrupted".into()),
            received = events.recv() => received,
            _ = ticker.tick(), if mode.stats => {
                second.print(out, events.len())?;
                out.flush()?;
                second = Second::new(Instant::now());
                continue;
            }
        };
        match received {
            Some(ConnectionEvent::Events(batch)) => {
                totals.add(&batch);
                for event in &batch {
                    let name = event.name();
                    let name = name.as_deref().unwrap_or("UNKNOWN");
                    count_name(&mut totals.by_name, name);
                    if mode.stats {
                        second.add(name, event);
                    }
                    if mode.prints_events() {
                        line.clear();
                        serde_json::to_writer(&mut line, &event.to_json())?;
                        line.push(b'\n');
                        out.write_all(&line)?;
                    }
                }
                second.bytes += batch.wire_bytes() as u64;
                // Flushed when nothing more is waiting: one write per burst, not per event.
                if events.is_empty() {
                    out.flush()?;
                }
            }
            Some(ConnectionEvent::Connected { .. }) => {
                writeln!(notes, "connected; {}", what_is_printed(mode))?;
            }
            Some(ConnectionEvent::Disconnected { reason, goodbye }) => {
                break if goodbye {
                    Ending::Orderly(reason)
                } else {
                    Ending::Lost(reason)
                };
            }
            None => break Ending::Orderly("the connection ended".into()),
        }
    };
    if mode.stats && second.events > 0 {
        second.print(out, 0)?;
    }
    if mode.count {
        print_totals(out, &totals)?;
    }
    out.flush()?;
    Ok((ending, totals))
}

fn count_name(by_name: &mut BTreeMap<String, u64>, name: &str) {
    match by_name.get_mut(name) {
        Some(n) => *n += 1,
        None => {
            by_name.insert(name.to_owned(), 1);
        }
    }
}

fn what_is_printed(mode: TailMode) -> &'static str {
    match (mode.stats, mode.count) {
        (false, false) => "printing every event as a JSON line",
        (true, false) => "printing rates every second",
        (true, true) => "printing rates every second, totals at the end",
        (false, true) => "counting events; totals at the end",
    }
}

fn print_totals(out: &mut impl Write, totals: &Totals) -> io::Result<()> {
    writeln!(
        out,
        "total: {} events, {} bytes",
        totals.events, totals.bytes
    )?;
    for (name, count) in &totals.by_name {
        writeln!(out, "{name}: {count}")?;
    }
    Ok(())
}

/// One second of `--stats`.
struct Second {
    started: Instant,
    events: u64,
    bytes: u64,
    by_name: BTreeMap<String, u64>,
    /// The largest delay seen between FreeSWITCH stamping an event and it being read here.
    lag_ms: Option<i64>,
}

impl Second {
    fn new(started: Instant) -> Second {
        Second {
            started,
            events: 0,
            bytes: 0,
            by_name: BTreeMap::new(),
            lag_ms: None,
        }
    }

    fn add(&mut self, name: &str, event: &Event) {
        self.events += 1;
        count_name(&mut self.by_name, name);
        if let Some(lag) = lag_ms(event) {
            self.lag_ms = Some(self.lag_ms.map_or(lag, |l| l.max(lag)));
        }
    }

    /// `12.0 s: 4210 events/s, 9.8 MB/s, lag 3 ms, queued 0 | CHANNEL_PARK 120, ...`
    fn print(&self, out: &mut impl Write, queued: usize) -> io::Result<()> {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let mut line = format!(
            "{} events/s, {:.1} MB/s, lag {}, queued {queued} reads |",
            (self.events as f64 / seconds).round(),
            self.bytes as f64 / seconds / 1e6,
            self.lag_ms
                .map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms")),
        );
        let mut names: Vec<_> = self.by_name.iter().collect();
        names.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (i, (name, count)) in names.iter().enumerate() {
            let rate = (**count as f64 / seconds).round();
            let _ = write!(line, "{} {name} {rate}", if i == 0 { "" } else { "," });
        }
        writeln!(out, "{line}")
    }
}

/// Now minus the event's `Event-Date-Timestamp` (microseconds since the epoch), in ms.
fn lag_ms(event: &Event) -> Option<i64> {
    let stamped: i64 = event.get("Event-Date-Timestamp")?.parse().ok()?;
    Some(crate::clock::now() - stamped / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esl::EventFormat;

    fn event(name: &str) -> Event {
        let raw = format!("Event-Name: {name}\nUnique-ID: u-1\n");
        Event::parse(EventFormat::Plain, bytes::Bytes::from(raw)).unwrap()
    }

    async fn tail(mode: TailMode, sent: Vec<ConnectionEvent>) -> (String, String, Ending) {
        let (sender, receiver) = mpsc::channel(16);
        let feeder = tokio::spawn(async move {
            for event in sent {
                sender.send(event).await.unwrap();
            }
        });
        let (mut out, mut notes) = (Vec::new(), Vec::new());
        let (ending, _) = run(receiver, mode, &mut out, &mut notes, std::future::pending())
            .await
            .unwrap();
        feeder.await.unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(notes).unwrap(),
            ending,
        )
    }

    fn session() -> Vec<ConnectionEvent> {
        vec![
            ConnectionEvent::Connected { generation: 1 },
            ConnectionEvent::Events(EventBatch::new(
                0,
                100,
                vec![event("CHANNEL_PARK"), event("HEARTBEAT")],
            )),
            ConnectionEvent::Events(EventBatch::new(2, 50, vec![event("CHANNEL_PARK")])),
            ConnectionEvent::Disconnected {
                reason: "FreeSWITCH closed the event socket after its disconnect notice".into(),
                goodbye: true,
            },
        ]
    }

    #[tokio::test]
    async fn every_event_is_a_json_line_and_a_goodbye_is_orderly() {
        let (out, notes, ending) = tail(TailMode::default(), session()).await;
        let names: Vec<String> = out
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["Event-Name"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(names, ["CHANNEL_PARK", "HEARTBEAT", "CHANNEL_PARK"]);
        assert!(notes.contains("connected"), "{notes}");
        assert!(matches!(ending, Ending::Orderly(_)), "{ending:?}");
    }

    #[tokio::test]
    async fn count_prints_only_the_totals() {
        let mode = TailMode {
            stats: false,
            count: true,
        };
        let (out, _, _) = tail(mode, session()).await;
        assert_eq!(
            out,
            "total: 3 events, 150 bytes\nCHANNEL_PARK: 2\nHEARTBEAT: 1\n"
        );
    }

    #[tokio::test]
    async fn a_lost_connection_is_not_orderly() {
        let sent = vec![ConnectionEvent::Disconnected {
            reason: "could not reach FreeSWITCH: refused".into(),
            goodbye: false,
        }];
        let (_, _, ending) = tail(TailMode::default(), sent).await;
        assert_eq!(
            ending,
            Ending::Lost("could not reach FreeSWITCH: refused".into())
        );
    }
}
