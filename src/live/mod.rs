//! The live feed behind `/ws`: what the screens see, as it happens. One hub task turns the
//! switchboard's updates and the ticket events into JSON frames, each for an audience
//! (supervisors, or one agent), serialized once and shared by every connection.
//!
//! - `update` frames carry each engine update as it happens (caller joined, announced, left,
//!   agent changed, connected, ended, callbacks, counters changed);
//! - `queue` frames carry the new state of a queue after a burst of updates (waiting callers
//!   in order with their identification, agents, counters);
//! - `agent` frames tell an agent their own state, and `popup` frames, sent when the agent's
//!   phone starts ringing, carry who is calling: contact, organization, assets, open tickets
//!   and the last calls ([`Popup`], which `GET /api/agents/{name}/popup` answers too);
//! - `ticket` frames carry ticket changes, escalations included, to supervisors.
//!
//! On a standby the switchboard serves the leader's published view ([`MirrorChange`]): the
//! hub sends the same frames from what changed in it (the queues, the agents, the pop-ups of
//! phones that started ringing, the leader's updates), so a screen shows the same board on
//! whichever instance it reached.
//!
//! The hub never waits for a connection: frames go out on a bounded broadcast, and a
//! connection that falls behind it is closed (it reconnects and starts from a snapshot).
//! Nothing here knows HTTP; `web::ws` does.

mod popup;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::acd::{QueueView, Update};
use crate::clock;
use crate::directory::PhoneBook;
use crate::store::Store;
use crate::supervise::{Policy, Tasks};
use crate::switch::{Board, MirrorChange, ViewSource};
use crate::tickets::TicketEvent;

pub use popup::{Popup, PopupError};

/// Frames buffered for each connection; one that falls further behind is closed.
pub const FRAME_BUFFER: usize = 4096;

/// How long updates are gathered before the queues they touched are sent in full.
const QUEUE_COALESCE: Duration = Duration::from_millis(40);

/// Who may see a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Supervisors, managers and admins (the wallboard).
    Supervisors,
    /// The agent of that name (their desktop).
    Agent(String),
    /// Not a frame to show: every connection of this user ends (disabled, deleted, password
    /// reset), at once rather than at its next request.
    SignedOut(String),
}

/// One frame, serialized once.
#[derive(Clone, Debug)]
pub struct Frame {
    pub audience: Audience,
    pub text: Arc<str>,
}

/// The hub's handle: subscribe to frames, take a snapshot. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    frames: broadcast::Sender<Frame>,
    board: Board,
    /// Reads and shows numbers in the deployment's style.
    numbering: crate::directory::number::Numbering,
}

/// What the hub reads.
pub struct Sources {
    pub board: Board,
    /// The switchboard's updates (`Board::subscribe`).
    pub updates: broadcast::Receiver<Update>,
    pub tickets: broadcast::Receiver<TicketEvent>,
    pub store: Store,
    pub phonebook: Arc<PhoneBook>,
}

