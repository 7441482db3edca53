//! Configuration: defaults that run on a laptop, then `switchdesk.toml`, then `SWITCHDESK_*`
//! environment variables (`__` separates nesting: `SWITCHDESK_ESL__PASSWORD`). Only variables
//! that name a section are settings: `SWITCHDESK_CONFIG` (the file's path) and the test
//! harness's own variables are not.
//!
//! Secrets (the ESL password, the SMTP password, CDR credentials) are only ever read here;
//! `Debug` redacts them so they never reach a log line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::acd::{AgentConfig, Overflow, QueueConfig};
use crate::esl::{ConnectionOptions, EventFormat};
pub use crate::secret::Secret;

mod problems;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database: DatabaseConfig,
    pub esl: EslConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub demo: DemoConfig,
    pub switch: SwitchConfig,
    pub phonebook: PhonebookConfig,
    pub cdr: CdrConfig,
    pub tickets: crate::tickets::TicketRules,
    pub webhook: crate::tickets::WebhookConfig,
    /// Incidents from monitoring: their ticket category, timers and flap window.
    pub incidents: crate::incidents::IncidentConfig,
    /// The smarthost for outgoing mail (fax to e-mail).
    pub smtp: crate::mail::SmtpConfig,
    /// Where received faxes are mailed.
    pub fax: crate::fax::FaxConfig,
    /// The Matrix room incidents are posted to and `!take`/`!resolve` read from.
    pub matrix: crate::chat::MatrixConfig,
    /// Queue and agent statistics: interval, short abandons, when a day starts.
    pub stats: crate::stats::StatsConfig,
    /// The deployment as a whole: the language of the texts it writes.
    pub service: ServiceConfig,
    /// Two or more instances on one PostgreSQL database: how this one is named and reached.
    pub cluster: ClusterConfig,
    /// Queues to create on first start; afterwards the API edits them (kept in the database).
    pub queues: Vec<QueueConfig>,
    /// Agents to create on first start, likewise.
    pub agents: Vec<AgentConfig>,
}

/// `[service]`: what holds for the whole deployment.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// The language of the ticket subjects switchdesk writes and of its fax mails (`en` or
    /// `ru`); the screens are in each user's own, and callers hear their contact's.
    pub language: crate::texts::Language,
    /// The separator of every CSV download (`comma` or `semicolon`); unset, each user gets
    /// the one their language's spreadsheets expect (`;` with decimal commas for Russian).
    pub csv_separator: Option<crate::spreadsheet::Dialect>,
    /// The ISO 4217 code of every amount (fees, costs, margins), shown with them; unset,
    /// amounts are shown as bare numbers and `check-config` says so.
    pub currency: Option<Currency>,
}

impl ServiceConfig {
    /// `currency`'s code, as the API answers it (null when unset).
    pub fn currency_code(&self) -> Option<String> {
        self.currency.as_ref().map(|c| c.code().to_owned())
    }
}

/// An ISO 4217 currency code: three capital letters (`RUB`, `EUR`, `USD`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn code(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Currency {
    type Error = String;

    fn try_from(code: String) -> Result<Currency, String> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(code))
        } else {
            Err(format!(
                "currency {code:?} is not an ISO 4217 code (three capital letters: RUB, EUR, USD)"
            ))
        }
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.0
    }
}

/// `[cluster]`: this instance among those sharing one PostgreSQL database (one leads, the
/// others stand by). Ignored on SQLite, which serves one instance.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// This instance's name in the logs, `/healthz`, `/metrics` and the status page; empty:
    /// the host's name.
    pub instance: String,
    /// Where this instance's HTTP is reached by the others' clients (a standby answers an
    /// engine write 503 naming the leader's), e.g. `http://10.0.0.11:8080`; empty:
    /// `http://` and `http.listen`.
    pub address: String,
}

