//! `GET /api/calls/{id}/recording`: a call's recording, played in the browser. The path comes
//! from FreeSWITCH (the CDR's `record_session` or `switchdesk_recording`), so it is trusted
//! only once confined: it must name a regular file under `cdr.recordings_dir` after every
//! symbolic link and `..` is resolved. Range requests are answered (206), so a player can seek.

use std::path::{Path as FsPath, PathBuf};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::services::ServeFile;

use super::roles::{Authorized, Supervisor};
use super::{ApiError, AppState};

/// Where a recording may be read from: `name` resolved under `dir` (a relative name is taken
/// from `dir`), or why not. Both are resolved on the disk, so neither `..` nor a symbolic link
/// leads out of `dir`.
pub(crate) fn confine(dir: &FsPath, name: &str) -> Result<PathBuf, String> {
    if name.is_empty() || name.contains('\0') {
        return Err("the call's recording has no usable path".into());
    }
    let root = dir
        .canonicalize()
        .map_err(|e| format!("cdr.recordings_dir {}: {e}", dir.display()))?;
    let wanted = FsPath::new(name);
    let path = if wanted.is_absolute() {
        wanted.to_path_buf()
    } else {
        root.join(wanted)
    };
    let real = path
        .canonicalize()
        .map_err(|_| "the recording is not on this machine".to_owned())?;
    if !real.starts_with(&root) {
        return Err("the recording is outside cdr.recordings_dir".into());
    }
    if !real.is_file() {
        return Err("the recording is not a file".into());
    }
    Ok(real)
}

/// The audio types FreeSWITCH records in; anything else is not played.
fn audio_type(path: &FsPath) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match extension.as_str() {
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "ogg" | "opus" => "audio/ogg",
        "flac" => "audio/flac",
        _ => return None,
    })
}

pub(crate) async fn recording(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
    Path(id): Path<String>,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    let Some(dir) = state.config.cdr.recordings_dir.as_deref() else {
        return Err(ApiError::not_found(
            "recordings are not played here: set cdr.recordings_dir",
        ));
    };
    let call = state
        .store
        .call(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no call {id}")))?;
    let name = call
        .recording
        .ok_or_else(|| ApiError::not_found(format!("call {id} has no recording")))?;
    let path = confine(dir, &name).map_err(|reason| {
        tracing::warn!(call = %id, recording = ?name, %reason, "recording refused");
        ApiError::not_found(format!("call {id}: {reason}"))
    })?;
    let content_type = audio_type(&path)
        .ok_or_else(|| ApiError::not_found(format!("call {id}: the recording is not audio")))?;
    // ServeFile answers Range, If-Range and conditional requests; only the head is passed on.
    let (parts, _) = request.into_parts();
    let served = ServeFile::new_with_mime(&path, &content_type.parse().expect("a MIME type"))
        .oneshot(Request::from_parts(parts, Body::empty()))
        .await
        .map_err(|e| ApiError::internal(&format!("recording {}: {e}", path.display())))?;
    let mut response = served.map(Body::new).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_is_read_only_from_under_the_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("recordings");
        std::fs::create_dir_all(dir.join("2026")).unwrap();
        std::fs::write(dir.join("2026/call.wav"), b"RIFF").unwrap();
        std::fs::write(root.path().join("secret.wav"), b"RIFF").unwrap();
        let inside = dir.join("2026/call.wav");
        assert_eq!(
            confine(&dir, inside.to_str().unwrap()).unwrap(),
            inside.canonicalize().unwrap()
        );
        assert!(confine(&dir, "2026/call.wav").is_ok());
        for outside in [
            "../secret.wav".to_owned(),
            root.path().join("secret.wav").display().to_string(),
            "2026/../../secret.wav".to_owned(),
            "2026".to_owned(),
            "missing.wav".to_owned(),
            String::new(),
            "a\0b".to_owned(),
        ] {
            assert!(confine(&dir, &outside).is_err(), "{outside:?}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.path().join("secret.wav"), dir.join("link.wav"))
                .unwrap();
            assert!(
                confine(&dir, "link.wav").is_err(),
                "a link out of the directory"
            );
        }
        assert_eq!(audio_type(FsPath::new("a.WAV")), Some("audio/wav"));
        assert_eq!(audio_type(FsPath::new("a.txt")), None);
    }
}
