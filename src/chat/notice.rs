//! An [`IncidentNotice`] as a room message: a plain body and the same as HTML (the headline
//! bold), every outside value escaped. Pure; the words are `texts`'.

use crate::texts::Language;

use super::{IncidentEvent, IncidentNotice};

/// A message for the room: `body` for every client, `html` for those that format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub body: String,
    pub html: Option<String>,
}

impl Message {
    /// Plain text only.
    pub fn text(body: impl Into<String>) -> Message {
        Message {
            body: body.into(),
            html: None,
        }
    }

    /// The `m.room.message` content: an `m.notice` (bots' messages, which no bot answers),
    /// with the HTML when there is one, as a reply to `in_reply_to` when given.
    pub fn content(&self, in_reply_to: Option<&str>) -> serde_json::Value {
        let mut content = serde_json::json!({"msgtype": "m.notice", "body": self.body});
        if let Some(html) = &self.html {
            content["format"] = "org.matrix.custom.html".into();
            content["formatted_body"] = html.as_str().into();
        }
        if let Some(event_id) = in_reply_to {
            content["m.relates_to"] = serde_json::json!({"m.in_reply_to": {"event_id": event_id}});
        }
        content
    }

    /// `notice` in `language`.
    pub fn incident(notice: &IncidentNotice, language: Language) -> Message {
        let n = notice.incident;
        let headline = language.incident_headline(n, notice.organization.as_deref(), &notice.title);
        let span = |d| language.chat_span(d);
        let detail = match &notice.event {
            IncidentEvent::Opened {
                severity,
                take_within,
            } => language.incident_opened(n, severity, &span(*take_within)),
            IncidentEvent::Taken { by, resolve_within } => {
                language.incident_taken(by, resolve_within.map(span).as_deref())
            }
            IncidentEvent::Escalated {
                line,
                ran_out,
                after,
                take_within,
            } => language.incident_escalated(
                n,
                *line,
                *ran_out,
                &span(*after),
                take_within.map(span).as_deref(),
            ),
            IncidentEvent::Resolved { by } => language.incident_resolved(by.as_deref()),
        };
        Message {
            body: format!("{headline}\n{detail}"),
            html: Some(format!(
                "<b>{}</b><br>{}",
                escape(&headline),
                escape(&detail)
            )),
        }
    }
}

/// `text` safe inside HTML elements and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::chat::Timer;

    fn notice(event: IncidentEvent) -> IncidentNotice {
        IncidentNotice {
            incident: 7,
            organization: Some("Acme <Ltd>".into()),
            title: "Disk full on db1".into(),
            event,
        }
    }

    #[test]
    fn a_new_incident_names_everything_and_escapes_the_html() {
        let m = Message::incident(
            &notice(IncidentEvent::Opened {
                severity: "High".into(),
                take_within: Duration::from_secs(900),
            }),
            Language::En,
        );
        assert_eq!(
            m.body,
            "Incident 7 · Acme <Ltd>: Disk full on db1\n\
             New, severity High. Take it within 15 min: !take 7"
        );
        let html = m.html.unwrap();
        assert!(html.starts_with("<b>Incident 7 · Acme &lt;Ltd&gt;: Disk full on db1</b><br>"));
        assert!(!html.contains("<Ltd>"));
    }

    #[test]
    fn escalations_say_which_timer_ran_out_in_russian_too() {
        let m = Message::incident(
            &notice(IncidentEvent::Escalated {
                line: 2,
                ran_out: Timer::Take,
                after: Duration::from_secs(600),
                take_within: Some(Duration::from_secs(300)),
            }),
            Language::Ru,
        );
        assert!(m
            .body
            .contains("Передан на линию 2: никто не взял его за 10 мин."));
        assert!(m.body.contains("Взять в течение 5 мин: !take 7"));
        let resolved =
            Message::incident(&notice(IncidentEvent::Resolved { by: None }), Language::En);
        assert!(resolved
            .body
            .ends_with("Resolved: monitoring reports recovery."));
        let taken = Message::incident(
            &notice(IncidentEvent::Taken {
                by: "ivan".into(),
                resolve_within: Some(Duration::from_secs(3600)),
            }),
            Language::En,
        );
        assert!(taken
            .body
            .ends_with("Taken by ivan. Resolve it within 1 h."));
    }
}
