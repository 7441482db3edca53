//! The parser: a form body to XML bytes ([`cdr_from_form`]), XML bytes to a [`Cdr`]
//! ([`parse_cdr`]).
//!
//! The XML is read with quick-xml's streaming reader and walked by element path, so nested
//! look-alikes (an `originatee_caller_profile` inside a `caller_profile`, `application`s inside a
//! dialplan `extension`) never overwrite the fields they resemble.

use std::borrow::Cow;
use std::collections::BTreeMap;

use quick_xml::events::{BytesRef, BytesStart, Event as Xml};
use quick_xml::Reader;

use crate::esl::percent;
use crate::switch::vars;

/// Largest XML document [`parse_cdr`] accepts. Real CDRs are 7–25 KiB; 4 MiB leaves room for
/// long calls with many applications and still bounds what one POST can make us hold.
pub const MAX_CDR_BYTES: usize = 4 * 1024 * 1024;

/// Largest form body [`cdr_from_form`] accepts: percent-encoding at most triples the XML.
pub const MAX_FORM_BYTES: usize = 3 * MAX_CDR_BYTES;

/// Deepest element nesting accepted. Real CDRs go six levels deep (`cdr/callflow/
/// caller_profile/originatee/originatee_caller_profile/uuid`); the cap stops stack-depth abuse.
pub const MAX_DEPTH: usize = 32;

/// Why a CDR (or the form body carrying it) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdrError {
    #[error("CDR input of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    #[error("CDR is not well-formed XML (near byte {position}): {message}")]
    NotXml { position: u64, message: String },
    #[error("CDR contains a <!DOCTYPE>; DTDs and entity declarations are refused")]
    Doctype,
    #[error("CDR references entity &{0}; (only the predefined XML entities and &#N; are allowed)")]
    UnknownEntity(String),
    #[error("CDR nests elements deeper than {0} levels")]
    TooDeep(usize),
    #[error("CDR ends before its root element is closed (truncated input?)")]
    Truncated,
    #[error("CDR has no <cdr> root element (found {found})")]
    MissingRoot { found: String },
    #[error("CDR has no call UUID (<variables><uuid> is missing or empty)")]
    MissingUuid,
    #[error("form body has no `cdr=` field")]
    MissingFormField,
    #[error("form body has an invalid percent escape at byte {0}")]
    BadPercentEscape(usize),
    #[error("file is not a CDR: neither XML nor the percent- or base64-encoded XML mod_xml_cdr writes to err-log-dir")]
    UnknownFileEncoding,
    /// No database text column can hold U+0000, so such a CDR could never be stored: it is
    /// refused as the client's fault (400), not retried.
    #[error("CDR contains a NUL character ({0}); it cannot be stored")]
    Nul(String),
}

/// One call detail record: one leg of a call, as FreeSWITCH reported it at hangup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cdr {
    /// `core-uuid` attribute of `<cdr>`: which FreeSWITCH process wrote it.
    pub core_uuid: String,
    /// `switchname` attribute of `<cdr>`.
    pub switchname: String,
    /// The leg's UUID, `variables/uuid` (without mod_xml_cdr's `a_` file-name prefix).
    pub uuid: String,
    /// `inbound` or `outbound`, from the variables (or `channel_data` when absent there).
    pub direction: String,
    /// The caller profile of the first `callflow` in the document, which is the latest one.
    pub caller: CallerProfile,
    /// Every channel variable, percent-decoded once. Repeated elements (array variables such
    /// as `DP_MATCH`) read as `ARRAY::a|:b`, as ESL events give them.
    pub variables: BTreeMap<String, String>,
    /// Seconds since the epoch; `None` when FreeSWITCH wrote 0 (the moment never happened).
    pub start_epoch: Option<i64>,
    pub answer_epoch: Option<i64>,
    pub end_epoch: Option<i64>,
    /// Microseconds since the epoch; `None` when 0 or absent.
    pub start_uepoch: Option<i64>,
    pub answer_uepoch: Option<i64>,
    pub end_uepoch: Option<i64>,
    /// Seconds from start to end.
    pub duration: Option<i64>,
    /// Seconds from answer to end (0 for an unanswered leg).
    pub billsec: Option<i64>,
    /// Seconds from start to answer.
    pub waitsec: Option<i64>,
    pub hangup_cause: Option<String>,
    pub hangup_cause_q850: Option<u16>,
    /// The applications the leg executed, in order (`app_log/application`).
    pub app_log: Vec<AppLogEntry>,
    /// Every `callflow`, in document order (latest profile first).
    pub callflows: Vec<Callflow>,
}

