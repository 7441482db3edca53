//! Engine actions as FreeSWITCH commands: the contract in DESIGN.md, written once.
//!
//! Pure functions from an [`Action`] (and from a blocked caller's treatment, a supervisor's
//! eavesdrop, a caller's identification) to the [`Step`]s that carry it out on the caller's
//! node. A step is built only from [`crate::fsarg`] types: an `api` command is an [`Api`], an
//! application is an [`App`], an originate is an [`Originate`]. None of them holds a `String`,
//! so nothing a caller, a supervisor or an admin typed can reach FreeSWITCH as `${...}`, as
//! `&app(...)`, or as a second argument. What callers sent (names, numbers) is reduced
//! ([`VarValue::reduce`], [`CallerIdName::reduce`]) on the way in.

use std::fmt;

use crate::acd::config::Heard;
use crate::acd::{Action, QueueConfig};
use crate::blocklist::Treatment;
use crate::esl::command::CallCommand;
use crate::fsarg::{
    CallerIdName, ChannelUuid, Counted, DialplanContext, Endpoint, Extension, FileString,
    HangupCause, Language, Prompt, SoundRef, VarName, VarValue,
};

use super::vars;

/// An `api` command switchdesk sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    Answer(ChannelUuid),
    /// Stops what plays on the channel (and what is queued behind it).
    Break(ChannelUuid),
    /// What an answered caller hears while its own `bridge` rings an agent
    /// (`transfer_ringback`; `ringback` too when the sound fits a `uuid_setvar_multi`).
    Ringback(ChannelUuid, SoundRef),
    Bridge(ChannelUuid, ChannelUuid),
    Kill(ChannelUuid, HangupCause),
    SetVar(ChannelUuid, VarName, VarValue),
    /// Several variables in one command (`uuid_setvar_multi`, pairs split on `;`, each at its
    /// first `=`: a [`VarValue`] holds neither).
    SetVars(ChannelUuid, Vec<(VarName, VarValue)>),
    /// To an extension of the XML dialplan, in a context.
    Transfer(ChannelUuid, Extension, DialplanContext),
    Dump(ChannelUuid),
    /// `true` while the channel is up (a hung-up one lingering in CS_REPORTING is not).
    Exists(ChannelUuid),
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Api::Answer(call) => write!(f, "uuid_answer {call}"),
            Api::Break(call) => write!(f, "uuid_break {call} all"),
            Api::Ringback(call, sound) => {
                let text = sound.to_string();
                if text.contains([';', '=']) {
                    write!(f, "uuid_setvar {call} transfer_ringback {text}")
                } else {
                    write!(
                        f,
                        "uuid_setvar_multi {call} ringback={text};transfer_ringback={text}"
                    )
                }
            }
            Api::Bridge(call, leg) => write!(f, "uuid_bridge {call} {leg}"),
            Api::Kill(call, cause) => write!(f, "uuid_kill {call} {cause}"),
            // One word: `uuid_setvar` would take the rest of the line as the value anyway,
            // but the CDR reads better without spaces.
            Api::SetVar(call, name, value) => write!(
                f,
                "uuid_setvar {call} {name} {}",
                value.as_str().replace(' ', "_")
            ),
            Api::SetVars(call, vars) => {
                write!(f, "uuid_setvar_multi {call} ")?;
                for (i, (name, value)) in vars.iter().enumerate() {
                    if i > 0 {
                        f.write_str(";")?;
                    }
                    write!(f, "{name}={}", value.as_str().replace(' ', "_"))?;
                }
                Ok(())
            }
            Api::Transfer(call, extension, context) => {
                write!(f, "uuid_transfer {call} {extension} XML {context}")
            }
            Api::Dump(call) => write!(f, "uuid_dump {call} json"),
            Api::Exists(call) => write!(f, "uuid_exists {call}"),
        }
    }
}

/// A dialplan application switchdesk runs on a channel, with its argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum App {
    /// Early media: the caller hears what follows without the call being answered.
    PreAnswer,
    Playback(SoundRef),
    /// Several sounds in one `playback` (`file_string://a!b`).
    PlayList(FileString),
    /// A number spoken by mod_say (`say en number pronounced 3`).
    Say {
        language: Language,
        number: u32,
    },
    /// Channel variables set in the channel's own order, between the applications queued
    /// around it (`multiset a=1 b=2`; an `api` `uuid_setvar` would take effect at once).
    MultiSet(Vec<(VarName, VarValue)>),
    Hangup(HangupCause),
    /// The caller's own session rings an agent and bridges on answer.
    Bridge(BridgeDial),
    /// One key asked of the caller (`play_and_get_digits`: the survey after a call).
    ReadDigits(super::survey::DigitRead),
}

/// `bridge`'s argument: `{originate vars}[leg vars]<endpoint>`, one checked destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BridgeDial {
    global: Vec<(&'static str, VarValue)>,
    leg: Vec<(&'static str, VarValue)>,
    dial: Endpoint,
}

impl fmt::Display for BridgeDial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (open, close, vars) in [("{", "}", &self.global), ("[", "]", &self.leg)] {
            f.write_str(open)?;
            for (i, (name, value)) in vars.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{name}={}", value.quoted())?;
            }
            f.write_str(close)?;
        }
        write!(f, "{}", self.dial)
    }
}

