//! `/ws`: the live feed over a WebSocket. `?feed=wallboard` (supervisor+) or `?feed=agent`
//! (the signed-in user's own agent); without `feed`, supervisors get the wallboard and agents
//! their desktop. A snapshot first, then the hub's frames for that audience as they happen.
//!
//! The session cookie (or a bearer token) authenticates the upgrade; a browser page from
//! another origin is refused, so a cookie cannot be borrowed cross-site. A connection that
//! falls more than [`crate::live::FRAME_BUFFER`] frames behind is closed (code 1013, "try
//! again later"): it reconnects and starts from a fresh snapshot, and nobody else waits for it.
//! What a client sends is read only to notice that it left; frames are capped at 4 KiB.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::header::ORIGIN;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::{ApiError, AppState, Auth};
use crate::live::{Audience, Hub};
use crate::users::Role;

/// Largest message accepted from a client (it has nothing to say).
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// Keeps proxies from closing an idle feed and finds dead peers.
const PING_EVERY: Duration = Duration::from_secs(20);

/// Close code for a client that fell behind: "try again later".
const CLOSE_TOO_SLOW: u16 = 1013;
/// Policy violation: the user was disabled, deleted or had their password reset.
const CLOSE_SIGNED_OUT: u16 = 1008;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feed {
    Wallboard,
    Agent,
}

#[derive(Deserialize)]
pub(crate) struct FeedQuery {
    feed: Option<String>,
}

pub(crate) async fn upgrade(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Query(query): Query<FeedQuery>,
    socket: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    same_origin(&headers, &state.config.http.allowed_origins)?;
    let feed = match query.feed.as_deref() {
        Some("wallboard") => Feed::Wallboard,
        Some("agent") => Feed::Agent,
        None if auth.role.allows(Role::Supervisor) => Feed::Wallboard,
        None => Feed::Agent,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "feed {other:?} is not \"wallboard\" or \"agent\""
            )))
        }
    };
    if feed == Feed::Wallboard {
        auth.require(Role::Supervisor)?;
    }
    let hub = state.live.clone();
    Ok(socket
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(socket, hub, feed, auth.name)))
}

/// A browser's `Origin`, when it sends one, must be this server (`Host`) or an allowed origin.
fn same_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    match headers.get(ORIGIN).map(|v| v.to_str().unwrap_or("null")) {
        Some(origin) if !super::layers::is_own_origin(origin, headers, allowed) => {
            Err(ApiError::forbidden_origin())
        }
        _ => Ok(()),
    }
}

async fn serve(mut socket: WebSocket, hub: Hub, feed: Feed, user: String) {
    // Subscribed before the snapshot is taken, so nothing falls between the two.
    let mut frames = hub.subscribe();
    let snapshot = match feed {
        Feed::Wallboard => hub.wallboard_snapshot().await,
        Feed::Agent => hub.agent_snapshot(&user).await,
    };
    let snapshot = match snapshot {
        Ok(snapshot) => snapshot,
        Err(e) => {
            tracing::warn!("live feed snapshot failed: {e}");
            let _ = socket.send(close(1011, "snapshot failed")).await;
            return;
        }
    };
    if socket.send(Message::Text(snapshot.into())).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(frame) => {
                    if matches!(&frame.audience, Audience::SignedOut(name) if *name == user) {
                        let _ = socket.send(close(CLOSE_SIGNED_OUT, "signed out")).await;
                        return;
                    }
                    let wanted = match (&frame.audience, feed) {
                        (Audience::Supervisors, Feed::Wallboard) => true,
                        (Audience::Agent(agent), Feed::Agent) => *agent == user,
                        _ => false,
                    };
                    if wanted
                        && socket
                            .send(Message::Text(Utf8Bytes::from(&*frame.text)))
                            .await
                            .is_err()
                    {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(user, missed, "live feed client too slow; closing it");
                    let _ = socket.send(close(CLOSE_TOO_SLOW, "too slow; reconnect")).await;
                    return;
                }
                Err(RecvError::Closed) => {
                    let _ = socket.send(close(1001, "shutting down")).await;
                    return;
                }
            },
            received = socket.recv() => match received {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}
