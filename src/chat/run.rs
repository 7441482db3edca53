//! The `matrix` task: supervised, and running only while this instance leads (so two
//! instances never answer the same command). It joins the room, then does two things at once:
//! posts the notices queued through the [`Notifier`] (each under its own transaction id, so a
//! retry never posts twice) and follows the room (long-poll sync), carrying each command out
//! through the [`CommandHandler`] and answering it.
//!
//! Where it stopped reading is stored after each answer's commands were carried out and before
//! the replies are sent (`chat_sync`), so a restart reads on from there; the first start reads
//! nothing of what was said before it. Every failure is retried with back-off
//! (`crate::backoff`); a message the server refuses outright (a 4xx) is logged and dropped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::command::{parse, Parsed};
use super::matrix::{MatrixClient, MatrixError, RoomMessage};
use super::notice::Message;
use super::{ChatCommand, CommandHandler, IncidentNotice, MatrixConfig, Refusal};
use crate::backoff;
use crate::leadership::Leadership;
use crate::store::Store;
use crate::supervise::{Policy, Tasks};
use crate::texts::Language;

/// The supervised task's name.
pub const TASK: &str = "matrix";
/// Notices waiting to be posted; past that a notice is dropped (and logged).
const QUEUE: usize = 1000;
/// How long one sync waits for news.
const SYNC_WAIT: Duration = Duration::from_secs(30);
const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

struct Outgoing {
    txn: String,
    message: Message,
}

/// Queues messages for the room; cheap to clone. Without chat configured it drops them.
#[derive(Clone)]
pub struct Notifier {
    queue: Option<mpsc::Sender<Outgoing>>,
    language: Language,
}

