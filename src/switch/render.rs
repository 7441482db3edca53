//! Engine actions as FreeSWITCH commands: the contract in DESIGN.md, written once.
//!
//! Pure functions from an [`Action`] to the [`Step`]s that carry it out on the caller's node.
//! Everything that reaches an originate string from outside (a caller's display name) is
//! reduced to characters that cannot break out of `{var=value}` or the command line.

use crate::acd::{Action, QueueConfig};
use crate::esl::command::CallCommand;

/// One ESL request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `api <command>`; `Some(call)` when a `-ERR` means the bridge of `call` failed.
    Api {
        command: String,
        bridge_of: Option<String>,
    },
    /// `bgapi originate ...` for a leg the engine is waiting on.
    Originate { command: String, leg: String },
    /// `sendmsg <uuid>` executing an application after the ones already queued.
    Execute {
        uuid: String,
        app: String,
        arg: String,
    },
}

/// An `api` command that bridges nothing.
pub(crate) fn api(command: String) -> Step {
    Step::Api {
        command,
        bridge_of: None,
    }
}

/// A dialplan application run on `uuid` (`sendmsg execute`).
pub(crate) fn execute(uuid: &str, app: &str, arg: impl Into<String>) -> Step {
    Step::Execute {
        uuid: uuid.to_owned(),
        app: app.to_owned(),
        arg: arg.into(),
    }
}

impl Step {
    pub(crate) fn call_command(app: &str, arg: &str) -> CallCommand {
        CallCommand::Execute {
            app: app.to_owned(),
            arg: Some(arg.to_owned()),
            event_lock: true,
            event_uuid: None,
            loops: None,
        }
    }
}

/// A value safe inside `{name=value}`: letters (any script), digits, and ` +-._@:`; anything
/// else becomes a space. Quoted when it has spaces.
pub(crate) fn originate_value(value: &str) -> Option<String> {
    let cleaned: String = value
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '+' | '-' | '.' | '_' | '@' | ':') {
                c
            } else {
                ' '
            }
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let cleaned: String = cleaned.chars().take(80).collect();
    match cleaned.is_empty() {
        true => None,
        false if cleaned.contains(' ') => Some(format!("'{cleaned}'")),
        false => Some(cleaned),
    }
}

/// `originate {vars}<dial> &<app>`; `dial` is a checked endpoint or the queue's own template.
fn originate(vars: &[(&str, Option<String>)], dial: &str, app: &str) -> String {
    let vars: Vec<String> = vars
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")))
        .collect();
    format!("originate {{{}}}{dial} &{app}", vars.join(","))
}

/// How a supervisor joins an agent's call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EavesdropMode {
    /// Hears both sides; nobody hears the supervisor.
    Listen,
    /// Hears both sides; only the agent hears the supervisor.
    Whisper,
    /// Hears both sides and is heard by both.
    Barge,
}

impl EavesdropMode {
    fn label(self) -> &'static str {
        match self {
            EavesdropMode::Listen => "Listen",
            EavesdropMode::Whisper => "Whisper",
            EavesdropMode::Barge => "Barge",
        }
    }

    /// The variables mod_dptools' `eavesdrop` reads, for eavesdropping on the *agent's* leg.
    /// `switch_ivr_eavesdrop_session` puts its media bug on the target leg:
    /// `eavesdrop_whisper_aleg` (ED_MUX_READ) mixes the supervisor into what is read from
    /// that leg, which the bridge carries to the caller; `eavesdrop_whisper_bleg`
    /// (ED_MUX_WRITE) mixes them into what is written to it, which the agent hears (the
    /// "2: speak with the uuid" DTMF command). So whispering to the agent is `_bleg`.
    fn variables(self) -> &'static [(&'static str, &'static str)] {
        match self {
            EavesdropMode::Listen => &[],
            EavesdropMode::Whisper => &[("eavesdrop_whisper_bleg", "true")],
            EavesdropMode::Barge => &[
                ("eavesdrop_whisper_aleg", "true"),
                ("eavesdrop_whisper_bleg", "true"),
            ],
        }
    }
}

/// How long the supervisor's phone rings before the originate gives up.
pub(crate) const EAVESDROP_RING_SECS: u64 = 30;

