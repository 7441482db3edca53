//! A FreeSWITCH 1.10 stand-in for tests and `switchdesk demo`: an event socket server (inbound
//! mode) that speaks the bytes of the captures in `tests/fixtures/freeswitch`, a switch core
//! with callers, agent endpoints, parking, playback, bridging and rxfax, and mod_xml_cdr's HTTP
//! POST. `serve` never uses it. Deterministic under `SimConfig::seed`; time is tokio's, so tests
//! may pause and advance it.
//!
//! ```text
//! let sim = Simulator::start(TcpListener::bind("127.0.0.1:0").await?, SimConfig::default()).await?;
//! sim.add_endpoint("user/1001", AgentBehaviour::Answer { ring: 2s, talk: Some(30s) }).await?;
//! let caller = sim.place_call(CallSpec { from_number: "+15550001".into(), destination: "7000".into(), .. }).await?;
//! // connect an ESL client to sim.addr(); sim.channels(), sim.commands_received(), sim.shutdown()
//! ```
//!
//! Public API: [`Simulator`] (`start`, `addr`, `place_call`, `add_endpoint`, `receive_fax`,
//! `hangup`, `press`, `answer_reads`, `channels`, `bridges_run`, `drop_connections`, `set_password`, `commands_received`,
//! `open_door`, `commands_received_at`,
//! `shutdown`), [`SimConfig`], [`CdrTarget`], [`Route`], [`RouteAction`], [`CallSpec`],
//! [`AgentBehaviour`], [`FaxSpec`], [`FaxOutcome`], [`ChannelSnapshot`], and
//! [`traffic::run_traffic`] for a synthetic day.
//!
//! Map: `server` (ESL connections) → `engine` (the task owning the switch) → `switch` (core:
//! channels, agenda, sequence) with the call flows in `call` (callers, dialplan routes, DTMF),
//! `apps` (private commands, extensions, playback/say/sleep, uuid_break), `read`
//! (play_and_get_digits), `originate`,
//! `bridge` (uuid_bridge), `bridge_app` (the caller's own `bridge` application), `transfer`, `hangup`, `fax`; `api` (api command replies), `listener`
//! (subscriptions and filters), `events` (header lists), `channel`/`profile`/`vars` (leg
//! data), `cdr` (mod_xml_cdr), `clock`/`rng` (time and seeded randomness), `traffic`
//! (synthetic callers and agents).

mod api;
mod apps;
mod bridge;
mod bridge_app;
mod call;
mod cdr;
mod channel;
mod clock;
mod config;
mod engine;
mod events;
mod fax;
mod hangup;
mod listener;
mod originate;
mod profile;
mod read;
mod rng;
mod server;
mod spec;
mod switch;
pub mod traffic;
mod transfer;
mod vars;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

pub use config::{CdrTarget, Route, RouteAction, SimConfig};
pub use spec::{AgentBehaviour, CallSpec, ChannelSnapshot, FaxOutcome, FaxSpec};

use engine::{Engine, Request};

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the simulator has shut down")]
    Stopped,
    #[error("simulator socket: {0}")]
    Io(#[from] std::io::Error),
}

struct Inner {
    addr: SocketAddr,
    requests: mpsc::UnboundedSender<Request>,
    commands: server::CommandLog,
    /// Each further listener's address and the commands that came through it.
    doors: Mutex<Vec<(SocketAddr, server::CommandLog)>>,
    shutdown: watch::Sender<bool>,
}