/// The plain (not percent-encoded) caller-profile fields of a callflow; empty when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerProfile {
    pub username: String,
    pub dialplan: String,
    pub caller_id_name: String,
    pub caller_id_number: String,
    pub callee_id_name: String,
    pub callee_id_number: String,
    pub ani: String,
    pub aniii: String,
    pub network_addr: String,
    pub rdnis: String,
    pub destination_number: String,
    pub uuid: String,
    pub source: String,
    pub context: String,
    pub chan_name: String,
}

/// One `callflow` element: a caller profile and the moments of that profile's life.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Callflow {
    pub dialplan: String,
    pub unique_id: String,
    pub profile_index: Option<u32>,
    pub caller_profile: CallerProfile,
    /// `times` children (`created_time`, `answered_time`, `hangup_time`...) in microseconds
    /// since the epoch, 0 kept as written.
    pub times: BTreeMap<String, i64>,
}

/// One executed application, from `app_log`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppLogEntry {
    pub app_name: String,
    pub app_data: String,
    /// Microseconds since the epoch.
    pub app_stamp: Option<i64>,
}

/// The result of an rxfax/txfax, from the `fax_*` channel variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaxOutcome {
    pub success: bool,
    pub result_code: Option<i32>,
    pub result_text: Option<String>,
    pub transferred_pages: Option<u32>,
    pub total_pages: Option<u32>,
    pub remote_station_id: Option<String>,
    pub local_station_id: Option<String>,
}

impl FaxOutcome {
    /// Reads the `fax_*` channel variables through `var` (a CDR's, or an event's
    /// `variable_*` headers), trimmed; numbers that do not parse are left out.
    pub fn read<'a>(var: impl Fn(&str) -> Option<Cow<'a, str>>) -> FaxOutcome {
        let text = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        fn parsed<T: std::str::FromStr>(value: Option<Cow<'_, str>>) -> Option<T> {
            value.and_then(|v| v.trim().parse().ok())
        }
        FaxOutcome {
            success: matches!(text("fax_success").as_deref(), Some("1" | "true")),
            result_code: parsed(var("fax_result_code")),
            result_text: text("fax_result_text"),
            transferred_pages: parsed(var("fax_document_transferred_pages")),
            total_pages: parsed(var("fax_document_total_pages")),
            remote_station_id: text("fax_remote_station_id"),
            local_station_id: text("fax_local_station_id"),
        }
    }
}

impl Callflow {
    /// One `times` child in microseconds, e.g. `time("answered_time")`.
    pub fn time(&self, name: &str) -> Option<i64> {
        self.times.get(name).copied()
    }
}

impl Cdr {
    /// A channel variable, percent-decoded.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }

    /// Whether the leg was answered. A parked caller counts: the dialplan answers before
    /// `park`, so a caller who abandons the queue was still answered by the switch.
    pub fn answered(&self) -> bool {
        self.answer_epoch.is_some() || self.answer_uepoch.is_some()
    }

    /// The switchdesk queue the call went through (`switchdesk_queue`), if any.
    pub fn queue(&self) -> Option<&str> {
        self.non_empty(vars::QUEUE)
    }

    /// The other leg this one was bridged to. The captures carry `bridge_uuid`, `signal_bond`
    /// and `last_bridge_to` on both legs of a bridge; `originated_legs` (`ARRAY::uuid;name;num`)
    /// is the last resort.
    pub fn bleg_uuid(&self) -> Option<&str> {
        ["bridge_uuid", "signal_bond", "last_bridge_to"]
            .iter()
            .find_map(|name| self.non_empty(name))
            .or_else(|| self.first_originated_leg())
    }

    /// The fax result, when the leg ran rxfax or txfax far enough to report one.
    pub fn fax(&self) -> Option<FaxOutcome> {
        if self.variable("fax_result_code").is_none() && self.variable("fax_success").is_none() {
            return None;
        }
        Some(FaxOutcome::read(|name| {
            self.variable(name).map(Cow::Borrowed)
        }))
    }

    /// The fax result of a leg that received a fax (it ran `rxfax`). The sending leg of a fax
    /// (`txfax`) carries the same `fax_*` variables but received nothing.
    pub fn received_fax(&self) -> Option<FaxOutcome> {
        if !self.app_log.iter().any(|app| app.app_name == "rxfax") {
            return None;
        }
        self.fax()
    }