/// The originate that calls the supervisor's `endpoint` (already checked with
/// [`crate::acd::check_endpoint`]) as leg `leg` into `eavesdrop` of the agent's leg. The mode
/// is fixed by the request: the keypad cannot change it (`eavesdrop_enable_dtmf=false`;
/// FreeSWITCH enables it by default).
pub(crate) fn eavesdrop(
    leg: &str,
    agent_leg: &str,
    agent: &str,
    mode: EavesdropMode,
    endpoint: &str,
) -> String {
    let mut vars = vec![
        ("origination_uuid", Some(leg.to_owned())),
        ("originate_timeout", Some(EAVESDROP_RING_SECS.to_string())),
        ("ignore_early_media", Some("true".into())),
        (
            "origination_caller_id_name",
            originate_value(&format!("{}: {agent}", mode.label())),
        ),
        ("eavesdrop_enable_dtmf", Some("false".into())),
    ];
    vars.extend(
        mode.variables()
            .iter()
            .map(|(name, value)| (*name, Some((*value).to_owned()))),
    );
    originate(&vars, endpoint, &format!("eavesdrop({agent_leg})"))
}

/// What the caller hears for a list of prompts: files and streams are played, `{position}`
/// and `{wait_minutes}` are spoken as numbers in the queue's language.
fn prompts(
    call: &str,
    queue: &QueueConfig,
    items: &[String],
    position: u32,
    wait: Option<u32>,
    out: &mut Vec<Step>,
) {
    for item in items {
        let number = match item.as_str() {
            "{position}" => Some(position),
            "{wait_minutes}" => wait,
            _ => None,
        };
        match number {
            Some(n) => out.push(execute(
                call,
                "say",
                format!("{} number pronounced {n}", queue.prompts.language),
            )),
            None if item.starts_with('{') => {}
            None => out.push(execute(call, "playback", item.clone())),
        }
    }
}

