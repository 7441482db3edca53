//! The Matrix client-server API, as much of it as the bot uses: join a room, send a message
//! (an idempotent `PUT` with the caller's transaction id), and sync one room's messages. The
//! access token travels only in the `Authorization` header, never in a URL or a log line.
//! Every answer is read within a size cap and without trusting its shape: a malformed event is
//! skipped, a malformed answer is an error.

use std::time::Duration;

use serde_json::{json, Value};

use crate::secret::Secret;

/// The most a sync answer may be (the filter asks for one room's messages only).
const MAX_SYNC_BYTES: usize = 8 * 1024 * 1024;
/// The most any other answer may be.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// For everything but the sync's long poll, which gets its own wait on top.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Events one sync answer may carry from the room's timeline.
const TIMELINE_LIMIT: u32 = 50;

/// Why a request did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("the homeserver could not be reached: {0}")]
    Transport(String),
    #[error("the homeserver answered {status} {errcode}: {error}")]
    Refused {
        status: u16,
        errcode: String,
        error: String,
        /// What the server asked to wait (`M_LIMIT_EXCEEDED`'s `retry_after_ms`).
        retry_after: Option<Duration>,
    },
    #[error("the homeserver's answer could not be read: {0}")]
    Malformed(String),
}

impl MatrixError {
    /// Worth trying again as it is: the network, the server's own trouble, rate limiting.
    /// A refusal of the request itself (a 4xx: forbidden, unknown token) is not.
    pub fn is_transient(&self) -> bool {
        match self {
            MatrixError::Transport(_) | MatrixError::Malformed(_) => true,
            MatrixError::Refused { status, .. } => *status == 429 || *status >= 500,
        }
    }

    /// How long the server asked to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            MatrixError::Refused { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// One message of the room's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomMessage {
    pub event_id: String,
    pub sender: String,
    /// `m.text`, `m.notice`...
    pub msgtype: String,
    pub body: String,
    /// An edit of an earlier message (`m.replace`): never a command.
    pub is_edit: bool,
}

/// One sync's answer: where the next one starts and the room's new messages, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncBatch {
    pub next_batch: String,
    pub messages: Vec<RoomMessage>,
}

/// A client for one account on one homeserver; cheap to clone.
#[derive(Clone)]
pub struct MatrixClient {
    http: reqwest::Client,
    base: reqwest::Url,
    token: Secret,
}

