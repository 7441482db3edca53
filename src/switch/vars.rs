//! The channel variables switchdesk puts on the channels it drives and reads back: one home
//! for their names. The renderer sets them (the engine says what to remember of a caller's
//! place, [`remembered`] names it), the interpreter reads them to re-adopt calls after a
//! restart, and the CDR linker (`cdr::leg`) reads them from each leg's record to assemble
//! calls. (The dialplan sets [`QUEUE`] first.)

use crate::acd::Remember;
use crate::fsarg::{VarName, VarValue};

/// The queue a parked caller waits in: set by the dialplan, rewritten when the caller moves.
pub const QUEUE: &str = "switchdesk_queue";
/// The queue's name as shown, on the agent and customer legs.
pub const QUEUE_NAME: &str = "switchdesk_queue_name";
/// When the caller joined the queue (Unix ms): a restarted service keeps the place.
pub const ENQUEUED_AT: &str = "switchdesk_enqueued_at";
/// The caller's priority in the queue.
pub const PRIORITY: &str = "switchdesk_priority";
/// On a leg switchdesk started: [`LEG_AGENT`] or [`LEG_CUSTOMER`].
pub const LEG: &str = "switchdesk_leg";
/// [`LEG`] of a leg that rings an agent.
pub const LEG_AGENT: &str = "agent";
/// [`LEG`] of a leg that dials a callback's customer.
pub const LEG_CUSTOMER: &str = "customer";
/// On an agent leg: the caller's channel UUID.
pub const CALLER_UUID: &str = "switchdesk_caller_uuid";
/// On an agent leg: the agent's id.
pub const AGENT: &str = "switchdesk_agent";
/// The recording's path, when the dialplan records the call.
pub const RECORDING: &str = "switchdesk_recording";
/// Set (not `false`) when the caller was sent to voicemail.
pub const VOICEMAIL: &str = "switchdesk_voicemail";
/// How the caller was identified (`exact`, `organization`, `fuzzy`, `unknown`).
pub const IDENTIFIED: &str = "switchdesk_identified";
/// The identified contact's id.
pub const CONTACT_ID: &str = "switchdesk_contact_id";
/// The identified organization's id.
pub const ORGANIZATION_ID: &str = "switchdesk_organization_id";
/// `true` for a VIP caller.
pub const VIP: &str = "switchdesk_vip";
/// On a caller kept after the call for the survey: set (`true`) when the question starts, so
/// the caller is not taken for one waiting (a resync, a restart) and its answer is read;
/// [`SURVEY_DONE`] once the question is over (queued behind it on the channel), so a resync
/// finishes a caller whose answer came while nobody listened.
pub const SURVEY: &str = "switchdesk_survey";
/// [`SURVEY`] once the question is over.
pub const SURVEY_DONE: &str = "done";
/// The caller's rating, 1-5: `play_and_get_digits` sets it only for a valid key, and the
/// caller's CDR carries it to the call and its ticket.
pub const RATING: &str = "switchdesk_rating";

/// A rating as the channel carries it: one key 1-5.
pub fn rating(text: &str) -> Option<u8> {
    match text.trim().as_bytes() {
        [d @ b'1'..=b'5'] => Some(d - b'0'),
        _ => None,
    }
}

/// The channel variable that keeps `what` of a caller's place, and its value; `None` for a
/// value the switch could not carry safely (a queue name `VarValue` refuses).
pub fn remembered(what: &Remember) -> Option<(VarName, VarValue)> {
    let (name, value) = match what {
        Remember::EnqueuedAt(at) => (ENQUEUED_AT, at.to_string()),
        Remember::Priority(priority) => (PRIORITY, priority.to_string()),
        Remember::Queue(queue) => (QUEUE, queue.clone()),
    };
    Some((VarName::parse(name).ok()?, VarValue::reduce(&value)?))
}
