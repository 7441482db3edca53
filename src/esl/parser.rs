//! Sans-IO framing of an ESL byte stream, in the style of mini-redis: bytes are pushed in,
//! whole frames come out, `Ok(None)` means "need more bytes".
//!
//! A frame is a header block ending in `\n\n`, then exactly `Content-Length` body bytes (no
//! separator after the body). The parser never holds more than `max_frame` bytes of one frame:
//! a header block or a declared length beyond it is an error before the bytes are buffered.
//! After an error the stream cannot be resynchronised, and every later call reports it again.

use bytes::{Buf, BytesMut};
use memchr::memmem;

use super::frame::Frame;

pub const DEFAULT_MAX_FRAME: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("ESL header block exceeds {limit} bytes without ending")]
    HeaderTooLarge { limit: usize },
    #[error("ESL frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge { size: usize, limit: usize },
    #[error("ESL frame has an invalid Content-Length: {0:?}")]
    BadContentLength(String),
    #[error("ESL header block is not UTF-8 (at byte {offset} of the frame)")]
    NotUtf8 { offset: usize },
    #[error("ESL header line has no name: {0:?}")]
    MalformedHeader(String),
}

/// Where the parser is within the current frame.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Looking for the end of a header block; bytes before `scanned` hold no `\n\n`.
    Head { scanned: usize },
    /// The header block is `head_len` bytes (plus `\n\n`); `body_len` bytes follow.
    Body { head_len: usize, body_len: usize },
}

#[derive(Debug)]
pub struct Parser {
    buf: BytesMut,
    state: State,
    max_frame: usize,
    failed: Option<ParseError>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(DEFAULT_MAX_FRAME)
    }
}

impl Parser {
    pub fn new(max_frame: usize) -> Parser {
        Parser {
            buf: BytesMut::with_capacity(64 * 1024),
            state: State::Head { scanned: 0 },
            max_frame: max_frame.max(64),
            failed: None,
        }
    }

    /// Appends bytes read from the peer.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer to read into directly (e.g. `AsyncReadExt::read_buf`), saving a copy.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes held that are not yet part of a returned frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.advance() {
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
            ok => ok,
        }
    }

    fn advance(&mut self) -> Result<Option<Frame>, ParseError> {
        loop {
            match self.state {
                State::Head { scanned } => {
                    // Stray blank lines between frames carry nothing; FreeSWITCH sends none,
                    // but a hand-written capture or client may.
                    if scanned == 0 {
                        let blank = self.buf.iter().take_while(|&&b| b == b'\n').count();
                        self.buf.advance(blank);
                    }
                    let from = scanned.saturating_sub(1);
                    let Some(at) = memmem::find(&self.buf[from..], b"\n\n").map(|i| i + from)
                    else {
                        if self.buf.len() > self.max_frame {
                            return Err(ParseError::HeaderTooLarge {
                                limit: self.max_frame,
                            });
                        }
                        self.state = State::Head {
                            scanned: self.buf.len(),
                        };
                        return Ok(None);
                    };
                    let head = &self.buf[..at];
                    let text = std::str::from_utf8(head).map_err(|e| ParseError::NotUtf8 {
                        offset: e.valid_up_to(),
                    })?;
                    let body_len = content_length(text)?;
                    // Saturating: a declared length near usize::MAX must not wrap past the cap.
                    let size = (at + 2).saturating_add(body_len);
                    if size > self.max_frame {
                        return Err(ParseError::FrameTooLarge {
                            size,
                            limit: self.max_frame,
                        });
                    }
                    self.state = State::Body {
                        head_len: at,
                        body_len,
                    };
                }
                State::Body { head_len, body_len } => {
                    if self.buf.len() < head_len + 2 + body_len {
                        // Reserve once for the whole frame rather than growing read by read.
                        self.buf.reserve(head_len + 2 + body_len - self.buf.len());
                        return Ok(None);
                    }
                    let head = self.buf.split_to(head_len).freeze();
                    self.buf.advance(2);
                    let body = self.buf.split_to(body_len).freeze();
                    self.state = State::Head { scanned: 0 };
                    return Ok(Some(Frame::new(head, body)));
                }
            }
        }
    }
}

/// The declared body length of a header block; 0 when absent.
fn content_length(head: &str) -> Result<usize, ParseError> {
    for line in head.split('\n') {
        let Some((name, value)) = line.split_once(':') else {
            // The first line of a client's command ("api status") has no colon; FreeSWITCH's
            // own frames always do. Neither carries Content-Length, so just skip it.
            continue;
        };
        if name.is_empty() {
            return Err(ParseError::MalformedHeader(line.chars().take(80).collect()));
        }
        if name.eq_ignore_ascii_case("Content-Length") {
            let value = value.trim();
            return value
                .parse::<usize>()
                .map_err(|_| ParseError::BadContentLength(value.chars().take(40).collect()));
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esl::FrameKind;

    #[test]
    fn frames_split_at_every_byte() {
        let stream = b"Content-Type: auth/request\n\nContent-Type: api/response\nContent-Length: 4\n\ntrueContent-Type: command/reply\nReply-Text: +OK accepted\n\n";
        for split in 0..stream.len() {
            let mut p = Parser::default();
            let mut kinds = Vec::new();
            p.push(&stream[..split]);
            while let Some(f) = p.next_frame().unwrap() {
                kinds.push(f.kind());
            }
            p.push(&stream[split..]);
            while let Some(f) = p.next_frame().unwrap() {
                kinds.push(f.kind());
            }
            assert_eq!(
                kinds,
                [
                    FrameKind::AuthRequest,
                    FrameKind::ApiResponse,
                    FrameKind::CommandReply
                ]
            );
        }
    }

    #[test]
    fn oversized_frames_are_refused_before_buffering() {
        let mut p = Parser::new(1024);
        p.push(b"Content-Type: api/response\nContent-Length: 999999\n\n");
        assert!(
            matches!(p.next_frame(), Err(ParseError::FrameTooLarge { size, .. }) if size > 999999)
        );
        // The error sticks: the stream cannot be trusted any more.
        assert!(p.next_frame().is_err());

        let mut p = Parser::new(1024);
        p.push(&[b'a'; 2000]);
        assert_eq!(
            p.next_frame(),
            Err(ParseError::HeaderTooLarge { limit: 1024 })
        );
    }

    #[test]
    fn a_length_that_would_wrap_is_refused_not_a_panic() {
        for huge in [
            "18446744073709551615",
            "18446744073709551614",
            "18446744073709551600",
        ] {
            let mut p = Parser::new(1024);
            p.push(format!("Content-Type: api/response\nContent-Length: {huge}\n\nx").as_bytes());
            assert!(
                matches!(
                    p.next_frame(),
                    Err(ParseError::FrameTooLarge {
                        size: usize::MAX,
                        limit: 1024
                    })
                ),
                "{huge}"
            );
        }
        let mut p = Parser::new(1024);
        p.push(b"Content-Type: api/response\nContent-Length: 99999999999999999999999\n\n");
        assert!(matches!(
            p.next_frame(),
            Err(ParseError::BadContentLength(_))
        ));
    }

    #[test]
    fn bad_lengths_and_encodings_are_errors() {
        let mut p = Parser::default();
        p.push(b"Content-Type: api/response\nContent-Length: -3\n\n");
        assert!(matches!(p.next_frame(), Err(ParseError::BadContentLength(v)) if v == "-3"));
        let mut p = Parser::default();
        p.push(b"Content-Type: api/\xffresponse\n\n");
        assert!(matches!(
            p.next_frame(),
            Err(ParseError::NotUtf8 { offset: 18 })
        ));
    }
}
