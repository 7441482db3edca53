//! LDAP and Active Directory as a phone-book source: people under a base DN, read with a
//! simple bind and a paged search (RFC 2696), each entry a [`SourceContact`]. It only reads;
//! numbers are passed on as written (the sync reads them the importer's way). Nothing the
//! server sends can panic it: entries are decoded here, each value checked.

use std::collections::HashMap;
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConnAsync, LdapConnSettings, ResultEntry, Scope};
use serde::{Deserialize, Serialize};

use super::{Progress, Snapshot, SourceContact, SourceNumber, SyncError};
use crate::directory::model::NumberKind;
use crate::secret::Secret;

/// `[phonebook.sync.ldap]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://dc1.example.com:389` (or `ldapi://` for a local socket). TLS is not built in.
    pub url: String,
    /// Who the sync binds as (`cn=switchdesk,ou=services,dc=example,dc=com`, or AD's
    /// `switchdesk@example.com`); empty for an anonymous bind.
    #[serde(default)]
    pub bind_dn: String,
    /// The bind password (`SWITCHDESK_PHONEBOOK__SYNC__LDAP__PASSWORD`).
    #[serde(default)]
    pub password: Secret,
    /// Where the people are (`ou=people,dc=example,dc=com`); searched with its subtree.
    pub base_dn: String,
    #[serde(default = "default_filter")]
    pub filter: String,
    /// Entries per page of the paged search (AD answers at most 1000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Connecting, and each reply, must take less than this.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_filter() -> String {
    "(|(objectClass=person)(objectClass=user))".to_owned()
}

fn default_page_size() -> u32 {
    500
}

fn default_timeout_secs() -> u64 {
    30
}

impl LdapConfig {
    /// What makes it unusable, each naming its key; an unreachable server is not among them.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let url = self.url.trim().to_ascii_lowercase();
        if url.is_empty() {
            problems.push("phonebook.sync.ldap.url is empty".to_owned());
        } else if url.starts_with("ldaps://") {
            problems.push(
                "phonebook.sync.ldap.url: ldaps:// is not supported by this build; use ldap:// \
                 (on a trusted network or through a local TLS tunnel)"
                    .to_owned(),
            );
        } else if !(url.starts_with("ldap://") || url.starts_with("ldapi://")) {
            problems.push(format!(
                "phonebook.sync.ldap.url {:?} must start with ldap:// or ldapi://",
                self.url
            ));
        }
        if self.base_dn.trim().is_empty() {
            problems.push("phonebook.sync.ldap.base_dn is empty".to_owned());
        }
        if let Err(e) = ldap3::parse_filter(&self.filter) {
            problems.push(format!(
                "phonebook.sync.ldap.filter {:?} is not an LDAP filter: {e:?}",
                self.filter
            ));
        }
        if !(1..=100_000).contains(&self.page_size) {
            problems.push("phonebook.sync.ldap.page_size must be between 1 and 100000".to_owned());
        }
        if self.timeout_secs == 0 {
            problems.push("phonebook.sync.ldap.timeout_secs must be at least 1".to_owned());
        }
        if !self.bind_dn.trim().is_empty() && self.password.is_empty() {
            problems.push(
                "phonebook.sync.ldap.password is empty but bind_dn is set (set it, or \
                 SWITCHDESK_PHONEBOOK__SYNC__LDAP__PASSWORD)"
                    .to_owned(),
            );
        }
        problems
    }
}

/// The attributes asked for. Entries are read with the names lower-cased: LDAP names are
/// case-insensitive, and servers answer in their own case.
const ATTRIBUTES: &[&str] = &[
    "entryUUID",
    "objectGUID",
    "displayName",
    "cn",
    "givenName",
    "sn",
    "telephoneNumber",
    "mobile",
    "ipPhone",
    "mail",
    "company",
    "o",
];

/// Reads people from one directory.
pub struct LdapSource {
    config: LdapConfig,
}

fn failed(reason: impl Into<String>) -> SyncError {
    SyncError::Source {
        source_name: "ldap",
        reason: reason.into(),
    }
}

