//! Files FreeSWITCH names: read only from inside a configured spool directory.
//!
//! A path in an event or a CDR (rxfax's `Application-Data`, a recording's file name) is outside
//! input: whoever holds the CDR credential can post any path. So a named file is read only if,
//! after every symbolic link in it is resolved, it lies inside the spool directory (itself
//! resolved), is a regular file that is not a link, is no larger than the cap, and is still
//! the same file (device and inode) once opened. It is opened with `O_NOFOLLOW | O_NONBLOCK`,
//! so a link swapped in after the check is refused and a FIFO never blocks the reader.
//! What the bytes must look like (a TIFF's magic) is the caller's business.
//!
//! Blocking: call it from `spawn_blocking` (or [`read_async`]).

use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Component, Path, PathBuf};

/// Why a named file was not read. The texts name the path and the rule, never the content.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool directory {dir} cannot be used: {source}")]
    Spool {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not an absolute path without `..`")]
    NotAbsolute { path: PathBuf },
    #[error("{path} is outside the spool directory {dir}")]
    Outside { path: PathBuf, dir: PathBuf },
    #[error("{path} could not be opened: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is a symbolic link")]
    Link { path: PathBuf },
    #[error("{path} is not a regular file")]
    NotAFile { path: PathBuf },
    #[error("{path} changed while it was being opened")]
    Changed { path: PathBuf },
    #[error("{path} is larger than {limit} bytes")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path} could not be read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads the file FreeSWITCH named `path`, confined to `spool` and capped at `limit` bytes.
pub fn read(spool: &Path, path: &Path, limit: u64) -> Result<Vec<u8>, SpoolError> {
    let path_buf = || path.to_path_buf();
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return Err(SpoolError::NotAbsolute { path: path_buf() });
    }
    let dir = spool.canonicalize().map_err(|source| SpoolError::Spool {
        dir: spool.to_path_buf(),
        source,
    })?;
    // The link itself is refused (FreeSWITCH writes files, not links), whatever it points to.
    let named = std::fs::symlink_metadata(path).map_err(|source| SpoolError::Open {
        path: path_buf(),
        source,
    })?;
    if named.file_type().is_symlink() {
        return Err(SpoolError::Link { path: path_buf() });
    }
    // Links in the directories above it are resolved, and must still end inside the spool.
    let real = path.canonicalize().map_err(|source| SpoolError::Open {
        path: path_buf(),
        source,
    })?;
    if !real.starts_with(&dir) || real == dir {
        return Err(SpoolError::Outside {
            path: path_buf(),
            dir,
        });
    }
    if !named.file_type().is_file() {
        return Err(SpoolError::NotAFile { path: path_buf() });
    }
    if named.len() > limit {
        return Err(SpoolError::TooLarge {
            path: path_buf(),
            limit,
        });
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&real)
        .map_err(|source| match source.raw_os_error() {
            Some(libc::ELOOP) => SpoolError::Link { path: path_buf() },
            _ => SpoolError::Open {
                path: path_buf(),
                source,
            },
        })?;
    let opened = file.metadata().map_err(|source| SpoolError::Open {
        path: path_buf(),
        source,
    })?;
    // Swapped between the check and the open: not the file that was checked.
    if (opened.dev(), opened.ino()) != (named.dev(), named.ino()) {
        return Err(SpoolError::Changed { path: path_buf() });
    }
    if !opened.file_type().is_file() {
        return Err(SpoolError::NotAFile { path: path_buf() });
    }
    read_capped(file, path, limit)
}

/// [`read`] off the async threads.
pub async fn read_async(spool: PathBuf, path: PathBuf, limit: u64) -> Result<Vec<u8>, SpoolError> {
    let shown = path.clone();
    tokio::task::spawn_blocking(move || read(&spool, &path, limit))
        .await
        .unwrap_or_else(|e| {
            Err(SpoolError::Read {
                path: shown,
                source: std::io::Error::other(e.to_string()),
            })
        })
}

/// At most `limit` bytes; a file that grew past it since the check is refused, not cut.
fn read_capped(file: File, path: &Path, limit: u64) -> Result<Vec<u8>, SpoolError> {
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| SpoolError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(SpoolError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_inside_the_spool_are_read() {
        let root = tempfile::tempdir().unwrap();
        let spool = root.path().join("spool");
        std::fs::create_dir(&spool).unwrap();
        let outside = root.path().join("secret.txt");
        std::fs::write(&outside, b"password").unwrap();
        let good = spool.join("rx.tif");
        std::fs::write(&good, b"II*\0fax").unwrap();
        assert_eq!(read(&spool, &good, 100).unwrap(), b"II*\0fax");

        let refused = |path: &Path, limit: u64| read(&spool, path, limit).unwrap_err();
        assert!(matches!(refused(&outside, 100), SpoolError::Outside { .. }));
        assert!(matches!(
            refused(&spool.join("../secret.txt"), 100),
            SpoolError::NotAbsolute { .. }
        ));
        assert!(matches!(
            refused(Path::new("rx.tif"), 100),
            SpoolError::NotAbsolute { .. }
        ));
        let link = spool.join("link.tif");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert!(matches!(refused(&link, 100), SpoolError::Link { .. }));
        // A directory inside the spool that is a link out of it.
        let out_dir = root.path().join("elsewhere");
        std::fs::create_dir(&out_dir).unwrap();
        std::fs::write(out_dir.join("x.tif"), b"II*\0").unwrap();
        std::os::unix::fs::symlink(&out_dir, spool.join("sub")).unwrap();
        assert!(matches!(
            refused(&spool.join("sub/x.tif"), 100),
            SpoolError::Outside { .. }
        ));
        assert!(matches!(refused(&spool, 100), SpoolError::Outside { .. }));
        std::fs::create_dir(spool.join("dir.tif")).unwrap();
        assert!(matches!(
            refused(&spool.join("dir.tif"), 100),
            SpoolError::NotAFile { .. }
        ));
        assert!(matches!(refused(&good, 3), SpoolError::TooLarge { .. }));
        assert!(matches!(
            refused(&spool.join("missing.tif"), 100),
            SpoolError::Open { .. }
        ));
        assert!(matches!(
            read(&root.path().join("no-spool"), &good, 100).unwrap_err(),
            SpoolError::Spool { .. }
        ));
    }
}
