//! An ESL event in any of the formats FreeSWITCH sends: `text/event-plain` (URL-encoded
//! `Name: value` lines), `text/event-json` (one flat object) and `text/event-xml`.
//!
//! Parsing only indexes where each header's name and value lie in the received bytes; a value is
//! decoded when it is read, and borrowed when there is nothing to decode. Names compare without
//! regard to case. FreeSWITCH repeats some headers (COMMAND/PRIVATE_COMMAND carries two whole
//! header sets; HANGUP_COMPLETE carries `Hangup-Cause` twice): [`Event::get`] answers with the
//! last occurrence, as a JSON parser does, so every format reads the same; [`Event::get_all`]
//! gives each of them. Multi-valued variables read as FreeSWITCH's plain form `ARRAY::a|:b` in
//! every format.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use memchr::{memchr, memchr2};
use serde::{Deserialize, Serialize};

use super::frame::{Frame, FrameKind};
use super::percent;

/// The three encodings `event <format> ...` can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EventFormat {
    #[default]
    Plain,
    Json,
    Xml,
}

impl EventFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            EventFormat::Plain => "plain",
            EventFormat::Json => "json",
            EventFormat::Xml => "xml",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            EventFormat::Plain => "text/event-plain",
            EventFormat::Json => "text/event-json",
            EventFormat::Xml => "text/event-xml",
        }
    }
}

impl fmt::Display for EventFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "plain" => Ok(EventFormat::Plain),
            "json" => Ok(EventFormat::Json),
            "xml" => Ok(EventFormat::Xml),
            other => Err(format!(
                "unknown event format {other:?} (plain, json or xml)"
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not an event frame (content type {0:?})")]
    NotAnEvent(Option<String>),
    #[error("event is not UTF-8 (at byte {0})")]
    NotUtf8(usize),
    #[error("malformed plain event header at byte {0}")]
    MalformedHeader(usize),
    #[error(
        "event body is shorter than its Content-Length ({declared} declared, {available} present)"
    )]
    ShortBody { declared: usize, available: usize },
    #[error("malformed json event at byte {0}: {1}")]
    Json(usize, &'static str),
    #[error("malformed xml event: {0}")]
    Xml(String),
}

#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        // Frames are bounded far below 4 GiB by the parser's limit.
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// How a value's bytes are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    /// URL-encoded (plain and xml formats).
    Percent,
    /// Taken as it is: a JSON string without escapes, or a body.
    Verbatim,
    /// The inside of a JSON string with backslash escapes.
    JsonEscaped,
    /// A JSON array of strings, including the brackets.
    JsonArray,
}

#[derive(Clone, Copy, Debug)]
struct Field {
    name: Span,
    value: Span,
    encoding: Encoding,
}

/// Where the two headers every consumer reads of every event lie (their last occurrence, as
/// [`Event::get`] answers), noted while parsing so reading them is no search.
#[derive(Clone, Copy, Debug, Default)]
struct Known {
    name: Option<u32>,
    unique_id: Option<u32>,
}

impl Known {
    /// Notes field `index`, named by `name` within `raw`.
    fn see(&mut self, raw: &[u8], name: Span, index: usize) {
        let Some(bytes) = raw.get(name.range()) else {
            return;
        };
        match bytes.len() {
            10 if bytes.eq_ignore_ascii_case(b"Event-Name") => self.name = Some(index as u32),
            9 if bytes.eq_ignore_ascii_case(b"Unique-ID") => self.unique_id = Some(index as u32),
            _ => {}
        }
    }

    fn of(raw: &[u8], fields: &[Field]) -> Known {
        let mut known = Known::default();
        for (index, field) in fields.iter().enumerate() {
            known.see(raw, field.name, index);
        }
        known
    }
}

#[derive(Clone)]
pub struct Event {
    /// Plain and json: the event text as received. Xml: names and values re-laid after XML
    /// unescaping (still URL-encoded, as on the wire).
    raw: Bytes,
    format: EventFormat,
    fields: Vec<Field>,
    known: Known,
    body: Option<(Span, Encoding)>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("format", &self.format)
            .field("name", &self.name())
            .field("headers", &self.fields.len())
            .finish()
    }
}

