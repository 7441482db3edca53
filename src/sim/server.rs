//! The event socket server: accepts TCP connections, sends `auth/request`, and handles each
//! connection's commands one at a time with mod_event_socket's reply texts; between commands it
//! writes the events the connection subscribed to. While an `api` runs, its events wait behind
//! the response (capture 04c), because this task is the connection's only writer. An oversized
//! or unparsable command block closes that connection only. Never owns switch state.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::time::{sleep_until, Instant};
use tracing::debug;

use crate::esl::wire::{self, Disconnect};
use crate::esl::{Frame, Parser};

use super::engine::Request;
use super::events::Event;
use super::listener::Subscription;

/// The largest command block (with a sendmsg body) a client may send.
const MAX_COMMAND: usize = 1024 * 1024;
/// Events queued for one connection before it counts as too slow and is dropped.
const EVENT_QUEUE: usize = 100_000;
/// Bytes of events gathered before a write to the socket.
const WRITE_BUFFER: usize = 64 * 1024;

/// The command lines clients sent, the most recent `COMMAND_LOG` of them.
pub(crate) type CommandLog = Arc<Mutex<VecDeque<String>>>;
const COMMAND_LOG: usize = 50_000;

pub(crate) async fn accept_loop(
    listener: TcpListener,
    engine: mpsc::UnboundedSender<Request>,
    log: CommandLog,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let connection = Connection::new(engine.clone(), log.clone(), shutdown.clone());
                    tokio::spawn(connection.run(stream));
                }
                Err(e) => {
                    debug!("ESL accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Whether the connection goes on after a command or an event.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

struct Connection {
    engine: mpsc::UnboundedSender<Request>,
    log: CommandLog,
    shutdown: watch::Receiver<bool>,
    authed: bool,
    logging: bool,
    sub: Subscription,
    linger_until: Option<Instant>,
    /// This connection's number with the engine.
    conn: u64,
}

/// `str.starts_with` without regard to case, as mod_event_socket's `strncasecmp` checks.
fn starts(line: &str, prefix: &str) -> bool {
    line.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// `switch_log_str2level`.
fn log_level(word: &str) -> Option<u8> {
    if word.is_empty() {
        return Some(7);
    }
    if let Ok(n) = word.parse::<u8>() {
        return (n <= 7).then_some(n);
    }
    [
        "console", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ]
    .iter()
    .position(|name| name.eq_ignore_ascii_case(word))
    .and_then(|i| u8::try_from(i).ok())
}

impl Connection {
    fn new(
        engine: mpsc::UnboundedSender<Request>,
        log: CommandLog,
        shutdown: watch::Receiver<bool>,
    ) -> Connection {
        Connection {
            engine,
            log,
            shutdown,
            authed: false,
            logging: false,
            sub: Subscription::default(),
            linger_until: None,
            conn: 0,
        }
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Request) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.engine.send(make(tx)).ok()?;
        rx.await.ok()
    }

    async fn run(mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let (mut reader, writer) = stream.into_split();
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER, writer);
        let (events_tx, mut events) = mpsc::channel::<Arc<Event>>(EVENT_QUEUE);
        let kill = Arc::new(Notify::new());
        let Some(conn) = self
            .ask(|reply| Request::Register {
                events: events_tx,
                kill: kill.clone(),
                reply,
            })
            .await
        else {
            return;
        };
        self.conn = conn;
        if send(&mut writer, &wire::auth_request()).await.is_err() {
            let _ = self.engine.send(Request::Unregister { conn });
            return;
        }
        let mut parser = Parser::new(MAX_COMMAND);
        let mut shutdown = self.shutdown.clone();
        'connection: loop {
            let linger = self.linger_until;
            tokio::select! {
                biased;
                _ = kill.notified() => break,
                _ = shutdown.changed() => break,
                _ = sleep_until(linger.unwrap_or_else(Instant::now)), if linger.is_some() => {
                    let uuid = self.sub.session.clone().unwrap_or_default();
                    let _ = send(&mut writer, &wire::disconnect_notice(Disconnect::Session { uuid: &uuid })).await;
                    break;
                }
                read = reader.read_buf(parser.buffer_mut()) => {
                    match read {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                    loop {
                        let frame = match parser.next_frame() {
                            Ok(Some(frame)) => frame,
                            Ok(None) => break,
                            Err(e) => {
                                debug!("closing ESL connection: {e}");
                                break 'connection;
                            }
                        };
                        if self.command(&frame, &mut writer).await == Flow::Close {
                            break 'connection;
                        }
                        // Between two commands the switch delivers what queued up meanwhile;
                        // a client that pipelines without pause must not starve its events.
                        if self.drain(&mut events, &mut writer).await == Flow::Close {
                            break 'connection;
                        }
                    }
                }
                event = events.recv() => {
                    let Some(event) = event else { break };
                    if self.event(&event, &mut writer).await == Flow::Close
                        || self.drain(&mut events, &mut writer).await == Flow::Close
                    {
                        break;
                    }
                }
            }
        }
        let _ = writer.shutdown().await;
        let _ = self.engine.send(Request::Unregister { conn });
    }

    /// Writes every event already queued, then flushes once: one write for a burst of
    /// events rather than one per event.
    async fn drain(
        &mut self,
        events: &mut mpsc::Receiver<Arc<Event>>,
        out: &mut BufWriter<OwnedWriteHalf>,
    ) -> Flow {
        while let Ok(event) = events.try_recv() {
            if self.event(&event, out).await == Flow::Close {
                return Flow::Close;
            }
        }
        match flush(out).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Close,
        }
    }

    /// Buffers one event for this connection (`drain` flushes).
    async fn event(&mut self, event: &Event, out: &mut BufWriter<OwnedWriteHalf>) -> Flow {
        if !self.authed || self.linger_until.is_some() {
            return Flow::Continue;
        }
        if self.sub.wants(event) && buffer(out, event.frame(self.sub.format)).await.is_err() {
            return Flow::Close;
        }
        // The channel a `myevents` connection controls is gone: say so, then close or linger.
        let Some(session) = self.sub.session.clone() else {
            return Flow::Continue;
        };
        if event.name != "CHANNEL_HANGUP_COMPLETE"
            || event.header("Unique-ID") != Some(session.as_str())
        {
            return Flow::Continue;
        }
        match self.sub.linger {
            Some(seconds) => {
                let channel_name = event.header("Channel-Name").unwrap_or("").to_owned();
                let notice = wire::disconnect_notice(Disconnect::Linger {
                    uuid: &session,
                    channel_name: &channel_name,
                    seconds,
                });
                if send(out, &notice).await.is_err() {
                    return Flow::Close;
                }
                let linger = Duration::from_secs(u64::from(seconds).min(365 * 86_400));
                self.linger_until = Some(
                    Instant::now()
                        .checked_add(linger)
                        .unwrap_or_else(Instant::now),
                );
                Flow::Continue
            }
            None => {
                let _ = send(
                    out,
                    &wire::disconnect_notice(Disconnect::Session { uuid: &session }),
                )
                .await;
                Flow::Close
            }
        }
    }

    async fn command(&mut self, frame: &Frame, out: &mut BufWriter<OwnedWriteHalf>) -> Flow {
        let line = frame.first_line().trim_end_matches('\r').to_owned();
        if let Ok(mut log) = self.log.lock() {
            if log.len() == COMMAND_LOG {
                log.pop_front();
            }
            log.push_back(line.clone());
        }
        let reply = |text: &str| wire::command_reply(text);
        if starts(&line, "exit") || starts(&line, "...") {
            let _ = send(out, &reply("+OK bye")).await;
            let _ = send(out, &wire::disconnect_notice(Disconnect::Plain)).await;
            return Flow::Close;
        }
        if !self.authed {
            if let Some(password) = line.get(5..).filter(|_| starts(&line, "auth ")) {
                let ok = self
                    .ask(|r| Request::CheckPassword {
                        password: password.to_owned(),
                        reply: r,
                    })
                    .await
                    .unwrap_or(false);
                if ok {
                    self.authed = true;
                    return self.write(out, &reply("+OK accepted")).await;
                }
            } else if !starts(&line, "userauth ") {
                return self.write(out, &reply("-ERR command not found")).await;
            }
            // A wrong password (or a userauth this switch has no directory for) ends the session.
            let _ = send(out, &reply("-ERR invalid")).await;
            let _ = send(out, &wire::disconnect_notice(Disconnect::Plain)).await;
            return Flow::Close;
        }
        let before = self.sub.interest();
        let text = if let Some(rest) = line.get(7..).filter(|_| starts(&line, "filter ")) {
            self.sub.filter(rest)
        } else if let Some(rest) = line.get(9..).filter(|_| starts(&line, "myevents ")) {
            let (uuid, format) = match rest.split_once(' ') {
                Some((u, f)) => (u.to_owned(), Some(f.to_owned())),
                None => (rest.to_owned(), None),
            };
            let exists = self
                .ask(|r| Request::Exists {
                    uuid: uuid.clone(),
                    reply: r,
                })
                .await
                .unwrap_or(false);
            self.sub.myevents(&uuid, format.as_deref(), exists)
        } else if starts(&line, "divert_events") {
            match (&self.sub.session, line.get(13..).map(str::trim)) {
                (None, _) => "-ERR not controlling a session.".into(),
                (Some(_), None | Some("")) => "-ERR missing value.".into(),
                (Some(_), Some(v)) if v.eq_ignore_ascii_case("on") => "+OK events diverted".into(),
                (Some(_), Some(_)) => "+OK events not diverted".into(),
            }
        } else if starts(&line, "sendmsg") {
            let mut uuid = line.get(7..).unwrap_or("").trim().to_owned();
            if uuid.is_empty() {
                uuid = frame.header("session-id").unwrap_or("").to_owned();
            }
            if uuid.is_empty() {
                uuid = self.sub.session.clone().unwrap_or_default();
            }
            let headers: Vec<(String, String)> = frame
                .headers()
                .skip(1)
                .map(|(n, v)| (n.to_owned(), v.trim_end_matches('\r').to_owned()))
                .collect();
            let body = (!frame.body().is_empty()).then(|| frame.body_text().into_owned());
            self.ask(|r| Request::SendMsg {
                uuid,
                headers,
                body,
                reply: r,
            })
            .await
            .unwrap_or_else(|| "-ERR memory error".into())
        } else if let Some(rest) = line.get(4..).filter(|_| starts(&line, "api ")) {
            let (command, arg) = split_command(rest);
            let body = self
                .ask(|r| Request::Api {
                    command,
                    arg,
                    reply: r,
                })
                .await
                .unwrap_or_else(|| "-ERR no reply\n".into());
            return self.write(out, &wire::api_response(&body)).await;
        } else if let Some(rest) = line.get(6..).filter(|_| starts(&line, "bgapi ")) {
            let (command, arg) = split_command(rest);
            let job_uuid = frame
                .header("Job-UUID")
                .map(|j| j.trim().to_owned())
                .filter(|j| !j.is_empty());
            let Some(job_uuid) = self
                .ask(|r| Request::BgApi {
                    command,
                    arg,
                    job_uuid,
                    reply: r,
                })
                .await
            else {
                return Flow::Close;
            };
            return self.write(out, &wire::bgapi_reply(&job_uuid)).await;
        } else if starts(&line, "log") {
            let level = line.get(3..).unwrap_or("").trim_start_matches(' ');
            let level = level.split(' ').next().unwrap_or("");
            match log_level(level) {
                Some(n) => {
                    self.logging = true;
                    format!("+OK log level {level} [{n}]")
                }
                None => "-ERR invalid log level".into(),
            }
        } else if starts(&line, "linger") {
            match &self.sub.session {
                Some(_) => {
                    let seconds = line
                        .get(6..)
                        .and_then(|s| s.strip_prefix(' '))
                        .and_then(|s| s.trim().parse::<i64>().ok());
                    match seconds {
                        Some(s) => {
                            self.sub.linger = Some(u32::try_from(s.max(0)).unwrap_or(u32::MAX));
                            format!("+OK will linger {s} seconds")
                        }
                        None => {
                            self.sub.linger = Some(600);
                            "+OK will linger".into()
                        }
                    }
                }
                None => "-ERR not controlling a session".into(),
            }
        } else if starts(&line, "nolinger") {
            match &self.sub.session {
                Some(_) => {
                    self.sub.linger = None;
                    "+OK will not linger".into()
                }
                None => "-ERR not controlling a session".into(),
            }
        } else if starts(&line, "nolog") {
            if std::mem::take(&mut self.logging) {
                "+OK no longer logging".into()
            } else {
                "-ERR not loging".into()
            }
        } else if starts(&line, "event") {
            self.sub.event(
                line.get(5..)
                    .and_then(|r| r.split_once(' '))
                    .map_or("", |(_, args)| args),
            )
        } else if starts(&line, "nixevent") {
            self.sub.nixevent(
                line.get(8..)
                    .and_then(|r| r.split_once(' '))
                    .map_or("", |(_, args)| args),
            )
        } else if starts(&line, "noevents") {
            self.sub.noevents()
        } else {
            "-ERR command not found".into()
        };
        if self.sub.interest() != before {
            // The switch learns it before the client reads the reply.
            let _ = self.engine.send(Request::Interest {
                conn: self.conn,
                interest: self.sub.interest(),
            });
        }
        self.write(out, &reply(&text)).await
    }

    async fn write(&self, out: &mut BufWriter<OwnedWriteHalf>, bytes: &[u8]) -> Flow {
        match send(out, bytes).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Close,
        }
    }
}

/// `api status` → (`status`, None); `api uuid_kill x y` → (`uuid_kill`, Some(`x y`)).
fn split_command(rest: &str) -> (String, Option<String>) {
    match rest.split_once(' ') {
        Some((command, arg)) => (command.to_owned(), Some(arg.to_owned())),
        None => (rest.to_owned(), None),
    }
}

/// Writes one frame. A client that stops reading for this long is cut off, so a stalled
/// socket cannot keep its connection (and its queued events) alive forever.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

async fn send(out: &mut BufWriter<OwnedWriteHalf>, bytes: &[u8]) -> std::io::Result<()> {
    buffer(out, bytes).await?;
    flush(out).await
}

/// Puts one frame in the connection's buffer (writing out what no longer fits).
async fn buffer(out: &mut BufWriter<OwnedWriteHalf>, bytes: &[u8]) -> std::io::Result<()> {
    tokio::time::timeout(WRITE_TIMEOUT, out.write_all(bytes))
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

async fn flush(out: &mut BufWriter<OwnedWriteHalf>) -> std::io::Result<()> {
    tokio::time::timeout(WRITE_TIMEOUT, out.flush())
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}
