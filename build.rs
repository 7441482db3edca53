//! Compiles every language of the screens (`web/lang/*.json`) into the binary: adding a
//! language is adding its file. Writes `$OUT_DIR/languages.rs` with one entry per file,
//! sorted by code.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = root.join("web").join("lang");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut languages: Vec<(String, PathBuf)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let code = path.file_stem()?.to_str()?.to_owned();
            (path.extension()? == "json").then_some((code, path))
        })
        .collect();
    languages.sort();
    let mut out =
        String::from("/// `(code, the file's JSON)` of every `web/lang/*.json`, by code.\n");
    out.push_str("pub(crate) const LANGUAGES: &[(&str, &str)] = &[\n");
    for (code, path) in &languages {
        let valid = (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase());
        assert!(
            valid,
            "{}: a language file is named by its ISO 639 code (ru.json)",
            path.display()
        );
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    ({code:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("a String takes writes");
    }
    out.push_str("];\n");
    let target =
        PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("languages.rs");
    fs::write(&target, out).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
}
