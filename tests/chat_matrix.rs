//! The Matrix room round trip against a real Synapse (`synapse/`: installed from the Python
//! package registry into its own virtual environment, started once for this binary with
//! SQLite). Each test registers its own bot, a linked person and a stranger, and a private
//! room; the bot runs as `switchdesk::chat::start` runs it in the service (supervised, leading
//! alone). Without Synapse the tests are skipped with a message, unless `CI` is set, where they
//! fail.

#[macro_use]
mod common;
mod synapse;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::service::eventually;
use common::{TestDb, TestDbRef};
use switchdesk::accounts::Role;
use switchdesk::chat::{
    self, Chat, ChatCommand, CommandHandler, IncidentEvent, IncidentNotice, MatrixConfig, Refusal,
    Timer,
};
use switchdesk::config::Secret;
use switchdesk::leadership::Leadership;
use switchdesk::metrics::Metrics;
use switchdesk::supervise::Tasks;
use switchdesk::texts::Language;
use synapse::{Account, Said, Synapse};

/// The incidents' side, as a test sees it: every command received, and the answer set for
/// some incidents (`Ok` otherwise).
#[derive(Default)]
struct Recorder {
    commands: Mutex<Vec<ChatCommand>>,
    refusals: Mutex<HashMap<i64, Refusal>>,
}

impl Recorder {
    fn commands(&self) -> Vec<ChatCommand> {
        self.commands.lock().unwrap().clone()
    }
}

impl CommandHandler for Recorder {
    async fn handle(&self, command: ChatCommand) -> Result<(), Refusal> {
        let refusal = self
            .refusals
            .lock()
            .unwrap()
            .get(&command.incident())
            .cloned();
        self.commands.lock().unwrap().push(command);
        refusal.map_or(Ok(()), Err)
    }
}

/// A room with the bot in it, a person linked to switchdesk's `ivan`, and a stranger.
struct Room {
    synapse: &'static Synapse,
    bot: Account,
    ivan: Account,
    stranger: Account,
    room_id: String,
    db: TestDb,
    config: MatrixConfig,
}

impl Room {
    /// `None` when Synapse cannot be had (outside CI).
    async fn new() -> Option<Room> {
        let synapse = synapse::synapse()?;
        let bot = synapse.register("bot").await;
        let ivan = synapse.register("ivan").await;
        let stranger = synapse.register("eve").await;
        let room_id = synapse.create_room(&ivan, &[&bot, &stranger]).await;
        synapse.join(&stranger, &room_id).await;
        let db = TestDb::sqlite().await;
        db.store
            .create_user("ivan", Role::Agent, "not a hash")
            .await
            .unwrap();
        let config = MatrixConfig {
            homeserver: synapse.url.clone(),
            room: room_id.clone(),
            user_id: bot.user_id.clone(),
            access_token: Secret::new(bot.token.clone()),
            users: [(ivan.user_id.clone(), "ivan".to_owned())].into(),
        };
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        Some(Room {
            synapse,
            bot,
            ivan,
            stranger,
            room_id,
            db,
            config,
        })
    }

    /// The bot started with `handler`, once it follows the room (it stored where it reads
    /// from: anything said from now on is read).
    async fn start(&self, language: Language, handler: Arc<Recorder>) -> Chat {
        self.start_under(&Tasks::new(Metrics::new()), language, handler)
            .await
    }

    async fn start_under(&self, tasks: &Tasks, language: Language, handler: Arc<Recorder>) -> Chat {
        let chat = chat::start(
            &self.config,
            language,
            self.db.store.clone(),
            handler,
            tasks,
            Leadership::single("test"),
        )
        .unwrap();
        let store = self.db.store.clone();
        let (bot, room) = (self.bot.user_id.clone(), self.room_id.clone());
        eventually("the bot following the room", async || {
            store.chat_next_batch(&bot, &room).await.unwrap()
        })
        .await;
        chat
    }

    async fn say(&self, who: &Account, body: &str) -> String {
        self.synapse.say(who, &self.room_id, body).await
    }

