//! One mail out through the smarthost: the outbox row becomes an RFC 5322 message (text body,
//! optional attachment, a `Message-ID` derived from the dedupe key) and lettre's SMTP client
//! hands it over. A fresh connection per mail: nothing to go stale while the server is down.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use sha2::{Digest as _, Sha256};

use super::config::{SmtpConfig, TlsMode};
use crate::clock;
use crate::store::OutboxMail;

/// Why a mail did not go out. [`MailError::is_permanent`] tells a mail that will never go
/// (its addresses are wrong) from a server that may take it later.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp.from {0:?} is not a mail address")]
    From(String),
    #[error("TLS setup for {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("recipient {0:?} is not a mail address")]
    Recipient(String),
    #[error("the mail has no recipients")]
    NoRecipients,
    #[error("the mail could not be built: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
}

impl MailError {
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            MailError::Recipient(_) | MailError::NoRecipients | MailError::Build(_)
        )
    }
}

/// A stored file to attach.
#[derive(Clone, Debug)]
pub struct Attached {
    pub name: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// The SMTP client of the outbox; cheap to clone.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(config: &SmtpConfig) -> Result<SmtpMailer, MailError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| MailError::From(config.from.clone()))?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|e| MailError::Tls {
                host: host.to_owned(),
                reason: e.to_string(),
            })
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(Duration::from_secs(config.timeout_secs.max(1))));
        builder = match config.tls {
            TlsMode::None => builder.tls(Tls::None),
            TlsMode::Starttls => builder.tls(Tls::Required(tls(&config.host)?)),
            TlsMode::Tls => builder.tls(Tls::Wrapper(tls(&config.host)?)),
        };
        if !config.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                config.username.clone(),
                config.password.expose().to_owned(),
            ));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
        })
    }

    /// Hands the mail to the server; `Ok` means the server accepted it (a 2xx after DATA).
    pub async fn send(
        &self,
        mail: &OutboxMail,
        attached: Option<Attached>,
    ) -> Result<(), MailError> {
        let message = compose(&self.from, mail, attached)?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| MailError::Smtp(e.to_string()))
    }
}

/// The `Message-ID` of the mail with this dedupe key: the same on every attempt, so a
/// receiver that got a mail twice (accepted, then our record of it lost) can tell.
pub fn message_id(dedupe_key: &str, from: &Mailbox) -> String {
    let digest = Sha256::digest(dedupe_key.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("<{hex}.switchdesk@{}>", from.email.domain())
}

fn compose(
    from: &Mailbox,
    mail: &OutboxMail,
    attached: Option<Attached>,
) -> Result<Message, MailError> {
    if mail.recipients.is_empty() {
        return Err(MailError::NoRecipients);
    }
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(mail.subject.clone())
        .message_id(Some(message_id(&mail.dedupe_key, from)))
        .date(clock::system_time(mail.created_at));
    for recipient in &mail.recipients {
        let to: Mailbox = recipient
            .parse()
            .map_err(|_| MailError::Recipient(recipient.clone()))?;
        builder = builder.to(to);
    }
    let text = SinglePart::plain(mail.body.clone());
    let built = match attached {
        None => builder.singlepart(text),
        Some(file) => {
            let content_type = ContentType::parse(&file.content_type)
                .or_else(|_| ContentType::parse("application/octet-stream"))
                .map_err(|e| MailError::Build(e.to_string()))?;
            let attachment = Attachment::new(file.name).body(file.content, content_type);
            builder.multipart(MultiPart::mixed().singlepart(text).singlepart(attachment))
        }
    };
    built.map_err(|e| MailError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MailState;

    fn mail() -> OutboxMail {
        OutboxMail {
            id: 1,
            dedupe_key: "fax:abc".into(),
            recipients: vec!["Front desk <desk@example.com>".into()],
            subject: "Fax from +15551234".into(),
            body: "Two pages.".into(),
            attachment_file_id: None,
            state: MailState::Pending,
            attempts: 0,
            next_attempt_at: 0,
            last_error: String::new(),
            created_at: 1_795_314_610_937,
            sent_at: None,
        }
    }

    #[test]
    fn the_message_id_follows_the_dedupe_key() {
        let from: Mailbox = "fax@example.com".parse().unwrap();
        let a = message_id("fax:abc", &from);
        assert_eq!(a, message_id("fax:abc", &from));
        assert_ne!(a, message_id("fax:abd", &from));
        assert!(a.starts_with('<') && a.ends_with("@example.com>"), "{a}");
    }

    #[test]
    fn a_mail_carries_its_attachment_and_id() {
        let from: Mailbox = "fax@example.com".parse().unwrap();
        let file = Attached {
            name: "fax.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.4 test".to_vec(),
        };
        let text =
            String::from_utf8(compose(&from, &mail(), Some(file)).unwrap().formatted()).unwrap();
        assert!(
            text.contains(&format!("Message-ID: {}", message_id("fax:abc", &from))),
            "{text}"
        );
        assert!(text.contains("application/pdf"), "{text}");
        assert!(text.contains("filename=\"fax.pdf\""), "{text}");
    }

    #[test]
    fn bad_recipients_and_empty_lists_are_errors() {
        let from: Mailbox = "fax@example.com".parse().unwrap();
        let mut m = mail();
        m.recipients = vec!["not an address".into()];
        assert!(matches!(
            compose(&from, &m, None),
            Err(MailError::Recipient(_))
        ));
        m.recipients.clear();
        assert!(matches!(
            compose(&from, &m, None),
            Err(MailError::NoRecipients)
        ));
    }
}
