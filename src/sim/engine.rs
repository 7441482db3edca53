//! The one task that owns the switch: it takes requests (ESL commands from connections, script
//! calls from the `Simulator` handle), runs the agenda when a step is due, and carries out the
//! switch's outputs in order — events fanned out to every connection's queue, deferred api
//! replies, CDR posts, fax files. One owner means one order of events, so runs are deterministic.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::time::{sleep_until, Instant};
use tracing::warn;

use super::config::SimConfig;
use super::events::Event;
use super::listener::Interest;
use super::spec::{AgentBehaviour, CallSpec, ChannelSnapshot, FaxSpec};
use super::switch::{JobReply, Output, Switch};

/// What connections and the handle ask of the switch.
#[derive(Debug)]
pub(crate) enum Request {
    Register {
        events: mpsc::Sender<Arc<Event>>,
        kill: Arc<Notify>,
        reply: oneshot::Sender<u64>,
    },
    Unregister {
        conn: u64,
    },
    /// The event types a connection subscribed to changed.
    Interest {
        conn: u64,
        interest: Interest,
    },
    CheckPassword {
        password: String,
        reply: oneshot::Sender<bool>,
    },
    Api {
        command: String,
        arg: Option<String>,
        reply: oneshot::Sender<String>,
    },
    BgApi {
        command: String,
        arg: Option<String>,
        job_uuid: Option<String>,
        reply: oneshot::Sender<String>,
    },
    SendMsg {
        uuid: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
        reply: oneshot::Sender<String>,
    },
    Exists {
        uuid: String,
        reply: oneshot::Sender<bool>,
    },
    PlaceCall {
        spec: CallSpec,
        reply: oneshot::Sender<String>,
    },
    ReceiveFax {
        spec: FaxSpec,
        reply: oneshot::Sender<String>,
    },
    SetEndpoint {
        endpoint: String,
        behaviour: AgentBehaviour,
        reply: oneshot::Sender<()>,
    },
    Hangup {
        uuid: String,
        cause: String,
        reply: oneshot::Sender<bool>,
    },
    Channels {
        reply: oneshot::Sender<Vec<ChannelSnapshot>>,
    },
    Bridges {
        reply: oneshot::Sender<Vec<(String, String)>>,
    },
    Press {
        uuid: String,
        digit: char,
        reply: oneshot::Sender<bool>,
    },
    AnswerReads {
        uuid: String,
        digits: Vec<(Duration, char)>,
        reply: oneshot::Sender<()>,
    },
    DropConnections {
        reply: oneshot::Sender<()>,
    },
    SetPassword {
        password: String,
        reply: oneshot::Sender<()>,
    },
}

struct Listener {
    events: mpsc::Sender<Arc<Event>>,
    kill: Arc<Notify>,
}

pub(crate) struct Engine {
    switch: Switch,
    password: String,
    listeners: BTreeMap<u64, Listener>,
    interests: BTreeMap<u64, Interest>,
    next_conn: u64,
    replies: HashMap<u64, oneshot::Sender<String>>,
    cdr: Option<mpsc::UnboundedSender<(String, String)>>,
}

impl Engine {
    pub(crate) fn new(config: &SimConfig) -> Engine {
        Engine {
            switch: Switch::new(config, Instant::now()),
            password: config.password.clone(),
            listeners: BTreeMap::new(),
            interests: BTreeMap::new(),
            next_conn: 0,
            replies: HashMap::new(),
            cdr: config.cdr.clone().map(super::cdr::spawn_poster),
        }
    }

