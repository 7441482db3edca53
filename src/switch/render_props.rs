//! The FreeSWITCH boundary as a property: whatever strings come in (from the API, the
//! configuration, the store or SIP), every command the renderer can build either is not built
//! or carries no expansion (`$`), no variable block but its own, no application but the one it
//! appends, no second destination and no quoting or line break in a place a value sits.

use proptest::prelude::*;

use super::render::{self, render, Step};
use crate::acd::{Action, QueueConfig, Remember};
use crate::blocklist::Treatment;
use crate::esl::command::Command;
use crate::fsarg::{
    CallerIdName, ChannelUuid, DialTemplate, DialplanContext, Endpoint, Extension, HangupCause,
    Language, Prompt, SoundRef, VarName, VarValue,
};
use crate::switch::EavesdropMode;

/// Pieces FreeSWITCH gives a meaning to, and pieces of values that are fine.
const PIECES: &[&str] = &[
    "${",
    "$${",
    "$",
    "}",
    "{",
    "&",
    "&bgsystem(id)",
    "|",
    "'",
    "\"",
    "\\",
    "\r",
    "\n",
    "\0",
    ",",
    "[",
    "]",
    "<",
    ">",
    ":_:",
    " ",
    "system(id>/tmp/x)",
    "^^:",
    "user/",
    "@default",
    "{number}",
    "{position}",
    "Алексей",
    "ivr/ivr-thank_you.wav",
    "tone_stream://",
    "%(1000,4000,440)",
    "say:",
    "local_stream://",
    "moh",
    "phrase:",
    "-",
    "voicemail",
    "XML",
    "1001",
    "+",
    "%",
    ";",
    "=",
    "..",
    "/",
    "_",
    "en",
    "CALL_REJECTED",
    "://",
];

/// Arbitrary text, biased towards what FreeSWITCH interprets and towards values that parse.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(PIECES), 1..5).prop_map(|p| p.concat()),
        1 => any::<String>(),
        1 => prop::collection::vec(
            prop_oneof![prop::sample::select(PIECES).prop_map(str::to_owned), any::<char>().prop_map(String::from)],
            1..6,
        )
        .prop_map(|p| p.concat()),
    ]
}

/// A channel id: UUID-shaped, or anything.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        text(),
    ]
}

/// What FreeSWITCH would read specially anywhere a value sits.
fn special(c: char) -> bool {
    matches!(c, '$' | '{' | '}' | '&' | '|' | '\'' | '"' | '\\') || c.is_control()
}

fn assert_uuid(text: &str) {
    assert!(ChannelUuid::parse(text).is_ok(), "not a UUID: {text:?}");
}

/// One `name=value` of switchdesk's `{...}` block.
fn assert_variable(var: &str) {
    let (name, value) = var.split_once('=').unwrap_or_else(|| panic!("{var:?}"));
    assert!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "{var:?}"
    );
    let inner = match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(quoted) => {
            assert!(quoted.contains(' '), "quoted without need: {var:?}");
            quoted
        }
        None => {
            assert!(!value.contains(' '), "a space unquoted: {var:?}");
            value
        }
    };
    assert!(!inner.is_empty(), "{var:?}");
    assert!(
        !inner.contains(|c| special(c) || matches!(c, ',' | '=' | '[' | ']' | '<' | '>' | '^')),
        "{var:?}"
    );
}

