//! The FreeSWITCH event socket (ESL), inbound mode: the only module that knows the wire format.
//!
//! - [`parser`]: sans-IO framing. Bytes in, [`Frame`]s out, `Ok(None)` until a frame is whole.
//! - [`batch`]: the events of one read, as subscribers receive them, numbered.
//! - [`frame`]: one message: its header block and its body, both zero-copy slices.
//! - [`event`]: an event in any of the three formats (plain, json, xml) with lazy,
//!   case-insensitive header access; values are decoded only when read.
//! - [`percent`]: FreeSWITCH's URL encoding (`switch_url_encode`) and its inverse.
//! - [`command`]: the one place commands are encoded; refuses CR/LF injection.
//! - [`wire`]: the switch's side of the protocol (replies, events), for the simulator.
//! - [`connection`]: the tokio client: auth, subscribe, pipelined `api`, `bgapi` by Job-UUID,
//!   heartbeat watchdog, reconnect with back-off.
//! - [`link`]: each node's link for the status page (address, since when, the switch's
//!   version and uptime from its HEARTBEATs, reconnects, events per second).
//! - [`decode`]: `switchdesk esl decode`, a capture to JSON lines.
//! - [`tail`]: `switchdesk esl tail`, every live event as JSON lines, rates or totals.
//!
//! Nothing here knows about queues or calls: the layers above read events and send commands.

pub mod batch;
pub mod command;
pub mod connection;
pub mod decode;
pub mod event;
pub mod frame;
pub mod link;
pub mod parser;
pub mod percent;
pub mod tail;
pub mod wire;

pub use batch::{Continuity, EventBatch};
pub use command::{Command, CommandError, EventFormat};
pub use connection::{Connection, ConnectionError, ConnectionEvent, ConnectionOptions, Gate};
pub use event::{Event, EventError};
pub use frame::{Frame, FrameKind};
pub use link::{Heartbeat, LinkStatus, Links};
pub use parser::{ParseError, Parser};
