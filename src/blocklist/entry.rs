//! One blocklist entry and its parts.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::fsarg::{ArgError, Extension, HangupCause, SoundRef};

/// What an entry matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Match {
    /// One number, in E.164.
    Number(String),
    /// Every number starting with these E.164 digits (`+882`, `+7809`).
    Prefix(String),
    /// Caller-ID names matching a case-insensitive pattern, `*` for any run of characters and
    /// `?` for one (`*casino*`, `Spam?Bot`).
    Name(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
    Both,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Both => "both",
        }
    }

    pub fn parse(text: &str) -> Option<Direction> {
        match text {
            "inbound" | "in" => Some(Direction::Inbound),
            "outbound" | "out" => Some(Direction::Outbound),
            "both" => Some(Direction::Both),
            _ => None,
        }
    }

    /// Whether an entry for `self` applies to a call going `way`.
    pub fn covers(self, way: Direction) -> bool {
        self == Direction::Both || self == way
    }
}

/// What happens to a blocked inbound call. None of these answers the call. Its arguments go
/// into FreeSWITCH commands, so they are [`crate::fsarg`] types; a bad one is refused while
/// reading, naming the field (`file: may not contain '$' ...`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "TreatmentText")]
pub enum Treatment {
    /// Refuse with a hangup cause, which FreeSWITCH turns into the SIP response
    /// (`CALL_REJECTED` → 603, `NO_ROUTE_DESTINATION` → 404, `UNALLOCATED_NUMBER` → 404).
    Reject { cause: HangupCause },
    /// 486 Busy Here.
    Busy,
    /// Early media (183, not answered): play the prompt, then hang up.
    Prompt { file: SoundRef },
    /// Send the call to an extension of the dialplan (voicemail); that extension decides
    /// whether to answer.
    Transfer { extension: Extension },
}

/// A treatment as text, before its arguments are checked. (An internally tagged enum loses
/// the field's name in serde's errors; this puts it back.)
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TreatmentText {
    Reject {
        #[serde(default = "default_cause")]
        cause: String,
    },
    Busy,
    Prompt {
        file: String,
    },
    Transfer {
        extension: String,
    },
}

fn default_cause() -> String {
    HangupCause::CALL_REJECTED.to_string()
}

impl TryFrom<TreatmentText> for Treatment {
    type Error = String;
    fn try_from(text: TreatmentText) -> Result<Treatment, String> {
        let field = |name: &'static str| move |e: ArgError| format!("{name}: {e}");
        Ok(match text {
            TreatmentText::Reject { cause } => Treatment::Reject {
                cause: HangupCause::parse(&cause).map_err(field("cause"))?,
            },
            TreatmentText::Busy => Treatment::Busy,
            TreatmentText::Prompt { file } => Treatment::Prompt {
                file: SoundRef::parse(&file).map_err(field("file"))?,
            },
            TreatmentText::Transfer { extension } => Treatment::Transfer {
                extension: Extension::parse(&extension).map_err(field("extension"))?,
            },
        })
    }
}

/// Hangup causes a reject may use: the Q.850 names FreeSWITCH maps to a SIP response.
const CAUSES: &[&str] = &[
    "CALL_REJECTED",
    "USER_BUSY",
    "NO_ROUTE_DESTINATION",
    "UNALLOCATED_NUMBER",
    "NORMAL_CLEARING",
    "FACILITY_REJECTED",
    "OUTGOING_CALL_BARRED",
    "INCOMING_CALL_BARRED",
    "SERVICE_UNAVAILABLE",
    "NORMAL_TEMPORARY_FAILURE",
];

impl Treatment {
    pub fn label(&self) -> &'static str {
        match self {
            Treatment::Reject { .. } => "reject",
            Treatment::Busy => "busy",
            Treatment::Prompt { .. } => "prompt",
            Treatment::Transfer { .. } => "transfer",
        }
    }

    /// The stored argument: the cause, the prompt or the extension.
    pub fn argument(&self) -> &str {
        match self {
            Treatment::Reject { cause } => cause.as_str(),
            Treatment::Busy => "",
            Treatment::Prompt { file } => file.as_str(),
            Treatment::Transfer { extension } => extension.as_str(),
        }
    }

    /// A stored treatment; `None` for an unknown action or an argument that may not go into
    /// a FreeSWITCH command.
    pub fn from_parts(action: &str, argument: &str) -> Option<Treatment> {
        Some(match action {
            "reject" => Treatment::Reject {
                cause: HangupCause::parse(argument).ok()?,
            },
            "busy" => Treatment::Busy,
            "prompt" => Treatment::Prompt {
                file: SoundRef::parse(argument).ok()?,
            },
            "transfer" => Treatment::Transfer {
                extension: Extension::parse(argument).ok()?,
            },
            _ => return None,
        })
    }
}

/// A stored entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub id: i64,
    #[serde(rename = "match")]
    pub matches: Match,
    pub direction: Direction,
    /// For inbound calls; outbound calls are simply not placed.
    #[serde(default)]
    pub treatment: Treatment,
    /// Unix milliseconds after which the entry no longer applies.
    #[serde(default)]
    pub expires_at: Option<Millis>,
    #[serde(default)]
    pub reason: String,
    /// The user who added it (set by the server, not the client).
    #[serde(default)]
    pub added_by: String,
    #[serde(default)]
    pub hits: u64,
    #[serde(default)]
    pub last_hit_at: Option<Millis>,
    #[serde(default)]
    pub created_at: Millis,
}

/// A call refused with `CALL_REJECTED` (SIP 603), unless an entry says otherwise.
impl Default for Treatment {
    fn default() -> Treatment {
        Treatment::Reject {
            cause: HangupCause::CALL_REJECTED,
        }
    }
}

/// Why an entry cannot be stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct EntryError(pub Vec<String>);

impl Entry {
    /// Checks the entry and normalizes what it matches: numbers and prefixes must already be
    /// E.164 (`+` and digits; the API normalizes what users type before calling this).
    pub fn validate(&self) -> Result<(), EntryError> {
        let mut problems = Vec::new();
        match &self.matches {
            Match::Number(n) | Match::Prefix(n) => {
                let digits = n.strip_prefix('+').unwrap_or("");
                if digits.is_empty()
                    || digits.len() > 15
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    problems.push(format!("{n:?} is not an E.164 number or prefix"));
                }
            }
            Match::Name(pattern) => {
                if pattern.trim_matches('*').trim().is_empty() {
                    problems.push("a name pattern must contain more than wildcards".into());
                }
                if pattern.chars().count() > 100 {
                    problems.push("a name pattern is at most 100 characters".into());
                }
            }
        }
        match &self.treatment {
            Treatment::Reject { cause } if !CAUSES.contains(&cause.as_str()) => {
                problems.push(format!(
                    "unknown hangup cause {:?}; use one of {}",
                    cause.as_str(),
                    CAUSES.join(", ")
                ))
            }
            // The prompt and the extension were checked when they were read (`crate::fsarg`).
            _ => {}
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EntryError(problems))
        }
    }

    pub fn is_active(&self, now: Millis) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}
