//! The whole service (`service::run_supervised`) on the simulated switch, as the tests that
//! meet it over HTTP start it: a queue `support` on extension 7000 with one agent (`agent1`,
//! `user/1001@default`, answering after 100 ms), the configuration pointing at both, and the
//! running service with its base URL.

use std::path::Path;
use std::time::Duration;

use switchdesk::acd::{AgentConfig, Membership, QueueConfig};
use switchdesk::config::{Config, Secret};
use switchdesk::metrics::Metrics;
use switchdesk::sim::{AgentBehaviour, Route, SimConfig, Simulator};
use switchdesk::supervise::Tasks;
use tokio::net::TcpListener;

use super::TestDb;

/// Waits (up to 30 s) until `check` finds something, and answers it.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `support`: hold music a tone, no wrap-up, a 5 s ring.
pub fn queue() -> QueueConfig {
    let mut q = QueueConfig::named("support");
    q.prompts.hold_music = "tone_stream://%(1000,4000,440);loops=-1".parse().unwrap();
    q.wrap_up_secs = 0;
    q.ring_timeout_secs = 5;
    q
}

/// `agent1` on `user/1001@default`, first in `support`.
pub fn agent() -> AgentConfig {
    AgentConfig {
        name: "agent1".into(),
        endpoint: "user/1001@default".parse().unwrap(),
        queues: vec![Membership {
            queue: "support".into(),
            tier: 1,
            position: 1,
        }],
    }
}

/// The simulated switch: 7000 parks callers into `support`, `user/1001@default` answers.
pub async fn simulator(seed: u64, heartbeat: Duration) -> Simulator {
    let sim = Simulator::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig {
            seed,
            heartbeat,
            dialplan: vec![Route::queue("7000", "support")],
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    sim.add_endpoint(
        "user/1001@default",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(100),
            talk: None,
        },
    )
    .await
    .unwrap();
    sim
}

/// The configuration of a service on `db` and `sim`, with `support` and `agent1`.
pub fn config(db: &TestDb, sim: &Simulator, spool: &Path) -> Config {
    let mut config = Config::default();
    config.database.url = Secret::new(db.url.clone());
    config.esl.host = "127.0.0.1".into();
    config.esl.port = sim.addr().port();
    config.fax.spool_dir = spool.to_path_buf();
    config.queues = vec![queue()];
    config.agents = vec![agent()];
    config
}

/// A running service: its base URL and how to stop it (waiting until it has).
pub struct Service {
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Service {
    /// Starts the service with `config` and `tasks`; answers once `/healthz` is 200.
    pub async fn start_with(config: Config, tasks: Tasks) -> Service {
        let web = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", web.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(switchdesk::service::run_supervised(
            config,
            web,
            async {
                let _ = stopped.await;
            },
            tasks,
        ));
        let service = Service { base, stop, done };
        eventually("a healthy service", async || {
            let response = reqwest::get(format!("{}/healthz", service.base))
                .await
                .ok()?;
            response.status().is_success().then_some(())
        })
        .await;
        service
    }

    pub async fn start(config: Config) -> Service {
        Service::start_with(config, Tasks::new(Metrics::new())).await
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.done)
            .await
            .expect("the service stops within 30 s")
            .unwrap()
            .unwrap();
    }
}
