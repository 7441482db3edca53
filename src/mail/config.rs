//! `[smtp]`: the smarthost every mail leaves through.

use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// How the connection to the smarthost is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain SMTP: only for a relay on the same host or a trusted network.
    #[default]
    None,
    /// Plain connect, then STARTTLS; refused if the server does not offer it (port 587).
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Empty: no authentication.
    pub username: String,
    pub password: Secret,
    /// The sender, `switchdesk@example.com` or `Fax <fax@example.com>`.
    pub from: String,
    /// For each SMTP command, and for connecting.
    pub timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: 25,
            tls: TlsMode::None,
            username: String::new(),
            password: Secret::default(),
            from: "switchdesk@localhost".into(),
            timeout_secs: 30,
        }
    }
}

impl SmtpConfig {
    /// Everything wrong with it, in words naming the key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.host.trim().is_empty() || self.host.contains(char::is_whitespace) {
            problems.push("smtp.host must be a host name or address".into());
        }
        if self.port == 0 {
            problems.push("smtp.port must not be 0".into());
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            problems.push(format!("smtp.from {:?} is not a mail address", self.from));
        }
        if self.timeout_secs == 0 {
            problems.push("smtp.timeout_secs must be at least 1".into());
        }
        if self.username.contains(['\r', '\n']) || self.password.expose().contains(['\r', '\n']) {
            problems.push("smtp.username and smtp.password must not contain line breaks".into());
        }
        if !self.username.is_empty() && self.password.is_empty() {
            problems.push("smtp.password is empty but smtp.username is set".into());
        }
        problems
    }
}

/// Whether `address` is one mail address (`a@b.example` or `Name <a@b.example>`).
pub fn is_mail_address(address: &str) -> bool {
    address.parse::<lettre::message::Mailbox>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_mistakes_are_named() {
        assert!(SmtpConfig::default().problems().is_empty());
        let config = SmtpConfig {
            host: String::new(),
            from: "nobody".into(),
            username: "relay".into(),
            timeout_secs: 0,
            ..SmtpConfig::default()
        };
        let problems = config.problems().join("\n");
        for key in [
            "smtp.host",
            "smtp.from",
            "smtp.timeout_secs",
            "smtp.password",
        ] {
            assert!(problems.contains(key), "{key} in {problems}");
        }
        assert!(is_mail_address("Fax <fax@example.com>"));
        assert!(!is_mail_address("fax@example.com\r\nBcc: x@example.com"));
    }

    #[test]
    fn the_password_never_shows() {
        let config = SmtpConfig {
            password: Secret::new("hunter2"),
            ..SmtpConfig::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