impl Hub {
    /// Starts the hub task (supervised as `live-hub`); it ends when the switchboard's
    /// updates end. A restarted hub resends every queue, so screens miss no state (they may
    /// miss `update` frames from while it was down).
    pub fn start(sources: Sources, tasks: &Tasks) -> Hub {
        let (frames, _) = broadcast::channel(FRAME_BUFFER);
        let hub = Hub {
            frames,
            board: sources.board.clone(),
            numbering: sources.phonebook.numbering().clone(),
        };
        let running = hub.clone();
        // The subscriptions outlive a failed run: the next one reads on from where it was.
        let mirror = sources.board.subscribe_mirror();
        let sources = Arc::new(tokio::sync::Mutex::new((sources, mirror)));
        let mut restarted = false;
        tasks.spawn("live-hub", Policy::RestartOnPanic, move || {
            let run = run(running.clone(), sources.clone(), restarted);
            restarted = true;
            run
        });
        hub
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Frame> {
        self.frames.subscribe()
    }

    /// Closes every live-feed connection of `user`.
    pub fn sign_out(&self, user: &str) {
        let _ = self.frames.send(Frame {
            audience: Audience::SignedOut(user.to_owned()),
            text: Arc::from(""),
        });
    }

    /// The wallboard's starting point: every queue as `GET /api/queues` shows it.
    /// `view` says whose view it is: a standby serves the leader's.
    pub async fn wallboard_snapshot(&self) -> Result<String, crate::switch::BoardError> {
        let (queues, view) = self.queues_shown_from().await?;
        Ok(
            json!({"type": "snapshot", "at": clock::now(), "queues": queues, "view": view})
                .to_string(),
        )
    }

    /// An agent's starting point: their own state (null for a user who is no agent).
    pub async fn agent_snapshot(&self, agent: &str) -> Result<String, crate::switch::BoardError> {
        let view = self.board.agent(agent).await?;
        Ok(json!({"type": "snapshot", "at": clock::now(), "agent": view}).to_string())
    }

    /// Every queue with each waiting caller's identification (`identity`), as shown.
    pub async fn queues_shown(&self) -> Result<Vec<Value>, crate::switch::BoardError> {
        Ok(self.queues_shown_from().await?.0)
    }

    /// The queues as shown, and whose view they are.
    pub async fn queues_shown_from(
        &self,
    ) -> Result<(Vec<Value>, ViewSource), crate::switch::BoardError> {
        let (queues, source) = self.board.queues_and_source().await?;
        let identities = self.board.identities().await?;
        let numbering = &self.numbering;
        let shown = queues
            .iter()
            .map(|queue| queue_shown(queue, &identities, numbering))
            .collect();
        Ok((shown, source))
    }

    fn send(&self, audience: Audience, value: Value) {
        // No subscriber is not an error.
        let _ = self.frames.send(Frame {
            audience,
            text: Arc::from(value.to_string()),
        });
    }
}

/// A queue as JSON with `identity` and `number_shown` (the number in the deployment's style)
/// on each waiting caller, and on each agent in a call the identification of its caller
/// (`caller`), so a screen opened mid-call can name them.
fn queue_shown(
    queue: &QueueView,
    identities: &std::collections::HashMap<String, crate::switch::Identity>,
    numbering: &crate::directory::number::Numbering,
) -> Value {
    let identity_of = |call: &Value| {
        let Some(identity) = call.as_str().and_then(|call| identities.get(call)) else {
            return Value::Null;
        };
        let mut shown = json!(identity);
        if let Some(e164) = &identity.e164 {
            shown["number_shown"] = Value::from(numbering.shown(e164));
        }
        shown
    };
    let mut shown = serde_json::to_value(queue).unwrap_or(Value::Null);
    if let Some(waiting) = shown["waiting"].as_array_mut() {
        for caller in waiting {
            caller["identity"] = identity_of(&caller["call"]);
            let shown = caller["number"].as_str().map(|n| numbering.shown(n));
            caller["number_shown"] = shown.map_or(Value::Null, Value::from);
        }
    }
    if let Some(agents) = shown["agents"].as_array_mut() {
        for agent in agents {
            agent["caller"] = identity_of(&agent["call"]);
        }
    }
    shown
}

fn queue_of(update: &Update) -> Option<&str> {
    match update {
        Update::CallerJoined { queue, .. }
        | Update::CallerLeft { queue, .. }
        | Update::Announced { queue, .. }
        | Update::Connected { queue, .. }
        | Update::Ended { queue, .. }
        | Update::CallbackQueued { queue, .. }
        | Update::CallbackDone { queue, .. }
        | Update::MovedToFront { queue, .. }
        | Update::CountersChanged { queue }
        | Update::Counted { queue, .. } => Some(queue),
        Update::WaitPromised(promise) => Some(&promise.queue),
        Update::AgentChanged { .. } => None,
    }
}

/// `restarted`: after a failure, when every queue is resent at once.
async fn run(
    hub: Hub,
    sources: Arc<tokio::sync::Mutex<(Sources, broadcast::Receiver<MirrorChange>)>>,
    restarted: bool,
) {
    let mut sources = sources.lock().await;
    let (sources, mirror) = &mut *sources;
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    let mut agents_dirty = restarted;
    loop {
        let flush = async {
            if dirty.is_empty() && !agents_dirty {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(QUEUE_COALESCE).await;
        };
        tokio::select! {
            update = sources.updates.recv() => match update {
                Ok(update) => {
                    match queue_of(&update) {
                        Some(queue) => {
                            dirty.insert(queue.to_owned());
                        }
                        None => agents_dirty = true,
                    }
                    on_update(&hub, sources, &update).await;
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "live feed fell behind the switchboard; resending queues");
                    agents_dirty = true;
                }
                Err(RecvError::Closed) => return,
            },
            change = mirror.recv() => match change {
                Ok(change) => {
                    dirty.extend(change.queues.iter().cloned());
                    on_mirror_change(&hub, sources, change);
                }
                Err(RecvError::Lagged(_)) => agents_dirty = true,
                Err(RecvError::Closed) => return,
            },
            event = sources.tickets.recv() => match event {
                Ok(event) => hub.send(
                    Audience::Supervisors,
                    json!({"type": "ticket", "at": clock::now(), "event": event}),
                ),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => {
                    // No more ticket events (a tool without CDR ingest): keep serving updates.
                    let (_, never) = broadcast::channel(1);
                    sources.tickets = never;
                }
            },
            () = flush => {
                send_queues(&hub, &dirty, agents_dirty).await;
                dirty.clear();
                agents_dirty = false;
            }
        }
    }
}

/// Sends the full state of the queues in `dirty` (all of them when an agent changed: agents
/// show in every queue they serve).
async fn send_queues(hub: &Hub, dirty: &BTreeSet<String>, all: bool) {
    let queues = match hub.queues_shown().await {
        Ok(queues) => queues,
        Err(e) => {
            tracing::warn!("live feed cannot read the queues: {e}");
            return;
        }
    };
    for queue in queues {
        let touched = queue["name"]
            .as_str()
            .is_some_and(|name| dirty.contains(name));
        if all || touched {
            hub.send(
                Audience::Supervisors,
                json!({"type": "queue", "at": clock::now(), "queue": queue}),
            );
        }
    }
}

async fn on_update(hub: &Hub, sources: &Sources, update: &Update) {
    hub.send(
        Audience::Supervisors,
        json!({"type": "update", "at": clock::now(), "update": update}),
    );
    let Update::AgentChanged {
        agent,
        activity,
        call,
        ..
    } = update
    else {
        return;
    };
    if let Ok(Some(view)) = hub.board.agent(agent).await {
        hub.send(
            Audience::Agent(agent.clone()),
            json!({"type": "agent", "at": clock::now(), "agent": view}),
        );
    }
    if let (Some(call), "ringing") = (call, activity.as_str()) {
        pop_up(hub, sources, agent, call);
    }
}

/// A standby's frames for what changed in the leader's view it serves.
fn on_mirror_change(hub: &Hub, sources: &Sources, change: MirrorChange) {
    for update in &change.updates {
        hub.send(
            Audience::Supervisors,
            json!({"type": "update", "at": clock::now(), "update": update}),
        );
    }
    for view in &change.agents {
        hub.send(
            Audience::Agent(view.name.clone()),
            json!({"type": "agent", "at": clock::now(), "agent": view}),
        );
    }
    for (agent, call) in &change.ringing {
        pop_up(hub, sources, agent, call);
    }
}

/// Sends `agent` the pop-up of the caller whose `call` rings their phone, gathered beside the
/// hub, so a slow database never holds the feed up.
fn pop_up(hub: &Hub, sources: &Sources, agent: &str, call: &str) {
    let (hub, agent, call) = (hub.clone(), agent.to_owned(), call.to_owned());
    let (store, phonebook) = (sources.store.clone(), sources.phonebook.clone());
    tokio::spawn(async move {
        match Popup::gather(&hub.board, &store, &phonebook, &call).await {
            Ok(popup) => {
                let mut frame = json!(popup);
                frame["type"] = json!("popup");
                frame["at"] = json!(clock::now());
                hub.send(Audience::Agent(agent), frame);
            }
            Err(e) => tracing::warn!(call, "caller pop-up not gathered: {e}"),
        }
    });
}
