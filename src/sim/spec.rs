//! What tests and the demo script into the simulator: callers, agent endpoints, faxes, and what
//! they read back (channel snapshots). Plain public data; the switch interprets it.

use std::path::PathBuf;
use std::time::Duration;

/// A caller arriving over SIP on the external profile.
#[derive(Clone, Debug, Default)]
pub struct CallSpec {
    pub from_number: String,
    pub from_name: String,
    /// The DID dialled; matched against `SimConfig::dialplan`.
    pub destination: String,
    /// The caller hangs up (NORMAL_CLEARING) this long after arriving unless bridged by then.
    pub patience: Option<Duration>,
    /// Once bridged, the caller hangs up after this long; `None` waits for the agent side.
    pub talk: Option<Duration>,
    /// Digits the caller presses (RFC 2833), at offsets from the moment the call is answered:
    /// no RTP flows before that.
    pub dtmf: Vec<(Duration, char)>,
}

/// How a registered agent endpoint reacts to an `originate`.
#[derive(Clone, Debug)]
pub enum AgentBehaviour {
    /// Rings for `ring`, answers; hangs up `talk` after being bridged (`None`: waits for the
    /// other side).
    Answer {
        ring: Duration,
        talk: Option<Duration>,
    },
    /// Rings until the originate timeout: `-ERR NO_ANSWER`.
    NoAnswer,
    /// Answers 486: `-ERR USER_BUSY`.
    Busy,
    /// `user/...` without a registration: `-ERR USER_NOT_REGISTERED`, no channel.
    Unregistered,
    /// One of these per call, in proportion to the weights (drawn from the seeded RNG).
    Random(Vec<(u32, AgentBehaviour)>),
}

/// An inbound fax call to a DID routed to `RouteAction::Fax`.
#[derive(Clone, Debug)]
pub struct FaxSpec {
    pub from_number: String,
    pub from_name: String,
    pub destination: String,
    /// The TIFF the sender transmits; on success its bytes are written where rxfax writes.
    pub tiff: PathBuf,
    pub pages: u32,
    /// Time from answer to the end of the transfer (the captured 2-page fax took about 20 s).
    pub duration: Duration,
    pub remote_station_id: String,
    pub outcome: FaxOutcome,
}

impl FaxSpec {
    pub fn new(
        from_number: impl Into<String>,
        destination: impl Into<String>,
        tiff: impl Into<PathBuf>,
    ) -> FaxSpec {
        FaxSpec {
            from_number: from_number.into(),
            from_name: String::new(),
            destination: destination.into(),
            tiff: tiff.into(),
            pages: 2,
            duration: Duration::from_secs(20),
            remote_station_id: "FAX-SENDER".into(),
            outcome: FaxOutcome::Success,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaxOutcome {
    Success,
    /// A spandsp T.30 completion code, e.g. 48 (`Disconnected after permitted retries`).
    Failure {
        code: u32,
    },
}

/// A live channel as `channels()` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSnapshot {
    pub uuid: String,
    pub name: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `CS_EXECUTE`, ...
    pub state: String,
    /// `RINGING`, `EARLY`, `ACTIVE`, ...
    pub call_state: String,
    pub answered: bool,
    pub parked: bool,
    pub bridged_to: Option<String>,
    pub variables: Vec<(String, String)>,
}

impl ChannelSnapshot {
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
