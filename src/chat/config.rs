//! `[matrix]`: the room incidents are posted to and commands read from, and the bot's account.
//!
//! ```toml
//! [matrix]
//! homeserver = "https://matrix.example.org"
//! room = "#support-incidents:example.org"   # or "!roomid:example.org"
//! user_id = "@switchdesk:example.org"
//! access_token = "syt_..."                   # or SWITCHDESK_MATRIX__ACCESS_TOKEN
//!
//! [matrix.users]                             # who may act from the room, as whom
//! "@ivan:example.org" = "ivan"
//! ```
//!
//! Only the accounts listed in `[matrix.users]` act, each as the switchdesk user named; a
//! localpart is never matched by itself, since anyone on any federated homeserver can name an
//! account `@ivan:…`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatrixConfig {
    /// The homeserver's base URL: `https://`, or `http://` to a loopback address. Empty: no
    /// chat.
    pub homeserver: String,
    /// The room's id (`!abc:example.org`) or alias (`#incidents:example.org`); the bot joins
    /// it at start (it must be invited to a room that is not public).
    pub room: String,
    /// The bot's account, `@switchdesk:example.org`: its own messages are never read as commands.
    pub user_id: String,
    /// The bot's access token, sent only as `Authorization: Bearer`.
    pub access_token: Secret,
    /// Matrix account → switchdesk user name, for `!take` and `!resolve`.
    pub users: BTreeMap<String, String>,
}

impl MatrixConfig {
    /// Whether chat is configured (`homeserver` set).
    pub fn enabled(&self) -> bool {
        !self.homeserver.trim().is_empty()
    }

    /// Everything wrong with it, in words naming the key; nothing when chat is off.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.enabled() {
            return problems;
        }
        if let Err(e) = homeserver_url(&self.homeserver) {
            problems.push(e);
        }
        if !is_matrix_id(&self.room, &['!', '#']) {
            problems.push(format!(
                "matrix.room {:?} must be a room id (!id) or alias (#name:server)",
                self.room
            ));
        }
        if !is_matrix_id(&self.user_id, &['@']) {
            problems.push(format!(
                "matrix.user_id {:?} must be a Matrix user id (@name:server)",
                self.user_id
            ));
        }
        let token = self.access_token.expose();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            problems.push("matrix.access_token must be set, without spaces or line breaks".into());
        }
        for (account, user) in &self.users {
            if !is_matrix_id(account, &['@']) {
                problems.push(format!(
                    "matrix.users: {account:?} is not a Matrix user id (@name:server)"
                ));
            }
            if user.trim().is_empty() {
                problems.push(format!(
                    "matrix.users: {account:?} names no switchdesk user"
                ));
            }
            if *account == self.user_id {
                problems.push("matrix.users must not list the bot's own account".into());
            }
        }
        problems
    }
}

/// The homeserver's URL: `https`, or `http` only to a loopback host (the token would otherwise
/// cross the network in the clear).
pub(super) fn homeserver_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| format!("matrix.homeserver {text:?} is not a URL: {e}"))?;
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback());
    match url.scheme() {
        "https" if !host.is_empty() => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "matrix.homeserver {text:?} must be https:// (http:// only to a loopback address)"
        )),
    }
}

/// `sigil` + localpart + `:` + server (a room id since room version 12 has no server part),
/// no whitespace or control characters.
fn is_matrix_id(id: &str, sigils: &[char]) -> bool {
    let Some(rest) = id.strip_prefix(sigils) else {
        return false;
    };
    let whole = match rest.split_once(':') {
        Some((local, server)) => !local.is_empty() && !server.is_empty(),
        None => id.starts_with('!') && !rest.is_empty(),
    };
    whole && id.len() <= 255 && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MatrixConfig {
        MatrixConfig {
            homeserver: "https://matrix.example.org".into(),
            room: "#incidents:example.org".into(),
            user_id: "@switchdesk:example.org".into(),
            access_token: Secret::new("syt_abc"),
            users: [("@ivan:example.org".to_owned(), "ivan".to_owned())].into(),
        }
    }

    #[test]
    fn a_complete_config_has_no_problem_and_an_empty_one_is_off() {
        assert!(config().problems().is_empty());
        assert!(!MatrixConfig::default().enabled());
        assert!(MatrixConfig::default().problems().is_empty());
    }

    #[test]
    fn plain_http_only_to_loopback_and_ids_checked() {
        let mut c = config();
        c.homeserver = "http://127.0.0.1:8008".into();
        c.room = "!HQptx9nbAkYQFmAoMCOAbYbDNB2NEz4IxJF0NpM_XWY".into();
        assert!(c.problems().is_empty(), "a room id of room version 12");
        c.homeserver = "http://matrix.example.org".into();
        c.room = "incidents".into();
        c.user_id = "switchdesk".into();
        c.access_token = Secret::new("a b");
        c.users.insert("ivan".into(), " ".into());
        let problems = c.problems().join("\n");
        for key in [
            "matrix.homeserver",
            "matrix.room",
            "matrix.user_id",
            "matrix.access_token",
            "\"ivan\" is not",
            "names no switchdesk user",
        ] {
            assert!(problems.contains(key), "{key} in {problems}");
        }
        assert!(!problems.contains("a b"), "the token is never told");
    }
}
