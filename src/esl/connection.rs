//! The tokio side of ESL: one inbound connection to one FreeSWITCH, kept alive.
//!
//! A supervisor task connects, authenticates, subscribes and then runs a *session*: a reader
//! task that frames what arrives (and hands replies to their waiters), a decoder task that
//! turns each read's event frames into one [`EventBatch`] for the subscribers (so reading and
//! decoding use two cores), and a writer task that sends commands. Commands are pipelined: each
//! waiter is queued in send order and FreeSWITCH answers every command in order, so the n-th
//! reply belongs to the n-th waiter. `bgapi` jobs carry a Job-UUID chosen here and are completed
//! by their BACKGROUND_JOB event.
//!
//! The reader never waits for the service's consumers: the events of each read go to a bounded
//! broadcast channel as one [`EventBatch`], and a consumer that falls behind is told it lagged
//! (and must resync) instead of slowing the socket down. FreeSWITCH itself drops a listener
//! 100,000 events behind; we would rather shed a consumer. A tool that must see every event
//! (`esl tail`) takes the one lossless receiver instead ([`Connection::spawn_lossless`]): the
//! reader waits for it, so the socket stops being read and FreeSWITCH buffers.
//!
//! When the session ends (peer closed, no traffic for two heartbeat intervals, bad frame), every
//! waiter gets [`ConnectionError::Lost`], subscribers get [`ConnectionEvent::Disconnected`], and
//! the supervisor reconnects with exponential back-off and jitter, then announces
//! [`ConnectionEvent::Connected`] so upper layers resync.
//!
//! The service runs that reconnect loop under [`crate::supervise::Tasks`]
//! ([`Connection::spawn_supervised`]): a panic in it is logged, counted and restarted like any
//! worker's; the restarted loop ends what is left of the failed session (subscribers hear
//! `Disconnected`, waiters `Lost`) and connects afresh, with the next generation.
//!
//! A connection may carry a [`Gate`] ([`Connection::set_gate`]): while it is shut, no command
//! leaves (login and the event subscription aside), checked when the command is handed over,
//! by the writer task for each command it gathers, and once more right before the gathered
//! bytes are written, so a process that was frozen in between finds the gate shut when it
//! resumes. A standby instance (and a leader
//! that lost its lease) holds it shut: its connections only listen.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BufMut as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::{debug, error, info, warn};

use super::batch::EventBatch;
use super::command::{CallCommand, Command, CommandError, EventFormat};
use super::event::Event;
use super::frame::{Frame, FrameKind};
use super::parser::{ParseError, Parser};
use crate::secret::Secret;
use crate::supervise::{Policy, Tasks};

#[derive(Clone, Debug)]
pub struct ConnectionOptions {
    /// A name for logs (the node), e.g. `fs1`.
    pub node: String,
    pub address: String,
    pub password: Secret,
    pub format: EventFormat,
    /// Event names to subscribe to; BACKGROUND_JOB and HEARTBEAT are always added.
    pub events: Vec<String>,
    pub heartbeat: Duration,
    pub connect_timeout: Duration,
    pub max_frame: usize,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Batches (one per socket read) a consumer may fall behind before it is shed.
    pub event_buffer: usize,
    /// `false` for one-shot tools (`esl tail`): stop after the first session.
    pub reconnect: bool,
}

impl ConnectionOptions {
    fn subscription(&self) -> Vec<String> {
        let mut names = self.events.clone();
        if !names.iter().any(|n| n.eq_ignore_ascii_case("ALL")) {
            for always in ["BACKGROUND_JOB", "HEARTBEAT"] {
                if !names.iter().any(|n| n.eq_ignore_ascii_case(always)) {
                    names.push(always.into());
                }
            }
        }
        names
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    #[error("not connected to FreeSWITCH")]
    NotConnected,
    #[error("the connection to FreeSWITCH was lost before the reply arrived")]
    Lost,
    #[error("FreeSWITCH refused the ESL password")]
    AuthFailed,
    #[error("FreeSWITCH answered: {0}")]
    Rejected(String),
    #[error("could not reach FreeSWITCH: {0}")]
    Io(String),
    #[error("FreeSWITCH sent no traffic for {0:?}: presumed dead")]
    Silent(Duration),
    #[error("unexpected reply from FreeSWITCH: {0}")]
    Protocol(String),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("the connection was shut down")]
    Shutdown,
    #[error("FreeSWITCH closed the event socket after its disconnect notice")]
    Goodbye,
    #[error("commands are fenced off: this instance does not lead")]
    Fenced,
}