    /// The bot's reply to event `to`, once it is in the room.
    async fn reply_to(&self, to: &str) -> Said {
        eventually("the bot's reply", async || {
            self.synapse
                .messages(&self.ivan, &self.room_id)
                .await
                .into_iter()
                .find(|m| m.reply_to.as_deref() == Some(to))
        })
        .await
    }

    /// Every reply of the bot, in the room's order.
    async fn replies(&self) -> Vec<String> {
        self.synapse
            .messages(&self.ivan, &self.room_id)
            .await
            .into_iter()
            .filter(|m| m.sender == self.bot.user_id && m.reply_to.is_some())
            .map(|m| m.body)
            .collect()
    }
}

fn take(incident: i64) -> ChatCommand {
    ChatCommand::Take {
        incident,
        by: "ivan".into(),
    }
}

fn resolve(incident: i64) -> ChatCommand {
    ChatCommand::Resolve {
        incident,
        by: "ivan".into(),
    }
}

#[tokio::test]
async fn incident_notices_reach_the_people_in_the_room() {
    let Some(room) = Room::new().await else {
        return;
    };
    let chat = room.start(Language::En, Arc::default()).await;
    let notice = |event| IncidentNotice {
        incident: 7,
        organization: Some("Acme <Ltd>".into()),
        title: "Disk full on db1".into(),
        event,
    };
    assert!(chat.notifier.notify(&notice(IncidentEvent::Opened {
        severity: "High".into(),
        take_within: Duration::from_secs(15 * 60),
    })));
    assert!(chat.notifier.notify(&notice(IncidentEvent::Escalated {
        line: 2,
        ran_out: Timer::Take,
        after: Duration::from_secs(15 * 60),
        take_within: Some(Duration::from_secs(10 * 60)),
    })));
    let said = eventually("both notices in the room", async || {
        let notices: Vec<Said> = room
            .synapse
            .messages(&room.ivan, &room.room_id)
            .await
            .into_iter()
            .filter(|m| m.sender == room.bot.user_id)
            .collect();
        (notices.len() == 2).then_some(notices)
    })
    .await;
    assert_eq!(said[0].msgtype, "m.notice");
    assert_eq!(
        said[0].body,
        "Incident 7 · Acme <Ltd>: Disk full on db1\n\
         New, severity High. Take it within 15 min: !take 7"
    );
    let html = said[0].formatted_body.as_deref().unwrap();
    assert!(html.starts_with("<b>Incident 7 · Acme &lt;Ltd&gt;: Disk full on db1</b>"));
    assert!(said[1].body.ends_with(
        "Escalated to line 2: nobody took it within 15 min. Take it within 10 min: !take 7"
    ));
    if let Some(task) = chat.task {
        task.abort();
    }
}

#[tokio::test]
async fn take_and_resolve_typed_in_the_room_reach_the_incidents_and_are_answered() {
    let Some(room) = Room::new().await else {
        return;
    };
    let handler = Arc::new(Recorder::default());
    handler
        .refusals
        .lock()
        .unwrap()
        .insert(8, Refusal::AlreadyTaken { by: "olga".into() });
    let chat = room.start(Language::En, handler.clone()).await;

    let asked = room.say(&room.ivan, "!take 7").await;
    assert_eq!(
        room.reply_to(&asked).await.body,
        "Incident 7 taken by ivan."
    );
    assert_eq!(handler.commands(), [take(7)]);

    let asked = room.say(&room.ivan, "!resolve 7").await;
    let reply = room.reply_to(&asked).await;
    assert_eq!(reply.body, "Incident 7 resolved by ivan.");
    assert_eq!(reply.msgtype, "m.notice");
    assert_eq!(handler.commands(), [take(7), resolve(7)]);

    let asked = room.say(&room.ivan, "!take 8").await;
    assert_eq!(
        room.reply_to(&asked).await.body,
        "Incident 8 was not taken: olga has already taken it."
    );
    if let Some(task) = chat.task {
        task.abort();
    }
}

