//! Tickets: what every call leaves behind for the support team. Calls are filed by rules
//! (answered → ticket with a time entry, repeat caller → threaded, abandoned → callback,
//! fax, voicemail, unidentified), tickets carry SLA clocks that escalate when they run out,
//! and managers review them with the time and cost per organization.
//!
//! - [`model`]: tickets, statuses, time entries, notes, events.
//! - [`rules`]: a finished call → a [`Plan`], its rating → [`Rated`] (pure).
//! - [`file`]: carries a plan out inside the CDR's transaction.
//! - [`sla`]: marks breached clocks and announces escalations.
//! - [`targets`]: support lines, categories, and which SLA target a ticket gets (pure).
//! - [`report`]: the profitability report (pure).
//! - [`webhook`]: hands ticket changes to an external helpdesk, with retries.

pub mod file;
pub mod model;
pub mod report;
pub mod rules;
pub mod sla;
pub mod targets;
pub mod webhook;

pub use file::file_call;
pub use model::{
    NewTicket, Note, NoteKind, SlaRow, Status, Ticket, TicketEvent, TicketKind, TicketPatch,
    TimeEntry, PRIORITY_HIGH, PRIORITY_LOW, PRIORITY_NORMAL,
};
pub use report::{profitability, OrganizationUsage, Profitability};
pub use rules::{caller_key, plan, rated, Append, CallerKey, Plan, Rated, TicketRules};
pub use targets::{Category, TOP_LINE};
pub use webhook::WebhookConfig;