impl Config {
    /// This instance's name: `[cluster] instance`, else the host's name.
    pub fn instance_name(&self) -> String {
        if !self.cluster.instance.is_empty() {
            return self.cluster.instance.clone();
        }
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "switchdesk".to_owned())
    }

    /// Where this instance's HTTP is reached: `[cluster] address`, else `http.listen`.
    pub fn instance_address(&self) -> String {
        if self.cluster.address.is_empty() {
            format!("http://{}", self.http.listen)
        } else {
            self.cluster.address.clone()
        }
    }

    /// `[tickets]`, writing its subjects in the deployment's language.
    pub fn ticket_rules(&self) -> crate::tickets::TicketRules {
        crate::tickets::TicketRules {
            language: self.service.language,
            ..self.tickets.clone()
        }
    }

    /// `[fax]`, writing its mails in the deployment's language.
    pub fn fax_settings(&self) -> crate::fax::FaxConfig {
        crate::fax::FaxConfig {
            language: self.service.language,
            ..self.fax.clone()
        }
    }
}

/// How the adapter drives FreeSWITCH.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SwitchConfig {
    /// Dialplan context for transfers (overflow to an extension, the exit key); one word,
    /// checked when read ([`crate::fsarg::DialplanContext`]), `default` unless set.
    pub transfer_context: crate::fsarg::DialplanContext,
}

/// `POST /api/cdr`, where FreeSWITCH's mod_xml_cdr sends each call's record.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CdrConfig {
    /// mod_xml_cdr's `cred=username:password` (HTTP basic). Without a password the endpoint
    /// refuses every POST.
    pub username: String,
    pub password: Secret,
    /// Largest POST body accepted (a form-encoded CDR is about three times its XML).
    pub max_body_bytes: usize,
    /// Where FreeSWITCH writes call recordings (its `recordings_dir`, as mounted here): a
    /// call's recording is played in the browser only from under it. Unset: not played.
    pub recordings_dir: Option<std::path::PathBuf>,
}

impl Default for CdrConfig {
    fn default() -> Self {
        CdrConfig {
            username: "freeswitch".into(),
            password: Secret::default(),
            max_body_bytes: 4 * 1024 * 1024,
            recordings_dir: None,
        }
    }
}

/// How the phone book reads and shows numbers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhonebookConfig {
    /// ISO 3166 region for numbers written the national way (`8 495 ...` in `RU`,
    /// `020 ...` in `GB`). Unset, only the candidate `regions` read such numbers, and
    /// `check-config` and `serve` warn.
    pub default_region: Option<String>,
    /// Further regions a nationally written number may come from, tried in order when it
    /// is not valid in `default_region`; a reading valid in exactly one of them is taken.
    pub regions: Vec<String>,
    /// How numbers are shown: `international`, `national` or `e164`.
    pub number_style: crate::directory::number::Style,
    /// Following a system of record (`[phonebook.sync]`, `[phonebook.sync.ldap]`).
    pub sync: crate::directory::sync::SyncConfig,
}

impl PhonebookConfig {
    /// The regions read; the error names the key.
    pub fn numbering(&self) -> Result<crate::directory::number::Numbering, String> {
        crate::directory::number::Numbering::with_regions(
            self.default_region.as_deref(),
            &self.regions,
        )
        .map(|numbering| numbering.styled(self.number_style))
        .map_err(|e| format!("phonebook.default_region/regions: {e}"))
    }
}

/// A further FreeSWITCH node; every node feeds the same queues.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EslNode {
    pub name: String,
    pub host: String,
    #[serde(default = "default_esl_port")]
    pub port: u16,
    pub password: Secret,
}

fn default_esl_port() -> u16 {
    8021
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://data/switchdesk.db` (created on first run) or `postgres://user@host/db`.
    pub url: Secret,
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: Secret::new("sqlite://data/switchdesk.db"),
            max_connections: 8,
        }
    }
}

