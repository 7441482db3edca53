//! How a queue and an agent are set up: plain data, validated here, with defaults a support
//! line can start from. Serde-ready so the same shapes come from TOML, the API and the store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fsarg::{
    self, CallerIdName, DialTemplate, Endpoint, Extension, Language, Prompt, SoundRef, VarValue,
};

/// How the next agent is chosen among those free to take a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The agent idle the longest since their last call.
    #[default]
    LongestIdle,
    /// Each agent in turn, continuing after the last one offered a call.
    RoundRobin,
    /// Every free agent at once; the first to answer takes the call.
    RingAll,
    /// The agent who answered the fewest calls.
    FewestCalls,
    /// The agent with the least talk time.
    LeastTalkTime,
    /// Top-down in tier and position order, always from the top.
    Linear,
    /// Any free agent, drawn at random.
    Random,
}

impl Strategy {
    pub const ALL: [Strategy; 7] = [
        Strategy::LongestIdle,
        Strategy::RoundRobin,
        Strategy::RingAll,
        Strategy::FewestCalls,
        Strategy::LeastTalkTime,
        Strategy::Linear,
        Strategy::Random,
    ];
}

/// Where a caller goes when the queue gives up on them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "to", content = "target")]
pub enum Overflow {
    /// Another queue, keeping the caller's original arrival time.
    Queue(String),
    /// A dialplan extension (e.g. voicemail), by transfer.
    Extension(Extension),
    /// Hang up.
    Hangup,
}

/// What happens to callers when no agent of the queue is logged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NoAgents {
    /// Wait anyway (until max wait, if set).
    #[default]
    Wait,
    /// Send them to the overflow target at once.
    Overflow,
}

/// When a waiting caller hears their position and expected wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Announcements {
    pub on_entry: bool,
    /// When the caller moves up; never more often than `min_gap_secs`.
    pub on_change: bool,
    pub min_gap_secs: u64,
    /// Every this many seconds since the last announcement; 0 = never.
    pub periodic_secs: u64,
    /// Include the expected wait (rounded to minutes) when it can be estimated.
    pub expected_wait: bool,
}

impl Default for Announcements {
    fn default() -> Self {
        Announcements {
            on_entry: true,
            on_change: true,
            min_gap_secs: 30,
            periodic_secs: 60,
            expected_wait: true,
        }
    }
}

/// What callers hear. Each entry is a [`SoundRef`] (a sound file, `tone_stream://`,
/// `local_stream://`, `phrase:`, `say:` for TTS) or a placeholder: `{position}` and
/// `{wait_minutes}` are spoken as numbers in the caller's language, `{minutes}` plays the
/// word for minutes in the form the wait takes (from `minutes`).
///
/// The lists here are the queue's own language's; a caller whose contact has another
/// language hears that language's set from `languages` (switchdesk ships English and
/// Russian), and the queue's own when there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Prompts {
    pub hold_music: SoundRef,
    pub language: Language,
    pub position: Vec<Prompt>,
    pub expected_wait: Vec<Prompt>,
    pub callback_accepted: Vec<Prompt>,
    /// The word for minutes in each of the language's plural forms, for `{minutes}`.
    pub minutes: Vec<SoundRef>,
    /// The survey after the call (`survey = true`): the question ("rate the call from 1 to
    /// 5"), what a wrong key or no key hears before the question again, and the thanks for
    /// a rating. Each one word (`play_and_get_digits` splits its argument on spaces).
    pub survey: SoundRef,
    pub survey_invalid: SoundRef,
    pub survey_thanks: SoundRef,
    /// Heard once before the position while the caller's organization has an incident open.
    pub incident_notice: Vec<SoundRef>,
    /// Prompt sets for callers in other languages; an entry for `language` is not used. Those
    /// given replace the shipped set of their language and keep the others.
    #[serde(deserialize_with = "over_shipped")]
    pub languages: BTreeMap<Language, PromptSet>,
}

