//! The adapter between FreeSWITCH and the queue engine: ESL events become engine inputs,
//! engine actions become ESL commands, and after every (re)connect the engine is reconciled
//! with the channels the switch really has. No queue policy lives here.
//!
//! - [`interpret`]: events (and `uuid_dump`s) → engine inputs; pure.
//! - [`render`]: engine actions → ESL commands, built only from [`crate::fsarg`] types; pure.
//! - [`board`]: the switchboard task owning the engine, one executor per node.
//! - `writer`: the switchboard's writes to the store, off the routing task.
//! - [`identify`]: the who-is-calling hook.
//! - [`vars`]: the names of the channel variables switchdesk sets and reads back.
//! - `survey`: the rating asked of a caller after the call (`survey = true` queues).

pub mod board;
pub mod identify;
mod interpret;
mod render;
#[cfg(test)]
mod render_props;
mod survey;
pub mod vars;
mod writer;

pub use board::{
    Board, BoardError, BoardOptions, Eavesdrop, LiveView, MirrorChange, RecentCaller, ViewSource,
    EVENTS, INBOX_CAPACITY,
};
pub use identify::{CallerIdentity, Confidence, Identity, Named, Unknown};
pub use render::EavesdropMode;