impl Event {
    /// The event carried by a `text/event-*` frame.
    pub fn from_frame(frame: &Frame) -> Result<Event, EventError> {
        let format = match frame.kind() {
            FrameKind::EventPlain => EventFormat::Plain,
            FrameKind::EventJson => EventFormat::Json,
            FrameKind::EventXml => EventFormat::Xml,
            _ => {
                return Err(EventError::NotAnEvent(
                    frame.content_type().map(str::to_owned),
                ))
            }
        };
        Event::parse(format, frame.body().clone())
    }

    /// An event serialized in `format`, e.g. the body of `uuid_dump <uuid>` (plain) or
    /// `uuid_dump <uuid> json`.
    pub fn parse(format: EventFormat, raw: Bytes) -> Result<Event, EventError> {
        match format {
            EventFormat::Plain => parse_plain(raw),
            EventFormat::Json => parse_json(raw),
            EventFormat::Xml => parse_xml(&raw),
        }
    }

    pub fn format(&self) -> EventFormat {
        self.format
    }

    fn text(&self, span: Span) -> &str {
        // Spans always fall on ASCII delimiters of text checked as UTF-8 at parse time.
        self.raw
            .get(span.range())
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    fn value(&self, field: &Field) -> Cow<'_, str> {
        let text = self.text(field.value);
        match field.encoding {
            Encoding::Percent => percent::decode(text),
            Encoding::Verbatim => Cow::Borrowed(text),
            Encoding::JsonEscaped => Cow::Owned(json_unescape(text)),
            Encoding::JsonArray => Cow::Owned(json_array_to_plain(text)),
        }
    }

    fn matching<'a>(&'a self, name: &'a str) -> impl DoubleEndedIterator<Item = &'a Field> + 'a {
        // Names are compared as bytes: an ASCII-insensitive match needs no UTF-8 check.
        let name = name.as_bytes();
        self.fields.iter().filter(move |f| {
            f.name.end - f.name.start == name.len() as u32
                && self
                    .raw
                    .get(f.name.range())
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }

    /// The value of a header (its last occurrence), decoded.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.matching(name).next_back().map(|f| self.value(f))
    }

    /// Every occurrence of a header, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        self.matching(name).map(|f| self.value(f))
    }

    /// A channel variable: `variable(x)` reads `variable_x`.
    pub fn variable(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut key = String::with_capacity(9 + name.len());
        key.push_str("variable_");
        key.push_str(name);
        self.get(&key).map(|v| Cow::Owned(v.into_owned()))
    }

    /// Every header in order, names as sent, values decoded.
    pub fn headers(&self) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
        self.fields
            .iter()
            .map(|f| (self.text(f.name), self.value(f)))
    }

    pub fn header_count(&self) -> usize {
        self.fields.len()
    }

    pub fn name(&self) -> Option<Cow<'_, str>> {
        self.known_value(self.known.name)
    }

    fn known_value(&self, index: Option<u32>) -> Option<Cow<'_, str>> {
        index
            .and_then(|i| self.fields.get(i as usize))
            .map(|f| self.value(f))
    }

    pub fn is(&self, event_name: &str) -> bool {
        self.name().is_some_and(|n| n == event_name)
    }

    /// `Event-Subclass` of a CUSTOM event (URL-decoded: `spandsp::rxfaxresult`).
    pub fn subclass(&self) -> Option<Cow<'_, str>> {
        self.get("Event-Subclass")
    }

    pub fn unique_id(&self) -> Option<Cow<'_, str>> {
        self.known_value(self.known.unique_id)
    }

    pub fn job_uuid(&self) -> Option<Cow<'_, str>> {
        self.get("Job-UUID")
    }

    pub fn sequence(&self) -> Option<u64> {
        self.get("Event-Sequence").and_then(|s| s.parse().ok())
    }

    /// The body (BACKGROUND_JOB results, RECV_INFO payloads, sendmsg bodies).
    pub fn body(&self) -> Option<Cow<'_, str>> {
        self.body.map(|(span, encoding)| {
            let text = self.text(span);
            match encoding {
                Encoding::JsonEscaped => Cow::Owned(json_unescape(text)),
                _ => Cow::Borrowed(text),
            }
        })
    }

    /// Headers as a JSON object (a header that occurs more than once becomes an array of its
    /// values, in order), with the body under `_body` as FreeSWITCH's own json format has it.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        let mut map = serde_json::Map::with_capacity(self.fields.len() + 1);
        for (name, value) in self.headers() {
            let value = Value::String(value.into_owned());
            match map.get_mut(name) {
                None => {
                    map.insert(name.to_owned(), value);
                }
                Some(Value::Array(values)) => values.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
            }
        }
        if let Some(body) = self.body() {
            map.insert("_body".into(), Value::String(body.into_owned()));
        }
        map
    }
}