    /// A channel variable that is set and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.variable(name).filter(|v| !v.is_empty())
    }

    fn first_originated_leg(&self) -> Option<&str> {
        let legs = self.non_empty("originated_legs")?;
        let first = legs.strip_prefix("ARRAY::").unwrap_or(legs);
        let first = first.split("|:").next()?;
        first.split(';').next().filter(|uuid| !uuid.is_empty())
    }
}

/// The `cdr` field of an `application/x-www-form-urlencoded` body, decoded (`%XX` and `+`).
/// mod_xml_cdr writes spaces as `%20`, so `+` never appears in its bodies; it is decoded as a
/// space anyway because that is what the content type means.
pub fn cdr_from_form(body: &[u8]) -> Result<Vec<u8>, CdrError> {
    if body.len() > MAX_FORM_BYTES {
        return Err(CdrError::TooLarge {
            len: body.len(),
            limit: MAX_FORM_BYTES,
        });
    }
    let mut offset = 0;
    for pair in body.split(|&b| b == b'&') {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        if form_decode(name, offset)? == b"cdr" {
            return form_decode(value, offset + name.len() + 1);
        }
        offset += pair.len() + 1;
    }
    Err(CdrError::MissingFormField)
}

/// Decodes one form component; `base` is its offset in the body, for the error message.
fn form_decode(bytes: &[u8], base: usize) -> Result<Vec<u8>, CdrError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|&h| percent::hex_value(h));
                let lo = bytes.get(i + 2).and_then(|&l| percent::hex_value(l));
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(CdrError::BadPercentEscape(base + i));
                };
                out.push(hi << 4 | lo);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    Ok(out)
}

/// The XML of a CDR file as mod_xml_cdr leaves it on disk. `log-dir` holds the plain
/// document; `err-log-dir` holds the body whose POST failed, encoded as the `encode` setting
/// says: percent-encoded without the `cdr=` name (`encode=true`, the shipped setting), base64
/// (`encode=base64`) or plain (`textxml`, `false`). `mod_xml_cdr.c` writes that body as is.
pub fn cdr_from_file(bytes: &[u8]) -> Result<Cow<'_, [u8]>, CdrError> {
    if bytes.len() > MAX_FORM_BYTES {
        return Err(CdrError::TooLarge {
            len: bytes.len(),
            limit: MAX_FORM_BYTES,
        });
    }
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let text = &bytes[start..];
    if text.starts_with(b"<") {
        return Ok(Cow::Borrowed(bytes));
    }
    if text.len() >= 3 && text[..3].eq_ignore_ascii_case(b"%3c") {
        return form_decode(text.trim_ascii_end(), start).map(Cow::Owned);
    }
    use base64::Engine as _;
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    match base64::engine::general_purpose::STANDARD.decode(&compact) {
        Ok(xml) if xml.trim_ascii_start().starts_with(b"<") => Ok(Cow::Owned(xml)),
        _ => Err(CdrError::UnknownFileEncoding),
    }
}

/// Parses one CDR document of at most [`MAX_CDR_BYTES`].
pub fn parse_cdr(xml: &[u8]) -> Result<Cdr, CdrError> {
    parse_cdr_with_limit(xml, MAX_CDR_BYTES)
}

/// Parses one CDR document of at most `limit` bytes. No DTD is read and no entity beyond the
/// five predefined ones and numeric character references is expanded, so a small document
/// cannot grow into a large one (billion laughs) or reach outside itself (external entities).
pub fn parse_cdr_with_limit(xml: &[u8], limit: usize) -> Result<Cdr, CdrError> {
    if xml.len() > limit {
        return Err(CdrError::TooLarge {
            len: xml.len(),
            limit,
        });
    }
    // A NUL can come raw or percent-encoded in a variable (checked there); quick-xml refuses
    // `&#0;` itself, as XML says it must.
    if let Some(at) = memchr::memchr(0, xml) {
        return Err(CdrError::Nul(format!("a raw NUL byte at byte {at}")));
    }
    let mut reader = Reader::from_reader(xml);
    let mut builder = Builder::default();
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| not_xml(position, &e))?;
        match event {
            Xml::Start(e) => builder.open(&e, position)?,
            Xml::Empty(e) => {
                builder.open(&e, position)?;
                builder.close()?;
            }
            Xml::End(_) => builder.close()?,
            Xml::Text(t) => {
                let text = t.xml_content().map_err(|e| not_xml(position, &e))?;
                builder.push_text(&text);
            }
            Xml::CData(t) => {
                let text = t.decode().map_err(|e| not_xml(position, &e))?;
                builder.push_text(&text);
            }
            Xml::GeneralRef(r) => builder.push_text(&resolve_reference(&r, position)?),
            Xml::DocType(_) => return Err(CdrError::Doctype),
            Xml::Decl(_) | Xml::PI(_) | Xml::Comment(_) => {}
            Xml::Eof => break,
        }
    }
    builder.finish()
}

