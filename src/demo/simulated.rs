//! The switch the demo runs against: the simulator, with the demo's dialplan (the support
//! queue on 7000, a voicemail that records a few seconds) and every CDR posted to the
//! service as mod_xml_cdr would; and the synthetic day of callers it carries.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::{Config, Secret};
use crate::sim::traffic::{run_traffic, TrafficAgent, TrafficConfig};
use crate::sim::{CdrTarget, Route, SimConfig, Simulator};
use crate::users;

use super::center::AGENT_EXTENSIONS;

/// How often the simulated switch tries a CDR post again, and how long it waits between.
const CDR_RETRIES: u32 = 5;
const CDR_RETRY_DELAY: Duration = Duration::from_secs(2);

/// Half of the synthetic callers are regulars from the phone book, so queues show them
/// identified.
const REGULAR_SHARE: f64 = 0.5;

/// Starts the simulated switch on a free local port, posting its CDRs to the service at
/// `service`, and points `config`'s event socket and CDR password at it (fresh passwords).
pub(super) async fn start_switch(
    config: &mut Config,
    service: SocketAddr,
    seed: u64,
) -> anyhow::Result<Simulator> {
    let esl_password = users::generate_password();
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // The simulated voicemail answers, records a few seconds and hangs up, as the shipped
    // dialplan does (freeswitch/dialplan/default/50_switchdesk_voicemail.xml).
    let voicemail = vec![
        ("answer".to_owned(), String::new()),
        ("set".to_owned(), "switchdesk_voicemail=true".to_owned()),
        ("sleep".to_owned(), "4000".to_owned()),
        ("hangup".to_owned(), "NORMAL_CLEARING".to_owned()),
    ];
    // The simulated switch posts every CDR to the service, as mod_xml_cdr would.
    let cdr_password = users::generate_password();
    config.cdr.password = Secret::new(cdr_password.clone());
    let cdr_target = CdrTarget {
        username: Some(config.cdr.username.clone()),
        password: Some(cdr_password),
        retries: CDR_RETRIES,
        retry_delay: CDR_RETRY_DELAY,
        ..CdrTarget::new(format!("http://{service}/api/cdr"))
    };
    let sim_config = SimConfig {
        password: esl_password.clone(),
        seed,
        cdr: Some(cdr_target),
        dialplan: vec![
            Route::queue("7000", "support"),
            Route::apps("voicemail", voicemail),
        ],
        ..SimConfig::default()
    };
    let sim = Simulator::start(sim_listener, sim_config).await?;
    config.esl.host = sim.addr().ip().to_string();
    config.esl.port = sim.addr().port();
    config.esl.password = Secret::new(esl_password);
    Ok(sim)
}

/// Starts the synthetic day of callers (`demo.callers_per_minute`, half of them `regulars`:
/// number and name) answered by the demo's agents; it runs until `true` is sent.
pub(super) fn start_traffic(
    sim: &Simulator,
    config: &Config,
    seed: u64,
    regulars: Vec<(String, String)>,
) -> watch::Sender<bool> {
    let (stop, stopped) = watch::channel(false);
    let traffic = TrafficConfig {
        seed,
        callers_per_minute: config.demo.callers_per_minute,
        agents: AGENT_EXTENSIONS
            .map(|n| TrafficAgent::new(format!("user/{n}@default")))
            .collect(),
        regulars,
        regular_share: REGULAR_SHARE,
        ..TrafficConfig::default()
    };
    tokio::spawn(run_traffic(sim.clone(), traffic, stopped));
    stop
}