fn parse_plain(raw: Bytes) -> Result<Event, EventError> {
    std::str::from_utf8(&raw).map_err(|e| EventError::NotUtf8(e.valid_up_to()))?;
    let mut fields = Vec::with_capacity(160);
    let mut known = Known::default();
    let mut body = None;
    let mut inner_length: Option<usize> = None;
    let mut pos = 0;
    let bytes = &raw[..];
    while pos < bytes.len() {
        let end = memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
        if end == pos {
            // The blank line ends the headers; an inner Content-Length announces a body.
            if let Some(len) = inner_length {
                let start = end + 1;
                let available = bytes.len().saturating_sub(start);
                if available < len {
                    return Err(EventError::ShortBody {
                        declared: len,
                        available,
                    });
                }
                body = Some((Span::new(start, start + len), Encoding::Percent));
            }
            break;
        }
        let line = &bytes[pos..end];
        let colon = memchr(b':', line)
            .filter(|&c| c > 0)
            .ok_or(EventError::MalformedHeader(pos))?;
        let value_start = if line.get(colon + 1) == Some(&b' ') {
            colon + 2
        } else {
            colon + 1
        };
        let name = &line[..colon];
        if name.len() == 14 && name.eq_ignore_ascii_case(b"Content-Length") {
            let text = std::str::from_utf8(&line[value_start..]).unwrap_or("");
            inner_length = Some(
                text.trim()
                    .parse()
                    .map_err(|_| EventError::MalformedHeader(pos))?,
            );
        }
        let name = Span::new(pos, pos + colon);
        known.see(bytes, name, fields.len());
        fields.push(Field {
            name,
            value: Span::new(pos + value_start, end),
            encoding: Encoding::Percent,
        });
        pos = end + 1;
    }
    Ok(Event {
        raw,
        format: EventFormat::Plain,
        fields,
        known,
        body: body.map(|(span, _)| (span, Encoding::Verbatim)),
    })
}

/// A scanner for the flat objects FreeSWITCH's json format produces: string keys whose values
/// are strings, arrays of strings or (defensively) bare scalars.
struct JsonScan<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> JsonScan<'a> {
    fn err(&self, what: &'static str) -> EventError {
        EventError::Json(self.pos, what)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), EventError> {
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.pos).copied()
    }

    /// After the opening quote: the span of the string's inside and whether it has escapes.
    fn string(&mut self) -> Result<(Span, bool), EventError> {
        let start = self.pos;
        let mut escaped = false;
        loop {
            let Some(i) = memchr2(b'"', b'\\', &self.bytes[self.pos..]) else {
                return Err(self.err("unterminated string"));
            };
            self.pos += i;
            if self.bytes[self.pos] == b'\\' {
                escaped = true;
                self.pos += 2;
                if self.pos > self.bytes.len() {
                    return Err(self.err("unterminated escape"));
                }
            } else {
                let span = Span::new(start, self.pos);
                self.pos += 1;
                return Ok((span, escaped));
            }
        }
    }

    fn value(&mut self) -> Result<(Span, Encoding), EventError> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                let (span, escaped) = self.string()?;
                Ok((
                    span,
                    if escaped {
                        Encoding::JsonEscaped
                    } else {
                        Encoding::Verbatim
                    },
                ))
            }
            Some(b'[') => {
                let start = self.pos;
                self.pos += 1;
                if self.peek() == Some(b']') {
                    self.pos += 1;
                } else {
                    loop {
                        self.expect(b'"', "expected a string in an array")?;
                        self.string()?;
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.err("expected , or ] in an array")),
                        }
                    }
                }
                Ok((Span::new(start, self.pos), Encoding::JsonArray))
            }
            Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                let start = self.pos;
                while let Some(b) = self.bytes.get(self.pos) {
                    if matches!(b, b',' | b'}' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.pos += 1;
                }
                Ok((Span::new(start, self.pos), Encoding::Verbatim))
            }
            _ => Err(self.err("expected a value")),
        }
    }
}

