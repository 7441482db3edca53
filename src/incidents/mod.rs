//! Incidents from monitoring: alarms (Zabbix, Prometheus Alertmanager) about hosts become
//! incidents for the organizations owning them, each worked as a ticket, with a timer to be
//! taken and one to be resolved that escalate it a line up when they run out.
//!
//! - [`alarm`]: a posted document → [`Alarm`]s, both formats (pure).
//! - [`rules`]: what a problem, a recovery or a timer does (pure).
//! - [`model`]: incidents, steps, and the [`IncidentEvent`] every change is told as.
//! - [`desk`]: [`Incidents`], the one place they change (`receive`, `take`, `resolve`,
//!   `escalate_due`, the leader's `watch`).
//! - [`report`]: take and resolve times per organization and line (pure).
//! - [`config`]: the `[incidents]` section.
//! - [`chat`]: the Matrix room's `!take N` / `!resolve N` (`chat::CommandHandler`) and the
//!   room told of each change (`tell_room`).
//!
//! While an incident of an organization is open, that organization's calls are filed into
//! its ticket (`tickets::file`), the agent's pop-up shows it first (`live::popup`), and its
//! callers hear a notice in the queue (`switch::board`'s incident organizations).

pub mod alarm;
pub mod chat;
pub mod config;
pub mod desk;
pub mod model;
pub mod report;
pub mod rules;

pub use alarm::{Alarm, AlarmError, AlarmState, Source};
pub use config::IncidentConfig;
pub use desk::{IncidentError, Incidents, Received};
pub use model::{
    Incident, IncidentEvent, IncidentEventKind, IncidentStatus, Step, StepKind, BY_MONITORING,
    BY_TIMER,
};