#[tokio::test]
async fn strangers_and_garbage_change_nothing() {
    let Some(room) = Room::new().await else {
        return;
    };
    let handler = Arc::new(Recorder::default());
    let chat = room.start(Language::Ru, handler.clone()).await;

    room.say(&room.stranger, "!take 7").await;
    room.say(&room.ivan, "hello, is anyone on db1?").await;
    room.say(&room.ivan, "!take seven").await;
    room.say(&room.ivan, "!resolve 0").await;
    room.say(&room.ivan, "!takeover 7").await;
    let last = room.say(&room.ivan, "!take 9").await;
    // Replies come in the room's order: once the last is there, every earlier message was read.
    room.reply_to(&last).await;

    assert_eq!(handler.commands(), [take(9)]);
    let usage = "Команды: !take N или !resolve N, где N — номер инцидента.";
    assert_eq!(
        room.replies().await,
        [
            format!(
                "{} не связан с пользователем switchdesk: ничего не сделано.",
                room.stranger.user_id
            ),
            usage.to_owned(),
            usage.to_owned(),
            "Инцидент 9 взял ivan.".to_owned(),
        ]
    );
    if let Some(task) = chat.task {
        task.abort();
    }
}

#[tokio::test]
async fn a_restart_reads_on_where_it_stopped_without_replaying() {
    let Some(room) = Room::new().await else {
        return;
    };
    let first = Arc::new(Recorder::default());
    let chat = room.start(Language::En, first.clone()).await;
    let asked = room.say(&room.ivan, "!take 7").await;
    room.reply_to(&asked).await;
    assert_eq!(first.commands(), [take(7)]);
    let task = chat.task.unwrap();
    task.abort();
    let _ = task.await;

    // Said while the bot is down: read after the restart, as the take before it is not.
    room.say(&room.ivan, "!take 8").await;
    let second = Arc::new(Recorder::default());
    let chat = room.start(Language::En, second.clone()).await;
    let asked = room.say(&room.ivan, "!resolve 7").await;
    room.reply_to(&asked).await;
    assert_eq!(second.commands(), [take(8), resolve(7)]);
    assert_eq!(first.commands(), [take(7)]);
    assert_eq!(
        room.replies().await,
        [
            "Incident 7 taken by ivan.",
            "Incident 8 taken by ivan.",
            "Incident 7 resolved by ivan."
        ]
    );
    if let Some(task) = chat.task {
        task.abort();
    }
}

#[tokio::test]
async fn a_bot_that_panicked_comes_back_and_reads_on() {
    let Some(room) = Room::new().await else {
        return;
    };
    let tasks = Tasks::new(Metrics::new());
    let handler = Arc::new(Recorder::default());
    let chat = room
        .start_under(&tasks, Language::En, handler.clone())
        .await;
    let asked = room.say(&room.ivan, "!take 7").await;
    room.reply_to(&asked).await;

    let fault = tasks
        .inject_panic(chat::TASK)
        .expect("the matrix task runs");
    eventually("the task down", async || {
        tasks.state(chat::TASK)?.is_down().then_some(())
    })
    .await;
    let asked = room.say(&room.ivan, "!resolve 7").await;
    drop(fault);
    assert_eq!(
        room.reply_to(&asked).await.body,
        "Incident 7 resolved by ivan."
    );
    assert_eq!(handler.commands(), [take(7), resolve(7)]);
    if let Some(task) = chat.task {
        task.abort();
    }
}

async fn the_sync_position_is_kept_per_account_and_room(db: TestDbRef) {
    let store = &db.store;
    assert_eq!(store.chat_next_batch("@bot:x", "!r:x").await.unwrap(), None);
    store
        .set_chat_next_batch("@bot:x", "!r:x", "s1")
        .await
        .unwrap();
    store
        .set_chat_next_batch("@bot:x", "!r:x", "s2")
        .await
        .unwrap();
    store
        .set_chat_next_batch("@bot:x", "!other:x", "o1")
        .await
        .unwrap();
    assert_eq!(
        store
            .chat_next_batch("@bot:x", "!r:x")
            .await
            .unwrap()
            .as_deref(),
        Some("s2")
    );
    assert_eq!(
        store
            .chat_next_batch("@bot:x", "!other:x")
            .await
            .unwrap()
            .as_deref(),
        Some("o1")
    );
    assert_eq!(store.chat_next_batch("@new:x", "!r:x").await.unwrap(), None);
}

on_both_backends!(the_sync_position_is_kept_per_account_and_room);