fn parse_json(raw: Bytes) -> Result<Event, EventError> {
    std::str::from_utf8(&raw).map_err(|e| EventError::NotUtf8(e.valid_up_to()))?;
    let mut scan = JsonScan {
        bytes: &raw,
        pos: 0,
    };
    let mut fields = Vec::with_capacity(160);
    let mut known = Known::default();
    let mut body = None;
    scan.expect(b'{', "expected {")?;
    if scan.peek() == Some(b'}') {
        scan.pos += 1;
    } else {
        loop {
            scan.expect(b'"', "expected a key")?;
            let (name, _) = scan.string()?;
            scan.expect(b':', "expected :")?;
            let (value, encoding) = scan.value()?;
            if &raw[name.range()] == b"_body" {
                body = Some((value, encoding));
            } else {
                known.see(&raw, name, fields.len());
                fields.push(Field {
                    name,
                    value,
                    encoding,
                });
            }
            match scan.peek() {
                Some(b',') => scan.pos += 1,
                Some(b'}') => {
                    scan.pos += 1;
                    break;
                }
                _ => return Err(scan.err("expected , or }")),
            }
        }
    }
    if scan.peek().is_some() {
        return Err(scan.err("trailing bytes after the object"));
    }
    Ok(Event {
        raw,
        format: EventFormat::Json,
        fields,
        known,
        body,
    })
}

