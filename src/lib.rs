//! switchdesk: a contact-center service for teams that run their own FreeSWITCH.
//!
//! A map of the house (see ARCHITECTURE.md for the invariants):
//!
//! - [`esl`]: the event-socket wire protocol. A sans-IO frame parser, events with lazy
//!   header decoding, command encoding, and the tokio [`esl::Connection`] that keeps a
//!   session to FreeSWITCH alive. The only module that knows the wire format.
//! - [`sim`]: a FreeSWITCH stand-in that speaks the same bytes as the captured switch.
//!   Used by `switchdesk demo` and the tests; `serve` never touches it.
//! - [`fsarg`]: the FreeSWITCH boundary: the only types a command is built from, each
//!   refusing what FreeSWITCH would expand or read as syntax.
//! - [`acd`]: the call-queue engine, pure (no IO, no clock).
//! - [`switch`]: FreeSWITCH ⇄ engine: the switchboard, blocklist checks and identification.
//! - [`directory`]: the CMDB phone book: E.164 numbers, fuzzy search, who is calling.
//! - [`blocklist`]: numbers, prefixes and caller-ID names kept out (or not dialled).
//! - [`cdr`]: FreeSWITCH mod_xml_cdr records, parsed (quick-xml, no entity expansion).
//! - [`chat`]: incidents posted to a Matrix room, `!take N` / `!resolve N` read back from it.
//! - [`fax`]: received faxes: TIFF (G3/G4) to PDF, the CCITT data embedded unchanged; the
//!   fax desk that records each one and queues its mail.
//! - [`spool`]: files FreeSWITCH names, read only inside a configured spool directory.
//! - [`mail`]: the durable outbox and the SMTP client that empties it.
//! - [`live`]: the live feed behind `/ws`: frames for the wallboard and each agent's desktop.
//! - [`tickets`]: CDRs filed into tickets by rules, SLA escalation, profitability.
//! - [`store`]: the database (SQLite by default, PostgreSQL by URL). The only module with SQL.
//! - [`web`]: axum routes, authentication and roles. The only module that knows HTTP.
//! - [`users`]: roles, password hashing, session and API tokens (no SQL, no HTTP).
//! - [`metrics`]: the Prometheus registry every module records into.
//! - [`clock`]: time (`Millis`, Unix ms, everywhere) and the one reading of the wall clock.
//! - [`config`]: one TOML file, every key overridable by `SWITCHDESK_*` variables.
//! - [`secret`]: a string kept out of logs (passwords, tokens); a leaf any module may use.
//! - [`service`]: wiring for `serve`, and the one builder of the application's state.
//! - [`demo`]: `switchdesk demo`: the simulated switch, its own database, seeding, traffic.
//! - [`supervise`]: every long-lived task, restarted (or the process ended) when it fails.
//! - [`leadership`]: which of the instances on one PostgreSQL leads, and the fence that keeps
//!   every other one (and a leader that lost its lease) from sending FreeSWITCH commands.
//! - [`spreadsheet`]: CSV written so spreadsheets read no cell as a formula.
//! - [`texts`]: ticket subjects and fax mails in the deployment's language, all in one place.
//! - [`audit`]: the audit log's record (who changed what, before → after), secrets removed.

pub mod accounts;
pub mod acd;
pub mod audit;
pub mod backoff;
pub mod blocklist;
pub mod cdr;
pub mod chat;
pub mod clock;
pub mod config;
pub mod demo;
pub mod directory;
pub mod esl;
pub mod fax;
pub mod fsarg;
pub mod incidents;
pub mod leadership;
pub mod live;
pub mod mail;
pub mod metrics;
pub mod secret;
pub mod service;
pub mod sim;
pub mod spool;
pub mod spreadsheet;
pub mod stats;
pub mod store;
pub mod supervise;
pub mod switch;
pub mod texts;
pub mod tickets;
pub mod users;
pub mod web;