    pub(crate) async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Request>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let deadline = self.switch.next_deadline();
            let wake = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                request = requests.recv() => match request {
                    Some(request) => {
                        self.switch.advance(Instant::now());
                        self.flush().await;
                        self.handle(request);
                    }
                    None => break,
                },
                _ = sleep_until(wake), if deadline.is_some() => self.switch.advance(Instant::now()),
            }
            self.flush().await;
        }
        for listener in self.listeners.values() {
            listener.kill.notify_one();
        }
    }

    fn handle(&mut self, request: Request) {
        match request {
            Request::Register {
                events,
                kill,
                reply,
            } => {
                self.next_conn += 1;
                self.listeners
                    .insert(self.next_conn, Listener { events, kill });
                let _ = reply.send(self.next_conn);
            }
            Request::Unregister { conn } => {
                self.listeners.remove(&conn);
                self.interests.remove(&conn);
                self.update_interest();
            }
            Request::Interest { conn, interest } => {
                if self.listeners.contains_key(&conn) {
                    self.interests.insert(conn, interest);
                    self.update_interest();
                }
            }
            Request::CheckPassword { password, reply } => {
                let _ = reply.send(password == self.password);
            }
            Request::Api {
                command,
                arg,
                reply,
            } => {
                let token = self.switch.token();
                match self
                    .switch
                    .api(&command, arg.as_deref(), JobReply::Api(token))
                {
                    Some(body) => {
                        let _ = reply.send(body);
                    }
                    None => {
                        self.replies.insert(token, reply);
                    }
                }
            }
            Request::BgApi {
                command,
                arg,
                job_uuid,
                reply,
            } => {
                let job_uuid = job_uuid.unwrap_or_else(|| self.switch.rng.uuid());
                // The command/reply goes out before anything the job fires.
                let _ = reply.send(job_uuid.clone());
                let job = JobReply::Background {
                    job_uuid,
                    command: command.clone(),
                    arg: arg.clone(),
                };
                self.switch.api(&command, arg.as_deref(), job);
            }
            Request::SendMsg {
                uuid,
                headers,
                body,
                reply,
            } => {
                let _ = reply.send(self.switch.sendmsg(&uuid, &headers, body));
            }
            Request::Exists { uuid, reply } => {
                let _ = reply.send(self.switch.live(&uuid));
            }
            Request::PlaceCall { spec, reply } => {
                let _ = reply.send(self.switch.place_call(&spec));
            }
            Request::ReceiveFax { spec, reply } => {
                let _ = reply.send(self.switch.receive_fax(spec));
            }
            Request::SetEndpoint {
                endpoint,
                behaviour,
                reply,
            } => {
                self.switch.set_endpoint(&endpoint, behaviour);
                let _ = reply.send(());
            }
            Request::Hangup { uuid, cause, reply } => {
                let live = self.switch.live(&uuid);
                if live {
                    let cause = super::hangup::parse_cause(&cause).unwrap_or("NORMAL_CLEARING");
                    self.switch.hangup(
                        &uuid,
                        super::hangup::End::new(cause, super::hangup::Initiator::Remote),
                        None,
                    );
                }
                let _ = reply.send(live);
            }
            Request::Channels { reply } => {
                let _ = reply.send(self.switch.snapshots());
            }
            Request::Bridges { reply } => {
                let _ = reply.send(self.switch.bridges_run.clone());
            }
            Request::Press { uuid, digit, reply } => {
                let _ = reply.send(self.switch.press(&uuid, digit));
            }
            Request::AnswerReads {
                uuid,
                digits,
                reply,
            } => {
                self.switch.read_answers.insert(uuid, digits.into());
                let _ = reply.send(());
            }
            Request::DropConnections { reply } => {
                for (_, listener) in std::mem::take(&mut self.listeners) {
                    listener.kill.notify_one();
                }
                self.interests.clear();
                self.update_interest();
                let _ = reply.send(());
            }
            Request::SetPassword { password, reply } => {
                self.password = password;
                let _ = reply.send(());
            }
        }
    }

    /// Tells the switch which events any connection may want.
    fn update_interest(&mut self) {
        let mut union = Interest::default();
        for interest in self.interests.values() {
            union.merge(interest);
        }
        self.switch.set_interest(union);
    }

    /// Carries out the switch's outputs in the order it produced them.
    async fn flush(&mut self) {
        for output in self.switch.drain() {
            match output {
                Output::Event(event) => {
                    let mut gone = Vec::new();
                    for (id, listener) in &self.listeners {
                        match listener.events.try_send(event.clone()) {
                            Ok(()) => {}
                            // FreeSWITCH drops a listener that falls too far behind.
                            Err(TrySendError::Full(_)) => {
                                warn!("ESL connection {id} fell too far behind; dropping it");
                                listener.kill.notify_one();
                                gone.push(*id);
                            }
                            Err(TrySendError::Closed(_)) => gone.push(*id),
                        }
                    }
                    if !gone.is_empty() {
                        for id in gone {
                            self.listeners.remove(&id);
                            self.interests.remove(&id);
                        }
                        self.update_interest();
                    }
                }
                Output::Reply { token, body } => {
                    if let Some(reply) = self.replies.remove(&token) {
                        let _ = reply.send(body);
                    }
                }
                Output::Cdr { query, xml } => {
                    if let Some(cdr) = &self.cdr {
                        let _ = cdr.send((query, xml));
                    }
                }
                Output::WriteFax { from, to } => {
                    if let Some(dir) = to.parent() {
                        let _ = tokio::fs::create_dir_all(dir).await;
                    }
                    if let Err(e) = tokio::fs::copy(&from, &to).await {
                        warn!("rxfax could not write {}: {e}", to.display());
                    }
                }
            }
        }
    }
}
