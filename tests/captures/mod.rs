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