/// A running simulated switch; cheap to clone, stopped by [`Simulator::shutdown`].
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl Simulator {
    /// Serves ESL on `listener` (bind `127.0.0.1:0` for tests) until shut down.
    pub async fn start(listener: TcpListener, config: SimConfig) -> Result<Simulator, SimError> {
        let addr = listener.local_addr()?;
        let (requests, incoming) = mpsc::unbounded_channel();
        let (shutdown, stop) = watch::channel(false);
        let commands: server::CommandLog = Arc::new(Mutex::new(Default::default()));
        tokio::spawn(Engine::new(&config).run(incoming, stop.clone()));
        tokio::spawn(server::accept_loop(
            listener,
            requests.clone(),
            commands.clone(),
            stop,
        ));
        Ok(Simulator {
            inner: Arc::new(Inner {
                addr,
                requests,
                commands,
                doors: Mutex::new(Vec::new()),
                shutdown,
            }),
        })
    }

    /// Where the event socket listens.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, SimError> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .requests
            .send(make(tx))
            .map_err(|_| SimError::Stopped)?;
        rx.await.map_err(|_| SimError::Stopped)
    }

    /// A caller dials in; returns the new channel's UUID.
    pub async fn place_call(&self, spec: CallSpec) -> Result<String, SimError> {
        self.ask(|reply| Request::PlaceCall { spec, reply }).await
    }

    /// Registers (or re-registers) an agent endpoint, e.g. `user/1001` or
    /// `sofia/external/agent1@127.0.0.1:5090`, with how it reacts to `originate`.
    pub async fn add_endpoint(
        &self,
        endpoint: &str,
        behaviour: AgentBehaviour,
    ) -> Result<(), SimError> {
        let endpoint = endpoint.to_owned();
        self.ask(|reply| Request::SetEndpoint {
            endpoint,
            behaviour,
            reply,
        })
        .await
    }

    /// An inbound fax call to a DID routed with [`Route::fax`]; returns its UUID.
    pub async fn receive_fax(&self, spec: FaxSpec) -> Result<String, SimError> {
        self.ask(|reply| Request::ReceiveFax { spec, reply }).await
    }

    /// The far end of `uuid` hangs up with `cause`; false if there is no such live channel.
    pub async fn hangup(&self, uuid: &str, cause: &str) -> Result<bool, SimError> {
        let (uuid, cause) = (uuid.to_owned(), cause.to_owned());
        self.ask(|reply| Request::Hangup { uuid, cause, reply })
            .await
    }

    /// The far end of `uuid` presses `digit` (`0`-`9`, `*`, `#`, `A`-`D`): a DTMF event with
    /// `DTMF-Source: RTP`, as an RFC 2833 digit in capture 05. A playback or say it
    /// terminates (`playback_terminators`, `*` by default) stops. False if there is no such
    /// live channel with media (answered or early) or `digit` is not a DTMF digit.
    pub async fn press(&self, uuid: &str, digit: char) -> Result<bool, SimError> {
        let uuid = uuid.to_owned();
        self.ask(|reply| Request::Press { uuid, digit, reply })
            .await
    }

    /// The digits `uuid` presses when a `play_and_get_digits` prompts it (a survey): the
    /// n-th try's prompt gets the n-th `(after, digit)`, pressed `after` the prompt starts.
    /// Replaces what was scripted before; a try with none left hears no digit.
    pub async fn answer_reads(
        &self,
        uuid: &str,
        digits: Vec<(std::time::Duration, char)>,
    ) -> Result<(), SimError> {
        let uuid = uuid.to_owned();
        self.ask(|reply| Request::AnswerReads {
            uuid,
            digits,
            reply,
        })
        .await
    }

    /// Every live channel, in creation order.
    pub async fn channels(&self) -> Result<Vec<ChannelSnapshot>, SimError> {
        self.ask(|reply| Request::Channels { reply }).await
    }

    /// Every `bridge` application a channel ran, as (channel, dial string), oldest first.
    pub async fn bridges_run(&self) -> Result<Vec<(String, String)>, SimError> {
        self.ask(|reply| Request::Bridges { reply }).await
    }

    /// Closes every ESL connection at once, without a disconnect notice (a crashed switch or a
    /// cut network, for reconnect tests). Channels live on.
    pub async fn drop_connections(&self) -> Result<(), SimError> {
        self.ask(|reply| Request::DropConnections { reply }).await
    }

    /// Changes the ESL password for later `auth` commands.
    pub async fn set_password(&self, password: &str) -> Result<(), SimError> {
        let password = password.to_owned();
        self.ask(|reply| Request::SetPassword { password, reply })
            .await
    }

    /// The command lines clients sent (`auth ...`, `api status`, `sendmsg <uuid>`...), oldest
    /// first; the most recent 50,000 are kept.
    pub fn commands_received(&self) -> Vec<String> {
        self.inner
            .commands
            .lock()
            .map(|log| log.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Serves the same switch's event socket on `listener` too, logging what comes through it
    /// apart ([`Simulator::commands_received_at`], not in [`Simulator::commands_received`]):
    /// give each client its own door to tell which one sent what.
    pub fn open_door(&self, listener: TcpListener) -> Result<SocketAddr, SimError> {
        let addr = listener.local_addr()?;
        let log: server::CommandLog = Arc::new(Mutex::new(Default::default()));
        if let Ok(mut doors) = self.inner.doors.lock() {
            doors.push((addr, log.clone()));
        }
        tokio::spawn(server::accept_loop(
            listener,
            self.inner.requests.clone(),
            log,
            self.inner.shutdown.subscribe(),
        ));
        Ok(addr)
    }

    /// The command lines that came through the door at `addr` (see
    /// [`Simulator::open_door`]), oldest first.
    pub fn commands_received_at(&self, addr: SocketAddr) -> Vec<String> {
        let Ok(doors) = self.inner.doors.lock() else {
            return Vec::new();
        };
        doors
            .iter()
            .find(|(door, _)| *door == addr)
            .and_then(|(_, log)| log.lock().ok().map(|log| log.iter().cloned().collect()))
            .unwrap_or_default()
    }

    /// Stops serving and closes every connection.
    pub fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
    }
}