/// The steps for one action. `queue` is the configuration of the queue the action names.
pub(crate) fn render(
    action: &Action,
    queue: Option<&QueueConfig>,
    transfer_context: &str,
) -> Vec<Step> {
    match action {
        Action::Answer { call } => vec![api(format!("uuid_answer {call}"))],
        Action::SetVar { call, name, value } => {
            vec![api(format!(
                "uuid_setvar {call} {name} {}",
                value.replace(char::is_whitespace, "_")
            ))]
        }
        Action::HoldMusic { call, .. } => {
            let Some(queue) = queue else {
                return Vec::new();
            };
            vec![
                api(format!("uuid_break {call} all")),
                execute(call, "playback", queue.prompts.hold_music.clone()),
            ]
        }
        Action::Announce {
            call,
            position,
            wait_minutes,
            ..
        } => {
            let Some(queue) = queue else {
                return Vec::new();
            };
            let mut out = vec![api(format!("uuid_break {call} all"))];
            prompts(
                call,
                queue,
                &queue.prompts.position,
                *position,
                *wait_minutes,
                &mut out,
            );
            if wait_minutes.is_some() {
                prompts(
                    call,
                    queue,
                    &queue.prompts.expected_wait,
                    *position,
                    *wait_minutes,
                    &mut out,
                );
            }
            out.push(execute(call, "playback", queue.prompts.hold_music.clone()));
            out
        }
        Action::RingAgent {
            leg,
            call,
            agent,
            endpoint,
            queue: queue_name,
            timeout_secs,
            caller_number,
            caller_name,
        } => {
            let command = originate(
                &[
                    ("origination_uuid", Some(leg.clone())),
                    ("originate_timeout", Some(timeout_secs.to_string())),
                    ("ignore_early_media", Some("true".into())),
                    (
                        "origination_caller_id_number",
                        originate_value(caller_number),
                    ),
                    ("origination_caller_id_name", originate_value(caller_name)),
                    ("switchdesk_leg", Some("agent".into())),
                    ("switchdesk_agent", originate_value(agent)),
                    ("switchdesk_queue_name", originate_value(queue_name)),
                    ("switchdesk_caller_uuid", Some(call.clone())),
                ],
                endpoint,
                "park()",
            );
            vec![Step::Originate {
                command,
                leg: leg.clone(),
            }]
        }
        Action::DialCustomer {
            leg,
            number: _,
            dial,
            queue: queue_name,
            timeout_secs,
            caller_id_number,
            caller_id_name,
        } => {
            let command = originate(
                &[
                    ("origination_uuid", Some(leg.clone())),
                    ("originate_timeout", Some(timeout_secs.to_string())),
                    (
                        "origination_caller_id_number",
                        originate_value(caller_id_number),
                    ),
                    (
                        "origination_caller_id_name",
                        originate_value(caller_id_name),
                    ),
                    ("switchdesk_leg", Some("customer".into())),
                    ("switchdesk_queue_name", originate_value(queue_name)),
                ],
                dial,
                "park()",
            );
            vec![Step::Originate {
                command,
                leg: leg.clone(),
            }]
        }
        Action::CancelLeg { leg, cause } => vec![api(format!("uuid_kill {leg} {cause}"))],
        Action::Bridge { call, leg } => vec![
            api(format!("uuid_break {call} all")),
            Step::Api {
                command: format!("uuid_bridge {call} {leg}"),
                bridge_of: Some(call.clone()),
            },
        ],
        Action::ConfirmCallback { call, .. } => {
            let Some(queue) = queue else {
                return Vec::new();
            };
            let mut out = vec![api(format!("uuid_break {call} all"))];
            prompts(
                call,
                queue,
                &queue.prompts.callback_accepted,
                0,
                None,
                &mut out,
            );
            out.push(execute(call, "hangup", "NORMAL_CLEARING"));
            out
        }
        Action::Transfer { call, extension } => vec![api(format!(
            "uuid_transfer {call} {extension} XML {transfer_context}"
        ))],
        Action::Hangup { call, cause } => vec![api(format!("uuid_kill {call} {cause}"))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_names_cannot_break_out_of_an_originate() {
        assert_eq!(originate_value("Caller 1"), Some("'Caller 1'".into()));
        assert_eq!(
            originate_value("Алексей Ревенко"),
            Some("'Алексей Ревенко'".into())
        );
        assert_eq!(
            originate_value("x'},origination_uuid=evil{"),
            Some("'x origination_uuid evil'".into())
        );
        assert_eq!(originate_value("a\nb\r&park()"), Some("'a b park'".into()));
        assert_eq!(originate_value("+15550001"), Some("+15550001".into()));
        assert_eq!(originate_value("''"), None);
    }

    #[test]
    fn an_agent_is_rung_with_the_contract_variables() {
        let ring = Action::RingAgent {
            leg: "L".into(),
            call: "C".into(),
            agent: "alice".into(),
            endpoint: "user/1001@default".into(),
            queue: "support".into(),
            timeout_secs: 20,
            caller_number: "+15550001".into(),
            caller_name: "Caller 1".into(),
        };
        assert_eq!(
            render(&ring, None, "default"),
            [Step::Originate {
                command: "originate {origination_uuid=L,originate_timeout=20,ignore_early_media=true,origination_caller_id_number=+15550001,origination_caller_id_name='Caller 1',switchdesk_leg=agent,switchdesk_agent=alice,switchdesk_queue_name=support,switchdesk_caller_uuid=C}user/1001@default &park()".into(),
                leg: "L".into()
            }]
        );
    }

    #[test]
    fn a_supervisor_whispers_to_the_agent_leg_and_barges_into_both() {
        let listen = eavesdrop(
            "S",
            "L",
            "alice",
            EavesdropMode::Listen,
            "user/1009@default",
        );
        assert_eq!(
            listen,
            "originate {origination_uuid=S,originate_timeout=30,ignore_early_media=true,origination_caller_id_name='Listen: alice',eavesdrop_enable_dtmf=false}user/1009@default &eavesdrop(L)"
        );
        let whisper = eavesdrop("S", "L", "alice", EavesdropMode::Whisper, "user/1009");
        assert!(whisper.contains("origination_caller_id_name='Whisper: alice',eavesdrop_enable_dtmf=false,eavesdrop_whisper_bleg=true}user/1009 &eavesdrop(L)"), "{whisper}");
        assert!(!whisper.contains("whisper_aleg"));
        let barge = eavesdrop("S", "L", "alice", EavesdropMode::Barge, "user/1009");
        assert!(
            barge.contains(",eavesdrop_whisper_aleg=true,eavesdrop_whisper_bleg=true}"),
            "{barge}"
        );
    }

    #[test]
    fn an_announcement_says_the_numbers_then_hold_music_resumes() {
        let mut queue = QueueConfig::named("support");
        queue.prompts.hold_music = "local_stream://moh".into();
        let steps = render(
            &Action::Announce {
                call: "C".into(),
                queue: "support".into(),
                position: 3,
                wait_minutes: Some(4),
            },
            Some(&queue),
            "default",
        );
        assert_eq!(
            steps,
            [
                api("uuid_break C all".into()),
                execute("C", "playback", "ivr/ivr-you_are_number.wav"),
                execute("C", "say", "en number pronounced 3"),
                execute("C", "playback", "ivr/ivr-in_line.wav"),
                execute("C", "playback", "ivr/ivr-hold_time_is.wav"),
                execute("C", "say", "en number pronounced 4"),
                execute("C", "playback", "ivr/ivr-minutes.wav"),
                execute("C", "playback", "local_stream://moh"),
            ]
        );
    }
}
