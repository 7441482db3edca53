//! FreeSWITCH call detail records, as mod_xml_cdr sends them (an HTTP POST whose form field
//! `cdr=` carries the percent-encoded XML) or writes them (`xml_cdr/*.cdr.xml`).
//!
//! The parser is a pure building block: bytes in, a [`Cdr`] out; no HTTP, no SQL. The body of a POST arrives
//! from the network, so [`parse_cdr`] treats it as hostile: a streaming reader with a size cap and
//! a depth cap, no DTD, and no entities beyond the five predefined ones and numeric references.
//!
//! Channel variables are percent-encoded a second time inside the XML (FreeSWITCH's
//! `switch_url_encode`); they are decoded once here, so [`Cdr::variable`] gives the real value.
//! Values under `callflow`, `caller_profile` and `app_log` are plain and kept as they are.

//!
//! - [`parse`]: XML (or the form body carrying it) → [`Cdr`].
//! - [`leg`]: a [`Cdr`] → the [`Leg`] of a call it is (caller, agent, callback customer).
//! - [`call`]: legs → one [`CallRecord`]: queue, agent, wait, talk, outcome (pure).
//! - [`ingest`]: the one writer that stores CDRs and files calls into tickets, group-committed.
//! - [`backfill`]: `switchdesk cdr import DIR` over mod_xml_cdr's log directory.

pub mod backfill;
pub mod call;
pub mod ingest;
pub mod leg;
pub mod parse;

pub use call::{assemble, CallKind, CallRecord, Outcome};
pub use ingest::{CdrIngest, IngestError, IngestSettings, Ingested};
pub use leg::{leg_of, Leg, LegFax, LegRole};

pub use parse::{
    cdr_from_form, parse_cdr, parse_cdr_with_limit, AppLogEntry, CallerProfile, Callflow, Cdr,
    CdrError, FaxOutcome, MAX_CDR_BYTES, MAX_DEPTH, MAX_FORM_BYTES,
};