fn over_shipped<'de, D>(deserializer: D) -> Result<BTreeMap<Language, PromptSet>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let mut sets = PromptSet::shipped();
    sets.extend(BTreeMap::<Language, PromptSet>::deserialize(deserializer)?);
    Ok(sets)
}

impl Default for Prompts {
    fn default() -> Self {
        let english = PromptSet::english();
        Prompts {
            hold_music: SoundRef::LOCAL_MOH,
            language: Language::ENGLISH,
            position: english.position.clone(),
            expected_wait: english.expected_wait.clone(),
            callback_accepted: english.callback_accepted.clone(),
            minutes: english.minutes.clone(),
            survey: SoundRef::SURVEY,
            survey_invalid: SoundRef::SURVEY_INVALID,
            survey_thanks: SoundRef::THANK_YOU,
            incident_notice: english.incident_notice.clone(),
            languages: PromptSet::shipped(),
        }
    }
}

/// What a caller hears in one language: [`Prompts`]' lists, for `prompts.languages.CODE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSet {
    pub position: Vec<Prompt>,
    #[serde(default)]
    pub expected_wait: Vec<Prompt>,
    #[serde(default)]
    pub callback_accepted: Vec<Prompt>,
    #[serde(default)]
    pub minutes: Vec<SoundRef>,
    /// The survey's prompts in this language; a set without them uses the queue's own.
    #[serde(default, deserialize_with = "fsarg::empty_is_none")]
    pub survey: Option<SoundRef>,
    #[serde(default, deserialize_with = "fsarg::empty_is_none")]
    pub survey_invalid: Option<SoundRef>,
    #[serde(default, deserialize_with = "fsarg::empty_is_none")]
    pub survey_thanks: Option<SoundRef>,
    /// "We know about a problem with your service and are working on it": heard once,
    /// before the position, by a caller whose organization has an incident open.
    #[serde(default)]
    pub incident_notice: Vec<SoundRef>,
}

impl PromptSet {
    /// The stock English pack's prompts; `say en number pronounced N` between them.
    pub fn english() -> PromptSet {
        PromptSet {
            position: vec![
                Prompt::Sound(SoundRef::YOU_ARE_NUMBER),
                Prompt::Position,
                Prompt::Sound(SoundRef::IN_LINE),
            ],
            expected_wait: vec![
                Prompt::Sound(SoundRef::HOLD_TIME_IS),
                Prompt::WaitMinutes,
                Prompt::Sound(SoundRef::MINUTES),
            ],
            callback_accepted: vec![Prompt::Sound(SoundRef::THANK_YOU)],
            minutes: vec![SoundRef::MINUTE, SoundRef::MINUTES_OTHER],
            survey: Some(SoundRef::SURVEY),
            survey_invalid: Some(SoundRef::SURVEY_INVALID),
            survey_thanks: Some(SoundRef::THANK_YOU),
            incident_notice: vec![SoundRef::INCIDENT_NOTICE],
        }
    }

    /// "Вы третий в очереди. Время ожидания — пять минут.": the position as a masculine
    /// ordinal, the minutes as a feminine cardinal (see [`Language::say_variables`]) and the
    /// word for minutes in its plural form.
    pub fn russian() -> PromptSet {
        PromptSet {
            position: vec![
                Prompt::Sound(SoundRef::RU_YOU_ARE),
                Prompt::Position,
                Prompt::Sound(SoundRef::RU_IN_LINE),
            ],
            expected_wait: vec![
                Prompt::Sound(SoundRef::RU_HOLD_TIME_IS),
                Prompt::WaitMinutes,
                Prompt::Minutes,
            ],
            callback_accepted: vec![Prompt::Sound(SoundRef::RU_CALLBACK_ACCEPTED)],
            minutes: vec![
                SoundRef::RU_MINUTE,
                SoundRef::RU_MINUTES_FEW,
                SoundRef::RU_MINUTES_MANY,
            ],
            survey: Some(SoundRef::RU_SURVEY),
            survey_invalid: Some(SoundRef::RU_SURVEY_INVALID),
            survey_thanks: Some(SoundRef::RU_SURVEY_THANKS),
            incident_notice: vec![SoundRef::RU_INCIDENT_NOTICE],
        }
    }

