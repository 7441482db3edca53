//! Connections: the accept loop under the router, with the limits that keep clients who never
//! sign in from starving everyone else.
//!
//! At most `max_connections` are served at once; further ones wait in the listen backlog until
//! a slot frees, so the process never runs out of file descriptors on HTTP alone. A request's
//! head must arrive within `header_read_timeout` of the connection opening or going idle (hyper
//! starts the same clock between keep-alive requests), so a socket that sends nothing, or a
//! header a byte at a time, is closed and its slot freed; a body must then arrive within
//! `body_timeout`, so a request that stops halfway is answered with an error and closed.
//! Upgrades (the live feed) are kept.
//! On shutdown the listener closes, idle connections close, and open requests get
//! `drain_timeout` to finish.

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::{BoxError, Router};
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

/// How connections are bounded.
pub(crate) struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body_timeout: Duration,
    pub drain_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub(crate) async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, max_connections = limits.max_connections, "HTTP listening");
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    // `closing` changes once, to tell connections to finish; `all_closed` ends when every
    // connection has dropped its clone of `open`.
    let (closing, closing_seen) = watch::channel(false);
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(
            stream,
            peer,
            app.clone(),
            (http.clone(), limits.body_timeout),
            closing_seen.clone(),
            (slot, open.clone()),
        ));
    }
    tracing::info!("HTTP shutting down");
    drop(listener);
    let _ = closing.send(true);
    drop(open);
    let drain = limits.drain_timeout;
    if tokio::time::timeout(drain, all_closed.recv())
        .await
        .is_err()
    {
        tracing::warn!("HTTP requests still open after {drain:?}; closing them");
    }
    Ok(())
}

/// One client connection, holding its slot (and its part of `open`) until it ends.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    (http, body_timeout): (http1::Builder, Duration),
    mut closing: watch::Receiver<bool>,
    _held: (OwnedSemaphorePermit, mpsc::Sender<()>),
) {
    // Handlers see the socket's address as `ConnectInfo` (see `peer::ClientAddress`), and a
    // body with a deadline.
    let app = app.map_request(move |request: Request<Incoming>| {
        let deadline = Instant::now() + body_timeout;
        let mut request = request.map(|body| {
            Body::new(DeadlineBody {
                body,
                deadline,
                timer: None,
            })
        });
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let conn = http
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        _ = closing.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = served {
        // Timeouts and clients hanging up mid-request: routine, not worth a warning.
        tracing::debug!(%peer, %error, "HTTP connection ended");
    }
}

/// A connection that died before it was accepted is the client's business; anything else
/// (out of file descriptors) is ours: say so, and give the system a moment before retrying.
async fn accept_failed(error: std::io::Error) {
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(%error, "HTTP accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// A request body that fails once its deadline passes while it waits for data.
struct DeadlineBody {
    body: Incoming,
    deadline: Instant,
    /// Started the first time the body has to wait.
    timer: Option<Pin<Box<Sleep>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(BoxError::from)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Some(Err(BodyTimedOut.into())))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