/// One FreeSWITCH node reached over the inbound event socket.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EslConfig {
    pub host: String,
    pub port: u16,
    pub password: Secret,
    /// FreeSWITCH sends HEARTBEAT every 20 s by default; two silent intervals mean the peer is dead.
    pub heartbeat_secs: u64,
    pub connect_timeout_secs: u64,
    /// Largest frame (headers plus body) accepted from the switch.
    pub max_frame_bytes: usize,
    /// First and largest delay between reconnect attempts.
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    /// Socket reads (each up to 64 KiB of events, delivered as one batch) buffered per
    /// subscriber before a slow subscriber is shed; `esl tail` pauses reading instead.
    pub event_buffer: usize,
    /// More FreeSWITCH nodes besides the one above (`[[esl.nodes]]`).
    pub nodes: Vec<EslNode>,
}

/// Above this many buffered reads, a stuck consumer may hold more than 256 MiB.
const RISKY_EVENT_BUFFER: usize = 4_096;

impl Default for EslConfig {
    fn default() -> Self {
        EslConfig {
            host: "127.0.0.1".into(),
            port: 8021,
            password: Secret::new("ClueCon"),
            heartbeat_secs: 20,
            connect_timeout_secs: 5,
            max_frame_bytes: 8 * 1024 * 1024,
            backoff_initial_ms: 500,
            backoff_max_ms: 30_000,
            event_buffer: 1_024,
            nodes: Vec::new(),
        }
    }
}

impl EslConfig {
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs)
    }

    /// One node's connection settings for [`crate::esl::Connection`]: every event, in plain
    /// format, reconnecting.
    pub fn connection_options(&self, node: &str) -> ConnectionOptions {
        ConnectionOptions {
            node: node.to_owned(),
            address: self.address(),
            password: self.password.clone(),
            format: EventFormat::Plain,
            events: vec!["ALL".into()],
            heartbeat: self.heartbeat(),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            max_frame: self.max_frame_bytes,
            backoff_initial: Duration::from_millis(self.backoff_initial_ms),
            backoff_max: Duration::from_millis(self.backoff_max_ms),
            event_buffer: self.event_buffer,
            reconnect: true,
        }
    }

    /// Every node as its own connection settings: this one (`fs1`), then `nodes`.
    pub fn all_nodes(&self) -> Vec<(String, EslConfig)> {
        let mut all = vec![(
            "fs1".to_owned(),
            EslConfig {
                nodes: Vec::new(),
                ..self.clone()
            },
        )];
        for node in &self.nodes {
            let config = EslConfig {
                host: node.host.clone(),
                port: node.port,
                password: node.password.clone(),
                nodes: Vec::new(),
                ..self.clone()
            };
            all.push((node.name.clone(), config));
        }
        all
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Largest request body accepted by any route.
    pub max_body_bytes: usize,
    pub session_hours: u64,
    /// Mark the session cookie `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// A request's head must arrive within this long after the connection opens or goes idle;
    /// so it is also how long an idle keep-alive connection stays open.
    pub header_read_timeout_secs: u64,
    /// A request's body must arrive within this long after its head.
    pub body_timeout_secs: u64,
    /// Connections served at once; further ones wait in the listen backlog. Keep it well below
    /// the process's open-file limit (`ulimit -n`).
    pub max_connections: usize,
    /// Threads that hash passwords (Argon2id, ~19 MiB and a core each).
    pub login_workers: usize,
    /// Sign-ins waiting for a hashing thread; beyond that they are refused with 429.
    pub login_queue: usize,
    /// Proxies whose `X-Forwarded-For` names the client (their own address otherwise would).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Origins besides the request's own `Host` whose pages may write with a session cookie,
    /// e.g. `https://desk.example.com` behind a proxy that rewrites `Host`.
    pub allowed_origins: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 2 * 1024 * 1024,
            session_hours: 12,
            secure_cookies: false,
            header_read_timeout_secs: 10,
            body_timeout_secs: 60,
            max_connections: 512,
            login_workers: 2,
            login_queue: 64,
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
        }
    }
}