impl App {
    fn name(&self) -> &'static str {
        match self {
            App::PreAnswer => "pre_answer",
            App::Playback(_) | App::PlayList(_) => "playback",
            App::Say { .. } => "say",
            App::MultiSet(_) => "multiset",
            App::Hangup(_) => "hangup",
            App::Bridge(_) => "bridge",
            App::ReadDigits(_) => "play_and_get_digits",
        }
    }

    fn arg(&self) -> String {
        match self {
            App::PreAnswer => String::new(),
            App::Playback(sound) => sound.to_string(),
            App::PlayList(sounds) => sounds.to_string(),
            App::Say { language, number } => format!("{language} number pronounced {number}"),
            // `multiset` splits its argument on spaces and each pair at its first `=`.
            App::MultiSet(vars) => vars
                .iter()
                .map(|(name, value)| format!("{name}={}", value.as_str().replace(' ', "_")))
                .collect::<Vec<_>>()
                .join(" "),
            App::Hangup(cause) => cause.to_string(),
            App::Bridge(dial) => dial.to_string(),
            App::ReadDigits(read) => read.to_string(),
        }
    }

    /// Queued behind the application already running (`event-lock`).
    pub(crate) fn call_command(&self) -> CallCommand {
        CallCommand::Execute {
            app: self.name().to_owned(),
            arg: Some(self.arg()),
            event_lock: true,
            event_uuid: None,
            loops: None,
        }
    }
}

/// What an originated leg does once answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Then {
    Park,
    Eavesdrop(ChannelUuid),
}

/// `originate {vars}<dial> &<app>`: switchdesk's own variables, one checked destination, and
/// the one application switchdesk chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Originate {
    vars: Vec<(&'static str, VarValue)>,
    dial: Endpoint,
    then: Then,
}

impl Originate {
    fn new(vars: Vec<(&'static str, Option<VarValue>)>, dial: Endpoint, then: Then) -> Originate {
        Originate {
            vars: vars
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| (name, v)))
                .collect(),
            dial,
            then,
        }
    }
}

impl fmt::Display for Originate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("originate {")?;
        for (i, (name, value)) in self.vars.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{name}={}", value.quoted())?;
        }
        write!(f, "}}{} &", self.dial)?;
        match &self.then {
            Then::Park => f.write_str("park()"),
            Then::Eavesdrop(leg) => write!(f, "eavesdrop({leg})"),
        }
    }
}

/// One ESL request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `api <command>`; `Some(call)` when a `-ERR` means the bridge of `call` failed.
    Api {
        command: Api,
        bridge_of: Option<String>,
    },
    /// `bgapi originate ...` for a leg the engine is waiting on.
    Originate { command: Originate, leg: String },
    /// `sendmsg <uuid>` executing an application after the ones already queued.
    Execute { uuid: ChannelUuid, app: App },
    /// `sendmsg <call>` executing `bridge` for the agent leg `leg` the engine waits on.
    Ring {
        call: ChannelUuid,
        app: App,
        leg: String,
    },
}

/// An `api` command that bridges nothing.
pub(crate) fn api(command: Api) -> Step {
    Step::Api {
        command,
        bridge_of: None,
    }
}

/// A dialplan application run on `uuid` (`sendmsg execute`).
pub(crate) fn execute(uuid: &ChannelUuid, app: App) -> Step {
    Step::Execute {
        uuid: uuid.clone(),
        app,
    }
}

/// A channel id the engine holds (from an event, or made for a leg), if UUID-shaped.
fn channel(id: &str) -> Option<ChannelUuid> {
    ChannelUuid::parse(id).ok()
}

/// A word switchdesk itself puts into a variable.
fn word(text: &'static str) -> Option<VarValue> {
    VarValue::reduce(text)
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
    fn variables(self) -> &'static [&'static str] {
        match self {
            EavesdropMode::Listen => &[],
            EavesdropMode::Whisper => &["eavesdrop_whisper_bleg"],
            EavesdropMode::Barge => &["eavesdrop_whisper_aleg", "eavesdrop_whisper_bleg"],
        }
    }
}

/// How long the supervisor's phone rings before the originate gives up.
pub(crate) const EAVESDROP_RING_SECS: u64 = 30;

/// The originate that calls the supervisor's `endpoint` as leg `leg` into `eavesdrop` of the
/// agent's leg. The mode is fixed by the request: the keypad cannot change it
/// (`eavesdrop_enable_dtmf=false`; FreeSWITCH enables it by default).
pub(crate) fn eavesdrop(
    leg: &ChannelUuid,
    agent_leg: &ChannelUuid,
    agent: &str,
    mode: EavesdropMode,
    endpoint: &Endpoint,
) -> Originate {
    let mut vars = vec![
        ("origination_uuid", Some(VarValue::from(leg))),
        (
            "originate_timeout",
            Some(VarValue::number(EAVESDROP_RING_SECS)),
        ),
        ("ignore_early_media", Some(VarValue::flag(true))),
        (
            "origination_caller_id_name",
            CallerIdName::reduce(&format!("{}: {agent}", mode.label())).map(VarValue::from),
        ),
        ("eavesdrop_enable_dtmf", Some(VarValue::flag(false))),
    ];
    vars.extend(
        mode.variables()
            .iter()
            .map(|name| (*name, Some(VarValue::flag(true)))),
    );
    Originate::new(vars, endpoint.clone(), Then::Eavesdrop(agent_leg.clone()))
}

