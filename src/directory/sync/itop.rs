//! The iTop source: reads Organizations and Persons through iTop's REST API (`core/get` with
//! the configured OQL), a page at a time, into a `Snapshot`. It owns what iTop's replies mean
//! (see tests/fixtures/itop/README.md for the recorded ones); it never validates numbers (the
//! sync does, the one way the importer does), never writes to iTop, and never shows the password.
//!
//! A snapshot is complete or an error: a page that contradicts the earlier ones (a total that
//! changed, a key seen before next to new ones) fails the pull, because the sync removes what a
//! complete snapshot lacks.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Progress, Snapshot, SourceContact, SourceNumber, SourceOrganization, SyncError};
use crate::directory::model::NumberKind;
use crate::secret::Secret;

/// The REST version asked for: the oldest that every iTop since 2.2 answers. iTop 3.x pages
/// `core/get` under it too; an iTop that ignores `limit` sends everything on every page.
const REST_VERSION: &str = "1.3";
const ORGANIZATION_FIELDS: &str = "name,code,status";
const PERSON_FIELDS: &str =
    "friendlyname,first_name,name,phone,mobile_phone,email,org_id,org_name,status";
/// A pull keeps every record in memory; past this an answer is not a CMDB but a runaway server.
const MAX_RECORDS: usize = 2_000_000;
/// How much of a reply that is not iTop's JSON the error quotes.
const QUOTED_BYTES: usize = 160;
/// How much of a long iTop error message is kept: its start and its end.
const MESSAGE_HEAD: usize = 300;
const MESSAGE_TAIL: usize = 120;

/// `[phonebook.sync.itop]` in the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ItopConfig {
    /// iTop's base URL (`https://itop.example/itop/`) or its REST endpoint
    /// (`https://itop.example/itop/webservices/rest.php`).
    pub url: String,
    /// An iTop user with the "REST Services User" profile and read rights on both classes.
    pub user: String,
    /// Env: `SWITCHDESK_PHONEBOOK__SYNC__ITOP__PASSWORD`.
    pub password: Secret,
    /// Records asked for per request (`limit`).
    pub page_size: u32,
    /// OQL selecting the organizations to keep in the phone book.
    pub organizations: String,
    /// OQL selecting the persons to keep in the phone book.
    pub persons: String,
    pub timeout_secs: u64,
}

impl Default for ItopConfig {
    fn default() -> Self {
        ItopConfig {
            url: String::new(),
            user: String::new(),
            password: Secret::default(),
            page_size: 500,
            organizations: "SELECT Organization".into(),
            persons: "SELECT Person".into(),
            timeout_secs: 30,
        }
    }
}

impl ItopConfig {
    /// What keeps this configuration from being used, one sentence each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(problem) = endpoint(&self.url) {
            problems.push(problem);
        }
        if self.user.trim().is_empty() {
            problems.push("phonebook.sync.itop.user is empty".into());
        }
        if self.page_size == 0 || self.timeout_secs == 0 {
            problems
                .push("phonebook.sync.itop.page_size and timeout_secs must be at least 1".into());
        }
        if self.organizations.trim().is_empty() || self.persons.trim().is_empty() {
            problems
                .push("phonebook.sync.itop.organizations and persons must be OQL queries".into());
        }
        problems
    }
}

/// The REST endpoint for a configured URL, with `version` in its query.
fn endpoint(url: &str) -> Result<reqwest::Url, String> {
    let url = url.trim();
    let mut parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("phonebook.sync.itop.url {url:?} is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "itop.url {url:?} must start with http:// or https://"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("itop.url must not carry credentials: set itop.user and itop.password".into());
    }
    if !parsed.path().ends_with(".php") {
        let base = format!("{}/", parsed.path().trim_end_matches('/'));
        parsed.set_path(&format!("{base}webservices/rest.php"));
    }
    let asks_version = parsed.query_pairs().any(|(name, _)| name == "version");
    if !asks_version {
        parsed
            .query_pairs_mut()
            .append_pair("version", REST_VERSION);
    }
    Ok(parsed)
}

/// Reads one iTop.
#[derive(Debug)]
pub struct ItopSource {
    endpoint: reqwest::Url,
    user: String,
    password: Secret,
    page_size: u32,
    organizations: String,
    persons: String,
    timeout_secs: u64,
    client: reqwest::Client,
}