/// The property, for one step: what reaches the wire, and what each position holds.
fn assert_safe(step: &Step) {
    let wire = match step {
        Step::Api { command, .. } => Command::api(command.to_string()),
        Step::Originate { command, .. } => {
            Command::bgapi(command.to_string(), "6153d242-2bed-462a-a327-b5e41671ec84")
        }
        Step::Execute { uuid, app }
        | Step::Ring {
            call: uuid, app, ..
        } => Command::SendMsg {
            uuid: uuid.to_string(),
            call: app.call_command(),
            body: None,
        },
    };
    let bytes = wire
        .encode()
        .unwrap_or_else(|e| panic!("{step:?} not encodable: {e}"));
    let text = String::from_utf8(bytes).unwrap_or_else(|_| panic!("{step:?}"));
    assert!(!text.contains('$'), "an expansion in {text:?}");
    assert!(!text.contains('\0') && !text.contains('\r'), "{text:?}");
    match step {
        Step::Api { command, .. } => {
            let line = command.to_string();
            assert!(!line.contains(special), "{line:?}");
            let words: Vec<&str> = line.split(' ').collect();
            assert!(words.iter().all(|w| !w.is_empty()), "{line:?}");
            let expected = match words[0] {
                "uuid_answer" => 2,
                "uuid_break" | "uuid_bridge" | "uuid_kill" | "uuid_dump" => 3,
                "uuid_setvar" => 4,
                "uuid_setvar_multi" => 3,
                "uuid_transfer" => 5,
                other => panic!("unexpected command {other}"),
            };
            assert_eq!(words.len(), expected, "{line:?}");
            assert_uuid(words[1]);
            if words[0] == "uuid_setvar_multi" {
                // Pairs split on ';', each at its first '=': one name, a value with neither.
                for pair in words[2].split(';') {
                    let (name, value) = pair.split_once('=').unwrap_or_else(|| panic!("{line:?}"));
                    assert!(VarName::parse(name).is_ok(), "{line:?}");
                    assert!(!value.is_empty() && !value.contains('='), "{line:?}");
                }
            }
            if words[0] == "uuid_transfer" {
                assert_eq!(words[3], "XML", "{line:?}");
                assert!(!words[2].starts_with('-'), "{line:?}");
            }
        }
        Step::Originate { command, .. } => {
            let line = command.to_string();
            let rest = line.strip_prefix("originate {").expect("originate {");
            let (vars, rest) = rest.split_once('}').expect("one variable block");
            let (dial, app) = rest.split_once(" &").expect("one application");
            for var in vars.split(',') {
                assert_variable(var);
            }
            assert!(
                !dial.is_empty()
                    && !dial.contains(|c: char| special(c)
                        || c.is_whitespace()
                        || matches!(c, ',' | '[' | ']' | '<' | '>'))
                    && !dial.contains(":_:"),
                "dial string {dial:?}"
            );
            match app
                .strip_prefix("eavesdrop(")
                .and_then(|a| a.strip_suffix(')'))
            {
                Some(leg) => assert_uuid(leg),
                None => assert_eq!(app, "park()"),
            }
            assert!(!line.contains(":_:"), "another destination in {line:?}");
            assert_eq!(line.matches('&').count(), 1, "{line:?}");
            assert_eq!(line.matches('{').count(), 1, "{line:?}");
            assert_eq!(line.matches('}').count(), 1, "{line:?}");
        }
        Step::Ring { call, app, leg } => {
            assert_uuid(call.as_str());
            assert_uuid(leg);
            let arg = match app.call_command() {
                crate::esl::command::CallCommand::Execute { app, arg, .. } => {
                    assert_eq!(app, "bridge");
                    arg.unwrap_or_default()
                }
                other => panic!("{other:?}"),
            };
            let rest = arg.strip_prefix('{').expect("{ first");
            let (global, rest) = rest.split_once("}[").expect("one global block");
            let (leg_vars, dial) = rest.split_once(']').expect("one leg block");
            for var in global.split(',').chain(leg_vars.split(',')) {
                assert_variable(var);
            }
            assert!(
                !dial.is_empty()
                    && !dial.contains(|c: char| special(c)
                        || c.is_whitespace()
                        || matches!(c, ',' | '[' | ']' | '<' | '>'))
                    && !dial.contains(":_:"),
                "dial string {dial:?}"
            );
            for (c, n) in [('{', 1), ('}', 1), ('[', 1), (']', 1), ('&', 0)] {
                assert_eq!(arg.matches(c).count(), n, "{arg:?}");
            }
        }
        Step::Execute { uuid, app } => {
            assert_uuid(uuid.as_str());
            let arg = match app.call_command() {
                crate::esl::command::CallCommand::Execute { arg, .. } => arg.unwrap_or_default(),
                other => panic!("{other:?}"),
            };
            assert!(!arg.contains(special), "{arg:?}");
            // A file_string splits back into sounds FreeSWITCH opens as files.
            if let Some(list) = arg.strip_prefix("file_string://") {
                for piece in list.split('!') {
                    let sound = SoundRef::parse(piece).unwrap_or_else(|e| panic!("{arg:?}: {e}"));
                    assert!(sound.joins_file_string(), "{arg:?}");
                }
            }
        }
    }
}