/// What the caller hears, as few `sendmsg`s as FreeSWITCH allows: consecutive sounds go into
/// one `playback` of a `file_string://`, a number is a `say` of its own (mod_say speaks it in
/// the queue's language, and no file format reads `say`), and so is a `say:` or `phrase:`
/// sound (only `playback` itself reads those).
#[derive(Default)]
struct Announcement {
    steps: Vec<Step>,
    sounds: Vec<SoundRef>,
}

impl Announcement {
    fn sound(&mut self, call: &ChannelUuid, sound: &SoundRef) {
        if sound.joins_file_string() {
            self.sounds.push(sound.clone());
        } else {
            self.play(call);
            self.steps.push(execute(call, App::Playback(sound.clone())));
        }
    }

    /// `number` said by mod_say in `language`, in the form it takes counting `what` (for
    /// mod_say_ru, the `gender` and `cases` variables set just before, in the channel's
    /// order).
    fn say(&mut self, call: &ChannelUuid, language: &Language, what: Counted, number: u32) {
        self.play(call);
        let form = language.say_variables(what);
        if !form.is_empty() {
            self.steps.push(execute(call, App::MultiSet(form)));
        }
        let language = language.clone();
        self.steps
            .push(execute(call, App::Say { language, number }));
    }

    /// The sounds gathered so far, as one playback.
    fn play(&mut self, call: &ChannelUuid) {
        let sounds = std::mem::take(&mut self.sounds);
        let app = match <[SoundRef; 1]>::try_from(sounds) {
            Ok([one]) => App::Playback(one),
            Err(sounds) if sounds.is_empty() => return,
            Err(sounds) => match FileString::new(sounds) {
                Ok(list) => App::PlayList(list),
                // Not reached: only sounds that join are gathered.
                Err(_) => return,
            },
        };
        self.steps.push(execute(call, app));
    }

    /// The prompts of a list: sounds are played, `{position}` and `{wait_minutes}` are spoken
    /// as numbers in the caller's language, `{minutes}` is the word in the wait's form.
    fn prompts(
        &mut self,
        call: &ChannelUuid,
        heard: &Heard<'_>,
        items: &[Prompt],
        position: u32,
        wait: Option<u32>,
    ) {
        for item in items {
            match item {
                Prompt::Sound(sound) => self.sound(call, sound),
                Prompt::Position => self.say(call, heard.language, Counted::Position, position),
                Prompt::WaitMinutes => {
                    if let Some(wait) = wait {
                        self.say(call, heard.language, Counted::Minutes, wait);
                    }
                }
                Prompt::Minutes => {
                    let form = wait.map(|w| heard.language.plural_form(w));
                    if let Some(word) = form.and_then(|f| heard.minutes.get(f)) {
                        self.sound(call, word);
                    }
                }
            }
        }
    }

    fn finish(mut self, call: &ChannelUuid, out: &mut Vec<Step>) {
        self.play(call);
        out.append(&mut self.steps);
    }
}

/// The incident notice in the caller's language (`Heard::incident_notice`), played before
/// their announcement; nothing when the prompt set has none.
pub(crate) fn incident_notice(
    call: &str,
    queue: &QueueConfig,
    language: Option<&Language>,
) -> Vec<Step> {
    let Some(call) = channel(call) else {
        return Vec::new();
    };
    let heard = queue.prompts.for_caller(language);
    let mut notice = Announcement::default();
    for sound in heard.incident_notice {
        notice.sound(&call, sound);
    }
    let mut out = Vec::new();
    notice.finish(&call, &mut out);
    out
}

/// What a blocked caller gets; none of it answers the call.
pub(crate) fn treatment(
    call: &ChannelUuid,
    treatment: &Treatment,
    transfer_context: &DialplanContext,
) -> Vec<Step> {
    match treatment {
        Treatment::Reject { cause } => vec![api(Api::Kill(call.clone(), cause.clone()))],
        Treatment::Busy => vec![api(Api::Kill(call.clone(), HangupCause::USER_BUSY))],
        // Early media only: the prompt is heard but the call is never answered.
        Treatment::Prompt { file } => vec![
            execute(call, App::PreAnswer),
            execute(call, App::Playback(file.clone())),
            execute(call, App::Hangup(HangupCause::CALL_REJECTED)),
        ],
        Treatment::Transfer { extension } => vec![api(Api::Transfer(
            call.clone(),
            extension.clone(),
            transfer_context.clone(),
        ))],
    }
}

