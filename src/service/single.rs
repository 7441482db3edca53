//! SQLite serves one instance: `serve` holds an exclusive lock on a file next to the
//! database (`<database>.lock`) for as long as it runs, and a second `serve` on the same
//! file is refused with a message saying so. The kernel drops the lock with the process,
//! however it ends. Tools (`migrate`, `phonebook import`, `user`) do not take it: they may
//! run beside the service.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The lock of the SQLite database at `url`, held until dropped; `None` for a database that
/// is not a SQLite file.
pub(super) fn lock(url: &str) -> anyhow::Result<Option<File>> {
    let Some(database) = crate::store::Store::sqlite_file(url) else {
        return Ok(None);
    };
    let path = lock_path(&database);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the database directory {}", dir.display()))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the instance lock {}", path.display()))?;
    if !exclusive(&file)? {
        anyhow::bail!(
            "another switchdesk already serves the SQLite database {} (it holds {}); SQLite \
             serves one instance: stop the other one, or run two instances on PostgreSQL \
             (see README, Operations)",
            database.display(),
            path.display()
        );
    }
    Ok(Some(file))
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes an exclusive lock without waiting; false if another process holds it.
#[cfg(unix)]
fn exclusive(file: &File) -> anyhow::Result<bool> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: `flock` on a descriptor this function borrows for the call; no memory passes.
    let done = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if done == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(error).context("locking the instance lock file")
    }
}

#[cfg(not(unix))]
fn exclusive(_file: &File) -> anyhow::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_sqlite_file_is_refused_until_the_first_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/data/sd.db", dir.path().display());
        let first = lock(&url).unwrap();
        assert!(first.is_some());
        let refused = lock(&url).unwrap_err().to_string();
        assert!(
            refused.contains("another switchdesk already serves"),
            "{refused}"
        );
        drop(first);
        assert!(lock(&url).unwrap().is_some());
        assert!(lock("sqlite::memory:").unwrap().is_none());
        assert!(lock("postgres://db/sd").unwrap().is_none());
    }
}
