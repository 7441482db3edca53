//! `[fax]`: where received faxes are mailed, where rxfax writes them (the only place a fax
//! file is read from), how big an attachment may be, and how the outbox retries.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::mail::{is_mail_address, RetryPolicy};

/// Where the shipped fax extension has rxfax write (`freeswitch/dialplan/public/60_switchdesk_fax.xml`).
pub const DEFAULT_SPOOL_DIR: &str = "/var/spool/freeswitch/fax";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaxConfig {
    /// DID → mailboxes. A DID matches as written or in E.164 (`"+74951112233"` also matches a
    /// fax to `84951112233` in region RU). Checked before the phone book.
    pub mailboxes: BTreeMap<String, Vec<String>>,
    /// Where a fax goes when neither `mailboxes` nor an organization's fax mailboxes name one.
    pub default_to: Vec<String>,
    /// A PDF larger than this is sent as a download link instead of an attachment.
    pub attach_limit_bytes: usize,
    /// The dashboard's address as mail readers reach it, for download links.
    pub public_url: String,
    /// The directory rxfax writes into. A file FreeSWITCH names is read only if it lies
    /// inside it (links resolved), is a regular file and starts like a TIFF; anything else is
    /// refused: the fax is recorded with the reason, nothing of the file stored or mailed.
    pub spool_dir: PathBuf,
    /// A TIFF larger than this is not read (mailed as "could not be read").
    pub max_tiff_bytes: u64,
    /// Outbox retries: the first wait, doubling up to `retry_max_ms`.
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    /// Attempts before a mail is `failed` (retried then only through the API).
    pub max_attempts: u32,
    /// The language mails are written in: `[service] language`, not a key of `[fax]` (see
    /// `Config::fax_settings`).
    #[serde(skip)]
    pub language: crate::texts::Language,
}

impl Default for FaxConfig {
    fn default() -> Self {
        FaxConfig {
            mailboxes: BTreeMap::new(),
            default_to: Vec::new(),
            attach_limit_bytes: 10 * 1024 * 1024,
            public_url: "http://127.0.0.1:8080".into(),
            spool_dir: PathBuf::from(DEFAULT_SPOOL_DIR),
            max_tiff_bytes: 64 * 1024 * 1024,
            retry_initial_ms: 30_000,
            retry_max_ms: 3_600_000,
            max_attempts: 12,
            language: crate::texts::Language::En,
        }
    }
}

impl FaxConfig {
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(self.retry_initial_ms),
            max: Duration::from_millis(self.retry_max_ms),
            max_attempts: self.max_attempts,
        }
    }

    /// Everything wrong with it, in words naming the key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (did, addresses) in &self.mailboxes {
            if did.trim().is_empty() {
                problems.push("fax.mailboxes: a DID is empty".into());
            }
            if addresses.is_empty() {
                problems.push(format!("fax.mailboxes {did:?}: no address"));
            }
            for address in addresses.iter().filter(|a| !is_mail_address(a)) {
                problems.push(format!(
                    "fax.mailboxes {did:?}: {address:?} is not a mail address"
                ));
            }
        }
        for address in self.default_to.iter().filter(|a| !is_mail_address(a)) {
            problems.push(format!("fax.default_to: {address:?} is not a mail address"));
        }
        if self.attach_limit_bytes == 0 {
            problems.push("fax.attach_limit_bytes must be at least 1".into());
        }
        let url = self.public_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.contains(char::is_whitespace)
        {
            problems.push(format!(
                "fax.public_url {:?} must be an http:// or https:// address",
                self.public_url
            ));
        }
        if !self.spool_dir.is_absolute() {
            problems.push(format!(
                "fax.spool_dir {:?} must be an absolute path (where rxfax writes)",
                self.spool_dir
            ));
        }
        if self.max_tiff_bytes == 0 {
            problems.push("fax.max_tiff_bytes must be at least 1".into());
        }
        if self.retry_initial_ms == 0 || self.retry_max_ms < self.retry_initial_ms {
            problems.push("fax.retry_initial_ms must be > 0 and <= fax.retry_max_ms".into());
        }
        if self.max_attempts == 0 {
            problems.push("fax.max_attempts must be at least 1".into());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_mistakes_are_named() {
        assert!(FaxConfig::default().problems().is_empty());
        let mut config = FaxConfig::default();
        config
            .mailboxes
            .insert("+15551230000".into(), vec!["not mail".into()]);
        config.default_to = vec!["ok@example.com".into()];
        config.public_url = "ftp://x".into();
        config.retry_initial_ms = 0;
        config.spool_dir = PathBuf::from("spool");
        let problems = config.problems().join("\n");
        assert!(problems.contains("not mail"), "{problems}");
        assert!(problems.contains("public_url"), "{problems}");
        assert!(problems.contains("retry_initial_ms"), "{problems}");
        assert!(problems.contains("fax.spool_dir"), "{problems}");
        assert!(!problems.contains("default_to"), "{problems}");
    }
}