/// The caller's identification as channel variables, for the CDR (names and values checked;
/// what does not pass is left out).
pub(crate) fn channel_variables(
    variables: Vec<(&'static str, String)>,
) -> Vec<(VarName, VarValue)> {
    variables
        .into_iter()
        .filter_map(|(name, value)| Some((VarName::parse(name).ok()?, VarValue::reduce(&value)?)))
        .collect()
}

/// One command setting `vars` on `call`: `uuid_setvar` for one, `uuid_setvar_multi` for more.
pub(crate) fn set_vars(call: &ChannelUuid, mut vars: Vec<(VarName, VarValue)>) -> Option<Step> {
    let command = match vars.len() {
        0 => return None,
        1 => {
            let (name, value) = vars.pop()?;
            Api::SetVar(call.clone(), name, value)
        }
        _ => Api::SetVars(call.clone(), vars),
    };
    Some(api(command))
}

/// What marks an agent's leg as switchdesk's (and whom it rings for), either way it is rung.
fn agent_leg_vars(
    call: &ChannelUuid,
    agent: &str,
    queue_name: &str,
    caller_number: &str,
    caller_name: &str,
) -> Vec<(&'static str, Option<VarValue>)> {
    vec![
        (
            "origination_caller_id_number",
            VarValue::reduce(caller_number),
        ),
        (
            "origination_caller_id_name",
            CallerIdName::reduce(caller_name).map(VarValue::from),
        ),
        (vars::LEG, word(vars::LEG_AGENT)),
        (vars::AGENT, VarValue::reduce(agent)),
        (vars::QUEUE_NAME, VarValue::reduce(queue_name)),
        (vars::CALLER_UUID, Some(VarValue::from(call))),
    ]
}

/// The variables a caller needs before its own session rings agents: a failed offer leaves
/// it parked (`continue_on_fail`; without it FreeSWITCH hangs the caller up with the
/// agent's cause), the end of the talk hangs it up (`hangup_after_bridge`) unless the queue
/// asks for a rating (`survey`: the caller stays in park for [`super::survey`]), and it hears
/// the queue's hold music while the agent's phone rings (not a `say:` text: a value of
/// `uuid_setvar` is one word).
pub(crate) fn caller_bridge_setup(
    call: &ChannelUuid,
    hold_music: &SoundRef,
    survey: bool,
) -> (Vec<(VarName, VarValue)>, Option<Step>) {
    let vars = [("continue_on_fail", true), ("hangup_after_bridge", !survey)]
        .into_iter()
        .filter_map(|(name, on)| Some((VarName::parse(name).ok()?, VarValue::flag(on))))
        .collect();
    let ringback = (!hold_music.as_str().contains(char::is_whitespace))
        .then(|| api(Api::Ringback(call.clone(), hold_music.clone())));
    (vars, ringback)
}

/// One agent rung by the caller's own session (`RingAgent` only): what plays is stopped
/// and what is queued dropped (`uuid_break all`), then `bridge` to the agent's endpoint,
/// the leg named by `origination_uuid`. The caller's thread bridges within a timer tick of
/// the answer: no `uuid_bridge`, no ESL round trip. `originate_timeout` ends an unanswered
/// ring with NO_ANSWER.
pub(crate) fn ring_by_caller(action: &Action) -> Vec<Step> {
    let Action::RingAgent {
        leg,
        call,
        agent,
        endpoint,
        queue,
        timeout_secs,
        caller_number,
        caller_name,
    } = action
    else {
        return Vec::new();
    };
    let (Some(leg_id), Some(call_id)) = (channel(leg), channel(call)) else {
        return Vec::new();
    };
    let global = vec![
        ("originate_timeout", VarValue::number(*timeout_secs)),
        ("ignore_early_media", VarValue::flag(true)),
    ];
    let mut leg_vars = vec![("origination_uuid", VarValue::from(&leg_id))];
    leg_vars.extend(
        agent_leg_vars(&call_id, agent, queue, caller_number, caller_name)
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v))),
    );
    let dial = BridgeDial {
        global,
        leg: leg_vars,
        dial: endpoint.clone(),
    };
    vec![
        api(Api::Break(call_id.clone())),
        Step::Ring {
            call: call_id,
            app: App::Bridge(dial),
            leg: leg.clone(),
        },
    ]
}