impl LdapSource {
    pub fn new(config: &LdapConfig) -> Result<LdapSource, SyncError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(failed(problems.join("; ")));
        }
        Ok(LdapSource {
            config: config.clone(),
        })
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_secs)
    }

    /// Every person under the base DN. An `Err` if the server cannot be reached, refuses the
    /// bind or the search, or stops answering: then nothing is known, and nothing is removed.
    pub async fn pull(&self, progress: &dyn Progress) -> Result<Snapshot, SyncError> {
        let config = &self.config;
        let settings = LdapConnSettings::new().set_conn_timeout(self.timeout());
        let (connection, mut ldap) = LdapConnAsync::with_settings(settings, config.url.trim())
            .await
            .map_err(|e| failed(format!("connecting to {}: {e}", config.url)))?;
        // The connection's reader; it ends when `ldap` is dropped or unbinds.
        tokio::spawn(async move {
            if let Err(e) = connection.drive().await {
                tracing::debug!("LDAP connection ended: {e}");
            }
        });
        let within = |what: &'static str| {
            let seconds = config.timeout_secs;
            move |_| failed(format!("{what}: no answer within {seconds} s"))
        };
        tokio::time::timeout(
            self.timeout(),
            ldap.simple_bind(&config.bind_dn, config.password.expose()),
        )
        .await
        .map_err(within("binding"))?
        .and_then(|result| result.success())
        .map_err(|e| failed(format!("binding as {:?} was refused: {e}", config.bind_dn)))?;
        let page_size = i32::try_from(config.page_size).unwrap_or(i32::MAX);
        let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(page_size)),
        ];
        let searching = |e: ldap3::LdapError| {
            failed(format!(
                "searching {:?} for {}: {e}",
                config.base_dn, config.filter
            ))
        };
        let mut search = tokio::time::timeout(
            self.timeout(),
            ldap.streaming_search_with(
                adapters,
                config.base_dn.trim(),
                Scope::Subtree,
                &config.filter,
                ATTRIBUTES.to_vec(),
            ),
        )
        .await
        .map_err(within("searching"))?
        .map_err(searching)?;
        let mut snapshot = Snapshot::default();
        let mut undecodable = 0;
        loop {
            let next = tokio::time::timeout(self.timeout(), search.next())
                .await
                .map_err(within("reading the search results"))?
                .map_err(searching)?;
            let Some(entry) = next else { break };
            match decode(entry).map(|entry| contact(&entry)) {
                Some(contact) => snapshot.contacts.push(contact),
                None => undecodable += 1,
            }
            let done = snapshot.contacts.len() + undecodable;
            if done % config.page_size as usize == 0 {
                progress.fetched("contacts", done, None);
            }
        }
        tokio::time::timeout(self.timeout(), search.finish())
            .await
            .map_err(within("finishing the search"))?
            .success()
            .map_err(searching)?;
        // Politeness only: the entries are in.
        let _ = tokio::time::timeout(self.timeout(), ldap.unbind()).await;
        if undecodable > 0 {
            // A partial read would remove people who are still there.
            return Err(failed(format!(
                "{undecodable} search entries could not be decoded"
            )));
        }
        progress.fetched("contacts", snapshot.contacts.len(), None);
        Ok(snapshot)
    }
}

/// An entry as read: its DN and its attributes' values (lower-cased names; values that are not
/// UTF-8 kept as bytes, only objectGUID needs them).
struct Entry {
    dn: String,
    values: HashMap<String, Vec<Vec<u8>>>,
}

impl Entry {
    fn texts(&self, attribute: &str) -> impl Iterator<Item = &str> {
        self.values
            .get(attribute)
            .into_iter()
            .flatten()
            .filter_map(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    fn text(&self, attribute: &str) -> Option<&str> {
        self.texts(attribute).next()
    }
}

/// A SearchResultEntry (RFC 4511 4.5.2: `[APPLICATION 4] { objectName, attributes }`), or
/// `None` when it is not one. ldap3's own decoder panics on a malformed entry.
fn decode(entry: ResultEntry) -> Option<Entry> {
    let mut parts = entry.0.match_id(4)?.expect_constructed()?.into_iter();
    let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
    let mut values = HashMap::new();
    for attribute in parts.next()?.expect_constructed()? {
        let mut attribute = attribute.expect_constructed()?.into_iter();
        let name = String::from_utf8(attribute.next()?.expect_primitive()?).ok()?;
        let mut read = Vec::new();
        for value in attribute.next()?.expect_constructed()? {
            read.push(value.expect_primitive()?);
        }
        values.insert(name.to_ascii_lowercase(), read);
    }
    Some(Entry { dn, values })
}

/// AD's objectGUID (16 bytes, the first three fields little-endian) as its usual text.
fn guid(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10..]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    ))
}