/// Whether commands may leave a connection now. Asked right before each command is written,
/// so it must answer at once (no IO).
pub trait Gate: Send + Sync {
    fn is_open(&self) -> bool;
}

/// What subscribers receive, in the order it happened.
#[derive(Clone, Debug)]
pub enum ConnectionEvent {
    /// Authenticated and subscribed: a fresh session; state must be resynchronised.
    Connected { generation: u64 },
    /// The events of one read from the socket, in order.
    Events(EventBatch),
    Disconnected {
        reason: String,
        /// FreeSWITCH said goodbye (a disconnect notice) before closing: an orderly end.
        goodbye: bool,
    },
}

impl ConnectionEvent {
    fn disconnected(reason: &ConnectionError) -> ConnectionEvent {
        ConnectionEvent::Disconnected {
            reason: reason.to_string(),
            goodbye: *reason == ConnectionError::Goodbye,
        }
    }
}

/// Counters for `/metrics` and `/api/status`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    pub connected: AtomicBool,
    pub connects: AtomicU64,
    pub frames: AtomicU64,
    pub events: AtomicU64,
    pub bytes: AtomicU64,
    pub malformed_events: AtomicU64,
    pub auth_failures: AtomicU64,
    /// Times the socket stopped being read because the lossless receiver was full.
    pub reads_paused: AtomicU64,
}

struct Request {
    bytes: Vec<u8>,
    reply: oneshot::Sender<Frame>,
}

type Jobs = Arc<Mutex<HashMap<String, oneshot::Sender<String>>>>;

struct Shared {
    options: ConnectionOptions,
    session: Mutex<Option<mpsc::Sender<Request>>>,
    jobs: Jobs,
    events: broadcast::Sender<ConnectionEvent>,
    /// The receiver that is never shed: the reader waits for it (back-pressure).
    lossless: Option<mpsc::Sender<ConnectionEvent>>,
    /// The sequence number of the next event received, across sessions.
    sequence: AtomicU64,
    stats: ConnectionStats,
    shutdown: watch::Sender<bool>,
    /// Sessions so far; kept across restarts of the reconnect loop.
    generation: AtomicU64,
    /// Shut: no command leaves (none set: always open).
    gate: std::sync::OnceLock<Arc<dyn Gate>>,
}

impl Shared {
    fn gate_open(&self) -> bool {
        self.gate.get().is_none_or(|gate| gate.is_open())
    }
}

/// A handle to the supervised connection; cheap to clone.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

impl Connection {
    /// Starts the supervisor. Subscribe before the first `Connected` if you must see it:
    /// [`Connection::spawn_with_subscriber`] hands out a receiver that misses nothing.
    pub fn spawn(options: ConnectionOptions) -> Connection {
        Self::spawn_with_subscriber(options).0
    }

    /// Starts the reconnect loop on its own (tools and tests); a panic in it ends it.
    pub fn spawn_with_subscriber(
        options: ConnectionOptions,
    ) -> (Connection, broadcast::Receiver<ConnectionEvent>) {
        let (connection, receiver) = Self::new(options, None);
        tokio::spawn(keep_connected(connection.shared.clone()));
        (connection, receiver)
    }

    /// Starts the reconnect loop with one receiver that misses nothing: every batch waits for
    /// room in it (at most `options.event_buffer` batches queued), so a slow reader slows the
    /// socket down and FreeSWITCH holds the rest. For tools (`esl tail`); the service's
    /// consumers are shed instead. Other subscribers ([`Connection::subscribe`]) still may be.
    pub fn spawn_lossless(
        options: ConnectionOptions,
    ) -> (Connection, mpsc::Receiver<ConnectionEvent>) {
        let (sender, receiver) = mpsc::channel(options.event_buffer.max(1));
        let (connection, _) = Self::new(options, Some(sender));
        tokio::spawn(keep_connected(connection.shared.clone()));
        (connection, receiver)
    }

