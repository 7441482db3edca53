//! `switchdesk serve` processes (the real binary) on one PostgreSQL database and one simulated
//! switch, each instance through its own door of the simulator, so what each one sent is
//! known ([`Simulator::commands_received_at`]). A process can be killed (SIGKILL), frozen
//! (SIGSTOP) and resumed (SIGCONT). Shared by `tests/leadership.rs` and the takeover
//! benchmark (`#[path]`).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use switchdesk::acd::{AgentConfig, AgentStatus, Membership, QueueConfig};
use switchdesk::sim::{AgentBehaviour, CallSpec, Route, SimConfig, Simulator};
use switchdesk::store::Store;
use tokio::net::TcpListener;

/// The `support` queue on 7000: a tone for hold music, no wrap-up, a 5 s ring.
pub fn queue() -> QueueConfig {
    let mut q = QueueConfig::named("support");
    q.prompts.hold_music = "tone_stream://%(1000,4000,440);loops=-1".parse().unwrap();
    q.wrap_up_secs = 0;
    q.ring_timeout_secs = 5;
    q
}

/// The endpoint of agent `n`.
pub fn endpoint(n: usize) -> String {
    format!("user/10{n:02}@default")
}

/// Stores `support` and `agents` agents (`agent1`...), every one available: what a running
/// contact center's database holds.
pub async fn seed(store: &Store, agents: usize) {
    seed_queue(store, &queue(), agents).await;
}

/// Stores `queue` and `agents` agents in it, every one available.
pub async fn seed_queue(store: &Store, queue: &QueueConfig, agents: usize) {
    store.save_queue(queue).await.unwrap();
    for n in 1..=agents {
        let name = format!("agent{n}");
        let agent = AgentConfig {
            name: name.clone(),
            endpoint: endpoint(n).parse().unwrap(),
            queues: vec![Membership {
                queue: "support".into(),
                tier: 1,
                position: u32::try_from(n).unwrap(),
            }],
        };
        store.save_agent(&agent).await.unwrap();
        store
            .save_agent_state(&name, &AgentStatus::Available, 0, 0)
            .await
            .unwrap();
    }
}