/// "Ivan Petrov" → ("Ivan", "Petrov"); one word is a last name.
fn split_name(full: &str) -> (String, String) {
    match full.trim().rsplit_once(char::is_whitespace) {
        Some((first, last)) => (first.trim().to_owned(), last.trim().to_owned()),
        None => (String::new(), full.trim().to_owned()),
    }
}

fn contact(entry: &Entry) -> SourceContact {
    let source_id = entry
        .text("entryuuid")
        .map(str::to_owned)
        .or_else(|| {
            entry
                .values
                .get("objectguid")
                .and_then(|v| v.first())
                .and_then(|g| guid(g))
        })
        .unwrap_or_else(|| entry.dn.clone());
    let (first_name, last_name) = match (entry.text("givenname"), entry.text("sn")) {
        (None, None) => split_name(
            entry
                .text("displayname")
                .or_else(|| entry.text("cn"))
                .unwrap_or_default(),
        ),
        (first, last) => (
            first.unwrap_or_default().to_owned(),
            last.unwrap_or_default().to_owned(),
        ),
    };
    let mut numbers = Vec::new();
    for (attribute, kind) in [
        ("telephonenumber", NumberKind::Work),
        ("mobile", NumberKind::Mobile),
        ("ipphone", NumberKind::Extension),
    ] {
        numbers.extend(entry.texts(attribute).map(|text| SourceNumber {
            text: text.to_owned(),
            kind,
        }));
    }
    SourceContact {
        source_id,
        organization_source_id: None,
        organization_name: entry
            .text("company")
            .or_else(|| entry.text("o"))
            .map(str::to_owned),
        first_name,
        last_name,
        numbers,
        emails: entry.texts("mail").map(str::to_owned).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ad_object_guid_reads_as_its_usual_text() {
        let bytes = [
            0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
            0xcd, 0xef,
        ];
        assert_eq!(
            guid(&bytes).as_deref(),
            Some("01234567-89ab-cdef-0123-456789abcdef")
        );
        assert_eq!(guid(&bytes[..15]), None);
    }

    #[test]
    fn a_display_name_splits_at_its_last_space() {
        assert_eq!(
            split_name("Анна Мария Иванова"),
            ("Анна Мария".to_owned(), "Иванова".to_owned())
        );
        assert_eq!(
            split_name(" Reception "),
            (String::new(), "Reception".to_owned())
        );
    }

    #[test]
    fn names_fall_back_from_given_name_and_sn_to_the_display_name() {
        let entry = |pairs: &[(&str, &str)]| Entry {
            dn: "cn=x,dc=example".to_owned(),
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.as_bytes().to_vec()]))
                .collect(),
        };
        let read = contact(&entry(&[
            ("displayname", "Ivan Petrov"),
            ("ipphone", "1001"),
            ("o", "Acme"),
        ]));
        assert_eq!(
            (read.first_name.as_str(), read.last_name.as_str()),
            ("Ivan", "Petrov")
        );
        assert_eq!(read.source_id, "cn=x,dc=example");
        assert_eq!(read.organization_name.as_deref(), Some("Acme"));
        assert_eq!(
            read.numbers,
            vec![SourceNumber {
                text: "1001".into(),
                kind: NumberKind::Extension
            }]
        );
        let read = contact(&entry(&[
            ("displayname", "Ivan Petrov"),
            ("sn", "Petrov"),
            ("entryuuid", "u-1"),
        ]));
        assert_eq!(
            (read.first_name.as_str(), read.last_name.as_str()),
            ("", "Petrov")
        );
        assert_eq!(read.source_id, "u-1");
    }
}
