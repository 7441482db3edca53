//! Wiring for `serve` (and `demo`, which runs it against the simulated switch): logging,
//! the shutdown signal, the configured database, and the application state from the one
//! builder ([`state::build`]) served over HTTP. No business rules live here; each piece is
//! built by its own module and only connected here.
//!
//! - [`state`]: the one builder of the application's state, with its [`Startup`] options.
//! - `nodes`: the configured FreeSWITCH nodes, connected and counted into the metrics.
//! - `single`: the lock that keeps a second instance off one SQLite database.
//!
//! On PostgreSQL several instances may run on one database: one leads, the others stand by
//! ([`crate::leadership`]; the state's builder starts the election).

mod nodes;
mod single;
pub mod state;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{broadcast, Notify};

use crate::cdr::CdrIngest;
use crate::config::{Config, LogConfig};
use crate::directory::PhoneBook;
use crate::fax::FaxDesk;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::supervise::Tasks;
use crate::tickets;
use crate::web::{self, AppState};

pub use state::{build, Running, Startup};

/// Logs go to stderr (stdout belongs to commands that print data, like `esl tail`).
pub fn init_logging(config: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

/// A database URL fit for a log line: the password, if any, is replaced.
pub fn describe_database(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Opens (and migrates) the configured database, saying which one when it cannot.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::connect(
        config.database.url.expose(),
        config.database.max_connections,
    )
    .await
    .with_context(|| {
        format!(
            "opening {}",
            describe_database(config.database.url.expose())
        )
    })
}

/// The real service: FreeSWITCH over ESL, the database, the dashboard.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding HTTP on {}", config.http.listen))?;
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    println!(
        "switchdesk serves the dashboard at http://{}/",
        listener.local_addr()?
    );
    run(config, listener, shutdown).await
}

/// Runs the service on an already bound listener until `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_supervised(config, listener, shutdown, Tasks::new(Metrics::new())).await
}

/// [`run`] with its long-lived tasks supervised by `tasks` (and its metrics in
/// `tasks.metrics()`), so a test can watch them.
pub async fn run_supervised(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    tasks: Tasks,
) -> anyhow::Result<()> {
    // Held until this function returns (the kernel drops it with the process otherwise).
    let _one_instance = single::lock(config.database.url.expose())?;
    let store = open_store(&config).await?;
    let (state, running) = build(config, &store, None, tasks, Startup::SERVICE).await?;
    let served = web::serve(listener, state, shutdown).await;
    running.stop().await;
    store.close().await;
    served
}

/// The API's state over `store` with no FreeSWITCH attached ([`Startup::API_ONLY`]): queues
/// empty, no outbox worker (mail waits in the outbox), CDR ingest running. For tools and
/// tests that serve the API alone; `run` builds the real one.
pub async fn state_without_switch(
    config: Config,
    store: &Store,
    phonebook: Arc<PhoneBook>,
) -> anyhow::Result<AppState> {
    let tasks = Tasks::new(Metrics::new());
    let (state, _nothing_runs) =
        build(config, store, Some(phonebook), tasks, Startup::API_ONLY).await?;
    Ok(state)
}

/// The one CDR writer over `store`, filing calls by the configured rules; a configured webhook
/// gets every ticket change queued (and `webhook` woken). Supervised on its own (for tools).
pub fn start_cdr_ingest(
    config: &Config,
    store: &Store,
    phonebook: Arc<PhoneBook>,
    events: broadcast::Sender<tickets::TicketEvent>,
    webhook: Option<Arc<Notify>>,
    fax: Option<FaxDesk>,
) -> CdrIngest {
    let tasks = Tasks::new(Metrics::new());
    state::supervised_cdr_ingest(config, store, phonebook, events, webhook, fax, &tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_never_reach_logs() {
        assert_eq!(
            describe_database("postgres://sd:s3cret@db:5432/sd"),
            "postgres://sd:***@db:5432/sd"
        );
        assert_eq!(
            describe_database("postgres://sd@db/sd"),
            "postgres://sd@db/sd"
        );
        assert_eq!(
            describe_database("sqlite://data/switchdesk.db"),
            "sqlite://data/switchdesk.db"
        );
    }
}