fn parse_xml(raw: &[u8]) -> Result<Event, EventError> {
    use quick_xml::events::Event as Xml;

    let xml_err = |e: &dyn fmt::Display| EventError::Xml(e.to_string());
    let mut reader = quick_xml::Reader::from_reader(raw);
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut fields = Vec::with_capacity(160);
    let mut path: Vec<Vec<u8>> = Vec::with_capacity(4);
    let mut text = String::new();
    let mut body_text: Option<String> = None;
    let mut declared_length: Option<usize> = None;
    loop {
        match reader.read_event().map_err(|e| xml_err(&e))? {
            Xml::Start(e) => {
                if path.len() > 8 {
                    return Err(EventError::Xml("nesting too deep".into()));
                }
                path.push(e.name().as_ref().to_vec());
                text.clear();
            }
            Xml::Empty(e) if path.len() == 2 && path[1] == b"headers" => {
                let start = out.len();
                out.extend_from_slice(e.name().as_ref());
                let name = Span::new(start, out.len());
                fields.push(Field {
                    name,
                    value: Span::new(out.len(), out.len()),
                    encoding: Encoding::Percent,
                });
            }
            Xml::Text(t) => text.push_str(&t.xml_content().map_err(|e| xml_err(&e))?),
            Xml::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Xml::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| xml_err(&e))? {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| xml_err(&e))?;
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| EventError::Xml(format!("unknown entity &{name};")))?;
                    text.push_str(resolved);
                }
            }
            Xml::End(_) => {
                let Some(element) = path.pop() else {
                    return Err(EventError::Xml("unbalanced end tag".into()));
                };
                match (path.len(), path.get(1).map(Vec::as_slice)) {
                    (2, Some(b"headers")) => {
                        // A multi-valued variable is one element per value in xml; read it as
                        // the `ARRAY::a|:b` the other formats give.
                        if let Some(last) = fields.last_mut().filter(|f| {
                            element.starts_with(b"variable_")
                                && out[f.name.range()] == element[..]
                                && f.value.end as usize == out.len()
                        }) {
                            let previous = out.split_off(last.value.start as usize);
                            if !previous.starts_with(b"ARRAY::") {
                                out.extend_from_slice(b"ARRAY::");
                            }
                            out.extend_from_slice(&previous);
                            out.extend_from_slice(b"|:");
                            out.extend_from_slice(text.as_bytes());
                            last.value.end = out.len() as u32;
                            text.clear();
                            continue;
                        }
                        let start = out.len();
                        out.extend_from_slice(&element);
                        let name = Span::new(start, out.len());
                        let start = out.len();
                        out.extend_from_slice(text.as_bytes());
                        fields.push(Field {
                            name,
                            value: Span::new(start, out.len()),
                            encoding: Encoding::Percent,
                        });
                    }
                    (1, _) if element == b"Content-Length" => {
                        declared_length = text.trim().parse().ok();
                    }
                    (1, _) if element == b"body" => body_text = Some(std::mem::take(&mut text)),
                    _ => {}
                }
                text.clear();
            }
            Xml::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(EventError::Xml("document ended inside an element".into()));
    }
    let body = match body_text {
        None => None,
        Some(mut body) => {
            // The switch pretty-prints `<body>` with indentation after the payload; the
            // declared length says where the payload ends.
            if let Some(len) = declared_length {
                if len > body.len() {
                    return Err(EventError::ShortBody {
                        declared: len,
                        available: body.len(),
                    });
                }
                let mut cut = len;
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                body.truncate(cut);
            }
            // Plain and json list the body's length among the headers; so does xml, read here.
            let start = out.len();
            out.extend_from_slice(b"Content-Length");
            let name = Span::new(start, out.len());
            let start = out.len();
            out.extend_from_slice(body.len().to_string().as_bytes());
            fields.push(Field {
                name,
                value: Span::new(start, out.len()),
                encoding: Encoding::Verbatim,
            });
            let start = out.len();
            out.extend_from_slice(body.as_bytes());
            Some((Span::new(start, out.len()), Encoding::Verbatim))
        }
    };
    let known = Known::of(&out, &fields);
    Ok(Event {
        raw: Bytes::from(out),
        format: EventFormat::Xml,
        fields,
        known,
        body,
    })
}

fn json_unescape(inside: &str) -> String {
    let quoted = format!("\"{inside}\"");
    serde_json::from_str::<String>(&quoted).unwrap_or_else(|_| inside.to_owned())
}

/// `["a","b"]` → `ARRAY::a|:b`, the way FreeSWITCH writes a multi-valued variable in plain.
fn json_array_to_plain(array: &str) -> String {
    match serde_json::from_str::<Vec<String>>(array) {
        Ok(items) => format!("ARRAY::{}", items.join("|:")),
        Err(_) => array.to_owned(),
    }
}

