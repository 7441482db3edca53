//! Chat: incidents posted to a Matrix room, and `!take N` / `!resolve N` typed there acted on.
//!
//! - `config.rs`: `[matrix]` (homeserver, room, the bot's account, `[matrix.users]`).
//! - `command.rs`: the strict reading of a message as a command, pure.
//! - `notice.rs`: an [`IncidentNotice`] as the room's message (text and HTML), pure.
//! - `matrix.rs`: the Matrix client-server API over `reqwest`: join, send, sync; every answer
//!   read without panicking and within a size cap.
//! - `run.rs`: the supervised, leader-only `matrix` task: posts the queued notices and follows
//!   the room; [`start`] starts it and hands back the [`Notifier`].
//!
//! A command reaches the incidents through a [`CommandHandler`]: the chat side knows who typed
//! it (a switchdesk user, through `[matrix.users]`) and which incident, never what an incident
//! is. Wiring it (`service::state`), with `Incidents` implementing the handler:
//!
//! ```text
//! let chat = chat::start(&config.matrix, config.service.language, store.clone(),
//!                        Arc::new(incidents_handler), &tasks, leadership.clone())?;
//! background.extend(chat.task);          // aborted at shutdown
//! // wherever an incident changes (leader only):
//! chat.notifier.notify(&IncidentNotice { incident: 7, organization: Some("Acme".into()),
//!     title: "Disk full on db1".into(),
//!     event: IncidentEvent::Opened { severity: "High".into(), take_within } });
//! ```

mod command;
mod config;
mod matrix;
mod notice;
mod run;

use std::future::Future;
use std::time::Duration;

pub use command::{parse, Parsed};
pub use config::MatrixConfig;
pub use matrix::{MatrixClient, MatrixError, RoomMessage, SyncBatch};
pub use notice::Message;
pub use run::{start, Chat, Notifier, TASK};

/// What a command asks of an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Take,
    Resolve,
}

/// A command typed in the room by a linked user, for the incidents to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatCommand {
    /// `!take N`: `by` claims incident `incident`.
    Take { incident: i64, by: String },
    /// `!resolve N`: `by` resolves incident `incident`.
    Resolve { incident: i64, by: String },
}

impl ChatCommand {
    pub fn action(&self) -> Action {
        match self {
            ChatCommand::Take { .. } => Action::Take,
            ChatCommand::Resolve { .. } => Action::Resolve,
        }
    }

    pub fn incident(&self) -> i64 {
        match self {
            ChatCommand::Take { incident, .. } | ChatCommand::Resolve { incident, .. } => *incident,
        }
    }

    /// The switchdesk user who typed it.
    pub fn by(&self) -> &str {
        match self {
            ChatCommand::Take { by, .. } | ChatCommand::Resolve { by, .. } => by,
        }
    }
}

/// Why a command was not carried out; answered in the room in the deployment's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No open incident has that number.
    UnknownIncident,
    /// Someone (`by`, a user name) took it already.
    AlreadyTaken {
        by: String,
    },
    AlreadyResolved,
    /// The user may not take or resolve it (their role, their line).
    NotPermitted,
    /// It could not be done now (the database failed): try again.
    Unavailable,
}

/// Carries out the room's commands: implemented by the incidents. Called on the chat task,
/// one command at a time, in the room's order. A command may come twice after a crash (the
/// room is read again from the last position stored), so taking an incident one already holds
/// should answer `Ok` or a refusal, never act twice. The call is dropped midway when this
/// instance loses the lead, so whatever it changes should commit in one step.
pub trait CommandHandler: Send + Sync + 'static {
    fn handle(&self, command: ChatCommand) -> impl Future<Output = Result<(), Refusal>> + Send;
}

/// Which of an incident's timers ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Nobody took it in time.
    Take,
    /// It was not resolved in time.
    Resolve,
}

/// One thing that happened to an incident, as the room is told of it. The incidents module
/// maps its own events onto this; the chat side only words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentNotice {
    /// The incident's number, the `N` of `!take N`.
    pub incident: i64,
    /// The organization the affected host belongs to, when known.
    pub organization: Option<String>,
    /// What monitoring reported (`Disk full on db1`).
    pub title: String,
    pub event: IncidentEvent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncidentEvent {
    /// A new incident, with monitoring's severity as it came (`High`, `critical`) and the time
    /// there is to take it.
    Opened {
        severity: String,
        take_within: Duration,
    },
    /// A user took it; the time there is to resolve it, when a timer runs.
    Taken {
        by: String,
        resolve_within: Option<Duration>,
    },
    /// A timer (`ran_out`, of `after`) ran out and it moved up to `line`; `take_within` when the
    /// new line has a timer to take it.
    Escalated {
        line: u8,
        ran_out: Timer,
        after: Duration,
        take_within: Option<Duration>,
    },
    /// Resolved by a user, or (`by: None`) closed by monitoring's recovery.
    Resolved { by: Option<String> },
}
