//! Received faxes: mod_spandsp writes each one as a TIFF of CCITT-coded pages (G3 or G4); this
//! module turns it into a PDF that any mail reader can open, for fax-to-email.
//!
//! Pure and synchronous: it reads bytes and returns bytes, and never touches the disk, the
//! network or the clock. The TIFF comes from outside (the far end's fax machine), so it is
//! read without panics and with bounded memory; a bad file is a [`FaxError`].
//!
//! - [`tiff`]: a minimal TIFF reader: pages, their CCITT strips and resolution.
//! - [`pdf`]: the PDF writer, embedding the coded strips unchanged.

pub mod pdf;
pub mod tiff;

pub use pdf::{tiff_to_pdf, PageSize, Pdf};
pub use tiff::{tiff_pages, Compression, FaxError, FillOrder, PageInfo, Photometric};
