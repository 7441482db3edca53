//! Mail out: the durable outbox and the SMTP client that empties it.
//!
//! Mails are queued as rows (by [`crate::fax`], in the same transaction as what they are
//! about) and sent by one worker task per process ([`run_outbox`]) through the configured
//! smarthost (`[smtp]`). A mail is `sent` only once the server accepted it; failures retry
//! with exponential back-off and end as `failed` after the configured attempts. No SQL here
//! (that is [`crate::store`]), and nothing here decides what a mail says.
//!
//! - [`config`]: the `[smtp]` section.
//! - [`smtp`]: an outbox row to an RFC 5322 message, handed to the server (lettre).
//! - [`outbox`]: the worker, its wake-up handle and the retry policy.

pub mod config;
pub mod outbox;
pub mod smtp;

pub use config::{is_mail_address, SmtpConfig, TlsMode};
pub use outbox::{run_outbox, Outbox, RetryPolicy};
pub use smtp::{message_id, Attached, MailError, SmtpMailer};