impl HttpConfig {
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.header_read_timeout_secs == 0 || self.body_timeout_secs == 0 {
            problems.push(
                "http.header_read_timeout_secs and http.body_timeout_secs must be at least 1"
                    .into(),
            );
        }
        if self.max_connections == 0 {
            problems.push("http.max_connections must be at least 1".into());
        }
        if !(1..=64).contains(&self.login_workers) {
            problems.push("http.login_workers must be between 1 and 64".into());
        }
        for origin in &self.allowed_origins {
            let ok = origin.split_once("://").is_some_and(|(scheme, rest)| {
                matches!(scheme, "http" | "https")
                    && !rest.trim_end_matches('/').is_empty()
                    && !rest.trim_end_matches('/').contains(['/', '?', '#'])
            });
            if !ok {
                problems.push(format!(
                    "http.allowed_origins: {origin:?} is not an origin like https://desk.example.com"
                ));
            }
        }
        problems
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `switchdesk=debug,info`.
    pub filter: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
            format: "text".into(),
        }
    }
}

/// `switchdesk demo` only.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// The demo login's password; empty means a fresh one is generated and printed at start.
    pub password: Secret,
    /// How many synthetic callers arrive per minute (on average).
    pub callers_per_minute: f64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            password: Secret::default(),
            callers_per_minute: 12.0,
        }
    }
}

/// Why a configuration cannot be used, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Parse(String),
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

