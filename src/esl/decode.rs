//! `switchdesk esl decode`: a raw capture of what FreeSWITCH sent on port 8021, one JSON line
//! per frame (content type, outer headers, event name, event headers, body).

use std::io::{Read, Write};

use serde_json::{json, Map, Value};

use super::event::Event;
use super::frame::Frame;
use super::parser::{ParseError, Parser};

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("reading the capture: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame {frame} (at byte {offset}): {source}")]
    Parse {
        frame: usize,
        offset: usize,
        source: ParseError,
    },
}

/// One frame as a JSON object. Events carry their decoded headers under `event`.
pub fn frame_to_json(frame: &Frame, offset: usize) -> Value {
    let headers: Map<String, Value> = frame
        .headers()
        .map(|(n, v)| (n.to_owned(), Value::String(v.to_owned())))
        .collect();
    let mut out = json!({
        "offset": offset,
        "content_type": frame.content_type(),
        "headers": headers,
    });
    if frame.kind().is_event() {
        match Event::from_frame(frame) {
            Ok(event) => {
                out["event_name"] = json!(event.name());
                out["event"] = Value::Object(event.to_json());
            }
            Err(e) => out["error"] = json!(e.to_string()),
        }
    } else if !frame.body().is_empty() {
        out["body"] = json!(frame.body_text());
    }
    out
}

/// Decodes a whole stream; returns how many frames were written. Bytes after the last whole
/// frame are reported, not silently dropped.
pub fn decode_stream(
    mut input: impl Read,
    mut output: impl Write,
    max_frame: usize,
) -> Result<usize, DecodeError> {
    let mut parser = Parser::new(max_frame);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut frames = 0;
    let mut offset = 0;
    loop {
        let n = input.read(&mut chunk)?;
        parser.push(&chunk[..n]);
        loop {
            match parser.next_frame() {
                Ok(Some(frame)) => {
                    serde_json::to_writer(&mut output, &frame_to_json(&frame, offset))
                        .map_err(std::io::Error::from)?;
                    output.write_all(b"\n")?;
                    offset += frame.wire_len();
                    frames += 1;
                }
                Ok(None) => break,
                Err(source) => {
                    return Err(DecodeError::Parse {
                        frame: frames + 1,
                        offset,
                        source,
                    })
                }
            }
        }
        if n == 0 {
            break;
        }
    }
    if parser.buffered() > 0 {
        let note = json!({"offset": offset, "incomplete": true, "bytes": parser.buffered()});
        serde_json::to_writer(&mut output, &note).map_err(std::io::Error::from)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(frames)
}