fn not_xml(position: u64, error: &dyn std::fmt::Display) -> CdrError {
    CdrError::NotXml {
        position,
        message: error.to_string(),
    }
}

/// `&#NN;`, `&#xNN;` and the five predefined entities; anything else is refused, since without
/// a DTD (which we refuse) no other entity can be defined.
fn resolve_reference(r: &BytesRef<'_>, position: u64) -> Result<String, CdrError> {
    if let Some(c) = r.resolve_char_ref().map_err(|e| not_xml(position, &e))? {
        return Ok(c.to_string());
    }
    let name = r.decode().map_err(|e| not_xml(position, &e))?;
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| CdrError::UnknownEntity(name.into_owned()))
}

/// Collects what the walk finds; [`Builder::finish`] turns it into a [`Cdr`].
#[derive(Default)]
struct Builder {
    path: Vec<String>,
    text: String,
    root_closed: bool,
    root_seen: bool,
    core_uuid: String,
    switchname: String,
    channel_direction: Option<String>,
    variables: BTreeMap<String, String>,
    app_log: Vec<AppLogEntry>,
    callflows: Vec<Callflow>,
}

impl Builder {
    fn open(&mut self, e: &BytesStart<'_>, position: u64) -> Result<(), CdrError> {
        if self.path.len() >= MAX_DEPTH {
            return Err(CdrError::TooDeep(MAX_DEPTH));
        }
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        if self.path.is_empty() {
            self.open_root(e, &name, position)?;
        } else if self.at(&["cdr"]) && name == "callflow" {
            let attrs = attributes(e, position)?;
            self.callflows.push(callflow_from(attrs));
        } else if self.at(&["cdr", "app_log"]) && name == "application" {
            let attrs = attributes(e, position)?;
            self.app_log.push(app_from(attrs));
        }
        self.path.push(name);
        self.text.clear();
        Ok(())
    }

    fn open_root(&mut self, e: &BytesStart<'_>, name: &str, position: u64) -> Result<(), CdrError> {
        if self.root_closed {
            return Err(CdrError::NotXml {
                position,
                message: format!("second root element <{name}> after </cdr>"),
            });
        }
        if name != "cdr" {
            return Err(CdrError::MissingRoot {
                found: format!("<{name}>"),
            });
        }
        self.root_seen = true;
        let mut attrs = attributes(e, position)?;
        self.core_uuid = attrs.remove("core-uuid").unwrap_or_default();
        self.switchname = attrs.remove("switchname").unwrap_or_default();
        Ok(())
    }

    /// Text between tags; only the text of the innermost element is kept, whitespace between
    /// siblings is cleared by the next `open`.
    fn push_text(&mut self, text: &str) {
        if !self.path.is_empty() {
            self.text.push_str(text);
        }
    }

    /// Ends the innermost element and files its text by where it sits. quick-xml already
    /// checks that end tags match their start tags.
    fn close(&mut self) -> Result<(), CdrError> {
        let Some(name) = self.path.pop() else {
            return Ok(());
        };
        let text = std::mem::take(&mut self.text);
        if self.at(&["cdr", "variables"]) {
            self.add_variable(name, &text)?;
        } else if self.at(&["cdr", "channel_data"]) && name == "direction" {
            self.channel_direction = Some(text);
        } else if self.at(&["cdr", "callflow", "caller_profile"]) {
            if let Some(flow) = self.callflows.last_mut() {
                flow.caller_profile.set(&name, text);
            }
        } else if self.at(&["cdr", "callflow", "times"]) {
            if let (Some(flow), Ok(value)) = (self.callflows.last_mut(), text.trim().parse()) {
                flow.times.insert(name, value);
            }
        } else if self.path.is_empty() {
            self.root_closed = true;
        }
        Ok(())
    }

