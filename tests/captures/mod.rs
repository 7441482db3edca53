//! Where the real FreeSWITCH captures live: `tests/fixtures/freeswitch` in this repository
//! (see its README), or the directory named by `SWITCHDESK_FIXTURES`.
//!
//! Shared by the test binaries and the benchmarks (`#[path]`), so there is one answer.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A captured mod_xml_cdr POST (`cdr/http/NAME.http`): its Content-Type and its body, exactly
/// as FreeSWITCH sent them.
pub fn cdr_post(name: &str) -> (String, Vec<u8>) {
    let path = freeswitch().join("cdr/http").join(format!("{name}.http"));
    let raw = std::fs::read(path).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap()
        .to_owned();
    (content_type, raw[split + 4..].to_vec())
}

/// The captures' root: `esl/`, `cdr/`, `fax/`, `environment/` below it.
pub fn freeswitch() -> PathBuf {
    std::env::var_os("SWITCHDESK_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/freeswitch"))
}

/// Every event frame of `content_type` from every ESL capture, in file order, repeated until
/// the stream holds at least `target_bytes`: a burst of real FreeSWITCH events. Returns the
/// bytes and the number of events in them.
pub fn event_stream(content_type: &str, target_bytes: usize) -> (Vec<u8>, usize) {
    use switchdesk::esl::Parser;
    let mut frames = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(freeswitch().join("esl"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "rx"))
    {
        let mut parser = Parser::default();
        parser.push(&std::fs::read(path).unwrap());
        while let Some(frame) = parser.next_frame().unwrap() {
            if frame.content_type() == Some(content_type) {
                let mut bytes = frame.head().to_vec();
                bytes.extend_from_slice(b"\n\n");
                bytes.extend_from_slice(frame.body());
                frames.push(bytes);
            }
        }
    }
    assert!(
        !frames.is_empty(),
        "no {content_type} events in the captures"
    );
    let mut out = Vec::with_capacity(target_bytes + 1_000_000);
    let mut events = 0;
    while out.len() < target_bytes {
        for frame in &frames {
            out.extend_from_slice(frame);
            events += 1;
        }
    }
    (out, events)
}

/// A stand-in for FreeSWITCH's event socket that replays a recorded burst: it accepts one
/// client, asks for the password, accepts any, acknowledges the event subscription, writes
/// `stream` as fast as the client reads it, then says goodbye (a disconnect notice) and closes.
pub async fn replay_once(listener: tokio::net::TcpListener, stream: std::sync::Arc<Vec<u8>>) {
    use switchdesk::esl::wire;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut socket, _) = listener.accept().await.unwrap();
    socket.set_nodelay(true).unwrap();
    socket.write_all(&wire::auth_request()).await.unwrap();
    let mut seen = Vec::new();
    let mut commands = 0;
    while commands < 2 {
        let mut chunk = [0u8; 4096];
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the client left before subscribing");
        seen.extend_from_slice(&chunk[..n]);
        while let Some(end) = seen.windows(2).position(|w| w == b"\n\n") {
            let command = String::from_utf8_lossy(&seen[..end]).to_string();
            seen.drain(..end + 2);
            commands += 1;
            let reply = if command.starts_with("auth ") {
                "+OK accepted".to_owned()
            } else {
                let format = command.split(' ').nth(1).unwrap_or("plain").to_owned();
                format!("+OK event listener enabled {format}")
            };
            socket
                .write_all(&wire::command_reply(&reply))
                .await
                .unwrap();
        }
    }
    // A client gone before the end (a bench iteration that has what it needs) is fine.
    if socket.write_all(&stream).await.is_ok() {
        let notice = wire::disconnect_notice(wire::Disconnect::Plain);
        let _ = socket.write_all(&notice).await;
        let _ = socket.shutdown().await;
    }
}