    /// Starts the reconnect loop under `tasks` as `esl-connection:NODE`: restarted after a
    /// panic (with back-off, counted, named by `/healthz` while down); done at shutdown.
    /// Commands leave only while `gate` is open, from the first one on.
    pub fn spawn_supervised(
        options: ConnectionOptions,
        tasks: &Tasks,
        gate: Arc<dyn Gate>,
    ) -> (Connection, broadcast::Receiver<ConnectionEvent>) {
        let (connection, receiver) = Self::new(options, None);
        connection.set_gate(gate);
        let shared = connection.shared.clone();
        tasks.spawn(
            format!("esl-connection:{}", connection.node()),
            Policy::RestartOnPanic,
            move || keep_connected(shared.clone()),
        );
        (connection, receiver)
    }

    fn new(
        options: ConnectionOptions,
        lossless: Option<mpsc::Sender<ConnectionEvent>>,
    ) -> (Connection, broadcast::Receiver<ConnectionEvent>) {
        let (events, receiver) = broadcast::channel(options.event_buffer.max(16));
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            options,
            session: Mutex::new(None),
            jobs: Arc::new(Mutex::new(HashMap::new())),
            events,
            lossless,
            sequence: AtomicU64::new(0),
            stats: ConnectionStats::default(),
            shutdown,
            generation: AtomicU64::new(0),
            gate: std::sync::OnceLock::new(),
        });
        (Connection { shared }, receiver)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ConnectionEvent> {
        self.shared.events.subscribe()
    }

    pub fn stats(&self) -> &ConnectionStats {
        &self.shared.stats
    }

    pub fn node(&self) -> &str {
        &self.shared.options.node
    }

    pub fn is_connected(&self) -> bool {
        self.shared.stats.connected.load(Ordering::Relaxed)
    }

    /// From now on, commands leave only while `gate` is open (set once; later calls are
    /// ignored). Login and the event subscription are not commands in this sense.
    pub fn set_gate(&self, gate: Arc<dyn Gate>) {
        let _ = self.shared.gate.set(gate);
    }

    /// Stops the supervisor and closes the socket.
    pub fn shutdown(&self) {
        let _ = self.shared.shutdown.send(true);
    }

    async fn request(&self, command: &Command) -> Result<Frame, ConnectionError> {
        let answer = self.submit(command).await?;
        answer.await.map_err(|_| ConnectionError::Lost)
    }

    /// Queues `command` for the writer; the reply comes on the receiver.
    async fn submit(&self, command: &Command) -> Result<oneshot::Receiver<Frame>, ConnectionError> {
        if !self.shared.gate_open() {
            return Err(ConnectionError::Fenced);
        }
        let bytes = command.encode()?;
        let sender = self
            .shared
            .session
            .lock()
            .map_err(|_| ConnectionError::Lost)?
            .clone();
        let sender = sender.ok_or(ConnectionError::NotConnected)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(Request { bytes, reply })
            .await
            .map_err(|_| ConnectionError::Lost)?;
        Ok(answer)
    }

    async fn command_ok(&self, command: &Command) -> Result<String, ConnectionError> {
        let frame = self.request(command).await?;
        let text = frame.reply_text().unwrap_or("").to_owned();
        if text.starts_with("+OK") {
            Ok(text)
        } else {
            Err(ConnectionError::Rejected(text))
        }
    }

    /// `api <command>`: the response body as FreeSWITCH wrote it (`-ERR ...` included).
    pub async fn api(&self, command: &str) -> Result<String, ConnectionError> {
        api_body(self.request(&Command::api(command)).await?)
    }

    /// `api` for each command, sent back to back in this order before any reply is awaited
    /// (FreeSWITCH runs one connection's `api`s in the order they came); the replies in the
    /// same order. One round trip instead of one per command.
    pub async fn api_pipelined(&self, commands: &[&str]) -> Vec<Result<String, ConnectionError>> {
        let mut pending = Vec::with_capacity(commands.len());
        for command in commands {
            pending.push(self.submit(&Command::api(*command)).await);
        }
        let mut replies = Vec::with_capacity(pending.len());
        for answer in pending {
            let frame = match answer {
                Ok(answer) => answer.await.map_err(|_| ConnectionError::Lost),
                Err(e) => Err(e),
            };
            replies.push(frame.and_then(api_body));
        }
        replies
    }

    /// Like [`Connection::api`], but a `-ERR` body is an error.
    pub async fn api_ok(&self, command: &str) -> Result<String, ConnectionError> {
        let body = self.api(command).await?;
        if body.starts_with("-ERR") || body.starts_with("-USAGE") {
            Err(ConnectionError::Rejected(body.trim_end().to_owned()))
        } else {
            Ok(body)
        }
    }

    /// Starts `bgapi <command>` under a Job-UUID chosen here; the returned job completes with
    /// the BACKGROUND_JOB body (`+OK <uuid>\n` or `-ERR <CAUSE>\n`).
    pub async fn bgapi(&self, command: &str) -> Result<BackgroundJob, ConnectionError> {
        let job_uuid = uuid::Uuid::new_v4().to_string();
        let (done, result) = oneshot::channel();
        self.shared
            .jobs
            .lock()
            .map_err(|_| ConnectionError::Lost)?
            .insert(job_uuid.clone(), done);
        let sent = self
            .command_ok(&Command::bgapi(command, job_uuid.clone()))
            .await;
        if let Err(e) = sent {
            if let Ok(mut jobs) = self.shared.jobs.lock() {
                jobs.remove(&job_uuid);
            }
            return Err(e);
        }
        Ok(BackgroundJob { job_uuid, result })
    }

    /// `sendmsg <uuid>` with a call command (execute, hangup, ...).
    pub async fn sendmsg(
        &self,
        uuid: &str,
        call: CallCommand,
        body: Option<String>,
    ) -> Result<String, ConnectionError> {
        self.command_ok(&Command::SendMsg {
            uuid: uuid.to_owned(),
            call,
            body,
        })
        .await
    }

    /// Any other ESL command that answers with `command/reply`.
    pub async fn command(&self, command: &Command) -> Result<String, ConnectionError> {
        self.command_ok(command).await
    }
}

