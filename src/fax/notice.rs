//! What a fax mail says: subject and body for a fax received, one that could not be
//! converted, and a reception that failed. Pure: the desk decides which, and where it goes.

use super::received::FaxReceived;
use crate::clock::Millis;
use crate::store::{Attach, NewMail};

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

fn result(fax: &FaxReceived) -> String {
    let text = fax.result_text.as_deref().map(clean);
    match (text, fax.result_code) {
        (Some(text), Some(code)) => format!("{text} (code {code})"),
        (Some(text), None) => text,
        (None, Some(code)) => format!("code {code}"),
        (None, None) => "no result reported".into(),
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

/// The mail about `fax` to `recipients`.
pub(crate) fn compose(
    fax: &FaxReceived,
    outcome: &Outcome,
    delivery: &Delivery,
    recipients: Vec<String>,
) -> NewMail {
    let caller = clean(&fax.caller());
    let did = clean(&fax.did);
    let subject = match outcome {
        Outcome::Converted { pages } => {
            let plural = if *pages == 1 { "" } else { "s" };
            format!("Fax from {caller} to {did}: {pages} page{plural}")
        }
        Outcome::Unconvertible { .. } => {
            format!("Fax from {caller} to {did}: the document could not be converted")
        }
        Outcome::Unreadable { .. } => {
            format!("Fax from {caller} to {did}: the document could not be read")
        }
        Outcome::Failed => format!("Fax from {caller} to {did} failed: {}", result(fax)),
    };
    let mut body = match outcome {
        Outcome::Failed => format!("A fax to {did} could not be received.\n\n"),
        _ => format!("A fax arrived for {did}.\n\n"),
    };
    let pages = match outcome {
        Outcome::Converted { pages } => *pages,
        _ => usize::try_from(fax.pages).unwrap_or(usize::MAX),
    };
    let station = fax.remote_station.as_deref().map(clean);
    let lines = [
        ("From", Some(caller.clone())),
        ("Sender's fax station", station.filter(|s| !s.is_empty())),
        ("To", Some(did.clone())),
        ("Received", Some(time(fax.received_at))),
        ("Pages", Some(pages.to_string())),
        ("Result", Some(result(fax))),
        ("Call", Some(clean(&fax.call_uuid))),
    ];
    for (label, value) in lines {
        if let Some(value) = value {
            body.push_str(&format!("{:<22}{value}\n", format!("{label}:")));
        }
    }
    body.push('\n');
    let document = match outcome {
        Outcome::Converted { .. } => "the document (PDF)",
        _ => "the original TIFF",
    };
    match outcome {
        Outcome::Failed => body.push_str(&format!(
            "The sending machine may try again. Reason: {}.\n",
            result(fax)
        )),
        Outcome::Unconvertible { reason, raw_kept } => {
            body.push_str(&format!(
                "The document could not be converted to PDF: {}.\n",
                clean(reason)
            ));
            if !raw_kept {
                body.push_str("The original TIFF could not be kept either.\n");
            }
        }
        Outcome::Unreadable { reason } => body.push_str(&format!(
            "The document could not be read: {}.\nNothing is attached; ask the sender to send it again.\n",
            clean(reason)
        )),
        Outcome::Converted { .. } => {}
    }
    match delivery {
        Delivery::Attached => body.push_str(&format!("Attached: {document}.\n")),
        Delivery::Link(url) => body.push_str(&format!(
            "Too large to attach; download {document} here (sign-in required):\n{url}\n"
        )),
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
        let mail = compose(&f, &Outcome::Failed, &Delivery::Nothing, vec![]);
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
        );
        assert!(mail.body.contains(&url), "{}", mail.body);
        assert_eq!(mail.attachment, Attach::Nothing);
        assert_eq!(file_name(&fax(), "pdf"), "fax-20261122-023010-5551234.pdf");
    }
}