impl ItopSource {
    pub fn new(config: &ItopConfig) -> Result<ItopSource, SyncError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(source_error(problems.join("; ")));
        }
        let endpoint = endpoint(&config.url).map_err(source_error)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .user_agent(concat!("switchdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| source_error(format!("cannot set up HTTP: {e}")))?;
        Ok(ItopSource {
            endpoint,
            user: config.user.trim().to_owned(),
            password: config.password.clone(),
            page_size: config.page_size,
            organizations: config.organizations.trim().to_owned(),
            persons: config.persons.trim().to_owned(),
            timeout_secs: config.timeout_secs,
            client,
        })
    }

    /// Every organization and person the two queries select, now.
    pub async fn pull(&self, progress: &dyn Progress) -> Result<Snapshot, SyncError> {
        let organizations = self
            .fetch_all(&Query::organizations(&self.organizations), progress)
            .await?
            .into_iter()
            .map(organization)
            .collect();
        let contacts = self
            .fetch_all(&Query::persons(&self.persons), progress)
            .await?
            .into_iter()
            .map(contact)
            .collect();
        Ok(Snapshot {
            organizations,
            contacts,
        })
    }

    /// All pages of one query, in key order. Ends on an empty or short page, on the total iTop
    /// reported, or on a page that only repeats what came before (an iTop that ignores paging).
    async fn fetch_all(
        &self,
        query: &Query<'_>,
        progress: &dyn Progress,
    ) -> Result<Vec<ItopObject>, SyncError> {
        let page_size = self.page_size as usize;
        let mut objects: Vec<ItopObject> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut total: Option<usize> = None;
        for page in 1u32.. {
            let reply = self.get_page(query, page).await?;
            let page_total = reply.total();
            if let (Some(before), Some(now)) = (total, page_total) {
                if before != now {
                    return Err(source_error(format!(
                        "the {} changed while they were read (iTop counted {before}, then \
                         {now}); nothing was synced, the next run reads them again",
                        query.what
                    )));
                }
            }
            total = total.or(page_total);
            let batch = reply.objects.unwrap_or_default();
            let received = batch.len();
            let mut fresh = 0;
            for (_, object) in batch {
                query.check(&object)?;
                if seen.insert(object.key.clone()) {
                    objects.push(object);
                    fresh += 1;
                }
            }
            if fresh > 0 {
                progress.fetched(query.what, objects.len(), total);
            }
            if fresh > 0 && fresh < received {
                return Err(source_error(format!(
                    "page {page} of the {} repeated records of an earlier page: they changed \
                     while they were read; nothing was synced, the next run reads them again",
                    query.what
                )));
            }
            if objects.len() > MAX_RECORDS {
                return Err(source_error(format!(
                    "iTop sent more than {MAX_RECORDS} {}; refusing the rest",
                    query.what
                )));
            }
            let done = fresh == 0
                || received != page_size
                || total.is_some_and(|total| objects.len() >= total);
            if done {
                break;
            }
        }
        if let Some(total) = total {
            if objects.len() < total {
                return Err(source_error(format!(
                    "iTop counted {total} {} but sent {}; nothing was synced",
                    query.what,
                    objects.len()
                )));
            }
        }
        // Numeric keys in numeric order: shorter first, then digit by digit.
        objects.sort_by(|a, b| (a.key.len(), &a.key).cmp(&(b.key.len(), &b.key)));
        Ok(objects)
    }

    /// One `core/get` page, or why it could not be had.
    async fn get_page(&self, query: &Query<'_>, page: u32) -> Result<Reply, SyncError> {
        let json_data = serde_json::to_string(&GetRequest {
            operation: "core/get",
            class: query.class,
            key: query.oql,
            output_fields: query.fields,
            limit: self.page_size,
            page,
        })
        .map_err(|e| source_error(format!("cannot write the request: {e}")))?;
        let form = [
            ("auth_user", self.user.as_str()),
            ("auth_pwd", self.password.expose()),
            ("json_data", json_data.as_str()),
        ];
        let response = self
            .client
            .post(self.endpoint.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        if !status.is_success() {
            return Err(source_error(format!(
                "{} answered HTTP {status}: {}",
                self.endpoint,
                quote(&body)
            )));
        }
        let reply: Reply = serde_json::from_slice(&body).map_err(|e| {
            source_error(format!(
                "{} did not answer with iTop's JSON ({e}); the reply begins: {}",
                self.endpoint,
                quote(&body)
            ))
        })?;
        match reply.code {
            0 => Ok(reply),
            code => Err(source_error(self.refusal(
                code,
                &reply.message_text(),
                query,
            ))),
        }
    }

    /// The endpoint is named once: reqwest's own text would repeat it.
    fn transport_error(&self, error: reqwest::Error) -> SyncError {
        let error = error.without_url();
        let reason = if error.is_timeout() {
            format!(
                "{} did not answer within {} s",
                self.endpoint, self.timeout_secs
            )
        } else if error.is_connect() {
            format!("cannot reach {}: {}", self.endpoint, error_chain(&error))
        } else {
            format!(
                "reading from {} failed: {}",
                self.endpoint,
                error_chain(&error)
            )
        };
        source_error(reason)
    }

    /// What iTop's error `code` means for the operator (codes: iTop's `RestResult`).
    fn refusal(&self, code: i64, message: &str, query: &Query<'_>) -> String {
        match code {
            1 => format!(
                "iTop refused user {:?} ({message}); check itop.user and itop.password, and that \
                 the user has the \"REST Services User\" profile",
                self.user
            ),
            10 => format!("iTop does not offer REST version {REST_VERSION} ({message})"),
            100 => format!(
                "iTop could not run the {} query {:?} ({message})",
                query.what, query.oql
            ),
            _ => format!(
                "iTop answered error {code} to the {} query ({message})",
                query.what
            ),
        }
    }
}

fn source_error(reason: impl Into<String>) -> SyncError {
    SyncError::Source {
        source_name: "itop",
        reason: reason.into(),
    }
}

/// reqwest's error with its causes ("error sending request: ... Connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// The first bytes of a reply, on one line.
fn quote(body: &[u8]) -> String {
    let head = &body[..body.len().min(QUOTED_BYTES)];
    let text = String::from_utf8_lossy(head);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if body.len() > QUOTED_BYTES {
        format!("{line:?}...")
    } else {
        format!("{line:?}")
    }
}

/// One class to read: what it is called in messages, the OQL, the fields asked for, and the
/// fields a reply must carry for its objects to be of that class.
struct Query<'a> {
    what: &'static str,
    class: &'static str,
    oql: &'a str,
    fields: &'static str,
    required: &'static [&'static str],
}