/// The items of a multi-valued variable (`ARRAY::a|:b`), or the single value.
pub fn array_items(value: &str) -> Vec<&str> {
    match value.strip_prefix("ARRAY::") {
        Some(rest) => rest.split("|:").collect(),
        None => vec![value],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_event_with_body_and_repeated_headers() {
        let raw = "Event-Name: COMMAND\nEvent-Sequence: 1\nEvent-Name: PRIVATE_COMMAND\nChannel-Name: sofia/external/%2B1555%40h\nContent-Length: 5\n\n+OK\r\n";
        let e = Event::parse(EventFormat::Plain, Bytes::from(raw)).unwrap();
        assert_eq!(e.name().unwrap(), "PRIVATE_COMMAND");
        assert_eq!(
            e.get_all("event-name").collect::<Vec<_>>(),
            ["COMMAND", "PRIVATE_COMMAND"]
        );
        assert_eq!(e.get("channel-name").unwrap(), "sofia/external/+1555@h");
        assert_eq!(e.body().unwrap(), "+OK\r\n");
    }

    #[test]
    fn json_event_arrays_escapes_and_body() {
        let raw = r#"{"Event-Name":"BACKGROUND_JOB","variable_DP_MATCH":["7000","7000"],"Caller-Caller-ID-Name":"Caller \"1\"","Hangup-Cause":"A","Hangup-Cause":"B","Content-Length":"4","_body":"+OK\n"}"#;
        let e = Event::parse(EventFormat::Json, Bytes::from(raw)).unwrap();
        assert_eq!(e.variable("DP_MATCH").unwrap(), "ARRAY::7000|:7000");
        assert_eq!(
            array_items(&e.variable("DP_MATCH").unwrap()),
            ["7000", "7000"]
        );
        assert_eq!(e.get("caller-caller-id-name").unwrap(), "Caller \"1\"");
        assert_eq!(e.get("Hangup-Cause").unwrap(), "B");
        assert_eq!(e.body().unwrap(), "+OK\n");
    }

    #[test]
    fn json_strings_of_every_length_read_whole() {
        for len in 0..80 {
            let text = "a".repeat(len);
            let raw =
                format!(r#"{{"Event-Name":"CUSTOM","Plain":"{text}","Escaped":"{text}\\b"}}"#);
            let e = Event::parse(EventFormat::Json, Bytes::from(raw)).unwrap();
            assert_eq!(e.get("Plain").unwrap(), text, "{len}");
            assert_eq!(e.get("Escaped").unwrap(), format!("{text}\\b"), "{len}");
        }
        let long = format!(
            r#"{{"Event-Name":"CUSTOM","Unique-ID":"u-1","Long":"{}\"quoted\" and more","Unique-ID":"u-2"}}"#,
            "x".repeat(40)
        );
        let e = Event::parse(EventFormat::Json, Bytes::from(long)).unwrap();
        assert_eq!(
            e.get("Long").unwrap(),
            format!("{}\"quoted\" and more", "x".repeat(40))
        );
        assert_eq!(e.name().unwrap(), "CUSTOM");
        // The last occurrence, as `get` answers.
        assert_eq!(e.unique_id().unwrap(), "u-2");
    }

    #[test]
    fn broken_events_are_errors_not_panics() {
        for bad in [
            "{",
            "{\"a\":",
            "{\"a\":\"b\"",
            "{\"a\":[\"b\",}",
            "{\"a\":\"b\"} x",
            "[]",
        ] {
            assert!(
                Event::parse(EventFormat::Json, Bytes::from(bad)).is_err(),
                "{bad}"
            );
        }
        assert!(Event::parse(EventFormat::Plain, Bytes::from("no colon here\n\n")).is_err());
        assert!(Event::parse(EventFormat::Plain, Bytes::from("Content-Length: 9\n\nab")).is_err());
        assert!(Event::parse(
            EventFormat::Xml,
            Bytes::from("<event><headers><a>1</headers>")
        )
        .is_err());
        assert!(Event::parse(
            EventFormat::Xml,
            Bytes::from("<event><headers><a>&bogus;</a></headers></event>")
        )
        .is_err());
    }

    #[test]
    fn xml_event_values_and_body() {
        let raw = "<event>\n  <headers>\n    <Event-Name>BACKGROUND_JOB</Event-Name>\n    <Job-Command-Arg>%7Ba%3Db%7D&amp;x</Job-Command-Arg>\n  </headers>\n  <Content-Length>4</Content-Length>\n  <body>+OK\n  </body>\n</event>\n";
        let e = Event::parse(EventFormat::Xml, Bytes::from(raw)).unwrap();
        assert_eq!(e.name().unwrap(), "BACKGROUND_JOB");
        assert_eq!(e.get("Job-Command-Arg").unwrap(), "{a=b}&x");
        assert_eq!(e.body().unwrap(), "+OK\n");
    }
}