    /// The sets switchdesk ships, by language.
    pub fn shipped() -> BTreeMap<Language, PromptSet> {
        BTreeMap::from([
            (Language::ENGLISH, PromptSet::english()),
            (Language::RUSSIAN, PromptSet::russian()),
        ])
    }

    /// What is wrong with the set of `language`, each problem prefixed with `at`.
    fn problems(&self, at: &str, language: &Language, out: &mut Vec<String>) {
        let lists = [&self.position, &self.expected_wait, &self.callback_accepted];
        let uses_minutes = lists.iter().any(|l| l.contains(&Prompt::Minutes));
        let forms = language.plural_forms();
        if uses_minutes && self.minutes.len() != forms {
            out.push(format!(
                "{at}: {{minutes}} needs `minutes` to list the word in {forms} forms for \
                 language {language} (it lists {})",
                self.minutes.len()
            ));
        }
        let survey = [&self.survey, &self.survey_invalid, &self.survey_thanks];
        if let Some(sound) = survey.into_iter().flatten().find(|s| !s.is_one_word()) {
            out.push(format!(
                "{at}: survey prompt {sound:?} must be one word (a sound file, not say: text)"
            ));
        }
    }
}

/// The prompts one caller hears: the set of their language and the language to say numbers in.
#[derive(Clone, Copy, Debug)]
pub struct Heard<'a> {
    pub language: &'a Language,
    pub position: &'a [Prompt],
    pub expected_wait: &'a [Prompt],
    pub callback_accepted: &'a [Prompt],
    pub minutes: &'a [SoundRef],
    pub survey: &'a SoundRef,
    pub survey_invalid: &'a SoundRef,
    pub survey_thanks: &'a SoundRef,
    pub incident_notice: &'a [SoundRef],
}

impl Prompts {
    /// What a caller in `language` hears: their language's set when the queue has one,
    /// else the queue's own prompts in the queue's language.
    pub fn for_caller(&self, language: Option<&Language>) -> Heard<'_> {
        let other = language
            .filter(|l| **l != self.language)
            .and_then(|l| self.languages.get_key_value(l));
        match other {
            Some((language, set)) => Heard {
                language,
                position: &set.position,
                expected_wait: &set.expected_wait,
                callback_accepted: &set.callback_accepted,
                minutes: &set.minutes,
                survey: set.survey.as_ref().unwrap_or(&self.survey),
                survey_invalid: set.survey_invalid.as_ref().unwrap_or(&self.survey_invalid),
                survey_thanks: set.survey_thanks.as_ref().unwrap_or(&self.survey_thanks),
                incident_notice: &set.incident_notice,
            },
            None => Heard {
                language: &self.language,
                position: &self.position,
                expected_wait: &self.expected_wait,
                callback_accepted: &self.callback_accepted,
                minutes: &self.minutes,
                survey: &self.survey,
                survey_invalid: &self.survey_invalid,
                survey_thanks: &self.survey_thanks,
                incident_notice: &self.incident_notice,
            },
        }
    }

    fn problems(&self, q: &str, out: &mut Vec<String>) {
        let own = PromptSet {
            position: self.position.clone(),
            expected_wait: self.expected_wait.clone(),
            callback_accepted: self.callback_accepted.clone(),
            minutes: self.minutes.clone(),
            survey: Some(self.survey.clone()),
            survey_invalid: Some(self.survey_invalid.clone()),
            survey_thanks: Some(self.survey_thanks.clone()),
            incident_notice: self.incident_notice.clone(),
        };
        own.problems(&format!("queue {q}: prompts"), &self.language, out);
        for (language, set) in &self.languages {
            if *language != self.language {
                set.problems(
                    &format!("queue {q}: prompts.languages.{language}"),
                    language,
                    out,
                );
            }
        }
    }
}