impl Notifier {
    /// A notifier for a deployment without chat: every notice is dropped.
    pub fn disabled() -> Notifier {
        Notifier {
            queue: None,
            language: Language::default(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.queue.is_some()
    }

    /// Queues `notice`, worded in the deployment's language, for the room. Never waits:
    /// `false` when chat is off or the queue is full (logged).
    pub fn notify(&self, notice: &IncidentNotice) -> bool {
        self.post(Message::incident(notice, self.language))
    }

    /// Queues any `message` for the room, as [`Notifier::notify`] does.
    pub fn post(&self, message: Message) -> bool {
        let Some(queue) = &self.queue else {
            return false;
        };
        let txn = format!("sd-{}", uuid::Uuid::new_v4().simple());
        match queue.try_send(Outgoing { txn, message }) {
            Ok(()) => true,
            Err(e) => {
                error!("matrix: a notice was dropped ({QUEUE} are waiting already): {e}");
                false
            }
        }
    }
}

/// A started chat: the notifier to post through, and the task (`None` when `[matrix]` is not
/// configured), aborted at shutdown.
pub struct Chat {
    pub notifier: Notifier,
    pub task: Option<JoinHandle<()>>,
}

/// Starts the `matrix` task under `tasks`, running while `leadership` leads, with `handler`
/// carrying out the room's commands and texts in `language`. Without `[matrix]` configured
/// nothing starts and the notifier drops what it is given. An error only for a homeserver URL
/// `MatrixConfig::problems` would refuse.
pub fn start<H: CommandHandler>(
    config: &MatrixConfig,
    language: Language,
    store: Store,
    handler: Arc<H>,
    tasks: &Tasks,
    leadership: Leadership,
) -> Result<Chat, MatrixError> {
    if !config.enabled() {
        return Ok(Chat {
            notifier: Notifier::disabled(),
            task: None,
        });
    }
    let client = MatrixClient::new(&config.homeserver, config.access_token.clone())?;
    let (sender, receiver) = mpsc::channel(QUEUE);
    let outgoing = Arc::new(Mutex::new(receiver));
    let bot = Arc::new(Bot {
        client,
        room: config.room.clone(),
        user_id: config.user_id.clone(),
        users: config.users.clone(),
        language,
        store,
        handler,
    });
    let task = tasks.spawn(TASK, Policy::Restart, move || {
        let (bot, outgoing, leading) = (bot.clone(), outgoing.clone(), leadership.clone());
        async move {
            leading
                .while_leading(|| bot.clone().run(outgoing.clone()))
                .await
        }
    });
    Ok(Chat {
        notifier: Notifier {
            queue: Some(sender),
            language,
        },
        task: Some(task),
    })
}

struct Bot<H> {
    client: MatrixClient,
    room: String,
    user_id: String,
    users: BTreeMap<String, String>,
    language: Language,
    store: Store,
    handler: Arc<H>,
}

impl<H: CommandHandler> Bot<H> {
    async fn run(self: Arc<Self>, outgoing: Arc<Mutex<mpsc::Receiver<Outgoing>>>) {
        let room_id = self.join().await;
        info!(room = %room_id, "matrix: following the room");
        tokio::join!(self.post_queued(&room_id, &outgoing), self.follow(&room_id));
    }

    /// Joins the room, however long it takes; its id.
    async fn join(&self) -> String {
        let mut attempt = 0;
        loop {
            match self.client.join(&self.room).await {
                Ok(room_id) => return room_id,
                Err(e) => {
                    warn!(room = %self.room, "matrix: cannot join the room: {e}");
                    self.pause(&e, attempt).await;
                    attempt = attempt.saturating_add(1);
                }
            }
        }
    }

    async fn post_queued(&self, room_id: &str, outgoing: &Mutex<mpsc::Receiver<Outgoing>>) {
        let mut queue = outgoing.lock().await;
        while let Some(next) = queue.recv().await {
            self.deliver(room_id, &next.txn, &next.message, None).await;
        }
        // Every notifier is gone: nothing more to post, while the room is still followed.
        std::future::pending::<()>().await;
    }

    /// Sends `message` until the server takes it or refuses it for good.
    async fn deliver(&self, room_id: &str, txn: &str, message: &Message, reply_to: Option<&str>) {
        let content = message.content(reply_to);
        let mut attempt = 0;
        loop {
            match self.client.send(room_id, txn, &content).await {
                Ok(_) => return,
                Err(e) if e.is_transient() => {
                    warn!("matrix: posting failed, trying again: {e}");
                    self.pause(&e, attempt).await;
                    attempt = attempt.saturating_add(1);
                }
                Err(e) => {
                    error!("matrix: the homeserver refused a message, dropped: {e}");
                    return;
                }
            }
        }
    }

    async fn follow(&self, room_id: &str) {
        let mut since = match self.store.chat_next_batch(&self.user_id, room_id).await {
            Ok(since) => since,
            Err(e) => {
                warn!("matrix: where the room was left is unknown, reading from now: {e}");
                None
            }
        };
        let mut attempt = 0;
        loop {
            let batch = match self.client.sync(room_id, since.as_deref(), SYNC_WAIT).await {
                Ok(batch) => batch,
                Err(e) => {
                    warn!("matrix: reading the room failed: {e}");
                    self.pause(&e, attempt).await;
                    attempt = attempt.saturating_add(1);
                    continue;
                }
            };
            attempt = 0;
            let mut replies = Vec::new();
            for message in &batch.messages {
                if let Some(reply) = self.answer(message).await {
                    replies.push((message.event_id.as_str(), reply));
                }
            }
            if let Err(e) = self
                .store
                .set_chat_next_batch(&self.user_id, room_id, &batch.next_batch)
                .await
            {
                warn!("matrix: where the room was read to could not be stored: {e}");
            }
            for (event_id, reply) in replies {
                let txn = reply_txn(event_id);
                self.deliver(room_id, &txn, &Message::text(reply), Some(event_id))
                    .await;
            }
            since = Some(batch.next_batch);
        }
    }

    /// What the bot says to `message`, having carried out its command; `None` for a message
    /// that is not one.
    async fn answer(&self, message: &RoomMessage) -> Option<String> {
        if message.sender == self.user_id || message.msgtype != "m.text" || message.is_edit {
            return None;
        }
        let (action, incident) = match parse(&message.body) {
            Parsed::Ignored => return None,
            Parsed::Usage => return Some(self.language.chat_usage().to_owned()),
            Parsed::Command { action, incident } => (action, incident),
        };
        let Some(user) = self.users.get(&message.sender) else {
            info!(sender = %message.sender, "matrix: a command from an unlinked account refused");
            return Some(self.language.chat_unlinked(&message.sender));
        };
        let refused = |reason: Refusal| Some(self.language.chat_refused(action, incident, &reason));
        match self.store.user_by_name(user).await {
            Ok(Some(found)) if !found.disabled => {}
            Ok(_) => {
                info!(sender = %message.sender, %user, "matrix: the linked user is missing or disabled");
                return refused(Refusal::NotPermitted);
            }
            Err(e) => {
                warn!("matrix: the linked user could not be read: {e}");
                return refused(Refusal::Unavailable);
            }
        }
        let command = match action {
            super::Action::Take => ChatCommand::Take {
                incident,
                by: user.clone(),
            },
            super::Action::Resolve => ChatCommand::Resolve {
                incident,
                by: user.clone(),
            },
        };
        info!(sender = %message.sender, %user, incident, ?action, "matrix: command");
        match self.handler.handle(command).await {
            Ok(()) => Some(self.language.chat_done(action, incident, user)),
            Err(reason) => refused(reason),
        }
    }

    /// The back-off before attempt `attempt + 1`, at least what the server asked for.
    async fn pause(&self, error: &MatrixError, attempt: u32) {
        let asked = error.retry_after().unwrap_or_default().min(BACKOFF_MAX);
        let delay = backoff::delay(BACKOFF_INITIAL, BACKOFF_MAX, attempt).max(asked);
        tokio::time::sleep(delay).await;
    }
}

/// The reply's transaction id, from the command's event: a reply sent twice (a retry, or the
/// same command read again after a restart) is one message.
fn reply_txn(event_id: &str) -> String {
    let digest = Sha256::digest(event_id.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("sd-reply-{hex}")
}
