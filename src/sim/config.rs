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
    /// How long one sound file plays (a `playback` of a file, each file a `say` speaks).
    /// FreeSWITCH plays the file's real length; the simulator has no audio, so every file
    /// lasts this long. `tone_stream://` and `silence_stream://` last what they say, and
    /// `local_stream://` or `loops=-1` never end by themselves.
    pub sound_file_length: Duration,
    /// How long a hung-up leg stays in CS_REPORTING between CHANNEL_HANGUP and
    /// CHANNEL_HANGUP_COMPLETE. FreeSWITCH runs the reporting handlers there, mod_xml_cdr's
    /// POST and its retries included, so on a real switch a leg can linger for seconds (the
    /// shipped config retries five times, 10 s apart). Zero tears the leg down in one step.
    /// A lingering leg is still listed by `show channels` but answers `uuid_exists` false.
    pub reporting_linger: Duration,
    /// How long after an answered leg's `&app()` started (its CHANNEL_PARK) the originate's
    /// BACKGROUND_JOB comes. FreeSWITCH fires the job's event from the bgapi thread and the
    /// leg's events from the leg's thread, so a loaded switch can deliver the park first.
    /// Zero (the default) is capture 02's order: the job, then the leg's CS_EXECUTE and park.
    pub originate_job_delay: Duration,
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
            sound_file_length: Duration::from_millis(500),
            reporting_linger: Duration::ZERO,
            originate_job_delay: Duration::ZERO,
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

/// One extension of the simulated dialplan. A route matches its destination in any context:
/// callers reach it in `public`, `uuid_transfer <uuid> <destination> XML <context>` in the
/// context it names (the stock `outside_call` prelude runs only in `public`). A destination
/// no route matches ends the call with NO_ROUTE_DESTINATION, as FreeSWITCH's "No Route,
/// Aborting" does.
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
    /// The extension's `<action application="..." data="..."/>` list, run in order. Known
    /// applications behave as in FreeSWITCH: `answer`, `pre_answer`, `set`, `unset`, `export`,
    /// `sleep <ms>`, `playback <file>`, `say <module> <type> <method> <text>`, `park`,
    /// `transfer <ext> [dialplan] [context]`, `hangup [cause]`; any other application executes
    /// and completes at once. After the last one the channel hangs up with NORMAL_CLEARING
    /// ("has executed the last dialplan instruction, hanging up").
    Apps(Vec<(String, String)>),
}

impl Route {
    pub fn queue(destination: impl Into<String>, queue: impl Into<String>) -> Route {
        Route {
            destination: destination.into(),
            action: RouteAction::Queue(queue.into()),
        }
    }

    /// An extension running `apps` (see [`RouteAction::Apps`]).
    pub fn apps(destination: impl Into<String>, apps: Vec<(String, String)>) -> Route {
        Route {
            destination: destination.into(),
            action: RouteAction::Apps(apps),
        }
    }

    /// A stand-in for voicemail, an operator or any destination that takes the call and ends
    /// it by itself: `sleep` for `answer_after` (the caller keeps ringing or keeps its media
    /// state), `answer`, `sleep` for `hangup_after`, `hangup NORMAL_CLEARING`.
    pub fn answer_then_hangup(
        destination: impl Into<String>,
        answer_after: Duration,
        hangup_after: Duration,
    ) -> Route {
        let millis = |d: Duration| d.as_millis().to_string();
        let mut apps = Vec::with_capacity(4);
        if !answer_after.is_zero() {
            apps.push(("sleep".to_owned(), millis(answer_after)));
        }
        apps.push(("answer".to_owned(), String::new()));
        apps.push(("sleep".to_owned(), millis(hangup_after)));
        apps.push(("hangup".to_owned(), "NORMAL_CLEARING".to_owned()));
        Route::apps(destination, apps)
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