/// Waiting callers may leave their number and be called back in their turn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Callbacks {
    /// The DTMF key that asks for a callback; none disables callbacks.
    pub key: Option<char>,
    /// Dial string for the customer, with `{number}` (e.g. `sofia/gateway/pstn/{number}`).
    pub dial: DialTemplate,
    /// Caller id shown to the customer (empty: FreeSWITCH's default).
    #[serde(deserialize_with = "fsarg::empty_is_none")]
    pub caller_id_number: Option<VarValue>,
    #[serde(deserialize_with = "fsarg::empty_is_none")]
    pub caller_id_name: Option<CallerIdName>,
    pub attempts: u32,
    pub retry_secs: u64,
    pub ring_secs: u64,
}

impl Default for Callbacks {
    fn default() -> Self {
        Callbacks {
            key: None,
            dial: DialTemplate::PSTN_GATEWAY,
            caller_id_number: None,
            caller_id_name: Some(CallerIdName::SUPPORT_CALLBACK),
            attempts: 3,
            retry_secs: 300,
            ring_secs: 30,
        }
    }
}

/// When the wallboard colours a queue amber or red, and sounds the alert at red: the service
/// level at or below a percentage, the longest current wait or the callers waiting at or
/// above a limit. 0 turns a wait or waiting limit off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Alerts {
    pub service_level_amber: u8,
    pub service_level_red: u8,
    pub wait_amber_secs: u64,
    pub wait_red_secs: u64,
    pub waiting_amber: u32,
    pub waiting_red: u32,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            service_level_amber: 85,
            service_level_red: 75,
            wait_amber_secs: 60,
            wait_red_secs: 120,
            waiting_amber: 5,
            waiting_red: 10,
        }
    }
}

impl Alerts {
    fn problems(&self, q: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let (amber, red) = (self.service_level_amber, self.service_level_red);
        if amber > 100 || red > 100 {
            problems.push(format!(
                "queue {q}: alerts.service_level_* are percentages, 0-100"
            ));
        }
        if red > amber {
            problems.push(format!(
                "queue {q}: alerts.service_level_red ({red}) must be at most service_level_amber ({amber})"
            ));
        }
        if self.wait_amber_secs > MAX_QUEUE_SECS || self.wait_red_secs > MAX_QUEUE_SECS {
            problems.push(format!(
                "queue {q}: alerts.wait_*_secs must be at most {MAX_QUEUE_SECS}"
            ));
        }
        for (what, amber, red) in [
            ("wait_*_secs", self.wait_amber_secs, self.wait_red_secs),
            (
                "waiting_*",
                u64::from(self.waiting_amber),
                u64::from(self.waiting_red),
            ),
        ] {
            if amber > 0 && red > 0 && red < amber {
                problems.push(format!(
                    "queue {q}: alerts.{what}: red ({red}) must be at least amber ({amber})"
                ));
            }
        }
        problems
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    pub name: String,
    pub strategy: Strategy,
    pub prompts: Prompts,
    pub announcements: Announcements,
    /// Seconds a caller may wait before overflowing; 0 = no limit.
    pub max_wait_secs: u64,
    pub overflow: Overflow,
    pub no_agents: NoAgents,
    /// How long an agent's phone rings before the offer moves on.
    pub ring_timeout_secs: u64,
    pub wrap_up_secs: u64,
    /// How long an agent is skipped after rejecting, being busy, or not answering.
    pub reject_delay_secs: u64,
    pub busy_delay_secs: u64,
    pub no_answer_delay_secs: u64,
    /// Offers an agent may miss in a row before being paused; 0 = never pause.
    pub max_missed_offers: u32,
    /// Answered within this many seconds counts toward the service level.
    pub service_level_secs: u64,
    /// Tier `n` opens after a caller waited `(n - 1) * tier_wait_secs`.
    pub tier_wait_secs: u64,
    /// The DTMF key that leaves the queue for `exit_extension`.
    pub exit_key: Option<char>,
    #[serde(deserialize_with = "fsarg::empty_is_none")]
    pub exit_extension: Option<Extension>,
    pub callbacks: Callbacks,
    /// A caller who hung up and calls again within this many seconds gets the old place back.
    pub resume_secs: u64,
    /// The wallboard's amber and red limits.
    pub alerts: Alerts,
    /// After the agent hangs up, the caller stays for a rating: one key 1-5
    /// (`prompts.survey`), `survey_timeout_secs` to press it, `survey_tries` questions.
    pub survey: bool,
    pub survey_timeout_secs: u64,
    pub survey_tries: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            name: String::new(),
            strategy: Strategy::default(),
            prompts: Prompts::default(),
            announcements: Announcements::default(),
            max_wait_secs: 0,
            overflow: Overflow::Hangup,
            no_agents: NoAgents::Wait,
            ring_timeout_secs: 20,
            wrap_up_secs: 10,
            reject_delay_secs: 10,
            busy_delay_secs: 30,
            no_answer_delay_secs: 15,
            max_missed_offers: 3,
            service_level_secs: 20,
            tier_wait_secs: 30,
            exit_key: None,
            exit_extension: None,
            callbacks: Callbacks::default(),
            resume_secs: 120,
            alerts: Alerts::default(),
            survey: false,
            survey_timeout_secs: 5,
            survey_tries: 2,
        }
    }
}

