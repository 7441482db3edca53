//! Where the real FreeSWITCH captures live: `tests/fixtures/freeswitch` in this repository
//! (see its README), or the directory named by `SWITCHDESK_FIXTURES`.
//!
//! Shared by the test binaries and the benchmarks (`#[path]`), so there is one answer.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The captures' root: `esl/`, `cdr/`, `fax/`, `environment/` below it.
pub fn freeswitch() -> PathBuf {
    std::env::var_os("SWITCHDESK_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/freeswitch"))
}