impl Config {
    /// Layer defaults, the file (if given, it must exist; `switchdesk.toml` is read when present)
    /// and the environment, then validate.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with_env(path, settings_in_env("SWITCHDESK_"))
    }

    fn load_with_env(path: Option<&Path>, env: Env) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let file = match path {
            Some(p) if !p.exists() => return Err(ConfigError::Missing(p.to_path_buf())),
            Some(p) => p.to_path_buf(),
            None => PathBuf::from(DEFAULT_FILE),
        };
        figment = figment.merge(Toml::file(&file)).merge(env);
        let config: Config = match figment.extract() {
            Ok(config) => config,
            Err(error) => {
                // A file that is not TOML at all has one problem; otherwise read each part
                // on its own so that every bad value is named in one run.
                let located = problems::every_problem(&figment, Some(&file));
                return Err(if located.is_empty() {
                    ConfigError::Parse(explain(error))
                } else {
                    ConfigError::Invalid(located)
                });
            }
        };
        config.validate()?;
        Ok(config)
    }

    /// What is valid but probably not what the operator wants; `check-config` prints these
    /// and `serve` logs them at start.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.esl.password.expose() == "ClueCon" {
            warnings.push(
                "esl.password is FreeSWITCH's well-known default ClueCon: set your own in \
                 event_socket.conf.xml and here (see freeswitch/README.md)"
                    .to_owned(),
            );
        }
        if self.cdr.password.is_empty() {
            warnings.push(
                "cdr.password is empty: every CDR mod_xml_cdr posts is refused (401) until it \
                 is set here and in xml_cdr.conf.xml"
                    .to_owned(),
            );
        }
        if self.phonebook.default_region.is_none() {
            warnings.push(format!(
                "phonebook.default_region is not set: numbers written without a country code \
                 are read only in phonebook.regions ({}), others are refused; set it to your \
                 customers' region (RU, GB, US...)",
                if self.phonebook.regions.is_empty() {
                    "none".to_owned()
                } else {
                    self.phonebook.regions.join(", ")
                }
            ));
        }
        if self.service.currency.is_none() {
            warnings.push(
                "service.currency is not set: fees, costs and margins are shown without a \
                 currency; set its ISO 4217 code (RUB, EUR, USD...)"
                    .to_owned(),
            );
        }
        if self.stats.timezone.is_none() {
            warnings.push(format!(
                "stats.timezone is not set: the wallboard's day starts at {} UTC; set your \
                 contact center's zone (Europe/Moscow, America/New_York...)",
                self.stats.day_starts_at
            ));
        }
        if self.esl.event_buffer > RISKY_EVENT_BUFFER {
            warnings.push(format!(
                "esl.event_buffer = {} counts socket reads of up to 64 KiB each (not events): \
                 a consumer that stops reading may hold up to {} MiB before it is shed; the \
                 default is {}",
                self.esl.event_buffer,
                self.esl.event_buffer / 16,
                EslConfig::default().event_buffer
            ));
        }
        warnings
    }

    /// Every problem at once, so one `check-config` run lists all of them.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let url = self.database.url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            problems.push(
                "database.url must start with sqlite:, postgres:// or postgresql://".to_string(),
            );
        }
        if let Err(e) = self.phonebook.numbering() {
            problems.push(e);
        }
        problems.extend(self.phonebook.sync.problems());
        if self.database.max_connections == 0 {
            problems.push("database.max_connections must be at least 1".into());
        }
        if self.esl.host.trim().is_empty() {
            problems.push("esl.host is empty".into());
        }
        if self.esl.password.is_empty() {
            problems.push("esl.password is empty (FreeSWITCH always asks for one)".into());
        }
        if self.esl.password.expose().contains(['\r', '\n']) {
            problems.push("esl.password contains a line break".into());
        }
        if self.esl.heartbeat_secs == 0 {
            problems.push("esl.heartbeat_secs must be at least 1".into());
        }
        if self.esl.max_frame_bytes < 64 * 1024 {
            problems.push("esl.max_frame_bytes below 65536 would reject ordinary events".into());
        }
        if self.esl.backoff_initial_ms == 0 || self.esl.backoff_max_ms < self.esl.backoff_initial_ms
        {
            problems.push("esl.backoff_initial_ms must be > 0 and <= esl.backoff_max_ms".into());
        }
        if self.esl.event_buffer == 0 {
            problems.push("esl.event_buffer must be at least 1".into());
        }
        for node in &self.esl.nodes {
            if node.host.trim().is_empty() || node.password.is_empty() {
                problems.push(format!(
                    "esl.nodes {:?}: host and password are required",
                    node.name
                ));
            }
        }
        let mut names: Vec<&str> = self.esl.nodes.iter().map(|n| n.name.as_str()).collect();
        names.push("fs1");
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            problems.push("esl.nodes: node names must be unique (and not fs1)".into());
        }
        for queue in &self.queues {
            problems.extend(queue.problems());
            if let Overflow::Queue(target) = &queue.overflow {
                if target == &queue.name {
                    problems.push(format!("queue {}: overflows to itself", queue.name));
                } else if !self.queues.iter().any(|q| &q.name == target) {
                    problems.push(format!(
                        "queue {}: overflow queue {target:?} is not defined in [[queues]]",
                        queue.name
                    ));
                }
            }
        }
        problems.extend(duplicates(
            "queue",
            self.queues.iter().map(|q| q.name.as_str()),
        ));
        problems.extend(duplicates(
            "agent",
            self.agents.iter().map(|a| a.name.as_str()),
        ));
        for agent in &self.agents {
            problems.extend(agent.problems());
            for m in &agent.queues {
                if !self.queues.iter().any(|q| q.name == m.queue) {
                    problems.push(format!(
                        "agent {}: queue {:?} is not defined in [[queues]]",
                        agent.name, m.queue
                    ));
                }
            }
        }
        if self.cdr.max_body_bytes < 64 * 1024
            || self.cdr.max_body_bytes > crate::cdr::MAX_FORM_BYTES
        {
            problems.push(format!(
                "cdr.max_body_bytes must be between 65536 and {}",
                crate::cdr::MAX_FORM_BYTES
            ));
        }
        if self.cdr.username.contains(':') {
            problems.push("cdr.username must not contain ':'".into());
        }
        problems.extend(self.tickets.problems());
        problems.extend(self.webhook.problems());
        problems.extend(self.incidents.problems(&self.tickets.categories));
        problems.extend(self.smtp.problems());
        problems.extend(self.matrix.problems());
        problems.extend(self.fax.problems());
        problems.extend(self.stats.problems());
        if self.http.max_body_bytes < 1024 {
            problems.push("http.max_body_bytes must be at least 1024".into());
        }
        if !(self.demo.callers_per_minute > 0.0 && self.demo.callers_per_minute <= 6_000.0) {
            problems.push("demo.callers_per_minute must be above 0 and at most 6000".into());
        }
        if self.http.session_hours == 0 {
            problems.push("http.session_hours must be at least 1".into());
        }
        problems.extend(self.http.problems());
        if !matches!(self.log.format.as_str(), "text" | "json") {
            problems.push(format!(
                "log.format is {:?}; use \"text\" or \"json\"",
                self.log.format
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.filter) {
            problems.push(format!(
                "log.filter {:?} is not a valid filter: {e}",
                self.log.filter
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

/// The file read when no `--config` (or `SWITCHDESK_CONFIG`) names one.
pub const DEFAULT_FILE: &str = "switchdesk.toml";

/// "queue \"support\" is defined 2 times" for each name given more than once.
fn duplicates<'a>(kind: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for name in names {
        *counts.entry(name).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(name, n)| format!("{kind} {name:?} is defined {n} times"))
        .collect()
}

/// The top-level keys a configuration may have.
fn section_names() -> Vec<String> {
    figment::value::Value::serialize(Config::default())
        .ok()
        .and_then(|value| value.into_dict())
        .map(|dict| dict.into_keys().collect())
        .unwrap_or_default()
}

/// The `PREFIX*` variables whose first `__`-separated part names a section of [`Config`]
/// (`SWITCHDESK_ESL__PORT`). Others sharing the prefix are not settings: without this filter
/// `SWITCHDESK_CONFIG` would read as an unknown key `config` and every command would fail.
fn settings_in_env(prefix: &str) -> Env {
    let sections = section_names();
    Env::prefixed(prefix)
        .filter(move |key| {
            let section = key.as_str().split("__").next().unwrap_or_default();
            sections.iter().any(|s| s.eq_ignore_ascii_case(section))
        })
        .split("__")
}

fn explain(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", e.path.join("."))
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            format!("{key}{}{source}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_secrets_are_redacted() {
        let config = Config::default();
        config.validate().unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("ClueCon"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn the_currency_and_csv_separator_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            let env = Env::prefixed("SWITCHDESK_CURRENCYTEST_").split("__");
            Config::load_with_env(Some(&path), env)
        };
        let config =
            load("[service]\ncurrency = \"RUB\"\ncsv_separator = \"semicolon\"\n").unwrap();
        assert_eq!(
            config.service.currency.map(|c| c.code().to_owned()),
            Some("RUB".into())
        );
        assert_eq!(
            config.service.csv_separator,
            Some(crate::spreadsheet::Dialect::Semicolon)
        );
        for wrong in ["\"rub\"", "\"RUBL\"", "\"R$\""] {
            let error = load(&format!("[service]\ncurrency = {wrong}\n"))
                .unwrap_err()
                .to_string();
            assert!(error.contains("is not an ISO 4217 code"), "{error}");
        }
        let error = load("[service]\ncsv_separator = \"tab\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("csv_separator"), "{error}");
    }

    #[test]
    fn file_then_environment_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "[esl]\nport = 9000\nhost = \"10.0.0.5\"\n").unwrap();
        // A prefix of this test's own, so no other test sees the variable.
        std::env::set_var("SWITCHDESK_CFGTEST_ESL__PORT", "9100");
        let env = Env::prefixed("SWITCHDESK_CFGTEST_").split("__");
        let config = Config::load_with_env(Some(&path), env).unwrap();
        assert_eq!(config.esl.port, 9100);
        assert_eq!(config.esl.host, "10.0.0.5");
    }

    #[test]
    fn variables_that_name_no_section_are_not_settings() {
        // A prefix of this test's own, as above.
        std::env::set_var("SWITCHDESK_ENVTEST_CONFIG", "/etc/switchdesk.toml");
        std::env::set_var("SWITCHDESK_ENVTEST_TEST_POSTGRES_URL", "postgres://x/y");
        std::env::set_var("SWITCHDESK_ENVTEST_HTTP__SESSION_HOURS", "3");
        let env = settings_in_env("SWITCHDESK_ENVTEST_");
        let config = Config::load_with_env(None, env).unwrap();
        assert_eq!(config.http.session_hours, 3);
        // A mistake inside a section is still explained.
        std::env::set_var("SWITCHDESK_ENVTEST2_ESL__PROT", "1");
        let err = Config::load_with_env(None, settings_in_env("SWITCHDESK_ENVTEST2_")).unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn the_ldap_sync_needs_a_url_and_a_base_dn_but_not_a_reachable_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        let load = |text: &str, prefix: &str| {
            std::fs::write(&path, text).unwrap();
            Config::load_with_env(Some(&path), Env::prefixed(prefix).split("__"))
        };
        // Nobody listens on port 9: that is the sync's error when it runs, not the file's.
        let good = "[phonebook.sync.ldap]\nurl = \"ldap://127.0.0.1:9\"\n\
                    bind_dn = \"cn=reader,dc=example,dc=com\"\nbase_dn = \"dc=example,dc=com\"\n";
        std::env::set_var(
            "SWITCHDESK_SYNCTEST_PHONEBOOK__SYNC__LDAP__PASSWORD",
            "from-env",
        );
        let config = load(good, "SWITCHDESK_SYNCTEST_").unwrap();
        let ldap = config.phonebook.sync.ldap.unwrap();
        assert_eq!(ldap.password.expose(), "from-env");
        assert_eq!(ldap.page_size, 500);
        assert_eq!(config.phonebook.sync.interval_minutes, 60);

        let err = load(
            "[phonebook.sync.ldap]\nurl = \"ldap://127.0.0.1:9\"\n",
            "SWITCHDESK_SYNCTEST_NONE_",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("base_dn"), "{err}");
        let err = load(
            "[phonebook.sync]\ninterval_minutes = 99999\n[phonebook.sync.ldap]\nurl = \"\"\n\
             base_dn = \" \"\nfilter = \"(cn=x\"\n",
            "SWITCHDESK_SYNCTEST_NONE_",
        )
        .unwrap_err()
        .to_string();
        for key in [
            "phonebook.sync.ldap.url is empty",
            "phonebook.sync.ldap.base_dn is empty",
            "phonebook.sync.ldap.filter",
            "phonebook.sync.interval_minutes",
        ] {
            assert!(err.contains(key), "{key} in {err}");
        }
        let err = load(
            "[phonebook.sync.ldap]\nurl = \"ldaps://dc1\"\nbase_dn = \"dc=x\"\n\
             bind_dn = \"cn=reader,dc=x\"\n",
            "SWITCHDESK_SYNCTEST_NONE_",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("ldaps:// is not supported"), "{err}");
        assert!(
            err.contains("password is empty but bind_dn is set"),
            "{err}"
        );
    }

    #[test]
    fn mistakes_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "[esl]\nprot = 9000\n").unwrap();
        let err =
            Config::load_with_env(Some(&path), Env::prefixed("SWITCHDESK_TEST_NONE_")).unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");

        let mut config = Config::default();
        config.log.format = "xml".into();
        config.esl.heartbeat_secs = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("log.format") && err.contains("heartbeat"),
            "{err}"
        );
    }
}