/// Every action and every other command the switchboard builds, from these strings.
fn every_step(t: &[String]) -> Vec<Step> {
    let context = DialplanContext::parse(&t[9]).unwrap_or_default();
    let mut queue = QueueConfig::named("q");
    if let Ok(sound) = SoundRef::parse(&t[0]) {
        queue.prompts.hold_music = sound;
    }
    if let Ok(language) = Language::parse(&t[1]) {
        queue.prompts.language = language;
    }
    queue.prompts.position = [&t[0], &t[2], &t[3]]
        .iter()
        .filter_map(|p| Prompt::parse(p).ok())
        .chain([Prompt::Position, Prompt::WaitMinutes])
        .collect();
    queue.prompts.expected_wait = queue.prompts.position.clone();
    queue.prompts.callback_accepted = queue.prompts.position.clone();
    let (call, leg) = (&t[4], &t[5]);
    let endpoint = Endpoint::parse(&t[6]).ok();
    let mut actions = vec![
        Action::Answer { call: call.clone() },
        Action::Remember {
            call: call.clone(),
            what: Remember::Queue(t[8].clone()),
        },
        Action::HoldMusic {
            call: call.clone(),
            queue: "q".into(),
        },
        Action::Announce {
            call: call.clone(),
            queue: "q".into(),
            position: 3,
            wait_minutes: Some(4),
        },
        Action::CancelLeg {
            leg: leg.clone(),
            cause: t[10].clone(),
        },
        Action::Bridge {
            call: call.clone(),
            leg: leg.clone(),
        },
        Action::ConfirmCallback {
            call: call.clone(),
            queue: "q".into(),
        },
        Action::Hangup {
            call: call.clone(),
            cause: t[10].clone(),
        },
    ];
    if let Some(endpoint) = &endpoint {
        actions.push(Action::RingAgent {
            leg: leg.clone(),
            call: call.clone(),
            agent: t[7].clone(),
            endpoint: endpoint.clone(),
            queue: t[8].clone(),
            timeout_secs: 20,
            caller_number: t[11].clone(),
            caller_name: t[12].clone(),
        });
    }
    if let Ok(dial) = DialTemplate::parse(&t[6]).and_then(|d| d.fill(&t[11])) {
        actions.push(Action::DialCustomer {
            leg: leg.clone(),
            number: t[11].clone(),
            dial,
            queue: t[8].clone(),
            timeout_secs: 30,
            caller_id_number: VarValue::parse(&t[11]).ok(),
            caller_id_name: CallerIdName::parse(&t[12]).ok(),
        });
    }
    if let Ok(extension) = Extension::parse(&t[3]) {
        actions.push(Action::Transfer {
            call: call.clone(),
            extension,
        });
    }
    let mut steps: Vec<Step> = actions
        .iter()
        .flat_map(|action| render(action, Some(&queue), None, &context))
        .collect();
    // A Russian caller: the queue's shipped Russian set, with mod_say_ru's variables.
    steps.extend(
        actions
            .iter()
            .flat_map(|action| render(action, Some(&queue), Some(&Language::RUSSIAN), &context)),
    );
    steps.extend(actions.iter().flat_map(render::ring_by_caller));
    if let Ok(uuid) = ChannelUuid::parse(call) {
        let (vars, ringback) =
            render::caller_bridge_setup(&uuid, &queue.prompts.hold_music, queue.survey);
        steps.extend(render::set_vars(&uuid, vars));
        steps.extend(ringback);
        steps.extend(super::survey::ask(call, &queue, Some(&Language::RUSSIAN)));
        steps.extend(super::survey::finish(call, Some(&queue), None, true));
        let mut treatments = vec![Treatment::Busy];
        treatments.extend(HangupCause::parse(&t[10]).map(|cause| Treatment::Reject { cause }));
        treatments.extend(SoundRef::parse(&t[2]).map(|file| Treatment::Prompt { file }));
        treatments
            .extend(Extension::parse(&t[3]).map(|extension| Treatment::Transfer { extension }));
        for treatment in &treatments {
            steps.extend(render::treatment(&uuid, treatment, &context));
        }
        // The identification and the engine's variables, in one `uuid_setvar_multi`.
        let mut vars = render::channel_variables(vec![
            ("switchdesk_identified", t[8].clone()),
            ("switchdesk_vip", t[12].clone()),
        ]);
        vars.extend(VarName::parse(&t[7]).ok().zip(VarValue::reduce(&t[11])));
        steps.extend(render::set_vars(&uuid, vars));
        if let (Ok(leg), Some(endpoint)) = (ChannelUuid::parse(leg), &endpoint) {
            for mode in [
                EavesdropMode::Listen,
                EavesdropMode::Whisper,
                EavesdropMode::Barge,
            ] {
                steps.push(Step::Originate {
                    command: render::eavesdrop(&uuid, &leg, &t[12], mode, endpoint),
                    leg: uuid.to_string(),
                });
            }
        }
    }
    steps
}

/// The texts `every_step` reads: sounds, ids, an endpoint, names and values.
fn texts() -> impl Strategy<Value = Vec<String>> {
    (
        prop::collection::vec(text(), 4),
        id(),
        id(),
        prop::collection::vec(text(), 7),
    )
        .prop_map(|(a, call, leg, b)| {
            let mut all = a;
            all.push(call);
            all.push(leg);
            all.extend(b);
            all
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn no_rendered_command_carries_an_expansion_or_an_app_chain(t in texts()) {
        for step in every_step(&t) {
            assert_safe(&step);
        }
    }

    #[test]
    fn every_accepted_value_is_free_of_what_freeswitch_interprets(s in text()) {
        let accepted: Vec<String> = [
            SoundRef::parse(&s).map(String::from),
            Language::parse(&s).map(String::from),
            Extension::parse(&s).map(String::from),
            DialplanContext::parse(&s).map(String::from),
            Endpoint::parse(&s).map(String::from),
            DialTemplate::parse(&s).map(|d| d.to_string().replace(crate::fsarg::NUMBER, "0")),
            VarName::parse(&s).map(String::from),
            VarValue::parse(&s).map(String::from),
            CallerIdName::parse(&s).map(String::from),
            ChannelUuid::parse(&s).map(String::from),
            HangupCause::parse(&s).map(String::from),
        ]
        .into_iter()
        .flatten()
        .chain(VarValue::reduce(&s).map(String::from))
        .chain(CallerIdName::reduce(&s).map(String::from))
        .collect();
        for value in accepted {
            prop_assert!(!value.contains(special), "{value:?} from {s:?}");
            prop_assert!(!value.contains(":_:") && !value.contains('\n'), "{value:?}");
        }
    }
}