impl MatrixClient {
    /// A client for `homeserver` (checked as `[matrix] homeserver` is) with `token`.
    pub fn new(homeserver: &str, token: Secret) -> Result<MatrixClient, MatrixError> {
        let base = super::config::homeserver_url(homeserver).map_err(MatrixError::Malformed)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("switchdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MatrixError::Transport(e.to_string()))?;
        Ok(MatrixClient { http, base, token })
    }

    /// `/_matrix/client/v3/` + `segments`, each percent-encoded as one path segment.
    fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["_matrix", "client", "v3"]);
            path.extend(segments);
        }
        url
    }

    /// Joins `room` (an id or an alias; a room the bot is in already is joined again harmlessly)
    /// and answers its id.
    pub async fn join(&self, room: &str) -> Result<String, MatrixError> {
        let request = self.http.post(self.url(&["join", room])).json(&json!({}));
        let answer = self
            .send_request(request, REQUEST_TIMEOUT, MAX_ANSWER_BYTES)
            .await?;
        string_at(&answer, "room_id")
    }

    /// Sends `content` as an `m.room.message` to `room_id` under transaction `txn`: sending the
    /// same `txn` again (a retry) is the same message, not a second one. Answers the event id.
    pub async fn send(
        &self,
        room_id: &str,
        txn: &str,
        content: &Value,
    ) -> Result<String, MatrixError> {
        let url = self.url(&["rooms", room_id, "send", "m.room.message", txn]);
        let request = self.http.put(url).json(content);
        let answer = self
            .send_request(request, REQUEST_TIMEOUT, MAX_ANSWER_BYTES)
            .await?;
        string_at(&answer, "event_id")
    }

    /// The room's messages after `since` (waiting up to `wait` for some), or, without `since`,
    /// only where the room is now (no history).
    pub async fn sync(
        &self,
        room_id: &str,
        since: Option<&str>,
        wait: Duration,
    ) -> Result<SyncBatch, MatrixError> {
        let filter = json!({
            "presence": {"types": []},
            "account_data": {"types": []},
            "room": {
                "rooms": [room_id],
                "timeline": {
                    "limit": if since.is_some() { TIMELINE_LIMIT } else { 1 },
                    "types": ["m.room.message"],
                },
                "state": {"types": []},
                "ephemeral": {"types": []},
                "account_data": {"types": []},
            },
        })
        .to_string();
        let wait = if since.is_some() {
            wait
        } else {
            Duration::ZERO
        };
        let timeout_ms = wait.as_millis().to_string();
        let mut query = vec![
            ("filter", filter.as_str()),
            ("timeout", timeout_ms.as_str()),
        ];
        if let Some(since) = since {
            query.push(("since", since));
        }
        let request = self.http.get(self.url(&["sync"])).query(&query);
        let answer = self
            .send_request(request, REQUEST_TIMEOUT + wait, MAX_SYNC_BYTES)
            .await?;
        let next_batch = string_at(&answer, "next_batch")?;
        let messages = match since {
            // The first sync only finds where the room is: what was said before is not read.
            None => Vec::new(),
            Some(_) => room_messages(&answer, room_id),
        };
        Ok(SyncBatch {
            next_batch,
            messages,
        })
    }

    async fn send_request(
        &self,
        request: reqwest::RequestBuilder,
        timeout: Duration,
        cap: usize,
    ) -> Result<Value, MatrixError> {
        let mut response = request
            .bearer_auth(self.token.expose())
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| MatrixError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| MatrixError::Transport(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > cap {
                return Err(MatrixError::Malformed(format!(
                    "the answer is larger than {cap} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let value: Option<Value> = serde_json::from_slice(&body).ok();
        if status.is_success() {
            return value.ok_or_else(|| MatrixError::Malformed("not JSON".into()));
        }
        let field = |name: &str| {
            value
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(|s| s.chars().take(200).collect::<String>())
                .unwrap_or_default()
        };
        let retry_after = value
            .as_ref()
            .and_then(|v| v.get("retry_after_ms"))
            .and_then(Value::as_u64)
            .map(Duration::from_millis);
        Err(MatrixError::Refused {
            status: status.as_u16(),
            errcode: field("errcode"),
            error: field("error"),
            retry_after,
        })
    }
}

fn string_at(answer: &Value, key: &str) -> Result<String, MatrixError> {
    answer
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| MatrixError::Malformed(format!("no {key}")))
}

/// The `m.room.message` events of `room_id`'s timeline in a sync answer, in order; any event
/// lacking a part the bot reads is left out.
fn room_messages(answer: &Value, room_id: &str) -> Vec<RoomMessage> {
    let events = answer
        .pointer("/rooms/join")
        .and_then(|rooms| rooms.get(room_id))
        .and_then(|room| room.pointer("/timeline/events"))
        .and_then(Value::as_array);
    events
        .into_iter()
        .flatten()
        .filter(|event| event.get("type").and_then(Value::as_str) == Some("m.room.message"))
        .filter_map(|event| {
            let text = |pointer: &str| event.pointer(pointer).and_then(Value::as_str);
            Some(RoomMessage {
                event_id: text("/event_id")?.to_owned(),
                sender: text("/sender")?.to_owned(),
                msgtype: text("/content/msgtype")?.to_owned(),
                body: text("/content/body")?.to_owned(),
                is_edit: text("/content/m.relates_to/rel_type") == Some("m.replace"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_messages_of_the_room_are_read() {
        let answer = json!({
            "next_batch": "s1",
            "rooms": {"join": {
                "!r:x": {"timeline": {"events": [
                    {"type": "m.room.message", "event_id": "$1", "sender": "@a:x",
                     "content": {"msgtype": "m.text", "body": "!take 7"}},
                    {"type": "m.room.message", "event_id": "$2", "sender": "@a:x",
                     "content": {"msgtype": "m.text"}},
                    {"type": "m.room.message", "event_id": "$3", "sender": 5,
                     "content": {"msgtype": "m.text", "body": "x"}},
                    {"type": "m.room.member", "event_id": "$4", "sender": "@a:x",
                     "content": {"membership": "join"}},
                    "not an event",
                    {"type": "m.room.message", "event_id": "$5", "sender": "@a:x",
                     "content": {"msgtype": "m.text", "body": "* !take 8",
                                 "m.relates_to": {"rel_type": "m.replace", "event_id": "$1"}}}
                ]}},
                "!other:x": {"timeline": {"events": [
                    {"type": "m.room.message", "event_id": "$9", "sender": "@a:x",
                     "content": {"msgtype": "m.text", "body": "!take 9"}}
                ]}}
            }}
        });
        let messages = room_messages(&answer, "!r:x");
        let ids: Vec<_> = messages.iter().map(|m| m.event_id.as_str()).collect();
        assert_eq!(ids, ["$1", "$5"]);
        assert!(!messages[0].is_edit && messages[1].is_edit);
        assert!(room_messages(&json!({"rooms": []}), "!r:x").is_empty());
        assert!(room_messages(&json!(null), "!r:x").is_empty());
    }

    #[test]
    fn paths_are_encoded_one_segment_each() {
        let client = MatrixClient::new("https://m.example.org/base/", Secret::new("t")).unwrap();
        let url = client.url(&["join", "#room/x:example.org"]);
        assert_eq!(
            url.as_str(),
            "https://m.example.org/base/_matrix/client/v3/join/%23room%2Fx:example.org"
        );
        assert!(MatrixClient::new("http://matrix.example.org", Secret::new("t")).is_err());
    }
}
