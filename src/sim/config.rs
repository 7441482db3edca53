//! The simulator's public configuration: ESL password, seed, identity, heartbeat, dialplan
//! routes, originate defaults and where mod_xml_cdr posts. Plain data with defaults that match
//! the captured lab switch; nothing here acts.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How the simulated FreeSWITCH is set up.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The `event_socket.conf.xml` password (FreeSWITCH's default is `ClueCon`).
    pub password: String,
    /// Seeds every random choice: UUIDs, ports, patience draws, agent mixes.
    pub seed: u64,
    /// `FreeSWITCH-Hostname` / `-Switchname`.
    pub hostname: String,
    /// Interval of HEARTBEAT events (FreeSWITCH: 20 s).
    pub heartbeat: Duration,
    /// mod_xml_cdr's HTTP target; `None` posts nothing.
    pub cdr: Option<CdrTarget>,
    /// The `public` context: which destination numbers go to which queue or fax box.
    pub dialplan: Vec<Route>,
    /// Ring time of an `originate` without `originate_timeout` (FreeSWITCH: 60 s).
    pub originate_timeout_default: Duration,
    /// Wall-clock time of the simulator's start; `None` is now. Fix it for byte-stable output.
    pub start_time: Option<SystemTime>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            password: "ClueCon".into(),
            seed: 0,
            hostname: "vm".into(),
            heartbeat: Duration::from_secs(20),
            cdr: None,
            dialplan: vec![Route::queue("7000", "support")],
            originate_timeout_default: Duration::from_secs(60),
            start_time: None,
        }
    }
}

/// mod_xml_cdr's `url`, `cred`, `retries` and `delay`.
#[derive(Clone, Debug)]
pub struct CdrTarget {
    /// `http://host:port/path`; `?uuid=a_<uuid>` is appended as mod_xml_cdr does.
    pub url: String,
    /// HTTP basic credentials (`cred=user:pass`).
    pub username: Option<String>,
    pub password: Option<String>,
    /// Further attempts after a failed POST (not 2xx, or no connection).
    pub retries: u32,
    pub retry_delay: Duration,
    /// `log-b-leg`: also post originated legs that were bridged (the captures had it on).
    pub log_b_leg: bool,
}

impl CdrTarget {
    pub fn new(url: impl Into<String>) -> CdrTarget {
        CdrTarget {
            url: url.into(),
            username: None,
            password: None,
            retries: 0,
            retry_delay: Duration::from_secs(5),
            log_b_leg: true,
        }
    }
}

/// One extension of the simulated `public` context.
#[derive(Clone, Debug)]
pub struct Route {
    /// The DID / destination number it matches exactly.
    pub destination: String,
    pub action: RouteAction,
}

#[derive(Clone, Debug)]
pub enum RouteAction {
    /// switchdesk's contract: `set switchdesk_queue=<queue>`, then `park` without answering.
    Queue(String),
    /// `answer`, `set fax_ident`, `set fax_enable_t38=false`, `rxfax <directory>/<uuid>.tif`.
    Fax { directory: PathBuf, ident: String },
}

impl Route {
    pub fn queue(destination: impl Into<String>, queue: impl Into<String>) -> Route {
        Route {
            destination: destination.into(),
            action: RouteAction::Queue(queue.into()),
        }
    }

    pub fn fax(destination: impl Into<String>, directory: impl Into<PathBuf>) -> Route {
        Route {
            destination: destination.into(),
            action: RouteAction::Fax {
                directory: directory.into(),
                ident: "SWITCHDESK".into(),
            },
        }
    }
}
