//! One ESL message: a header block (`Name: value` lines) and an optional body.
//!
//! Both parts are `Bytes` slices of the read buffer, so a frame costs no copy. The outer headers
//! are never URL-encoded by FreeSWITCH (only event bodies are), so they are served as they are.

use bytes::Bytes;

/// What a frame is, from its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    AuthRequest,
    CommandReply,
    ApiResponse,
    EventPlain,
    EventJson,
    EventXml,
    DisconnectNotice,
    LogData,
    /// A content type this client does not know; kept, not rejected.
    Other,
    /// No `Content-Type` at all: a command block as a client sends it (the simulator reads these).
    Command,
}

impl FrameKind {
    pub fn from_content_type(content_type: Option<&str>) -> FrameKind {
        match content_type {
            None => FrameKind::Command,
            Some(ct) => match ct {
                "auth/request" => FrameKind::AuthRequest,
                "command/reply" => FrameKind::CommandReply,
                "api/response" => FrameKind::ApiResponse,
                "text/event-plain" => FrameKind::EventPlain,
                "text/event-json" => FrameKind::EventJson,
                "text/event-xml" => FrameKind::EventXml,
                "text/disconnect-notice" => FrameKind::DisconnectNotice,
                "log/data" => FrameKind::LogData,
                _ => FrameKind::Other,
            },
        }
    }

    pub fn is_event(self) -> bool {
        matches!(
            self,
            FrameKind::EventPlain | FrameKind::EventJson | FrameKind::EventXml
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The header block, UTF-8 checked by the parser, without its terminating blank line.
    head: Bytes,
    body: Bytes,
    kind: FrameKind,
}

impl Frame {
    /// `head` must be valid UTF-8 (the parser checks it before building a frame).
    pub(crate) fn new(head: Bytes, body: Bytes) -> Frame {
        let mut frame = Frame {
            head,
            body,
            kind: FrameKind::Other,
        };
        frame.kind = FrameKind::from_content_type(frame.header("Content-Type"));
        frame
    }

    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    fn head_str(&self) -> &str {
        // The parser only builds frames from UTF-8 header blocks; an empty string is the
        // harmless answer should that ever not hold.
        std::str::from_utf8(&self.head).unwrap_or("")
    }

    /// Header lines as `(name, value)`; a line without `:` yields `(line, "")`.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.head_str()
            .split('\n')
            .filter(|l| !l.is_empty())
            .map(|line| match line.split_once(':') {
                Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
                None => (line, ""),
            })
    }

    /// The first value of a header, compared without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }

    /// `Reply-Text` of a `command/reply`.
    pub fn reply_text(&self) -> Option<&str> {
        self.header("Reply-Text")
    }

    /// The first line of the block: for a client's command, the command itself.
    pub fn first_line(&self) -> &str {
        self.head_str().split('\n').next().unwrap_or("")
    }

    pub fn head(&self) -> &Bytes {
        &self.head
    }

    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Size on the wire: header block, blank line and body.
    pub fn wire_len(&self) -> usize {
        self.head.len() + 2 + self.body.len()
    }
}
