//! What a fax mail says: subject and body for a fax received, one that could not be
//! converted, and a reception that failed. Pure: the desk decides which, and where it goes.

use super::received::FaxReceived;
use crate::clock::Millis;
use crate::store::{Attach, NewMail};
use crate::texts::{FaxLine, FaxOutcome, Language};

/// What became of the fax's document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Converted to a PDF of this many pages.
    Converted { pages: usize },
    /// Received, but the TIFF could not be read or converted; `raw_kept` if the TIFF itself
    /// is stored.
    Unconvertible { reason: String, raw_kept: bool },
    /// Received, but the file rxfax named was refused (outside the spool, not a regular file,
    /// too large, not a TIFF) or could not be read: nothing of it is stored or attached.
    Unreadable { reason: String },
    /// The reception failed: no document.
    Failed,
}

impl Outcome {
    /// What went wrong with the document, for the fax's record.
    pub(crate) fn problem(&self) -> Option<&str> {
        match self {
            Outcome::Unconvertible { reason, .. } | Outcome::Unreadable { reason } => Some(reason),
            Outcome::Converted { .. } | Outcome::Failed => None,
        }
    }
}

/// How the stored document reaches the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    Attached,
    /// Too large to attach: a download link (sign-in required).
    Link(String),
    Nothing,
}

/// The dedupe key of the mail about a fax: one mail per received call.
pub(crate) fn dedupe_key(fax: &FaxReceived) -> String {
    format!("fax:{}", fax.call_uuid)
}

/// Text from the far end (caller-ID names, station ids), fit for a header line.
fn clean(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    cleaned.trim().to_owned()
}

fn time(millis: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| millis.to_string())
}

fn result(fax: &FaxReceived, language: Language) -> String {
    let text = fax.result_text.as_deref().map(clean);
    match (text, fax.result_code) {
        (Some(text), Some(code)) => format!("{text} ({})", language.fax_code(code.into())),
        (Some(text), None) => text,
        (None, Some(code)) => language.fax_code(code.into()),
        (None, None) => language.no_fax_result().into(),
    }
}

/// A file name for the document: `fax-20261122-023010-5551234.pdf`.
pub(crate) fn file_name(fax: &FaxReceived, extension: &str) -> String {
    let stamp = chrono::DateTime::from_timestamp_millis(fax.received_at)
        .map(|t| t.format("%Y%m%d-%H%M%S").to_string())
        .unwrap_or_else(|| "undated".into());
    let caller: String = fax
        .caller_number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+')
        .take(32)
        .collect();
    let caller = if caller.is_empty() {
        "unknown".into()
    } else {
        caller
    };
    format!("fax-{stamp}-{caller}.{extension}")
}

/// The mail about `fax` to `recipients`, in `language`.
pub(crate) fn compose(
    fax: &FaxReceived,
    outcome: &Outcome,
    delivery: &Delivery,
    recipients: Vec<String>,
    language: Language,
) -> NewMail {
    let caller = clean(&fax.caller(language));
    let did = clean(&fax.did);
    let reported = result(fax, language);
    let reason = outcome.problem().map(clean).unwrap_or_default();
    let told = match outcome {
        Outcome::Converted { pages } => FaxOutcome::Converted { pages: *pages },
        Outcome::Unconvertible { raw_kept, .. } => FaxOutcome::Unconvertible {
            reason: &reason,
            raw_kept: *raw_kept,
        },
        Outcome::Unreadable { .. } => FaxOutcome::Unreadable { reason: &reason },
        Outcome::Failed => FaxOutcome::Failed { result: &reported },
    };
    let subject = language.fax_subject(&caller, &did, told);
    let mut body = language.fax_intro(&did, *outcome == Outcome::Failed);
    let pages = match outcome {
        Outcome::Converted { pages } => *pages,
        _ => usize::try_from(fax.pages).unwrap_or(usize::MAX),
    };
    let station = fax.remote_station.as_deref().map(clean);
    let lines = [
        (FaxLine::From, Some(caller.clone())),
        (FaxLine::Station, station.filter(|s| !s.is_empty())),
        (FaxLine::To, Some(did.clone())),
        (FaxLine::Received, Some(time(fax.received_at))),
        (FaxLine::Pages, Some(pages.to_string())),
        (FaxLine::Result, Some(reported.clone())),
        (FaxLine::Call, Some(clean(&fax.call_uuid))),
    ];
    for (line, value) in lines {
        if let Some(value) = value {
            let label = format!("{}:", language.fax_label(line));
            body.push_str(&format!("{label:<22}{value}\n"));
        }
    }
    body.push('\n');
    body.push_str(&language.fax_problem(told));
    let pdf = matches!(outcome, Outcome::Converted { .. });
    match delivery {
        Delivery::Attached => body.push_str(&language.fax_delivery(pdf, None)),
        Delivery::Link(url) => body.push_str(&language.fax_delivery(pdf, Some(url))),
        Delivery::Nothing => {}
    }
    NewMail {
        dedupe_key: dedupe_key(fax),
        recipients,
        subject,
        body,
        attachment: match delivery {
            Delivery::Attached => Attach::Document,
            _ => Attach::Nothing,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fax() -> FaxReceived {
        FaxReceived {
            call_uuid: "4ab15041-a966-49fa-b660-fe31b8c2f6be".into(),
            direction: "inbound".into(),
            did: "7200".into(),
            caller_number: "5551234".into(),
            caller_name: "Fax\r\nBcc: evil@example.com".into(),
            success: true,
            result_code: Some(0),
            result_text: Some("OK".into()),
            pages: 2,
            remote_station: Some("FIXTURE-TX".into()),
            tiff_path: None,
            received_at: 1_795_314_610_937,
        }
    }

    #[test]
    fn a_received_fax_names_caller_pages_and_time() {
        let mail = compose(
            &fax(),
            &Outcome::Converted { pages: 2 },
            &Delivery::Attached,
            vec!["desk@example.com".into()],
            Language::En,
        );
        assert!(!mail.subject.contains(['\r', '\n']), "{}", mail.subject);
        assert!(
            mail.subject.ends_with("to 7200: 2 pages"),
            "{}",
            mail.subject
        );
        assert!(
            mail.body.contains("2026-11-22 02:30:10 UTC"),
            "{}",
            mail.body
        );
        assert!(mail.body.contains("FIXTURE-TX"), "{}", mail.body);
        assert_eq!(mail.attachment, Attach::Document);
        assert_eq!(mail.dedupe_key, "fax:4ab15041-a966-49fa-b660-fe31b8c2f6be");
    }

    #[test]
    fn a_failed_reception_gives_the_reason_and_no_document() {
        let mut f = fax();
        f.success = false;
        f.result_code = Some(48);
        f.result_text = Some("Disconnected after permitted retries".into());
        let mail = compose(
            &f,
            &Outcome::Failed,
            &Delivery::Nothing,
            vec![],
            Language::En,
        );
        assert!(mail
            .subject
            .contains("failed: Disconnected after permitted retries (code 48)"));
        assert_eq!(mail.attachment, Attach::Nothing);
    }

    #[test]
    fn a_large_document_is_a_link() {
        let url = "https://desk.example.com/api/files/7".to_owned();
        let mail = compose(
            &fax(),
            &Outcome::Converted { pages: 30 },
            &Delivery::Link(url.clone()),
            vec![],
            Language::En,
        );
        assert!(mail.body.contains(&url), "{}", mail.body);
        assert_eq!(mail.attachment, Attach::Nothing);
        assert_eq!(file_name(&fax(), "pdf"), "fax-20261122-023010-5551234.pdf");
    }
}