impl<'a> Query<'a> {
    fn organizations(oql: &'a str) -> Self {
        Query {
            what: "organizations",
            class: "Organization",
            oql,
            fields: ORGANIZATION_FIELDS,
            required: &["name"],
        }
    }

    fn persons(oql: &'a str) -> Self {
        Query {
            what: "contacts",
            class: "Person",
            oql,
            fields: PERSON_FIELDS,
            required: &["first_name", "name", "org_id"],
        }
    }

    /// iTop answers an OQL on another class with that class's objects and ignores
    /// `output_fields`; such objects are refused rather than read as empty records.
    fn check(&self, object: &ItopObject) -> Result<(), SyncError> {
        match self
            .required
            .iter()
            .find(|f| !object.fields.contains_key(**f))
        {
            None => Ok(()),
            Some(missing) => Err(source_error(format!(
                "the {} query {:?} returned {} objects without {missing}; it must select {}",
                self.what, self.oql, object.class, self.class
            ))),
        }
    }
}

/// `json_data` of a `core/get`, fields in the order iTop's documentation writes them.
#[derive(Serialize)]
struct GetRequest<'a> {
    operation: &'static str,
    class: &'a str,
    key: &'a str,
    output_fields: &'a str,
    limit: u32,
    page: u32,
}

#[derive(Deserialize)]
struct Reply {
    code: i64,
    #[serde(default)]
    message: Option<String>,
    /// `"Person::12" -> object`; null on a page past the end.
    #[serde(default)]
    objects: Option<HashMap<String, ItopObject>>,
}

impl Reply {
    /// iTop's `message` without its "Error: " prefix, and without the middle of a long one (an
    /// unknown class in OQL lists every class; the suggestion that matters comes last).
    fn message_text(&self) -> String {
        let message = self.message.as_deref().unwrap_or("").trim();
        let message = message.strip_prefix("Error: ").unwrap_or(message);
        let chars: Vec<char> = message.chars().collect();
        if chars.len() <= MESSAGE_HEAD + MESSAGE_TAIL {
            return message.to_owned();
        }
        let head: String = chars[..MESSAGE_HEAD].iter().collect();
        let tail: String = chars[chars.len() - MESSAGE_TAIL..].iter().collect();
        format!("{head} [...] {tail}")
    }

    /// `core/get` says the total (not the page's count) only in its message: "Found: 13".
    fn total(&self) -> Option<usize> {
        self.message
            .as_deref()?
            .trim()
            .strip_prefix("Found:")?
            .trim()
            .parse()
            .ok()
    }
}