    /// Variables are percent-encoded inside the XML; decode once. A repeated element is an
    /// array variable and reads as `ARRAY::a|:b`, like the ESL event formats.
    fn add_variable(&mut self, name: String, raw: &str) -> Result<(), CdrError> {
        let value = percent::decode(raw);
        if value.contains('\0') {
            return Err(CdrError::Nul(format!("variable {name:?}, written %00")));
        }
        match self.variables.get_mut(&name) {
            Some(existing) => {
                if !existing.starts_with("ARRAY::") {
                    existing.insert_str(0, "ARRAY::");
                }
                existing.push_str("|:");
                existing.push_str(&value);
            }
            None => {
                self.variables.insert(name, value.into_owned());
            }
        }
        Ok(())
    }

    fn at(&self, path: &[&str]) -> bool {
        self.path.len() == path.len() && self.path.iter().zip(path).all(|(a, b)| a == b)
    }

    fn finish(self) -> Result<Cdr, CdrError> {
        if !self.root_seen {
            return Err(CdrError::MissingRoot {
                found: "no element".into(),
            });
        }
        if !self.root_closed {
            return Err(CdrError::Truncated);
        }
        let uuid = match self.variables.get("uuid") {
            Some(uuid) if !uuid.is_empty() => uuid.clone(),
            _ => return Err(CdrError::MissingUuid),
        };
        let vars = &self.variables;
        let direction = vars
            .get("direction")
            .cloned()
            .or(self.channel_direction)
            .unwrap_or_default();
        Ok(Cdr {
            core_uuid: self.core_uuid,
            switchname: self.switchname,
            uuid,
            direction,
            caller: self
                .callflows
                .first()
                .map(|flow| flow.caller_profile.clone())
                .unwrap_or_default(),
            start_epoch: moment(vars, "start_epoch"),
            answer_epoch: moment(vars, "answer_epoch"),
            end_epoch: moment(vars, "end_epoch"),
            start_uepoch: moment(vars, "start_uepoch"),
            answer_uepoch: moment(vars, "answer_uepoch"),
            end_uepoch: moment(vars, "end_uepoch"),
            duration: number(vars, "duration"),
            billsec: number(vars, "billsec"),
            waitsec: number(vars, "waitsec"),
            hangup_cause: vars.get("hangup_cause").filter(|v| !v.is_empty()).cloned(),
            hangup_cause_q850: number(vars, "hangup_cause_q850"),
            app_log: self.app_log,
            callflows: self.callflows,
            variables: self.variables,
        })
    }
}

/// A numeric variable; `None` when absent or not a number (a CDR is kept even if one value
/// is odd: the raw text is still in `variables`).
fn number<T: std::str::FromStr>(vars: &BTreeMap<String, String>, name: &str) -> Option<T> {
    vars.get(name).and_then(|v| v.trim().parse().ok())
}

/// An epoch variable, where FreeSWITCH writes 0 for "never happened".
fn moment(vars: &BTreeMap<String, String>, name: &str) -> Option<i64> {
    number(vars, name).filter(|&v: &i64| v != 0)
}

/// An element's attributes, unescaped (predefined entities and character references only).
fn attributes(e: &BytesStart<'_>, position: u64) -> Result<BTreeMap<String, String>, CdrError> {
    let mut out = BTreeMap::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| not_xml(position, &err))?;
        let value = attr
            .unescape_value()
            .map_err(|err| not_xml(position, &err))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        out.insert(key, value.into_owned());
    }
    Ok(out)
}

fn callflow_from(mut attrs: BTreeMap<String, String>) -> Callflow {
    Callflow {
        dialplan: attrs.remove("dialplan").unwrap_or_default(),
        unique_id: attrs.remove("unique-id").unwrap_or_default(),
        profile_index: attrs.get("profile_index").and_then(|v| v.parse().ok()),
        ..Callflow::default()
    }
}

fn app_from(mut attrs: BTreeMap<String, String>) -> AppLogEntry {
    AppLogEntry {
        app_name: attrs.remove("app_name").unwrap_or_default(),
        app_data: attrs.remove("app_data").unwrap_or_default(),
        app_stamp: attrs.get("app_stamp").and_then(|v| v.parse().ok()),
    }
}