/// The steps for one action. `queue` is the configuration of the queue the action names,
/// `language` the caller's (their contact's), whose prompts the queue plays them when it has
/// a set for it. An action naming a channel that is not UUID-shaped gives no steps (ids are
/// checked when events are read, so this does not happen).
pub(crate) fn render(
    action: &Action,
    queue: Option<&QueueConfig>,
    language: Option<&Language>,
    transfer_context: &DialplanContext,
) -> Vec<Step> {
    let cause = |name: &str| HangupCause::parse(name).unwrap_or(HangupCause::NORMAL_CLEARING);
    match action {
        Action::Answer { call } => {
            let Some(call) = channel(call) else {
                return Vec::new();
            };
            vec![api(Api::Answer(call))]
        }
        Action::Remember { call, what } => {
            let (Some(call), Some((name, value))) = (channel(call), vars::remembered(what)) else {
                return Vec::new();
            };
            vec![api(Api::SetVar(call, name, value))]
        }
        Action::HoldMusic { call, .. } => {
            let (Some(call), Some(queue)) = (channel(call), queue) else {
                return Vec::new();
            };
            vec![
                api(Api::Break(call.clone())),
                execute(&call, App::Playback(queue.prompts.hold_music.clone())),
            ]
        }
        Action::Announce {
            call,
            position,
            wait_minutes,
            ..
        } => {
            let (Some(call), Some(queue)) = (channel(call), queue) else {
                return Vec::new();
            };
            let prompts = queue.prompts.for_caller(language);
            let mut out = vec![api(Api::Break(call.clone()))];
            let mut heard = Announcement::default();
            heard.prompts(&call, &prompts, prompts.position, *position, *wait_minutes);
            if wait_minutes.is_some() {
                heard.prompts(
                    &call,
                    &prompts,
                    prompts.expected_wait,
                    *position,
                    *wait_minutes,
                );
            }
            // Hold music goes on in the same playback as the last prompts.
            heard.sound(&call, &queue.prompts.hold_music);
            heard.finish(&call, &mut out);
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
            let (Some(leg_id), Some(call)) = (channel(leg), channel(call)) else {
                return Vec::new();
            };
            let mut vars = vec![
                ("origination_uuid", Some(VarValue::from(&leg_id))),
                ("originate_timeout", Some(VarValue::number(*timeout_secs))),
                ("ignore_early_media", Some(VarValue::flag(true))),
            ];
            vars.extend(agent_leg_vars(
                &call,
                agent,
                queue_name,
                caller_number,
                caller_name,
            ));
            let command = Originate::new(vars, endpoint.clone(), Then::Park);
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
            let Some(leg_id) = channel(leg) else {
                return Vec::new();
            };
            let command = Originate::new(
                vec![
                    ("origination_uuid", Some(VarValue::from(&leg_id))),
                    ("originate_timeout", Some(VarValue::number(*timeout_secs))),
                    // A carrier's 183 with ringback must not count as the customer reached:
                    // the agent would be bridged to a phone still ringing.
                    ("ignore_early_media", Some(VarValue::flag(true))),
                    ("origination_caller_id_number", caller_id_number.clone()),
                    (
                        "origination_caller_id_name",
                        caller_id_name.clone().map(VarValue::from),
                    ),
                    (vars::LEG, word(vars::LEG_CUSTOMER)),
                    (vars::QUEUE_NAME, VarValue::reduce(queue_name)),
                ],
                dial.clone(),
                Then::Park,
            );
            vec![Step::Originate {
                command,
                leg: leg.clone(),
            }]
        }
        Action::CancelLeg { leg, cause: why } => {
            let Some(leg) = channel(leg) else {
                return Vec::new();
            };
            vec![api(Api::Kill(leg, cause(why)))]
        }
        Action::Bridge { call, leg } => {
            let (Some(call_id), Some(leg)) = (channel(call), channel(leg)) else {
                return Vec::new();
            };
            // `uuid_bridge` stops what plays (CF_TRANSFER ends `playback`), but the apps queued
            // behind it stay in the caller's private queue, and the bridge thread runs them
            // (`switch_ivr_parse_all_events` in `audio_bridge_thread`): `uuid_break all` empties
            // that queue first. The executor does not wait for its reply before the bridge.
            vec![
                api(Api::Break(call_id.clone())),
                Step::Api {
                    command: Api::Bridge(call_id, leg),
                    bridge_of: Some(call.clone()),
                },
            ]
        }
        Action::ConfirmCallback { call, .. } => {
            let (Some(call), Some(queue)) = (channel(call), queue) else {
                return Vec::new();
            };
            let prompts = queue.prompts.for_caller(language);
            let mut out = vec![api(Api::Break(call.clone()))];
            let mut heard = Announcement::default();
            heard.prompts(&call, &prompts, prompts.callback_accepted, 0, None);
            heard.finish(&call, &mut out);
            out.push(execute(&call, App::Hangup(HangupCause::NORMAL_CLEARING)));
            out
        }
        Action::Transfer { call, extension } => {
            let Some(call) = channel(call) else {
                return Vec::new();
            };
            vec![api(Api::Transfer(
                call,
                extension.clone(),
                transfer_context.clone(),
            ))]
        }
        Action::Hangup { call, cause: why } => {
            let Some(call) = channel(call) else {
                return Vec::new();
            };
            vec![api(Api::Kill(call, cause(why)))]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::config::{PromptSet, Prompts};

    const CALL: &str = "c0000000-0000-4000-8000-000000000001";
    const LEG: &str = "1e900000-0000-4000-8000-000000000002";
    const SUP: &str = "50900000-0000-4000-8000-000000000003";

    fn uuid(id: &str) -> ChannelUuid {
        ChannelUuid::parse(id).unwrap()
    }

    fn in_originate(name: &str) -> Option<String> {
        CallerIdName::reduce(name).map(|n| VarValue::from(n).quoted().into_owned())
    }

    #[test]
    fn caller_names_cannot_break_out_of_an_originate() {
        assert_eq!(in_originate("Caller 1"), Some("'Caller 1'".into()));
        assert_eq!(
            in_originate("Алексей Ревенко"),
            Some("'Алексей Ревенко'".into())
        );
        assert_eq!(
            in_originate("x'},origination_uuid=evil{"),
            Some("'x origination_uuid evil'".into())
        );
        assert_eq!(in_originate("a\nb\r&park()"), Some("'a b park'".into()));
        assert_eq!(
            in_originate("${system(touch /tmp/x)}"),
            Some("'system touch tmp x'".into())
        );
        assert_eq!(in_originate("+15550001"), Some("+15550001".into()));
        assert_eq!(in_originate("''"), None);
    }

    /// Alice rung for caller `CALL` of queue support, as leg `LEG`.
    fn alice_rung() -> Action {
        Action::RingAgent {
            leg: LEG.into(),
            call: CALL.into(),
            agent: "alice".into(),
            endpoint: Endpoint::parse("user/1001@default").unwrap(),
            queue: "support".into(),
            timeout_secs: 20,
            caller_number: "+15550001".into(),
            caller_name: "Caller 1".into(),
        }
    }

    #[test]
    fn an_agent_is_rung_with_the_contract_variables() {
        let ring = alice_rung();
        let steps = render(&ring, None, None, &DialplanContext::default());
        let [Step::Originate { command, leg }] = steps.as_slice() else {
            panic!("{steps:?}");
        };
        assert_eq!(leg, LEG);
        assert_eq!(
            command.to_string(),
            format!("originate {{origination_uuid={LEG},originate_timeout=20,ignore_early_media=true,origination_caller_id_number=+15550001,origination_caller_id_name='Caller 1',switchdesk_leg=agent,switchdesk_agent=alice,switchdesk_queue_name=support,switchdesk_caller_uuid={CALL}}}user/1001@default &park()")
        );
    }

    #[test]
    fn one_agent_is_rung_by_the_callers_own_bridge_with_the_same_leg_variables() {
        let ring = alice_rung();
        let steps = ring_by_caller(&ring);
        let [Step::Api {
            command: Api::Break(_),
            bridge_of: None,
        }, Step::Ring { call, app, leg }] = steps.as_slice()
        else {
            panic!("{steps:?}");
        };
        assert_eq!((call.as_str(), leg.as_str()), (CALL, LEG));
        let crate::esl::command::CallCommand::Execute { app, arg, .. } = app.call_command() else {
            panic!("{app:?}");
        };
        assert_eq!(app, "bridge");
        assert_eq!(
            arg.unwrap(),
            format!("{{originate_timeout=20,ignore_early_media=true}}[origination_uuid={LEG},origination_caller_id_number=+15550001,origination_caller_id_name='Caller 1',switchdesk_leg=agent,switchdesk_agent=alice,switchdesk_queue_name=support,switchdesk_caller_uuid={CALL}]user/1001@default")
        );
        // The caller's set-up: the flags join the flush's variables; the ringback is the
        // hold music, in `uuid_setvar_multi` unless the sound holds its separators.
        let (vars, ringback) = caller_bridge_setup(&uuid(CALL), &SoundRef::LOCAL_MOH, false);
        // A queue with a survey keeps the caller after the bridge.
        let (kept, _) = caller_bridge_setup(&uuid(CALL), &SoundRef::LOCAL_MOH, true);
        assert!(kept.contains(&(
            VarName::parse("hangup_after_bridge").unwrap(),
            VarValue::flag(false)
        )));
        assert_eq!(
            set_vars(&uuid(CALL), vars).unwrap(),
            api(Api::SetVars(
                uuid(CALL),
                vec![
                    (
                        VarName::parse("continue_on_fail").unwrap(),
                        VarValue::flag(true)
                    ),
                    (
                        VarName::parse("hangup_after_bridge").unwrap(),
                        VarValue::flag(true)
                    ),
                ]
            ))
        );
        let line = |step: Option<Step>| match step {
            Some(Step::Api { command, .. }) => command.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            line(ringback),
            format!("uuid_setvar_multi {CALL} ringback=local_stream://moh;transfer_ringback=local_stream://moh")
        );
        let tone = SoundRef::parse("tone_stream://%(1000,4000,440);loops=-1").unwrap();
        assert_eq!(
            line(caller_bridge_setup(&uuid(CALL), &tone, false).1),
            format!("uuid_setvar {CALL} transfer_ringback tone_stream://%(1000,4000,440);loops=-1")
        );
        let tts = SoundRef::parse("say:please hold").unwrap();
        assert!(caller_bridge_setup(&uuid(CALL), &tts, false).1.is_none());
    }

    #[test]
    fn a_callback_customer_counts_as_reached_only_when_answered() {
        let dial = Action::DialCustomer {
            leg: LEG.into(),
            number: "+74951234567".into(),
            dial: Endpoint::parse("sofia/gateway/pstn/+74951234567").unwrap(),
            queue: "support".into(),
            timeout_secs: 40,
            caller_id_number: VarValue::reduce("+74950000000"),
            caller_id_name: CallerIdName::reduce("Support"),
        };
        let steps = render(&dial, None, None, &DialplanContext::default());
        let [Step::Originate { command, .. }] = steps.as_slice() else {
            panic!("{steps:?}");
        };
        assert_eq!(
            command.to_string(),
            format!("originate {{origination_uuid={LEG},originate_timeout=40,ignore_early_media=true,origination_caller_id_number=+74950000000,origination_caller_id_name=Support,switchdesk_leg=customer,switchdesk_queue_name=support}}sofia/gateway/pstn/+74951234567 &park()")
        );
    }

    #[test]
    fn a_supervisor_whispers_to_the_agent_leg_and_barges_into_both() {
        let (sup, leg) = (uuid(SUP), uuid(LEG));
        let phone = Endpoint::parse("user/1009@default").unwrap();
        let listen = eavesdrop(&sup, &leg, "alice", EavesdropMode::Listen, &phone).to_string();
        assert_eq!(
            listen,
            format!("originate {{origination_uuid={SUP},originate_timeout=30,ignore_early_media=true,origination_caller_id_name='Listen: alice',eavesdrop_enable_dtmf=false}}user/1009@default &eavesdrop({LEG})")
        );
        let phone = Endpoint::parse("user/1009").unwrap();
        let whisper = eavesdrop(&sup, &leg, "alice", EavesdropMode::Whisper, &phone).to_string();
        assert!(whisper.contains(&format!("origination_caller_id_name='Whisper: alice',eavesdrop_enable_dtmf=false,eavesdrop_whisper_bleg=true}}user/1009 &eavesdrop({LEG})")), "{whisper}");
        assert!(!whisper.contains("whisper_aleg"));
        let barge = eavesdrop(&sup, &leg, "alice", EavesdropMode::Barge, &phone).to_string();
        assert!(
            barge.contains(",eavesdrop_whisper_aleg=true,eavesdrop_whisper_bleg=true}"),
            "{barge}"
        );
    }

    #[test]
    fn an_announcement_says_the_numbers_then_hold_music_resumes() {
        let mut queue = QueueConfig::named("support");
        queue.prompts.hold_music = SoundRef::parse("local_stream://moh").unwrap();
        let steps = render(
            &Action::Announce {
                call: CALL.into(),
                queue: "support".into(),
                position: 3,
                wait_minutes: Some(4),
            },
            Some(&queue),
            None,
            &DialplanContext::default(),
        );
        let call = uuid(CALL);
        let play = |file: &str| execute(&call, App::Playback(SoundRef::parse(file).unwrap()));
        let play_all = |files: &[&str]| {
            let sounds = files.iter().map(|f| SoundRef::parse(f).unwrap()).collect();
            execute(&call, App::PlayList(FileString::new(sounds).unwrap()))
        };
        let say = |number| {
            execute(
                &call,
                App::Say {
                    language: Language::ENGLISH,
                    number,
                },
            )
        };
        assert_eq!(
            steps,
            [
                api(Api::Break(call.clone())),
                play("ivr/ivr-you_are_number.wav"),
                say(3),
                play_all(&["ivr/ivr-in_line.wav", "ivr/ivr-hold_time_is.wav"]),
                say(4),
                play_all(&["ivr/ivr-minutes.wav", "local_stream://moh"]),
            ]
        );
        let Step::Execute { app, .. } = &steps[5] else {
            panic!("{steps:?}");
        };
        assert_eq!(
            app.arg(),
            "file_string://ivr/ivr-minutes.wav!local_stream://moh"
        );
        assert_eq!(
            App::Say {
                language: Language::ENGLISH,
                number: 3
            }
            .arg(),
            "en number pronounced 3"
        );
    }

    /// Each step as the line FreeSWITCH is sent: `api ...`, or the application and argument
    /// a `sendmsg <call> execute` carries.
    fn lines(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|step| match step {
                Step::Api { command, .. } => format!("api {command}"),
                Step::Execute { uuid, app }
                | Step::Ring {
                    call: uuid, app, ..
                } => {
                    format!("sendmsg {uuid} execute {} {}", app.name(), app.arg())
                }
                Step::Originate { command, .. } => format!("bgapi {command}"),
            })
            .collect()
    }

    fn announce(queue: &QueueConfig, caller: Option<&Language>, wait: Option<u32>) -> Vec<String> {
        let action = Action::Announce {
            call: CALL.into(),
            queue: queue.name.clone(),
            position: 3,
            wait_minutes: wait,
        };
        lines(&render(
            &action,
            Some(queue),
            caller,
            &DialplanContext::default(),
        ))
    }

    #[test]
    fn an_english_caller_hears_the_english_prompts_and_mod_say_en() {
        let queue = QueueConfig::named("support");
        assert_eq!(
            announce(&queue, Some(&Language::ENGLISH), Some(5)),
            [
                format!("api uuid_break {CALL} all"),
                format!("sendmsg {CALL} execute playback ivr/ivr-you_are_number.wav"),
                format!("sendmsg {CALL} execute say en number pronounced 3"),
                format!("sendmsg {CALL} execute playback file_string://ivr/ivr-in_line.wav!ivr/ivr-hold_time_is.wav"),
                format!("sendmsg {CALL} execute say en number pronounced 5"),
                format!("sendmsg {CALL} execute playback file_string://ivr/ivr-minutes.wav!local_stream://moh"),
            ]
        );
        // Nobody's language known: the queue's.
        assert_eq!(
            announce(&queue, None, Some(5)),
            announce(&queue, Some(&Language::ENGLISH), Some(5))
        );
    }

    #[test]
    fn a_russian_caller_hears_a_masculine_ordinal_and_feminine_minutes_in_the_right_form() {
        // An English queue: the caller's contact language picks the Russian set.
        let queue = QueueConfig::named("support");
        let ru = Language::RUSSIAN;
        let elena = "/usr/share/freeswitch/sounds/ru/RU/elena";
        let said = |wait: u32, word: &str| {
            vec![
                format!("api uuid_break {CALL} all"),
                format!("sendmsg {CALL} execute playback {elena}/switchdesk/you_are.wav"),
                format!("sendmsg {CALL} execute multiset gender=male_h cases=nominativus"),
                format!("sendmsg {CALL} execute say ru number pronounced 3"),
                format!("sendmsg {CALL} execute playback file_string://{elena}/switchdesk/in_line.wav!{elena}/switchdesk/hold_time_is.wav"),
                format!("sendmsg {CALL} execute multiset gender=female cases=nominativus"),
                format!("sendmsg {CALL} execute say ru number pronounced {wait}"),
                format!("sendmsg {CALL} execute playback file_string://{elena}/time/{word}.wav!local_stream://moh"),
            ]
        };
        // "Вы третий в очереди. Время ожидания: пять минут / две минуты / одна минута."
        assert_eq!(announce(&queue, Some(&ru), Some(5)), said(5, "minutes"));
        assert_eq!(announce(&queue, Some(&ru), Some(2)), said(2, "minutes-i"));
        assert_eq!(announce(&queue, Some(&ru), Some(21)), said(21, "minute"));
        assert_eq!(announce(&queue, Some(&ru), Some(11)), said(11, "minutes"));
        // Without an expected wait, only the place.
        assert_eq!(
            announce(&queue, Some(&ru), None)[2..],
            [
                format!("sendmsg {CALL} execute multiset gender=male_h cases=nominativus"),
                format!("sendmsg {CALL} execute say ru number pronounced 3"),
                format!("sendmsg {CALL} execute playback file_string://{elena}/switchdesk/in_line.wav!local_stream://moh"),
            ]
        );
    }

    #[test]
    fn the_contacts_language_overrides_the_queues_and_an_unknown_one_falls_back() {
        let mut queue = QueueConfig::named("russian");
        queue.prompts = Prompts {
            language: Language::RUSSIAN,
            position: PromptSet::russian().position,
            expected_wait: PromptSet::russian().expected_wait,
            callback_accepted: PromptSet::russian().callback_accepted,
            minutes: PromptSet::russian().minutes,
            ..queue.prompts
        };
        let russian = announce(&queue, None, Some(5));
        assert!(
            russian[3].ends_with("say ru number pronounced 3"),
            "{russian:?}"
        );
        // An English contact in the Russian queue hears English.
        let english = announce(&queue, Some(&Language::ENGLISH), Some(5));
        assert_eq!(
            english[1],
            format!("sendmsg {CALL} execute playback ivr/ivr-you_are_number.wav")
        );
        assert_eq!(
            english[2],
            format!("sendmsg {CALL} execute say en number pronounced 3")
        );
        // A German contact: the queue has no German prompts, so the queue's language.
        let german = Language::parse("de").unwrap();
        assert_eq!(announce(&queue, Some(&german), Some(5)), russian);
        // The callback confirmation too.
        let confirm = Action::ConfirmCallback {
            call: CALL.into(),
            queue: "russian".into(),
        };
        let heard = lines(&render(
            &confirm,
            Some(&queue),
            Some(&Language::ENGLISH),
            &DialplanContext::default(),
        ));
        assert_eq!(
            heard[1],
            format!("sendmsg {CALL} execute playback ivr/ivr-thank_you.wav")
        );
    }

    #[test]
    fn say_and_phrase_sounds_play_on_their_own_between_file_strings() {
        let mut queue = QueueConfig::named("support");
        queue.prompts.position = ["ivr/a.wav", "say:Hello!", "ivr/b.wav", "ivr/c.wav"]
            .iter()
            .map(|p| Prompt::parse(p).unwrap())
            .collect();
        let steps = render(
            &Action::Announce {
                call: CALL.into(),
                queue: "support".into(),
                position: 1,
                wait_minutes: None,
            },
            Some(&queue),
            None,
            &DialplanContext::default(),
        );
        let args: Vec<String> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Execute { app, .. } => Some(app.arg()),
                _ => None,
            })
            .collect();
        assert_eq!(
            args,
            [
                "ivr/a.wav",
                "say:Hello!",
                "file_string://ivr/b.wav!ivr/c.wav!local_stream://moh"
            ]
        );
    }

    #[test]
    fn variables_go_in_one_command() {
        let call = uuid(CALL);
        let var = |n: &str, v: &str| (VarName::parse(n).unwrap(), VarValue::parse(v).unwrap());
        let many = set_vars(
            &call,
            vec![
                var("switchdesk_identified", "exact"),
                var("switchdesk_enqueued_at", "1700000000000"),
                var("switchdesk_note", "two words"),
            ],
        );
        let Some(Step::Api { command, .. }) = many else {
            panic!("{many:?}");
        };
        assert_eq!(
            command.to_string(),
            format!("uuid_setvar_multi {CALL} switchdesk_identified=exact;switchdesk_enqueued_at=1700000000000;switchdesk_note=two_words")
        );
        let one = set_vars(&call, vec![var("switchdesk_queue", "sales")]);
        assert_eq!(
            one,
            Some(api(Api::SetVar(
                call.clone(),
                VarName::parse("switchdesk_queue").unwrap(),
                VarValue::parse("sales").unwrap()
            )))
        );
        assert_eq!(set_vars(&call, Vec::new()), None);
        // What the phone book says goes through the checked types, or not at all.
        assert_eq!(
            channel_variables(vec![
                ("switchdesk_identified", "x;switchdesk_queue=vip".into()),
                ("switchdesk_contact_id", ";;".into()),
            ]),
            [var("switchdesk_identified", "x switchdesk_queue vip")]
        );
    }

    #[test]
    fn an_action_on_a_channel_that_is_not_a_uuid_sends_nothing() {
        let answer = Action::Answer {
            call: "c1 all; uuid_kill".into(),
        };
        assert!(render(&answer, None, None, &DialplanContext::default()).is_empty());
    }
}
