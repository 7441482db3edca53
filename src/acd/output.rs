//! What the engine asks for (`Action`, carried out on FreeSWITCH by the adapter) and what it
//! reports (`Update`, for the dashboard and the store). Drained by the caller after each input.

use serde::{Deserialize, Serialize};

use super::stats::{Counters, PromisedWait};
use crate::clock::Millis;
use crate::fsarg::{CallerIdName, Endpoint, Extension, VarValue};

/// What of a caller's place the switch keeps on the channel (the adapter names the channel
/// variables): together they put a re-adopted caller back where they were.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Remember {
    /// When they joined the queue: their place in the order.
    EnqueuedAt(Millis),
    /// Their priority in the queue.
    Priority(i32),
    /// The queue they wait in, after an overflow or a supervisor's move.
    Queue(String),
}

/// A command for the switch. Call and leg ids are FreeSWITCH channel UUIDs. What goes into a
/// command from settings is already a checked [`crate::fsarg`] type; what came from callers
/// (names, numbers) is reduced by the renderer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Answer a parked caller (the dialplan parks without answering).
    Answer {
        call: String,
    },
    /// Keep the caller's place on their channel, so a restarted service finds it there.
    Remember {
        call: String,
        what: Remember,
    },
    /// Stop what plays and start the queue's hold music.
    HoldMusic {
        call: String,
        queue: String,
    },
    /// Stop what plays, say the position (and expected wait), then hold music again.
    Announce {
        call: String,
        queue: String,
        position: u32,
        wait_minutes: Option<u32>,
    },
    /// Ring an agent: a new leg with this UUID, parked when answered.
    RingAgent {
        leg: String,
        call: String,
        agent: String,
        endpoint: Endpoint,
        queue: String,
        timeout_secs: u64,
        caller_number: String,
        caller_name: String,
    },
    /// Call a customer back: a new leg with this UUID, parked when answered.
    DialCustomer {
        leg: String,
        /// The customer's number, as the engine was given it.
        number: String,
        dial: Endpoint,
        queue: String,
        timeout_secs: u64,
        caller_id_number: Option<VarValue>,
        caller_id_name: Option<CallerIdName>,
    },
    /// Hang up a leg this engine started (ringing agent, callback customer).
    CancelLeg {
        leg: String,
        cause: String,
    },
    /// Stop the caller's playback and join the two legs.
    Bridge {
        call: String,
        leg: String,
    },
    /// Play the callback confirmation, then hang up.
    ConfirmCallback {
        call: String,
        queue: String,
    },
    /// Send the caller to a dialplan extension.
    Transfer {
        call: String,
        extension: Extension,
    },
    Hangup {
        call: String,
        cause: String,
    },
}

/// Why a caller left the waiting list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Departure {
    /// An agent answered and the bridge is being made.
    Answered {
        agent: String,
    },
    Abandoned,
    Overflowed {
        to: String,
    },
    /// Hung up to be called back; the place is kept by a callback entry with the same id.
    CallbackRequested,
    /// Pressed the exit key.
    Exited {
        extension: String,
    },
    /// The callback could not reach the customer after every attempt.
    CallbackFailed,
    /// A supervisor sent the caller to another queue (a `CallerJoined` there follows).
    Moved {
        to: String,
    },
}

/// A change worth showing or storing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "update", rename_all = "snake_case")]
pub enum Update {
    CallerJoined {
        queue: String,
        id: String,
        number: String,
        name: String,
        priority: i32,
        enqueued_at: Millis,
        position: u32,
        callback: bool,
    },
    CallerLeft {
        queue: String,
        id: String,
        departure: Departure,
    },
    Announced {
        queue: String,
        call: String,
        position: u32,
        wait_minutes: Option<u32>,
        at: Millis,
    },
    AgentChanged {
        agent: String,
        status: String,
        activity: String,
        since: Millis,
        call: Option<String>,
    },
    /// A call was connected to an agent (for talk-time and SLA views).
    Connected {
        queue: String,
        call: String,
        agent: String,
        waited_ms: u64,
        /// Answered within the queue's service-level threshold (as the queue counted it).
        within_sl: bool,
    },
    /// A connected call ended.
    Ended {
        queue: String,
        call: String,
        agent: String,
        talk_ms: u64,
    },
    CallbackQueued {
        queue: String,
        id: String,
        number: String,
        enqueued_at: Millis,
        attempts: u32,
        not_before: Millis,
    },
    CallbackDone {
        queue: String,
        id: String,
        reached: bool,
    },
    CountersChanged {
        queue: String,
    },
    /// The queue's counters changed by `delta` at `at`: what the statistics record.
    Counted {
        queue: String,
        at: Millis,
        delta: Counters,
    },
    /// A caller who was told an expected wait was answered: the first promise made to them
    /// in this queue and how long they then waited (what the statistics store).
    WaitPromised(PromisedWait),
    /// A supervisor put a waiting caller first in their queue, with this priority; everyone
    /// behind them moved down one.
    MovedToFront {
        queue: String,
        id: String,
        priority: i32,
    },
}