impl QueueConfig {
    pub fn named(name: impl Into<String>) -> QueueConfig {
        QueueConfig {
            name: name.into(),
            ..QueueConfig::default()
        }
    }

    /// Every problem at once, phrased for an administrator.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let q = &self.name;
        if !valid_name(q) {
            problems.push(format!(
                "queue name {q:?} must be 1-64 letters, digits, '-', '_' or '.'"
            ));
        }
        if self.ring_timeout_secs == 0 || self.ring_timeout_secs > 600 {
            problems.push(format!("queue {q}: ring_timeout_secs must be 1-600"));
        }
        for (what, value, most) in self.durations() {
            if value > most {
                problems.push(format!("queue {q}: {what} must be at most {most}"));
            }
        }
        if self.callbacks.ring_secs == 0 || self.callbacks.ring_secs > 600 {
            problems.push(format!("queue {q}: callbacks.ring_secs must be 1-600"));
        }
        if let Overflow::Queue(target) = &self.overflow {
            if target == q {
                problems.push(format!("queue {q}: cannot overflow into itself"));
            }
        }
        if let Overflow::Queue(target) = &self.overflow {
            if !valid_name(target) {
                problems.push(format!(
                    "queue {q}: overflow target {target:?} is not valid"
                ));
            }
        }
        if self.exit_key.is_some() && self.exit_extension.is_none() {
            problems.push(format!("queue {q}: exit_key needs exit_extension"));
        }
        for (what, key) in [
            ("exit_key", self.exit_key),
            ("callbacks.key", self.callbacks.key),
        ] {
            if key.is_some_and(|k| !is_dtmf(k)) {
                problems.push(format!(
                    "queue {q}: {what} must be a DTMF key (0-9, *, #, A-D)"
                ));
            }
        }
        if self.exit_key.is_some() && self.exit_key == self.callbacks.key {
            problems.push(format!(
                "queue {q}: exit_key and callbacks.key are the same key"
            ));
        }
        if self.callbacks.key.is_some() && !self.callbacks.dial.has_number() {
            problems.push(format!("queue {q}: callbacks.dial must contain {{number}}"));
        }
        self.prompts.problems(q, &mut problems);
        if !(1..=60).contains(&self.survey_timeout_secs) {
            problems.push(format!("queue {q}: survey_timeout_secs must be 1-60"));
        }
        if !(1..=5).contains(&self.survey_tries) {
            problems.push(format!("queue {q}: survey_tries must be 1-5"));
        }
        if self.announcements.on_change && self.announcements.min_gap_secs == 0 {
            problems.push(format!(
                "queue {q}: announcements.min_gap_secs must be at least 1"
            ));
        }
        problems.extend(self.alerts.problems(q));
        problems
    }
}

