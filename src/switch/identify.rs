//! The who-is-calling hook: asked once per arriving caller, before the caller is queued.
//! The phone book ([`crate::directory::PhoneBook`]) answers it; without one every caller is
//! unknown with normal priority.

use serde::{Deserialize, Serialize};

use super::vars;
use crate::fsarg::Language;

/// How the caller was recognised, best first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The calling number is a contact's.
    Exact,
    /// The number is an organization's main line or falls in its range.
    Organization,
    /// Only the caller-ID name resembles a contact's.
    Fuzzy,
    #[default]
    Unknown,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Exact => "exact",
            Confidence::Organization => "organization",
            Confidence::Fuzzy => "fuzzy",
            Confidence::Unknown => "unknown",
        }
    }
}

/// A phone-book record named in an identification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

/// What is known about a caller. Travels with the call: on the dashboard, as the agent
/// phone's caller-ID name, and as channel variables into the CDR.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// A name to show (and to put on the agent's phone), when better than the caller id.
    pub label: Option<String>,
    /// Added to the caller's queue priority (a VIP rises).
    pub priority: i32,
    pub confidence: Confidence,
    pub contact: Option<Named>,
    pub organization: Option<Named>,
    pub vip: bool,
    /// The calling number in E.164, when it could be read as one.
    pub e164: Option<String>,
    /// The contact's language: announcements are in it when the queue has prompts for it.
    pub language: Option<Language>,
}

impl Identity {
    /// Channel variables that carry the identification into FreeSWITCH's CDR.
    pub fn channel_variables(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![(vars::IDENTIFIED, self.confidence.as_str().to_owned())];
        if let Some(contact) = &self.contact {
            vars.push((vars::CONTACT_ID, contact.id.to_string()));
        }
        if let Some(organization) = &self.organization {
            vars.push((vars::ORGANIZATION_ID, organization.id.to_string()));
        }
        if self.vip {
            vars.push((vars::VIP, "true".to_owned()));
        }
        vars
    }
}

pub trait CallerIdentity: Send + Sync + 'static {
    /// Who calls from `e164` (the calling number as the switchboard normalized it, `None`
    /// when it is not a phone number) with caller-ID `name`. Must answer from memory: it runs
    /// on the switchboard's task for every arrival.
    fn identify(&self, e164: Option<&str>, name: &str) -> Identity;
}

/// Nobody is known.
pub struct Unknown;

impl CallerIdentity for Unknown {
    fn identify(&self, _e164: Option<&str>, _name: &str) -> Identity {
        Identity::default()
    }
}

/// A caller-ID name as a person reads it: `%`-escapes (a carrier's `Ivan%20Petrov`) and SIP's
/// quoted-pairs (`Пётр \"Дед\" Сидоров`) undone. Names are kept as received everywhere
/// else; only what is shown, and what is matched against the phone book, is unescaped.
pub fn shown_name(received: &str) -> String {
    let decoded = crate::esl::percent::decode(received);
    // A `%` that does not start UTF-8 was not an escape: keep the name as it came.
    let text = if decoded.contains('\u{FFFD}') && !received.contains('\u{FFFD}') {
        received
    } else {
        decoded.as_ref()
    };
    let mut shown = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => shown.push(chars.next().unwrap_or('\\')),
            c => shown.push(c),
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::shown_name;

    #[test]
    fn quoted_pairs_and_escapes_are_undone_for_people() {
        assert_eq!(
            shown_name(r#"Пётр \"Дед\" Сидоров"#),
            r#"Пётр "Дед" Сидоров"#
        );
        assert_eq!(shown_name(r"back\\slash"), r"back\slash");
        assert_eq!(shown_name("Ivan%20Petrov"), "Ivan Petrov");
        assert_eq!(shown_name("%D0%9F%D1%91%D1%82%D1%80"), "Пётр");
        assert_eq!(shown_name("100%FF"), "100%FF");
        assert_eq!(shown_name("trailing\\"), "trailing\\");
        assert_eq!(shown_name("Plain Name"), "Plain Name");
    }
}
