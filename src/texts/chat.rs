//! What the Matrix bot writes in its room (`crate::chat`): incident notices and the answers to
//! `!take N` / `!resolve N`, each once per language. Outside values (titles, organizations,
//! names) come in as they are; `chat::notice` escapes them for the HTML body.

use std::time::Duration;

use super::Language;
use crate::chat::{Action, Refusal, Timer};

impl Language {
    /// A span the way a chat reads it: `45 s`, `15 min`, `1 h 30 min` (`45 с`, `15 мин`,
    /// `1 ч 30 мин`); minutes are rounded up, so a timer is never told shorter than it is.
    pub(crate) fn chat_span(self, span: Duration) -> String {
        let (h, min, s) = match self {
            Language::En => ("h", "min", "s"),
            Language::Ru => ("ч", "мин", "с"),
        };
        let secs = span.as_secs();
        if secs < 60 {
            return format!("{secs} {s}");
        }
        let minutes = secs.div_ceil(60);
        match (minutes / 60, minutes % 60) {
            (0, m) => format!("{m} {min}"),
            (hours, 0) => format!("{hours} {h}"),
            (hours, m) => format!("{hours} {h} {m} {min}"),
        }
    }

    /// An incident's first line: `Incident 7 · Acme Ltd: Disk full on db1`.
    pub(crate) fn incident_headline(
        self,
        number: i64,
        organization: Option<&str>,
        title: &str,
    ) -> String {
        let word = match self {
            Language::En => "Incident",
            Language::Ru => "Инцидент",
        };
        match organization {
            Some(org) => format!("{word} {number} · {org}: {title}"),
            None => format!("{word} {number}: {title}"),
        }
    }

    /// A new incident: its severity and how long there is to take it.
    pub(crate) fn incident_opened(self, number: i64, severity: &str, take_within: &str) -> String {
        match self {
            Language::En => {
                format!("New, severity {severity}. Take it within {take_within}: !take {number}")
            }
            Language::Ru => {
                format!("Новый, важность {severity}. Взять в течение {take_within}: !take {number}")
            }
        }
    }

    /// Someone took it; the resolution timer, when there is one.
    pub(crate) fn incident_taken(self, by: &str, resolve_within: Option<&str>) -> String {
        match (self, resolve_within) {
            (Language::En, None) => format!("Taken by {by}."),
            (Language::En, Some(span)) => format!("Taken by {by}. Resolve it within {span}."),
            (Language::Ru, None) => format!("Взял: {by}."),
            (Language::Ru, Some(span)) => format!("Взял: {by}. Решить в течение {span}."),
        }
    }

    /// A timer ran out and it moved to `line`; the new take timer, when it starts one.
    pub(crate) fn incident_escalated(
        self,
        number: i64,
        line: u8,
        ran_out: Timer,
        after: &str,
        take_within: Option<&str>,
    ) -> String {
        let why = match (self, ran_out) {
            (Language::En, Timer::Take) => format!("nobody took it within {after}"),
            (Language::En, Timer::Resolve) => format!("it was not resolved within {after}"),
            (Language::Ru, Timer::Take) => format!("никто не взял его за {after}"),
            (Language::Ru, Timer::Resolve) => format!("он не решён за {after}"),
        };
        let next = match (self, take_within) {
            (_, None) => String::new(),
            (Language::En, Some(span)) => format!(" Take it within {span}: !take {number}"),
            (Language::Ru, Some(span)) => format!(" Взять в течение {span}: !take {number}"),
        };
        match self {
            Language::En => format!("Escalated to line {line}: {why}.{next}"),
            Language::Ru => format!("Передан на линию {line}: {why}.{next}"),
        }
    }

    /// Resolved by someone, or closed by monitoring's recovery.
    pub(crate) fn incident_resolved(self, by: Option<&str>) -> String {
        match (self, by) {
            (Language::En, Some(by)) => format!("Resolved by {by}."),
            (Language::En, None) => "Resolved: monitoring reports recovery.".to_owned(),
            (Language::Ru, Some(by)) => format!("Решён: {by}."),
            (Language::Ru, None) => "Решён: мониторинг сообщает о восстановлении.".to_owned(),
        }
    }