impl CallerProfile {
    /// Files one direct child of `caller_profile`; unknown children are ignored.
    fn set(&mut self, field: &str, value: String) {
        let slot = match field {
            "username" => &mut self.username,
            "dialplan" => &mut self.dialplan,
            "caller_id_name" => &mut self.caller_id_name,
            "caller_id_number" => &mut self.caller_id_number,
            "callee_id_name" => &mut self.callee_id_name,
            "callee_id_number" => &mut self.callee_id_number,
            "ani" => &mut self.ani,
            "aniii" => &mut self.aniii,
            "network_addr" => &mut self.network_addr,
            "rdnis" => &mut self.rdnis,
            "destination_number" => &mut self.destination_number,
            "uuid" => &mut self.uuid,
            "source" => &mut self.source,
            "context" => &mut self.context,
            "chan_name" => &mut self.chan_name,
            _ => return,
        };
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"<?xml version="1.0"?>
<cdr core-uuid="core-1" switchname="vm">
  <variables>
    <uuid>u-1</uuid>
    <direction>inbound</direction>
    <sip_subject>cc%20fixture</sip_subject>
    <DP_MATCH>7000</DP_MATCH>
    <DP_MATCH>7%25</DP_MATCH>
    <answer_epoch>0</answer_epoch>
    <billsec>0</billsec>
    <note>a &amp; b &#x41;</note>
  </variables>
  <callflow dialplan="XML" unique-id="cf-1" profile_index="1">
    <caller_profile>
      <caller_id_number>+15550001</caller_id_number>
      <originatee><originatee_caller_profile>
        <caller_id_number>agent</caller_id_number>
      </originatee_caller_profile></originatee>
    </caller_profile>
    <times><created_time>17</created_time></times>
  </callflow>
</cdr>"#;

    #[test]
    fn minimal_document_is_walked_by_path() -> Result<(), CdrError> {
        let cdr = parse_cdr(MINIMAL.as_bytes())?;
        assert_eq!(cdr.core_uuid, "core-1");
        assert_eq!(cdr.uuid, "u-1");
        assert_eq!(cdr.variable("sip_subject"), Some("cc fixture"));
        assert_eq!(cdr.variable("DP_MATCH"), Some("ARRAY::7000|:7%"));
        assert_eq!(cdr.variable("note"), Some("a & b A"));
        assert_eq!(cdr.caller.caller_id_number, "+15550001");
        assert_eq!(cdr.callflows[0].time("created_time"), Some(17));
        assert!(!cdr.answered());
        assert_eq!(cdr.fax(), None);
        Ok(())
    }

    #[test]
    fn form_decoding_handles_plus_percent_and_other_fields() -> Result<(), CdrError> {
        assert_eq!(cdr_from_form(b"a=1&cdr=%3Cx%3E+y&b=2")?, b"<x> y");
        assert_eq!(cdr_from_form(b"x=1"), Err(CdrError::MissingFormField));
        assert_eq!(
            cdr_from_form(b"cdr=ab%4"),
            Err(CdrError::BadPercentEscape(6))
        );
        Ok(())
    }

    #[test]
    fn hostile_documents_are_refused() {
        let doctype = br#"<!DOCTYPE x [<!ENTITY a "aaaa">]><cdr>&a;</cdr>"#;
        assert_eq!(parse_cdr(doctype), Err(CdrError::Doctype));
        assert_eq!(
            parse_cdr(b"<cdr>&a;</cdr>"),
            Err(CdrError::UnknownEntity("a".into()))
        );
        assert_eq!(parse_cdr(b"<cdr><variables>"), Err(CdrError::Truncated));
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse_cdr(format!("<cdr>{deep}").as_bytes()),
            Err(CdrError::TooDeep(MAX_DEPTH))
        );
        assert_eq!(parse_cdr(b"<cdr></cdr>"), Err(CdrError::MissingUuid));
    }

    #[test]
    fn a_nul_character_however_written_refuses_the_document() {
        let with = |inner: &str| MINIMAL.replace("<billsec>0</billsec>", inner);
        for (document, place) in [
            (with("<billsec>0\0</billsec>"), "raw NUL byte"),
            (with("<x>a%00b</x>"), "variable \"x\""),
        ] {
            match parse_cdr(document.as_bytes()) {
                Err(CdrError::Nul(at)) => assert!(at.contains(place), "{at}"),
                other => panic!("{document}: {other:?}"),
            }
        }
        for document in [
            with("<x>a&#0;b</x>"),
            with("<x>a&#x0;b</x>"),
            MINIMAL.replace("switchname=\"vm\"", "switchname=\"v&#0;m\""),
        ] {
            match parse_cdr(document.as_bytes()) {
                Err(CdrError::NotXml { message, .. }) => {
                    assert!(message.contains("not permitted"), "{message}")
                }
                other => panic!("{document}: {other:?}"),
            }
        }
        // `%2500` is the text `%00`, not a NUL.
        let cdr = parse_cdr(with("<x>100%2500</x>").as_bytes()).unwrap();
        assert_eq!(cdr.variable("x"), Some("100%00"));
    }
}
