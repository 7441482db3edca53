//! Received faxes: mod_spandsp writes each one as a TIFF of CCITT-coded pages (G3 or G4); this
//! module turns it into a PDF that any mail reader can open, for fax-to-email.
//!
//! The converter is pure and synchronous: it reads bytes and returns bytes, and never touches
//! the disk, the network or the clock. The TIFF comes from outside (the far end's fax
//! machine), so it is read without panics and with bounded memory; a bad file is a
//! [`FaxError`]. The desk around it reads the TIFF rxfax wrote, stores the fax with its PDF
//! and queues the mail about it in the outbox ([`crate::mail`] sends it).
//!
//! - [`tiff`]: a minimal TIFF reader: pages, their CCITT strips and resolution.
//! - [`pdf`]: the PDF writer, embedding the coded strips unchanged.
//! - [`received`]: a completed reception ([`FaxReceived`]), from the ESL event or the CDR.
//! - [`desk`]: [`FaxDesk`]: mailboxes by DID, conversion, the fax and its mail stored once.
//! - [`notice`]: what a fax mail says. [`config`]: `[fax]`.

pub mod config;
pub mod desk;
mod notice;
pub mod pdf;
pub mod received;
pub mod tiff;

pub use config::FaxConfig;
pub use desk::{watch_node, FaxDesk, FaxDeskError, MailboxSource, Receipt};
pub use pdf::{tiff_to_pdf, PageSize, Pdf};
pub use received::FaxReceived;
pub use tiff::{tiff_pages, Compression, FaxError, FillOrder, PageInfo, Photometric};