/// The body of an `api` reply; ESL-level refusals (e.g. a bare `api`) come back as
/// command/reply instead.
fn api_body(frame: Frame) -> Result<String, ConnectionError> {
    if frame.kind() != FrameKind::ApiResponse {
        return Err(ConnectionError::Rejected(
            frame.reply_text().unwrap_or("").to_owned(),
        ));
    }
    Ok(frame.body_text().into_owned())
}

/// A `bgapi` job in flight.
#[derive(Debug)]
pub struct BackgroundJob {
    pub job_uuid: String,
    result: oneshot::Receiver<String>,
}

impl BackgroundJob {
    /// The job's result body; [`ConnectionError::Lost`] if the connection dropped first.
    pub async fn result(self) -> Result<String, ConnectionError> {
        self.result.await.map_err(|_| ConnectionError::Lost)
    }
}

/// The reconnect loop: connects, runs a session until it ends, and connects again, until
/// shutdown (or after one session, without `reconnect`).
async fn keep_connected(shared: Arc<Shared>) {
    // A previous run that failed mid-session left it marked live: end it for everyone.
    if shared.stats.connected.swap(false, Ordering::Relaxed) {
        end_session(
            &shared,
            &ConnectionError::Protocol("the connection task failed".into()),
        )
        .await;
    }
    let mut shutdown = shared.shutdown.subscribe();
    let mut attempt = 0u32;
    let options = &shared.options;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let outcome = tokio::select! {
            r = establish(&shared) => r,
            _ = shutdown.changed() => break,
        };
        match outcome {
            Ok((reader, parser, writer)) => {
                attempt = 0;
                let generation = shared.generation.fetch_add(1, Ordering::Relaxed) + 1;
                shared.stats.connects.fetch_add(1, Ordering::Relaxed);
                info!(node = %options.node, address = %options.address, generation, "connected to FreeSWITCH");
                let reason =
                    run_session(&shared, reader, parser, writer, generation, &mut shutdown).await;
                match &reason {
                    ConnectionError::Shutdown => {
                        info!(node = %options.node, "ESL connection closed")
                    }
                    other => {
                        warn!(node = %options.node, address = %options.address, "ESL connection lost: {other}")
                    }
                }
                if reason == ConnectionError::Shutdown {
                    break;
                }
            }
            Err(e) => {
                if e == ConnectionError::AuthFailed {
                    shared.stats.auth_failures.fetch_add(1, Ordering::Relaxed);
                }
                announce(&shared, ConnectionEvent::disconnected(&e)).await;
                if !options.reconnect {
                    error!(node = %options.node, address = %options.address, "ESL connection failed: {e}");
                    break;
                }
                let delay =
                    crate::backoff::delay(options.backoff_initial, options.backoff_max, attempt);
                attempt = attempt.saturating_add(1);
                match e {
                    ConnectionError::AuthFailed => error!(
                        node = %options.node, address = %options.address,
                        "ESL authentication failed: FreeSWITCH refused the password (check esl.password against event_socket.conf.xml); retrying in {delay:.1?}"
                    ),
                    other => {
                        warn!(node = %options.node, address = %options.address, "ESL connect failed: {other}; retrying in {delay:.1?}")
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(delay) => continue,
                    _ = shutdown.changed() => break,
                }
            }
        }
        if !options.reconnect {
            break;
        }
        let delay = crate::backoff::delay(options.backoff_initial, options.backoff_max, 0);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => break,
        }
    }
    announce(
        &shared,
        ConnectionEvent::disconnected(&ConnectionError::Shutdown),
    )
    .await;
}

