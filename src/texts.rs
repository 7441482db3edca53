//! What switchdesk writes for people outside the screens: the subjects of the tickets it opens
//! from calls and the mails about received faxes, in the deployment's language
//! (`[service] language`). Every such text is here, each once per language, so a language is
//! added in one place; the screens have their own (`web/lang/`). Pure: callers pass what
//! goes into a text (names, numbers, counts), already fit to show.

use serde::{Deserialize, Serialize};

mod chat;

/// A language switchdesk writes its own texts in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Ru,
}

/// Why a ticket was opened from a call, for its subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opened<'a> {
    /// An answered queue call.
    Call {
        queue: Option<&'a str>,
    },
    /// A callback that reached the customer.
    Callback,
    /// An abandoned queue call: to be called back.
    Missed {
        queue: Option<&'a str>,
    },
    Fax {
        to: &'a str,
    },
    FailedFax {
        to: &'a str,
    },
    Voicemail {
        queue: Option<&'a str>,
    },
    Manual,
}

/// What became of a received fax, for its mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaxOutcome<'a> {
    Converted { pages: usize },
    Unconvertible { reason: &'a str, raw_kept: bool },
    Unreadable { reason: &'a str },
    Failed { result: &'a str },
}

/// The labelled lines of a fax mail, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaxLine {
    From,
    Station,
    To,
    Received,
    Pages,
    Result,
    Call,
}

impl Language {
    /// " — support" after the subject when the call came through a queue.
    fn through(self, queue: Option<&str>) -> String {
        queue.map(|q| format!(" — {q}")).unwrap_or_default()
    }

    /// Someone whose name and number are both unknown.
    pub(crate) fn unknown_caller(self) -> &'static str {
        match self {
            Language::En => "unknown caller",
            Language::Ru => "неизвестный абонент",
        }
    }

    /// A fax's sender when neither name nor number came with it.
    pub fn unknown_sender(self) -> &'static str {
        match self {
            Language::En => "an unknown sender",
            Language::Ru => "неизвестного отправителя",
        }
    }

    /// A ticket's subject: who (`Jane Doe (+15550001)`) and through which door.
    pub(crate) fn ticket_subject(self, opened: Opened<'_>, who: &str) -> String {
        match (self, opened) {
            (Language::En, Opened::Call { queue }) => {
                format!("Call from {who}{}", self.through(queue))
            }
            (Language::En, Opened::Callback) => format!("Callback to {who}"),
            (Language::En, Opened::Missed { queue }) => {
                format!("Missed call from {who}{}: call back", self.through(queue))
            }
            (Language::En, Opened::Fax { to }) => format!("Fax from {who} to {to}"),
            (Language::En, Opened::FailedFax { to }) => format!("Failed fax from {who} to {to}"),
            (Language::En, Opened::Voicemail { queue }) => {
                format!("Voicemail from {who}{}", self.through(queue))
            }
            (Language::En, Opened::Manual) => format!("Ticket for {who}"),
            (Language::Ru, Opened::Call { queue }) => {
                format!("Звонок от {who}{}", self.through(queue))
            }
            (Language::Ru, Opened::Callback) => format!("Обратный звонок: {who}"),
            (Language::Ru, Opened::Missed { queue }) => format!(
                "Пропущенный звонок от {who}{}: перезвонить",
                self.through(queue)
            ),
            (Language::Ru, Opened::Fax { to }) => format!("Факс от {who} на {to}"),
            (Language::Ru, Opened::FailedFax { to }) => {
                format!("Факс от {who} на {to} не принят")
            }
            (Language::Ru, Opened::Voicemail { queue }) => {
                format!("Голосовое сообщение от {who}{}", self.through(queue))
            }
            (Language::Ru, Opened::Manual) => format!("Заявка: {who}"),
        }
    }

    /// The subject of an incident's ticket: what monitoring says and about which host.
    pub(crate) fn incident_subject(self, title: &str, host: &str) -> String {
        match self {
            Language::En => format!("Incident: {title} on {host}"),
            Language::Ru => format!("Инцидент: {title} на {host}"),
        }
    }

    /// Why a timer moved an incident's ticket one line up (its escalation note).
    pub(crate) fn incident_escalation(self, number: i64, taken: bool, minutes: u64) -> String {
        match (self, taken) {
            (Language::En, false) => {
                format!("Incident {number} was not taken within {minutes} min")
            }
            (Language::En, true) => {
                format!("Incident {number} was not resolved within {minutes} min")
            }
            (Language::Ru, false) => {
                format!("Инцидент {number} не взят в работу за {minutes} мин")
            }
            (Language::Ru, true) => format!("Инцидент {number} не решён за {minutes} мин"),
        }
    }

    /// `N pages` / `N страниц` in the count's plural form.
    fn pages(self, n: usize) -> String {
        let small = u32::try_from(n).unwrap_or(u32::MAX);
        match self {
            Language::En => format!("{n} page{}", if n == 1 { "" } else { "s" }),
            Language::Ru => {
                let form = crate::fsarg::Language::RUSSIAN.plural_form(small);
                let word = ["страница", "страницы", "страниц"][form];
                format!("{n} {word}")
            }
        }
    }

    /// A fax mail's subject.
    pub(crate) fn fax_subject(self, caller: &str, did: &str, outcome: FaxOutcome<'_>) -> String {
        match (self, outcome) {
            (Language::En, FaxOutcome::Converted { pages }) => {
                format!("Fax from {caller} to {did}: {}", self.pages(pages))
            }
            (Language::En, FaxOutcome::Unconvertible { .. }) => {
                format!("Fax from {caller} to {did}: the document could not be converted")
            }
            (Language::En, FaxOutcome::Unreadable { .. }) => {
                format!("Fax from {caller} to {did}: the document could not be read")
            }
            (Language::En, FaxOutcome::Failed { result }) => {
                format!("Fax from {caller} to {did} failed: {result}")
            }
            (Language::Ru, FaxOutcome::Converted { pages }) => {
                format!("Факс от {caller} на {did}: {}", self.pages(pages))
            }
            (Language::Ru, FaxOutcome::Unconvertible { .. }) => {
                format!("Факс от {caller} на {did}: документ не удалось преобразовать")
            }
            (Language::Ru, FaxOutcome::Unreadable { .. }) => {
                format!("Факс от {caller} на {did}: документ не удалось прочитать")
            }
            (Language::Ru, FaxOutcome::Failed { result }) => {
                format!("Факс от {caller} на {did} не принят: {result}")
            }
        }
    }

    /// The document's title (the PDF's Info dictionary).
    pub(crate) fn fax_title(self, caller: &str) -> String {
        match self {
            Language::En => format!("Fax from {caller}"),
            Language::Ru => format!("Факс от {caller}"),
        }
    }

    /// The mail's first paragraph.
    pub(crate) fn fax_intro(self, did: &str, failed: bool) -> String {
        match (self, failed) {
            (Language::En, true) => format!("A fax to {did} could not be received.\n\n"),
            (Language::En, false) => format!("A fax arrived for {did}.\n\n"),
            (Language::Ru, true) => format!("Факс на номер {did} не удалось принять.\n\n"),
            (Language::Ru, false) => format!("Пришёл факс на номер {did}.\n\n"),
        }
    }

    pub(crate) fn fax_label(self, line: FaxLine) -> &'static str {
        match (self, line) {
            (Language::En, FaxLine::From) => "From",
            (Language::En, FaxLine::Station) => "Sender's fax station",
            (Language::En, FaxLine::To) => "To",
            (Language::En, FaxLine::Received) => "Received",
            (Language::En, FaxLine::Pages) => "Pages",
            (Language::En, FaxLine::Result) => "Result",
            (Language::En, FaxLine::Call) => "Call",
            (Language::Ru, FaxLine::From) => "От",
            (Language::Ru, FaxLine::Station) => "Факс отправителя",
            (Language::Ru, FaxLine::To) => "Кому",
            (Language::Ru, FaxLine::Received) => "Получен",
            (Language::Ru, FaxLine::Pages) => "Страниц",
            (Language::Ru, FaxLine::Result) => "Результат",
            (Language::Ru, FaxLine::Call) => "Звонок",
        }
    }

    /// "no result reported", when the switch said nothing of the reception.
    pub(crate) fn no_fax_result(self) -> &'static str {
        match self {
            Language::En => "no result reported",
            Language::Ru => "результат не сообщён",
        }
    }

    /// "code 48".
    pub(crate) fn fax_code(self, code: i64) -> String {
        match self {
            Language::En => format!("code {code}"),
            Language::Ru => format!("код {code}"),
        }
    }

    /// What went wrong, after the labelled lines (empty for a converted fax).
    pub(crate) fn fax_problem(self, outcome: FaxOutcome<'_>) -> String {
        match (self, outcome) {
            (_, FaxOutcome::Converted { .. }) => String::new(),
            (Language::En, FaxOutcome::Failed { result }) => {
                format!("The sending machine may try again. Reason: {result}.\n")
            }
            (Language::En, FaxOutcome::Unconvertible { reason, raw_kept }) => {
                let mut text = format!("The document could not be converted to PDF: {reason}.\n");
                if !raw_kept {
                    text.push_str("The original TIFF could not be kept either.\n");
                }
                text
            }
            (Language::En, FaxOutcome::Unreadable { reason }) => format!(
                "The document could not be read: {reason}.\nNothing is attached; ask the sender to send it again.\n"
            ),
            (Language::Ru, FaxOutcome::Failed { result }) => {
                format!("Отправитель может повторить попытку. Причина: {result}.\n")
            }
            (Language::Ru, FaxOutcome::Unconvertible { reason, raw_kept }) => {
                let mut text = format!("Документ не удалось преобразовать в PDF: {reason}.\n");
                if !raw_kept {
                    text.push_str("Исходный TIFF тоже не удалось сохранить.\n");
                }
                text
            }
            (Language::Ru, FaxOutcome::Unreadable { reason }) => format!(
                "Документ не удалось прочитать: {reason}.\nНичего не вложено; попросите отправителя прислать факс ещё раз.\n"
            ),
        }
    }

    /// How the document reaches the reader: attached, or a link (`url`) when too large.
    pub(crate) fn fax_delivery(self, pdf: bool, link: Option<&str>) -> String {
        let document = match (self, pdf) {
            (Language::En, true) => "the document (PDF)",
            (Language::En, false) => "the original TIFF",
            (Language::Ru, true) => "документ (PDF)",
            (Language::Ru, false) => "исходный TIFF",
        };
        match (self, link) {
            (Language::En, None) => format!("Attached: {document}.\n"),
            (Language::En, Some(url)) => format!(
                "Too large to attach; download {document} here (sign-in required):\n{url}\n"
            ),
            (Language::Ru, None) => format!("Вложение: {document}.\n"),
            (Language::Ru, Some(url)) => format!(
                "Слишком велик для вложения; {document} можно скачать здесь (нужен вход):\n{url}\n"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_pages_take_the_counts_plural_form() {
        let ru = Language::Ru;
        assert_eq!(ru.pages(1), "1 страница");
        assert_eq!(ru.pages(3), "3 страницы");
        assert_eq!(ru.pages(11), "11 страниц");
        assert_eq!(ru.pages(22), "22 страницы");
        assert_eq!(Language::En.pages(1), "1 page");
        assert_eq!(Language::En.pages(2), "2 pages");
    }

    #[test]
    fn every_text_exists_in_every_language() {
        for language in [Language::En, Language::Ru] {
            for opened in [
                Opened::Call { queue: Some("q") },
                Opened::Callback,
                Opened::Missed { queue: None },
                Opened::Fax { to: "7200" },
                Opened::FailedFax { to: "7200" },
                Opened::Voicemail { queue: None },
                Opened::Manual,
            ] {
                assert!(language.ticket_subject(opened, "X").contains('X'));
            }
        }
        assert_eq!(
            serde_json::from_str::<Language>("\"ru\"").unwrap(),
            Language::Ru
        );
        assert!(serde_json::from_str::<Language>("\"de\"").is_err());
    }
}
