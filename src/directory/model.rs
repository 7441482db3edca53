//! The phone book's records: organizations, contacts and CMDB assets, and their links
//! (a contact belongs to an organization; an asset is owned by a contact or an organization).
//! Numbers are stored in E.164 form (see [`super::number`]); what came in is not kept.

use serde::{Deserialize, Serialize};

/// Database id; 0 in a record not yet stored.
pub type Id = i64;

/// What a number is used for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    Mobile,
    #[default]
    Work,
    Home,
    Fax,
    /// An organization's switchboard.
    Main,
    /// An organization's block of numbers: `number` is an E.164 prefix (`+7495123`), and every
    /// number starting with it belongs to the organization.
    Range,
    /// An internal extension (`1001`): digits dialled inside the switch, not E.164.
    Extension,
    Other,
}

impl NumberKind {
    pub fn parse(text: &str) -> Option<NumberKind> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "mobile" | "cell" | "cellular" | "mob" => NumberKind::Mobile,
            "work" | "office" | "voice" | "" => NumberKind::Work,
            "home" => NumberKind::Home,
            "fax" => NumberKind::Fax,
            "main" | "switchboard" => NumberKind::Main,
            "range" | "did" => NumberKind::Range,
            "extension" | "ext" | "internal" | "ipphone" | "ip_phone" => NumberKind::Extension,
            "other" => NumberKind::Other,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NumberKind::Mobile => "mobile",
            NumberKind::Work => "work",
            NumberKind::Home => "home",
            NumberKind::Fax => "fax",
            NumberKind::Main => "main",
            NumberKind::Range => "range",
            NumberKind::Extension => "extension",
            NumberKind::Other => "other",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Number {
    /// E.164 (`+74951234567`), an E.164 prefix for a [`NumberKind::Range`], or the digits of
    /// a [`NumberKind::Extension`].
    pub number: String,
    #[serde(default)]
    pub kind: NumberKind,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Organization {
    pub id: Id,
    /// The key of the system it was imported from; re-imports update by it.
    pub external_id: Option<String>,
    pub name: String,
    pub numbers: Vec<Number>,
    pub emails: Vec<String>,
    /// Where faxes received for this organization's numbers are mailed.
    pub fax_mailboxes: Vec<String>,
    pub vip: bool,
    /// Added to a caller's queue priority (on top of the VIP raise).
    pub priority: i32,
    pub notes: String,
    /// When a synchronised source stopped holding it (Unix ms): kept and shown, but no longer
    /// identified or found by search. Set only by the sync (`Store::set_removed`); an edit
    /// through the API keeps it as stored.
    pub removed_at: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Contact {
    pub id: Id,
    pub external_id: Option<String>,
    pub organization_id: Option<Id>,
    pub first_name: String,
    pub last_name: String,
    /// Other names the person is known by (a nickname, a Latin spelling).
    pub aliases: Vec<String>,
    pub numbers: Vec<Number>,
    pub emails: Vec<String>,
    pub vip: bool,
    pub priority: i32,
    /// Preferred language (`ru`, `en`), for prompts and the agent's greeting.
    pub language: Option<String>,
    pub notes: String,
    /// As [`Organization::removed_at`].
    pub removed_at: Option<i64>,
}

impl Contact {
    /// "First Last", or whichever part is present.
    pub fn display_name(&self) -> String {
        display_name(&self.first_name, &self.last_name)
    }
}

fn display_name(first: &str, last: &str) -> String {
    match (first.trim(), last.trim()) {
        ("", last) => last.to_owned(),
        (first, "") => first.to_owned(),
        (first, last) => format!("{first} {last}"),
    }
}

/// What the in-memory phone book keeps of a contact: who it is, the names and numbers it is
/// found by, and what raises its calls. The book loads a million of these, so the store reads
/// only these columns for it (no e-mails, notes or language).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookContact {
    pub id: Id,
    pub organization_id: Option<Id>,
    pub first_name: String,
    pub last_name: String,
    pub aliases: Vec<String>,
    pub numbers: Vec<Number>,
    pub vip: bool,
    pub priority: i32,
    /// Preferred language, as stored (`ru`, `en-GB`).
    pub language: Option<String>,
}

impl BookContact {
    /// As [`Contact::display_name`].
    pub fn display_name(&self) -> String {
        display_name(&self.first_name, &self.last_name)
    }
}

impl From<&Contact> for BookContact {
    fn from(contact: &Contact) -> BookContact {
        BookContact {
            id: contact.id,
            organization_id: contact.organization_id,
            first_name: contact.first_name.clone(),
            last_name: contact.last_name.clone(),
            aliases: contact.aliases.clone(),
            numbers: contact.numbers.clone(),
            vip: contact.vip,
            priority: contact.priority,
            language: contact.language.clone(),
        }
    }
}

/// Who owns an asset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Owner {
    #[default]
    Nobody,
    Contact(Id),
    Organization(Id),
}

/// A CMDB configuration item: a server, a printer, a licence, a line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Asset {
    pub id: Id,
    pub external_id: Option<String>,
    pub name: String,
    /// Free text: `server`, `printer`, `router`, `licence`...
    pub kind: String,
    pub serial: String,
    pub location: String,
    /// Where monitoring reaches it: an IP address or DNS name (alarms are matched by it).
    pub address: String,
    pub owner: Owner,
    pub notes: String,
}

/// How much to raise a caller's queue priority for a record: its own level, and at least 1
/// for a VIP.
pub fn priority_raise(vip: bool, priority: i32) -> i32 {
    if vip {
        priority.max(1)
    } else {
        priority.max(0)
    }
}

/// Problems that make a record unfit to store, for the API and the importer.
pub fn problems_of_contact(contact: &Contact) -> Vec<String> {
    let mut problems = Vec::new();
    if contact.display_name().is_empty() && contact.aliases.is_empty() {
        problems.push("a contact needs a first or last name".to_owned());
    }
    problems
}

pub fn problems_of_organization(organization: &Organization) -> Vec<String> {
    let mut problems = Vec::new();
    if organization.name.trim().is_empty() {
        problems.push("an organization needs a name".to_owned());
    }
    problems
}

pub fn problems_of_asset(asset: &Asset) -> Vec<String> {
    let mut problems = Vec::new();
    if asset.name.trim().is_empty() {
        problems.push("an asset needs a name".to_owned());
    }
    problems
}