/// Tells every subscriber; the lossless one is waited for.
async fn announce(shared: &Shared, event: ConnectionEvent) {
    if let Some(lossless) = &shared.lossless {
        // A receiver that is gone wants nothing more.
        if let Err(mpsc::error::TrySendError::Full(event)) = lossless.try_send(event.clone()) {
            let waits = shared.stats.reads_paused.fetch_add(1, Ordering::Relaxed);
            if waits.is_power_of_two() || waits == 0 {
                info!(
                    node = %shared.options.node,
                    "the reader is behind: reading paused, FreeSWITCH holds the events until it catches up ({} pauses so far)",
                    waits + 1
                );
            }
            let _ = lossless.send(event).await;
        }
    }
    // No subscriber is not an error, and a full buffer sheds the slowest, never waits.
    let _ = shared.events.send(event);
}

/// Connects, answers the auth request and subscribes; nothing else runs on the socket yet.
async fn establish(
    shared: &Shared,
) -> Result<(OwnedReadHalf, Parser, OwnedWriteHalf), ConnectionError> {
    let options = &shared.options;
    let stream = tokio::time::timeout(
        options.connect_timeout,
        TcpStream::connect(&options.address),
    )
    .await
    .map_err(|_| {
        ConnectionError::Io(format!(
            "connect timed out after {:?}",
            options.connect_timeout
        ))
    })?
    .map_err(|e| ConnectionError::Io(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let mut parser = Parser::new(options.max_frame);
    let deadline = options.connect_timeout.max(Duration::from_secs(1));

    let greeting = read_frame(&mut reader, &mut parser, deadline).await?;
    if greeting.kind() != FrameKind::AuthRequest {
        return Err(ConnectionError::Protocol(format!(
            "expected auth/request, got {:?}",
            greeting.content_type()
        )));
    }
    let auth = Command::Auth {
        password: options.password.expose().to_owned(),
    };
    write_command(&mut writer, &auth).await?;
    let reply = read_frame(&mut reader, &mut parser, deadline).await?;
    match reply.reply_text() {
        Some(t) if t.starts_with("+OK") => {}
        Some(t) if t.starts_with("-ERR") => return Err(ConnectionError::AuthFailed),
        other => {
            return Err(ConnectionError::Protocol(format!(
                "auth answered {other:?}"
            )))
        }
    }
    let subscribe = Command::Events {
        format: options.format,
        names: options.subscription(),
    };
    write_command(&mut writer, &subscribe).await?;
    // Events may in principle race the reply; none is sent before it, but be lenient.
    loop {
        let reply = read_frame(&mut reader, &mut parser, deadline).await?;
        if reply.kind() == FrameKind::CommandReply {
            return match reply.reply_text() {
                Some(t) if t.starts_with("+OK") => Ok((reader, parser, writer)),
                other => Err(ConnectionError::Rejected(format!(
                    "event subscription refused: {other:?}"
                ))),
            };
        }
    }
}

async fn write_command(
    writer: &mut OwnedWriteHalf,
    command: &Command,
) -> Result<(), ConnectionError> {
    let bytes = command.encode()?;
    writer
        .write_all(&bytes)
        .await
        .map_err(|e| ConnectionError::Io(e.to_string()))
}

async fn read_frame(
    reader: &mut OwnedReadHalf,
    parser: &mut Parser,
    wait: Duration,
) -> Result<Frame, ConnectionError> {
    loop {
        if let Some(frame) = parser.next_frame()? {
            return Ok(frame);
        }
        let n = tokio::time::timeout(wait, reader.read_buf(parser.buffer_mut()))
            .await
            .map_err(|_| ConnectionError::Silent(wait))?
            .map_err(|e| ConnectionError::Io(e.to_string()))?;
        if n == 0 {
            return Err(ConnectionError::Io(
                "FreeSWITCH closed the connection".into(),
            ));
        }
    }
}

/// Runs one authenticated session until it ends; returns why.
async fn run_session(
    shared: &Arc<Shared>,
    reader: OwnedReadHalf,
    parser: Parser,
    writer: OwnedWriteHalf,
    generation: u64,
    shutdown: &mut watch::Receiver<bool>,
) -> ConnectionError {
    let (requests, incoming) = mpsc::channel::<Request>(4096);
    let pending: Arc<Mutex<VecDeque<oneshot::Sender<Frame>>>> = Arc::default();
    // Aborted with this future too (the reconnect loop failed): the socket closes with them.
    let mut writer_task = AbortOnDrop(tokio::spawn(write_loop(
        shared.clone(),
        writer,
        incoming,
        pending.clone(),
    )));
    // Reading and decoding run side by side: the reader frames each read and answers
    // replies, the decoder turns the read's event frames into one batch for the subscribers.
    let (undecoded, frames) = mpsc::channel(DECODE_QUEUE);
    let mut decoder_task = AbortOnDrop(tokio::spawn(decode_loop(shared.clone(), frames)));
    let mut reader_task = AbortOnDrop(tokio::spawn(read_loop(
        shared.clone(),
        reader,
        parser,
        pending.clone(),
        undecoded,
    )));

    if let Ok(mut session) = shared.session.lock() {
        *session = Some(requests);
    }
    shared.stats.connected.store(true, Ordering::Relaxed);
    announce(shared, ConnectionEvent::Connected { generation }).await;

    let reason = tokio::select! {
        r = &mut reader_task.0 => r.unwrap_or_else(|e| ConnectionError::Protocol(format!("reader task failed: {e}"))),
        r = &mut writer_task.0 => r.unwrap_or_else(|e| ConnectionError::Protocol(format!("writer task failed: {e}"))),
        r = &mut decoder_task.0 => match r {
            Err(e) => ConnectionError::Protocol(format!("decoder task failed: {e}")),
            // It ends only once the reader is gone: the reader says why.
            Ok(()) => (&mut reader_task.0).await.unwrap_or_else(|e| ConnectionError::Protocol(format!("reader task failed: {e}"))),
        },
        _ = shutdown.changed() => ConnectionError::Shutdown,
    };
    drop((reader_task, writer_task));
    // Events read before the end still reach the subscribers, ahead of `Disconnected`: the
    // reader is gone, so the decoder ends once it has delivered what it was given.
    if reason != ConnectionError::Shutdown && !decoder_task.0.is_finished() {
        tokio::select! {
            _ = &mut decoder_task.0 => {}
            _ = shutdown.changed() => {}
        }
    }
    drop(decoder_task);

    shared.stats.connected.store(false, Ordering::Relaxed);
    // Dropping the senders wakes every waiter with `Lost`.
    if let Ok(mut pending) = pending.lock() {
        pending.clear();
    }
    end_session(shared, &reason).await;
    reason
}

/// No session any more: new commands get `NotConnected`, jobs in flight `Lost`, and
/// subscribers hear why.
async fn end_session(shared: &Shared, reason: &ConnectionError) {
    if let Ok(mut session) = shared.session.lock() {
        *session = None;
    }
    if let Ok(mut jobs) = shared.jobs.lock() {
        jobs.clear();
    }
    announce(shared, ConnectionEvent::disconnected(reason)).await;
}

/// A session's reader or writer task, aborted when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn write_loop(
    shared: Arc<Shared>,
    mut writer: OwnedWriteHalf,
    mut incoming: mpsc::Receiver<Request>,
    pending: Arc<Mutex<VecDeque<oneshot::Sender<Frame>>>>,
) -> ConnectionError {
    let mut out = Vec::with_capacity(64 * 1024);
    while let Some(first) = incoming.recv().await {
        // Take everything already queued, then write it in one go: pipelining without a
        // syscall per command.
        let mut batch = vec![first];
        while let Ok(next) = incoming.try_recv() {
            batch.push(next);
            if batch.len() >= 512 {
                break;
            }
        }
        out.clear();
        let mut queued = 0;
        for request in batch {
            // A gate shut since the command was handed over (a lease lost, a frozen process
            // resumed) drops it; its waiter hears `Lost`.
            if !shared.gate_open() {
                debug!("command dropped at the gate");
                continue;
            }
            // Queue the waiter before its bytes leave, so the reply always finds it.
            match pending.lock() {
                Ok(mut p) => p.push_back(request.reply),
                Err(_) => return ConnectionError::Lost,
            }
            queued += 1;
            out.extend_from_slice(&request.bytes);
        }
        if queued == 0 {
            continue;
        }
        // The last look, right before the bytes reach the socket: a process frozen while it
        // gathered them finds the gate shut when it resumes, and nothing leaves.
        if !shared.gate_open() {
            debug!(commands = queued, "commands dropped at the gate");
            match pending.lock() {
                // Ours are the newest waiters: no reply can have come for unsent commands.
                Ok(mut p) => (0..queued).for_each(|_| drop(p.pop_back())),
                Err(_) => return ConnectionError::Lost,
            }
            continue;
        }
        if let Err(e) = writer.write_all(&out).await {
            return ConnectionError::Io(e.to_string());
        }
    }
    ConnectionError::Shutdown
}

/// Bytes asked of the socket per read: one read is one batch, so this bounds what a batch
/// holds on to.
const READ_CHUNK: usize = 64 * 1024;

/// Reads framed but not yet decoded; a full queue holds the reader (decoding is the
/// connection's own work, not a consumer's).
const DECODE_QUEUE: usize = 64;

/// The event frames of one read, and their size on the wire.
type Undecoded = (Vec<Frame>, usize);

async fn read_loop(
    shared: Arc<Shared>,
    mut reader: OwnedReadHalf,
    mut parser: Parser,
    pending: Arc<Mutex<VecDeque<oneshot::Sender<Frame>>>>,
    decoder: mpsc::Sender<Undecoded>,
) -> ConnectionError {
    let silence = shared.options.heartbeat * 2;
    let stats = &shared.stats;
    let mut goodbye = false;
    loop {
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        loop {
            let frame = match parser.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => return ConnectionError::Parse(e),
            };
            stats.frames.fetch_add(1, Ordering::Relaxed);
            match frame.kind() {
                FrameKind::CommandReply | FrameKind::ApiResponse => {
                    let waiter = pending.lock().ok().and_then(|mut p| p.pop_front());
                    match waiter {
                        Some(waiter) => {
                            let _ = waiter.send(frame);
                        }
                        None => {
                            debug!(node = %shared.options.node, "reply with no command waiting: {:?}", frame.reply_text())
                        }
                    }
                }
                kind if kind.is_event() => {
                    batch_bytes += frame.wire_len();
                    batch.push(frame);
                }
                FrameKind::DisconnectNotice => {
                    info!(node = %shared.options.node, "FreeSWITCH sent a disconnect notice");
                    goodbye = true;
                }
                _ => {
                    debug!(node = %shared.options.node, "ignoring {:?} frame", frame.content_type())
                }
            }
        }
        if !batch.is_empty() && decoder.send((batch, batch_bytes)).await.is_err() {
            return ConnectionError::Protocol("the decoder ended".into());
        }
        let buffer = parser.buffer_mut();
        buffer.reserve(READ_CHUNK);
        let mut room = buffer.limit(READ_CHUNK);
        match tokio::time::timeout(silence, reader.read_buf(&mut room)).await {
            Err(_) => return ConnectionError::Silent(silence),
            Ok(Err(e)) => return ConnectionError::Io(e.to_string()),
            Ok(Ok(0)) if goodbye => return ConnectionError::Goodbye,
            Ok(Ok(0)) => return ConnectionError::Io("FreeSWITCH closed the connection".into()),
            Ok(Ok(n)) => {
                stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
}

/// The event of an event frame; a malformed one is counted, logged and dropped. A
/// BACKGROUND_JOB completes its `bgapi` here, before any subscriber sees it.
fn read_event(shared: &Shared, frame: &Frame) -> Option<Event> {
    let event = match Event::from_frame(frame) {
        Ok(event) => event,
        Err(e) => {
            shared
                .stats
                .malformed_events
                .fetch_add(1, Ordering::Relaxed);
            warn!(node = %shared.options.node, "dropping a malformed event: {e}");
            return None;
        }
    };
    if event.is("BACKGROUND_JOB") {
        if let Some(job) = event.job_uuid() {
            let waiter = shared
                .jobs
                .lock()
                .ok()
                .and_then(|mut jobs| jobs.remove(job.as_ref()));
            if let Some(waiter) = waiter {
                let _ = waiter.send(event.body().map(|b| b.into_owned()).unwrap_or_default());
            }
        }
    }
    Some(event)
}

/// Decodes each read's event frames and delivers them as one batch, until the reader is gone.
async fn decode_loop(shared: Arc<Shared>, mut reads: mpsc::Receiver<Undecoded>) {
    while let Some((frames, bytes)) = reads.recv().await {
        let events: Vec<Event> = frames
            .iter()
            .filter_map(|frame| read_event(&shared, frame))
            .collect();
        if !events.is_empty() {
            deliver(&shared, bytes, events).await;
        }
    }
}

/// One read's events to every subscriber in one send each.
async fn deliver(shared: &Shared, bytes: usize, events: Vec<Event>) {
    let count = events.len() as u64;
    shared.stats.events.fetch_add(count, Ordering::Relaxed);
    let first = shared.sequence.fetch_add(count, Ordering::Relaxed);
    let batch = EventBatch::new(first, bytes, events);
    announce(shared, ConnectionEvent::Events(batch)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_always_includes_jobs_and_heartbeats() {
        let mut options = ConnectionOptions {
            node: "fs1".into(),
            address: "127.0.0.1:8021".into(),
            password: Secret::new("ClueCon"),
            format: EventFormat::Plain,
            events: Vec::new(),
            heartbeat: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            max_frame: 8 * 1024 * 1024,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            event_buffer: 1_024,
            reconnect: true,
        };
        options.events = vec!["CHANNEL_PARK".into()];
        assert_eq!(
            options.subscription(),
            ["CHANNEL_PARK", "BACKGROUND_JOB", "HEARTBEAT"]
        );
        options.events = vec!["ALL".into()];
        assert_eq!(options.subscription(), ["ALL"]);
    }
}
