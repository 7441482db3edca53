//! The survey after a call, for queues with `survey = true`. Pure.
//!
//! The caller's own `bridge` runs inside `park` (a `sendmsg` execute): with
//! `hangup_after_bridge=false` (`render::caller_bridge_setup`) FreeSWITCH leaves the caller
//! in that park when the agent hangs up, and the `bridge` application's
//! CHANNEL_EXECUTE_COMPLETE (`originate_disposition=SUCCESS`) says so. (`park_after_bridge`
//! would end that park and park again, a second CHANNEL_PARK the board would take for a new
//! caller.) Then [`ask`]: `switchdesk_survey` marks the caller (a resync or a restart does not
//! queue it again), and `play_and_get_digits` asks for one key 1-5 (`^[1-5]`), sets
//! `switchdesk_rating` only for a valid key, and returns after the tries. Its
//! CHANNEL_EXECUTE_COMPLETE leads to [`finish`]: thanks for a rating, then the hangup. The mark
//! turns `done` behind the question, so a resync that finds a caller whose question ended
//! while no switchdesk listened (a restart) finishes it the same way. The
//! rating reaches the call through the caller's CDR, which carries the variable; nothing is
//! recorded for a caller who hangs up or presses nothing valid.

use std::fmt;

use crate::acd::QueueConfig;
use crate::fsarg::{ChannelUuid, DigitRange, HangupCause, Language, SoundRef, VarName, VarValue};

use super::render::{api, execute, Api, App, Step};
use super::vars;

/// The keys of a rating.
pub(crate) const RATINGS: (u8, u8) = (1, 5);

/// `play_and_get_digits`' argument for one key: `1 1 <tries> <timeout> # <prompt>
/// <invalid> <variable> <^[1-5]> <timeout>` (mod_dptools splits it on spaces; every sound
/// is one word, which the queue's validation holds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DigitRead {
    tries: u32,
    timeout_ms: u64,
    prompt: SoundRef,
    invalid: SoundRef,
    var: VarName,
    keys: DigitRange,
}

impl fmt::Display for DigitRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "1 1 {} {} # {} {} {} {} {}",
            self.tries,
            self.timeout_ms,
            self.prompt,
            self.invalid,
            self.var,
            self.keys,
            self.timeout_ms
        )
    }
}

/// The question to a caller whose call just ended: the mark, then `play_and_get_digits` in
/// the caller's language (`language`, else the queue's), and behind it on the channel the mark
/// that the question is over. Nothing when a prompt is not one word (the queue's validation
/// refuses that) or the call id is not a UUID.
pub(crate) fn ask(call: &str, queue: &QueueConfig, language: Option<&Language>) -> Vec<Step> {
    let Ok(uuid) = ChannelUuid::parse(call) else {
        return Vec::new();
    };
    let heard = queue.prompts.for_caller(language);
    if !heard.survey.is_one_word() || !heard.survey_invalid.is_one_word() {
        return Vec::new();
    }
    let (Ok(var), Ok(mark), Ok(keys)) = (
        VarName::parse(vars::RATING),
        VarName::parse(vars::SURVEY),
        DigitRange::new(RATINGS.0, RATINGS.1),
    ) else {
        return Vec::new();
    };
    let read = DigitRead {
        tries: queue.survey_tries.max(1),
        timeout_ms: queue.survey_timeout_secs.max(1).saturating_mul(1000),
        prompt: heard.survey.clone(),
        invalid: heard.survey_invalid.clone(),
        var,
        keys,
    };
    let Ok(done) = VarValue::parse(vars::SURVEY_DONE) else {
        return Vec::new();
    };
    vec![
        api(Api::SetVar(
            uuid.clone(),
            mark.clone(),
            VarValue::flag(true),
        )),
        execute(&uuid, App::ReadDigits(read)),
        execute(&uuid, App::MultiSet(vec![(mark, done)])),
    ]
}

/// The survey's end: thanks when the caller rated (in their language, else the queue's),
/// then the hangup either way.
pub(crate) fn finish(
    call: &str,
    queue: Option<&QueueConfig>,
    language: Option<&Language>,
    rated: bool,
) -> Vec<Step> {
    let Ok(uuid) = ChannelUuid::parse(call) else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    if rated {
        if let Some(queue) = queue {
            let thanks = queue.prompts.for_caller(language).survey_thanks.clone();
            steps.push(execute(&uuid, App::Playback(thanks)));
        }
    }
    steps.push(execute(&uuid, App::Hangup(HangupCause::NORMAL_CLEARING)));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL: &str = "c0000000-0000-4000-8000-000000000001";

    fn lines(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::Api { command, .. } => format!("api {command}"),
                Step::Execute { app, .. } => match app.call_command() {
                    crate::esl::command::CallCommand::Execute { app, arg, .. } => {
                        format!("{app} {}", arg.unwrap_or_default())
                    }
                    other => format!("{other:?}"),
                },
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_question_asks_one_key_in_the_callers_language() {
        let mut queue = QueueConfig::named("support");
        queue.survey = true;
        queue.survey_tries = 3;
        queue.survey_timeout_secs = 7;
        assert_eq!(
            lines(&ask(CALL, &queue, None)),
            [
                format!("api uuid_setvar {CALL} switchdesk_survey true"),
                "play_and_get_digits 1 1 3 7000 # switchdesk/survey.wav \
                 ivr/ivr-that_was_an_invalid_entry.wav switchdesk_rating ^[1-5] 7000"
                    .to_owned(),
                "multiset switchdesk_survey=done".to_owned(),
            ]
        );
        let ru = lines(&ask(CALL, &queue, Some(&Language::RUSSIAN)));
        assert!(
            ru[1].contains("/ru/RU/elena/switchdesk/survey.wav"),
            "{ru:?}"
        );
        assert!(ask("not-a-uuid", &queue, None).is_empty());
    }

    #[test]
    fn the_end_thanks_only_a_caller_who_rated() {
        let queue = QueueConfig::named("support");
        assert_eq!(
            lines(&finish(CALL, Some(&queue), None, true)),
            ["playback ivr/ivr-thank_you.wav", "hangup NORMAL_CLEARING"]
        );
        assert_eq!(
            lines(&finish(CALL, Some(&queue), None, false)),
            ["hangup NORMAL_CLEARING"]
        );
    }

    #[test]
    fn a_rating_is_one_key_from_one_to_five() {
        assert_eq!(vars::rating("4"), Some(4));
        assert_eq!(vars::rating("1"), Some(1));
        for bad in ["0", "6", "44", "", "#", "x"] {
            assert_eq!(vars::rating(bad), None, "{bad}");
        }
    }
}
