//! Who must be kept out, and where agents must not call: entries matching an exact number, a
//! prefix (a country code, a premium-rate range) or a caller-ID name pattern, each for inbound
//! calls, outbound calls or both, with what to do with a blocked inbound call.
//!
//! [`Blocklist`] is the in-memory matcher the switchboard asks for every parked caller and
//! every callback it would dial; the store keeps the entries and the audit trail. An inbound
//! check happens before the call is answered, so a blocked caller is never billed.

mod entry;
mod matcher;

pub use entry::{Direction, Entry, EntryError, Match, Treatment};
pub use matcher::{glob_matches, Blocklist};
