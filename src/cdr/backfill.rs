//! Backfill from mod_xml_cdr's log directory (`log-dir`, files `a_<uuid>.cdr.xml` and
//! `<uuid>.cdr.xml`): every CDR FreeSWITCH wrote while the service was away is ingested like
//! a POST. `err-log-dir` files (the bodies of failed POSTs, percent- or base64-encoded) are
//! read too. A file that cannot be read or parsed is moved aside into `failed/` next to the
//! others and reported; the rest go on. Running it twice stores nothing twice.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::ingest::{CdrIngest, Ingested};
use super::parse::{cdr_from_file, parse_cdr, CdrError};

/// CDRs in flight at once: enough to fill the writer's batches.
const IN_FLIGHT: usize = 128;

/// Where unreadable files go, inside the directory being imported.
pub const FAILED_DIR: &str = "failed";

/// What a backfill did.
#[derive(Debug, Default)]
pub struct BackfillReport {
    pub stored: usize,
    pub duplicates: usize,
    /// Files moved aside, with the reason (and where they went).
    pub failed: Vec<(PathBuf, String)>,
}

/// The CDR files of `dir` (`*.xml`), in name order.
pub fn cdr_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Ingests every CDR file of `dir`; `progress` is told after each file.
pub async fn backfill(
    ingest: &CdrIngest,
    dir: &Path,
    mut progress: impl FnMut(usize, usize),
) -> std::io::Result<BackfillReport> {
    let files = cdr_files(dir)?;
    let total = files.len();
    let mut report = BackfillReport::default();
    let mut running = JoinSet::new();
    let mut done = 0;
    for path in files {
        if running.len() >= IN_FLIGHT {
            if let Some(joined) = running.join_next().await {
                record(dir, joined, &mut report);
                done += 1;
                progress(done, total);
            }
        }
        let ingest = ingest.clone();
        running.spawn(async move {
            let outcome = ingest_file(&ingest, &path).await;
            (path, outcome)
        });
    }
    while let Some(joined) = running.join_next().await {
        record(dir, joined, &mut report);
        done += 1;
        progress(done, total);
    }
    Ok(report)
}

type Joined = Result<(PathBuf, Result<Ingested, FileError>), tokio::task::JoinError>;

#[derive(Debug)]
enum FileError {
    /// The file itself is bad: moved aside.
    Unreadable(String),
    /// The database refused: the file stays for the next run.
    NotStored(String),
}

async fn ingest_file(ingest: &CdrIngest, path: &Path) -> Result<Ingested, FileError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| FileError::Unreadable(format!("cannot read: {e}")))?;
    let unreadable = |e: CdrError| FileError::Unreadable(e.to_string());
    let xml = cdr_from_file(&bytes).map_err(unreadable)?.into_owned();
    let cdr = parse_cdr(&xml).map_err(unreadable)?;
    let document =
        String::from_utf8(xml).map_err(|_| FileError::Unreadable("not UTF-8 text".to_owned()))?;
    ingest
        .ingest(Arc::new(cdr), document)
        .await
        .map_err(|e| FileError::NotStored(e.to_string()))
}

fn record(dir: &Path, joined: Joined, report: &mut BackfillReport) {
    let (path, outcome) = match joined {
        Ok(done) => done,
        Err(e) => {
            report
                .failed
                .push((dir.to_path_buf(), format!("import task failed: {e}")));
            return;
        }
    };
    match outcome {
        Ok(Ingested::Stored { .. }) => report.stored += 1,
        Ok(Ingested::Duplicate { .. }) => report.duplicates += 1,
        Err(FileError::NotStored(reason)) => report.failed.push((path, reason)),
        Err(FileError::Unreadable(reason)) => {
            let moved = move_aside(dir, &path);
            let reason = match moved {
                Ok(to) => format!("{reason} (moved to {})", to.display()),
                Err(e) => format!("{reason} (could not move it aside: {e})"),
            };
            report.failed.push((path, reason));
        }
    }
}

fn move_aside(dir: &Path, path: &Path) -> std::io::Result<PathBuf> {
    let failed = dir.join(FAILED_DIR);
    std::fs::create_dir_all(&failed)?;
    let name = path.file_name().unwrap_or_default();
    let to = failed.join(name);
    std::fs::rename(path, &to)?;
    Ok(to)
}