/// The simulated switch: 7000 parks callers into `support`; each agent's phone answers after
/// 100 ms and stays in the call until the other side hangs up.
pub async fn simulator(agents: usize) -> Simulator {
    let sim = Simulator::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig {
            seed: 18,
            dialplan: vec![Route::queue("7000", "support")],
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    for n in 1..=agents {
        answering(&sim, n, None).await;
    }
    sim
}

/// Agent `n`'s phone answers after 100 ms and hangs up `talk` after being bridged.
pub async fn answering(sim: &Simulator, n: usize, talk: Option<Duration>) {
    sim.add_endpoint(
        &endpoint(n),
        AgentBehaviour::Answer {
            ring: Duration::from_millis(100),
            talk,
        },
    )
    .await
    .unwrap();
}

/// A caller dials 7000 from `+1555000NNNN`.
pub async fn call(sim: &Simulator, n: usize) -> String {
    sim.place_call(CallSpec {
        from_number: format!("+1555{n:07}"),
        destination: "7000".into(),
        ..CallSpec::default()
    })
    .await
    .unwrap()
}

/// The command lines that drive calls (`api`, `bgapi`, `sendmsg`), leaving out a session's
/// login and event subscription.
pub fn driving(commands: &[String]) -> Vec<&String> {
    commands
        .iter()
        .filter(|c| {
            let c = c.to_ascii_lowercase();
            c.starts_with("api") || c.starts_with("bgapi") || c.starts_with("sendmsg")
        })
        .collect()
}

/// One `switchdesk serve` process.
pub struct Instance {
    pub name: String,
    /// Its HTTP base URL.
    pub base: String,
    /// Its door of the simulator.
    pub door: SocketAddr,
    child: Child,
    log: PathBuf,
    token: String,
    http: reqwest::Client,
}

impl Instance {
    /// Starts `serve` as `name` on the database at `url` and a new door of `sim`; `token` is
    /// an API token (supervisor) its HTTP API accepts. Logs go to a file in `dir`.
    pub async fn start(
        name: &str,
        url: &str,
        sim: &Simulator,
        dir: &Path,
        token: &str,
    ) -> Instance {
        let door = sim
            .open_door(TcpListener::bind("127.0.0.1:0").await.unwrap())
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let spool = dir.join(format!("spool-{name}"));
        std::fs::create_dir_all(&spool).unwrap();
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"{url}\"\nmax_connections = 4\n\
                 [http]\nlisten = \"127.0.0.1:{port}\"\n\
                 [esl]\nhost = \"127.0.0.1\"\nport = {}\n\
                 [fax]\nspool_dir = \"{}\"\n\
                 [cluster]\ninstance = \"{name}\"\naddress = \"{base}\"\n\
                 [log]\nfilter = \"info\"\n",
                door.port(),
                spool.display()
            ),
        )
        .unwrap();
        let log = dir.join(format!("{name}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchdesk"));
        for (key, _) in std::env::vars() {
            if key.starts_with("SWITCHDESK_") {
                command.env_remove(key);
            }
        }
        let child = command
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let instance = Instance {
            name: name.to_owned(),
            base,
            door,
            child,
            log,
            token: token.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        };
        eventually(&format!("{name} serving HTTP"), || async {
            instance.role().await
        })
        .await;
        instance
    }

    /// `leader`, `standby` or `single`, as `/healthz` says; `None` while it does not answer.
    pub async fn role(&self) -> Option<String> {
        let body: Value = self
            .http
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        body["role"].as_str().map(str::to_owned)
    }

    /// `GET path` with the API token.
    pub async fn get(&self, path: &str) -> Option<reqwest::Response> {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .ok()
    }

    /// `POST path` with `body` and the API token.
    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The callers waiting in `support`, in their order, as this instance shows them.
    /// Only its own engine's view counts (a standby serves the leader's: see
    /// [`Instance::waiting_shown`]).
    pub async fn waiting(&self) -> Option<Vec<String>> {
        let (waiting, view) = self.waiting_shown().await?;
        (view == "own").then_some(waiting)
    }

    /// The callers waiting in `support` as this instance shows them, and whose view that is
    /// (`X-Switchdesk-View`: `own`, or `leader; instance=...` on a standby).
    pub async fn waiting_shown(&self) -> Option<(Vec<String>, String)> {
        let response = self.get("/api/queues").await?;
        let view = response
            .headers()
            .get("x-switchdesk-view")?
            .to_str()
            .ok()?
            .to_owned();
        let queues: Value = response.json().await.ok()?;
        let support = queues.as_array()?.iter().find(|q| q["name"] == "support")?;
        let waiting = support["waiting"]
            .as_array()?
            .iter()
            .map(|w| w["call"].as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()?;
        Some((waiting, view))
    }

    /// What it wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no goodbye, no flush; PostgreSQL ends its sessions when their sockets close.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGSTOP: the process is frozen, its sockets stay open.
    pub fn freeze(&self) {
        assert!(self.signal(libc::SIGSTOP));
    }

    /// SIGCONT: the frozen process runs on.
    pub fn resume(&self) {
        assert!(self.signal(libc::SIGCONT));
    }

    /// True if the signal was delivered.
    fn signal(&self, signal: libc::c_int) -> bool {
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            return false;
        };
        // SAFETY: a signal to our own child process; no memory passes.
        unsafe { libc::kill(pid, signal) == 0 }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.signal(libc::SIGCONT);
            self.kill();
        }
    }
}

/// Waits (up to 60 s, looking every 20 ms) until `check` finds something, and answers it.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A live feed (`/ws`) opened on one instance with its API token.
pub struct Feed {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Feed {
    pub async fn open(instance: &Instance, feed: &str) -> Feed {
        Feed::open_as(instance, feed, &instance.token).await
    }

    /// As the holder of `token` (an agent's own feed is theirs).
    pub async fn open_as(instance: &Instance, feed: &str, token: &str) -> Feed {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let address = instance.base.trim_start_matches("http://");
        let mut request = format!("ws://{address}/ws?feed={feed}")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Feed { socket }
    }

    /// The next text frame, as JSON (within 20 s).
    pub async fn next(&mut self) -> Value {
        use futures_util::StreamExt as _;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(20), self.socket.next())
                .await
                .expect("a frame within 20 s")
                .expect("the feed stays open")
                .expect("a good frame");
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// The next frame of `kind` (`snapshot`, `queue`, `update`...).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        self.until(kind, |f| f["type"] == kind).await
    }

    /// Reads frames until one matches (each within 20 s).
    pub async fn until(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..100_000 {
            let frame = self.next().await;
            if matches(&frame) {
                return frame;
            }
        }
        panic!("no frame for {what}");
    }
}

/// The callers waiting in `support` in a `queue` or `snapshot` frame, in order.
pub fn support_waiting(frame: &Value) -> Option<Vec<String>> {
    let support = match frame["type"].as_str()? {
        "queue" => &frame["queue"],
        "snapshot" => frame["queues"]
            .as_array()?
            .iter()
            .find(|q| q["name"] == "support")?,
        _ => return None,
    };
    if support["name"] != "support" {
        return None;
    }
    support["waiting"]
        .as_array()?
        .iter()
        .map(|w| w["call"].as_str().map(str::to_owned))
        .collect()
}