/// The longest a queue may wait before anything it times: a day. Every duration is bounded,
/// so no deadline computed from one (`now + secs * 1000`) can wrap.
pub const MAX_QUEUE_SECS: u64 = 86_400;

/// The longest an agent's delay, a wrap-up, a service-level goal or an announcement gap may
/// be: an hour.
const MAX_DELAY_SECS: u64 = 3_600;

impl QueueConfig {
    /// Each duration setting with its upper bound (documented in the README).
    fn durations(&self) -> [(&'static str, u64, u64); 11] {
        [
            ("max_wait_secs", self.max_wait_secs, MAX_QUEUE_SECS),
            ("tier_wait_secs", self.tier_wait_secs, MAX_QUEUE_SECS),
            ("resume_secs", self.resume_secs, MAX_QUEUE_SECS),
            (
                "callbacks.retry_secs",
                self.callbacks.retry_secs,
                MAX_QUEUE_SECS,
            ),
            ("wrap_up_secs", self.wrap_up_secs, MAX_DELAY_SECS),
            ("reject_delay_secs", self.reject_delay_secs, MAX_DELAY_SECS),
            ("busy_delay_secs", self.busy_delay_secs, MAX_DELAY_SECS),
            (
                "no_answer_delay_secs",
                self.no_answer_delay_secs,
                MAX_DELAY_SECS,
            ),
            (
                "service_level_secs",
                self.service_level_secs,
                MAX_DELAY_SECS,
            ),
            (
                "announcements.min_gap_secs",
                self.announcements.min_gap_secs,
                MAX_DELAY_SECS,
            ),
            (
                "announcements.periodic_secs",
                self.announcements.periodic_secs,
                MAX_DELAY_SECS,
            ),
        ]
    }
}

pub(crate) fn is_dtmf(key: char) -> bool {
    matches!(key, '0'..='9' | '*' | '#' | 'A'..='D')
}

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// An agent's place in a queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub queue: String,
    /// 1 is offered first; higher tiers open as callers wait longer.
    #[serde(default = "one")]
    pub tier: u32,
    /// Order within the tier (linear and round-robin strategies).
    #[serde(default = "one")]
    pub position: u32,
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Required in `[[agents]]`; over the API the path names the agent.
    #[serde(default)]
    pub name: String,
    /// A FreeSWITCH dial string, e.g. `user/1001@default` or `sofia/internal/1001%10.0.0.1`.
    pub endpoint: Endpoint,
    #[serde(default)]
    pub queues: Vec<Membership>,
}