#[derive(Deserialize)]
struct ItopObject {
    #[serde(default)]
    class: String,
    #[serde(deserialize_with = "key_text")]
    key: String,
    #[serde(default)]
    fields: HashMap<String, serde_json::Value>,
}

impl ItopObject {
    /// A field as text: iTop sends every value as a string; anything else is read as empty.
    fn text(&self, name: &str) -> String {
        match self.fields.get(name) {
            Some(serde_json::Value::String(text)) => text.trim().to_owned(),
            Some(serde_json::Value::Number(number)) => number.to_string(),
            _ => String::new(),
        }
    }

    fn numbers(&self, fields: &[(&str, NumberKind)]) -> Vec<SourceNumber> {
        fields
            .iter()
            .map(|(name, kind)| SourceNumber {
                text: self.text(name),
                kind: *kind,
            })
            .filter(|number| !number.text.is_empty())
            .collect()
    }
}

/// Keys are strings ("12") in REST 1.1 and later; a number is taken as its digits.
fn key_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(key) => Ok(key),
        serde_json::Value::Number(key) => Ok(key.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "an object key must be text, not {other}"
        ))),
    }
}

/// The standard Organization has no phone or e-mail attribute, only its name.
fn organization(object: ItopObject) -> SourceOrganization {
    SourceOrganization {
        name: object.text("name"),
        source_id: object.key,
        numbers: Vec::new(),
        emails: Vec::new(),
    }
}

fn contact(object: ItopObject) -> SourceContact {
    let org_id = object.text("org_id");
    let email = object.text("email");
    SourceContact {
        organization_source_id: (!org_id.is_empty() && org_id != "0").then_some(org_id),
        organization_name: None,
        first_name: object.text("first_name"),
        last_name: object.text("name"),
        numbers: object.numbers(&[
            ("phone", NumberKind::Work),
            ("mobile_phone", NumberKind::Mobile),
        ]),
        emails: if email.is_empty() {
            Vec::new()
        } else {
            vec![email]
        },
        source_id: object.key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_may_be_the_base_or_the_endpoint() {
        for url in [
            "https://itop.example/itop",
            "https://itop.example/itop/",
            "https://itop.example/itop/webservices/rest.php",
        ] {
            assert_eq!(
                endpoint(url).unwrap().as_str(),
                "https://itop.example/itop/webservices/rest.php?version=1.3",
                "{url}"
            );
        }
        assert_eq!(
            endpoint("http://10.0.0.5").unwrap().as_str(),
            "http://10.0.0.5/webservices/rest.php?version=1.3"
        );
        assert_eq!(
            endpoint("http://10.0.0.5/webservices/rest.php?version=1.4")
                .unwrap()
                .as_str(),
            "http://10.0.0.5/webservices/rest.php?version=1.4"
        );
    }

    #[test]
    fn a_bad_configuration_is_refused_by_name() {
        let config = ItopConfig {
            url: "https://sync:secret@itop.example/".into(),
            user: " ".into(),
            page_size: 0,
            ..ItopConfig::default()
        };
        let problems = config.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("must not carry credentials"));
        assert!(!problems[0].contains("secret"));
        assert!(problems[1].contains("itop.user"));
        assert!(problems[2].contains("itop.page_size"));
        let ftp = ItopConfig {
            url: "ftp://itop.example/".into(),
            ..ItopConfig::default()
        };
        assert!(ftp.problems()[0].contains("http"));
        match ItopSource::new(&config) {
            Err(SyncError::Source {
                source_name: "itop",
                reason,
            }) => assert!(reason.contains("itop.user"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_password_stays_out_of_debug_output() {
        let source = ItopSource::new(&ItopConfig {
            url: "https://itop.example/".into(),
            user: "sync".into(),
            password: Secret::new("hunter2"),
            ..ItopConfig::default()
        })
        .unwrap();
        assert!(!format!("{source:?}").contains("hunter2"));
    }

    #[test]
    fn the_total_is_read_from_the_message() {
        let reply: Reply =
            serde_json::from_str(r#"{"code":0,"message":"Found: 13","objects":null}"#).unwrap();
        assert_eq!(reply.total(), Some(13));
        assert!(reply.objects.is_none());
        let created: Reply = serde_json::from_str(r#"{"code":0,"message":null}"#).unwrap();
        assert_eq!(created.total(), None);
        assert_eq!(created.message_text(), "");
    }
}
