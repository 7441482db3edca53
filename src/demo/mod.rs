//! `switchdesk demo`: the service against a simulated FreeSWITCH, on a database of its own
//! seeded with a fake contact center, with a synthetic day of callers and a login printed on
//! the terminal. Nothing here runs in `serve`; the service itself is built by
//! [`crate::service::run`], as for `serve`.
//!
//! - [`center`]: the demo's contact center as configuration (its queue, agents, regions).
//! - [`database`]: the demo's own database, and its refusal of one it did not make.
//! - [`seed`]: the demo's user, its agents on duty and its phone book, in that database.
//! - [`simulated`]: the simulated switch and the synthetic callers' traffic.

mod center;
mod database;
mod seed;
mod simulated;

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;

use crate::config::Config;
use crate::service::{self, describe_database};

pub use database::DEMO_DATABASE;

/// The dashboard user the demo makes (an admin), and prints with its password.
const DEMO_USER: &str = "demo";

/// `switchdesk demo`: the service against the simulated switch until `shutdown` resolves,
/// the dashboard on `listen`, the synthetic day drawn from `seed`. The login is
/// `demo.password`, or a fresh one.
pub async fn run(
    mut config: Config,
    listen: SocketAddr,
    seed: u64,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the dashboard on {listen}"))?;
    let address = listener.local_addr()?;
    let sim = simulated::start_switch(&mut config, address, seed).await?;
    center::complete(&mut config)?;
    let (login, regulars) = seed::prepare(&config, seed).await?;
    let traffic = simulated::start_traffic(&sim, &config, seed, regulars);

    println!(
        "switchdesk demo is running (simulated FreeSWITCH at {}, seed {seed})",
        sim.addr()
    );
    println!(
        "  database:  {} (the demo's own)",
        describe_database(config.database.url.expose())
    );
    println!(
        "  numbers:   read in {} (phonebook.default_region, phonebook.regions)",
        config
            .phonebook
            .numbering()
            .map_or_else(|e| e, |n| n.regions_label())
    );
    println!("  dashboard: http://{address}/");
    println!("  login:     {DEMO_USER} / {login}");
    println!("Press Ctrl-C to stop.");
    let served = service::run(config, listener, shutdown).await;
    let _ = traffic.send(true);
    sim.shutdown();
    served
}