impl AgentConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let a = &self.name;
        if !valid_name(a) {
            problems.push(format!(
                "agent name {a:?} must be 1-64 letters, digits, '-', '_' or '.'"
            ));
        }
        for m in &self.queues {
            if m.tier == 0 {
                problems.push(format!(
                    "agent {a}: tier in queue {} must be 1 or more",
                    m.queue
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_survey_is_bounded_and_its_prompts_are_one_word_in_each_language() {
        let mut queue = QueueConfig::named("support");
        assert!(!queue.survey, "off unless asked for");
        queue.survey = true;
        assert!(queue.problems().is_empty(), "{:?}", queue.problems());
        // Each language's own set; the queue's own where a set has none.
        let ru = queue.prompts.for_caller(Some(&Language::RUSSIAN));
        assert_eq!(ru.survey, &SoundRef::RU_SURVEY);
        let en = queue.prompts.for_caller(None);
        assert_eq!(en.survey_invalid, &SoundRef::SURVEY_INVALID);
        queue.prompts.languages.insert(
            Language::parse("de").unwrap(),
            PromptSet {
                survey: None,
                ..PromptSet::english()
            },
        );
        let de = queue
            .prompts
            .for_caller(Some(&Language::parse("de").unwrap()));
        assert_eq!(de.survey, &SoundRef::SURVEY);
        queue.survey_timeout_secs = 0;
        queue.survey_tries = 9;
        queue.prompts.survey_thanks = SoundRef::parse("say:thank you").unwrap();
        let problems = queue.problems().join("; ");
        assert!(
            problems.contains("survey_timeout_secs must be 1-60"),
            "{problems}"
        );
        assert!(problems.contains("survey_tries must be 1-5"), "{problems}");
        assert!(problems.contains("must be one word"), "{problems}");
        // From the API (and the TOML file), like every other setting.
        let read: QueueConfig =
            serde_json::from_str(r#"{"name": "q", "survey": true, "survey_timeout_secs": 8}"#)
                .unwrap();
        assert!(read.survey);
        assert_eq!((read.survey_timeout_secs, read.survey_tries), (8, 2));
    }

    #[test]
    fn alert_limits_must_rise_from_amber_to_red() {
        let mut queue = QueueConfig::named("support");
        assert!(queue.problems().is_empty(), "{:?}", queue.problems());
        queue.alerts.service_level_red = 90;
        queue.alerts.service_level_amber = 80;
        queue.alerts.wait_amber_secs = 300;
        queue.alerts.wait_red_secs = 200;
        queue.alerts.waiting_amber = 0; // off: any red is fine
        queue.alerts.waiting_red = 3;
        let problems = queue.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("service_level_red (90)"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("wait_*_secs: red (200)"),
            "{problems:?}"
        );
        queue.alerts = Alerts {
            service_level_amber: 101,
            ..Alerts::default()
        };
        assert!(
            queue.problems()[0].contains("percentages"),
            "{:?}",
            queue.problems()
        );
    }

    #[test]
    fn a_language_set_is_read_and_checked_against_its_plural_forms() {
        let queue: QueueConfig = serde_json::from_str(
            r#"{"name": "support", "prompts": {"languages": {"ru": {
                "position": ["/srv/ru/you_are.wav", "{position}"],
                "expected_wait": ["{wait_minutes}", "{minutes}"],
                "minutes": ["/srv/ru/minute.wav", "/srv/ru/minutes.wav"]}}}}"#,
        )
        .unwrap();
        // It replaces the shipped Russian set; the English one stays.
        assert_eq!(
            queue.prompts.languages[&Language::ENGLISH],
            PromptSet::english()
        );
        assert_eq!(
            queue.problems(),
            [
                "queue support: prompts.languages.ru: {minutes} needs `minutes` to list the word \
              in 3 forms for language ru (it lists 2)"
            ]
        );
        assert!(QueueConfig::named("support").problems().is_empty());
        let bad = serde_json::from_str::<QueueConfig>(
            r#"{"name": "q", "prompts": {"languages": {"ru": {"position": ["${system(id)}"]}}}}"#,
        );
        assert!(bad.unwrap_err().to_string().contains("'$'"));
        let bad = serde_json::from_str::<QueueConfig>(
            r#"{"name": "q", "prompts": {"languages": {"r u": {"position": []}}}}"#,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn a_caller_hears_their_languages_set_else_the_queues() {
        let prompts = Prompts::default();
        let ru = prompts.for_caller(Some(&Language::RUSSIAN));
        assert_eq!(ru.language, &Language::RUSSIAN);
        assert_eq!(ru.position, PromptSet::russian().position);
        let german = Language::parse("de").unwrap();
        let fallback = prompts.for_caller(Some(&german));
        assert_eq!(fallback.language, &Language::ENGLISH);
        assert_eq!(fallback.position, prompts.position);
        assert_eq!(prompts.for_caller(None).language, &Language::ENGLISH);
    }
}