    /// The answer to a `!take`/`!resolve` that does not parse.
    pub(crate) fn chat_usage(self) -> &'static str {
        match self {
            Language::En => "Usage: !take N or !resolve N, N being the incident's number.",
            Language::Ru => "Команды: !take N или !resolve N, где N — номер инцидента.",
        }
    }

    /// The answer to a command from a Matrix account no switchdesk user is linked to.
    pub(crate) fn chat_unlinked(self, sender: &str) -> String {
        match self {
            Language::En => {
                format!("{sender} is not linked to a switchdesk user: nothing was done.")
            }
            Language::Ru => {
                format!("{sender} не связан с пользователем switchdesk: ничего не сделано.")
            }
        }
    }

    /// A command carried out.
    pub(crate) fn chat_done(self, action: Action, number: i64, by: &str) -> String {
        match (self, action) {
            (Language::En, Action::Take) => format!("Incident {number} taken by {by}."),
            (Language::En, Action::Resolve) => format!("Incident {number} resolved by {by}."),
            (Language::Ru, Action::Take) => format!("Инцидент {number} взял {by}."),
            (Language::Ru, Action::Resolve) => format!("Инцидент {number} решён ({by})."),
        }
    }

    /// A command refused, with why.
    pub(crate) fn chat_refused(self, action: Action, number: i64, reason: &Refusal) -> String {
        let reason = match (self, reason) {
            (Language::En, Refusal::UnknownIncident) => "there is no such open incident".into(),
            (Language::En, Refusal::AlreadyTaken { by }) => format!("{by} has already taken it"),
            (Language::En, Refusal::AlreadyResolved) => "it is already resolved".into(),
            (Language::En, Refusal::NotPermitted) => "you may not do this".into(),
            (Language::En, Refusal::Unavailable) => {
                "switchdesk cannot do it right now, try again later".into()
            }
            (Language::Ru, Refusal::UnknownIncident) => "нет такого открытого инцидента".into(),
            (Language::Ru, Refusal::AlreadyTaken { by }) => format!("его уже взял {by}"),
            (Language::Ru, Refusal::AlreadyResolved) => "он уже решён".into(),
            (Language::Ru, Refusal::NotPermitted) => "у вас нет на это прав".into(),
            (Language::Ru, Refusal::Unavailable) => {
                "switchdesk сейчас не может это сделать, повторите позже".into()
            }
        };
        match (self, action) {
            (Language::En, Action::Take) => format!("Incident {number} was not taken: {reason}."),
            (Language::En, Action::Resolve) => {
                format!("Incident {number} was not resolved: {reason}.")
            }
            (Language::Ru, Action::Take) => format!("Инцидент {number} не взят: {reason}."),
            (Language::Ru, Action::Resolve) => format!("Инцидент {number} не решён: {reason}."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_a_chat_reads_them_and_never_shorter() {
        let en = Language::En;
        assert_eq!(en.chat_span(Duration::from_secs(45)), "45 s");
        assert_eq!(en.chat_span(Duration::from_secs(15 * 60)), "15 min");
        assert_eq!(en.chat_span(Duration::from_secs(15 * 60 + 1)), "16 min");
        assert_eq!(en.chat_span(Duration::from_secs(3600)), "1 h");
        assert_eq!(
            Language::Ru.chat_span(Duration::from_secs(5400)),
            "1 ч 30 мин"
        );
    }

    #[test]
    fn every_chat_text_exists_in_every_language() {
        for language in [Language::En, Language::Ru] {
            assert!(language
                .incident_opened(7, "High", "5 min")
                .contains("!take 7"));
            for action in [Action::Take, Action::Resolve] {
                assert!(language.chat_done(action, 7, "ivan").contains("ivan"));
                for reason in [
                    Refusal::UnknownIncident,
                    Refusal::AlreadyTaken { by: "olga".into() },
                    Refusal::AlreadyResolved,
                    Refusal::NotPermitted,
                    Refusal::Unavailable,
                ] {
                    assert!(language.chat_refused(action, 7, &reason).contains('7'));
                }
            }
            assert!(language.chat_unlinked("@x:y").contains("@x:y"));
        }
    }
}
