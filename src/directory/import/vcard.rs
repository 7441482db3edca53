//! vCard contacts (RFC 2426 3.0, RFC 6350 4.0; 2.1 read leniently): one contact per
//! `BEGIN:VCARD` … `END:VCARD`, read a property at a time. Folded lines are unfolded,
//! quoted-printable values (2.1) decoded, `\,` `\;` `\n` `\\` unescaped.
//!
//! Read: `N` (family name → last name; given and additional names → first name), `FN` (the
//! first name when `N` has none), `NICKNAME` (aliases), `TEL` (kind from `TYPE`), `EMAIL`,
//! `ORG` (the organization, by name), `NOTE`, `UID` (the external id), `LANG`, `KIND`. Other
//! properties (photos, addresses...) are skipped without being kept in memory. A `TEL` that
//! is not a readable number is left out and named (`TEL on line N: ...`); the card is stored
//! with its other numbers.

use std::borrow::Cow;
use std::io::BufRead;

use super::fields;
use super::lines::{Line, Lines};
use super::{NextRow, OrganizationLink, ReadRow, Row, RowError};
use crate::directory::model::{problems_of_contact, Contact, Number, NumberKind};
use crate::directory::number::Numbering;

/// Longest property kept (a note, say); a longer one fails its card.
const MAX_PROPERTY: usize = 64 * 1024;
/// Most text kept from the properties of one card.
const MAX_CARD: usize = 1024 * 1024;
/// Problems listed for one card; the rest are counted.
const MAX_PROBLEMS: usize = 10;

const READ: &[&str] = &[
    "N", "FN", "NICKNAME", "TEL", "EMAIL", "ORG", "NOTE", "UID", "LANG", "KIND",
];

/// A property with its continuation lines joined.
struct Logical {
    number: u64,
    text: Vec<u8>,
    too_long: bool,
}

pub(super) struct VCardSource<R> {
    lines: Lines<R>,
    /// The line after the current property, read to see whether it continues it.
    lookahead: Option<Line>,
    numbering: Numbering,
    card: Option<Card>,
    /// Inside a run of text outside any card that was already reported.
    in_stray_text: bool,
}

impl<R: BufRead> VCardSource<R> {
    pub fn new(input: R, numbering: Numbering) -> VCardSource<R> {
        VCardSource {
            lines: Lines::new(input),
            lookahead: None,
            numbering,
            card: None,
            in_stray_text: false,
        }
    }

    pub fn bytes_read(&self) -> u64 {
        self.lines.bytes_read()
    }

    pub fn next_row(&mut self) -> NextRow {
        while let Some(property) = self.next_property()? {
            if let Some(row) = self.take(property) {
                return Ok(Some(row));
            }
        }
        Ok(self.card.take().map(|card| {
            Err(RowError::new(
                card.begin,
                "the card has no END:VCARD before the end of the file",
            ))
        }))
    }

    /// Feeds one property to the open card; a finished (or abandoned) card comes out.
    fn take(&mut self, property: Logical) -> Option<Result<ReadRow, RowError>> {
        if is(&property.text, "BEGIN:VCARD") {
            self.in_stray_text = false;
            let abandoned = self.card.replace(Card::new(property.number))?;
            return Some(Err(RowError::new(
                abandoned.begin,
                format!(
                    "the card has no END:VCARD before the next BEGIN:VCARD (line {})",
                    property.number
                ),
            )));
        }
        let Some(card) = &mut self.card else {
            if property.text.iter().all(u8::is_ascii_whitespace) || self.in_stray_text {
                return None;
            }
            self.in_stray_text = true;
            return Some(Err(RowError::new(
                property.number,
                "text outside BEGIN:VCARD … END:VCARD",
            )));
        };
        if is(&property.text, "END:VCARD") {
            return self.card.take().map(Card::finish);
        }
        card.add(&property, &self.numbering);
        None
    }

    /// The next property with its folded lines (and quoted-printable soft line breaks)
    /// joined. Only properties that are read keep their continuation text.
    fn next_property(&mut self) -> std::io::Result<Option<Logical>> {
        let first = match self.lookahead.take() {
            Some(line) => line,
            None => match self.lines.next_line()? {
                Some(line) => line,
                None => return Ok(None),
            },
        };
        let keep = matches!(name_of(&first.text).as_deref(), Some(name) if READ.contains(&name));
        let quoted_printable = head_of(&first.text)
            .to_ascii_uppercase()
            .windows(16)
            .any(|w| w == b"QUOTED-PRINTABLE");
        let mut property = Logical {
            number: first.number,
            too_long: first.too_long || (keep && first.text.len() > MAX_PROPERTY),
            text: first.text,
        };
        while let Some(next) = self.lines.next_line()? {
            let folded = matches!(next.text.first(), Some(b' ' | b'\t'));
            let soft_break = quoted_printable && property.text.last() == Some(&b'=');
            if !folded && !soft_break {
                self.lookahead = Some(next);
                break;
            }
            if !keep || property.too_long {
                continue;
            }
            if soft_break {
                property.text.pop();
            }
            let continuation = if folded {
                &next.text[1..]
            } else {
                &next.text[..]
            };
            property.text.extend_from_slice(continuation);
            property.too_long = next.too_long || property.text.len() > MAX_PROPERTY;
        }
        Ok(Some(property))
    }
}

/// `BEGIN:VCARD` and the like, in any case, surrounding blanks ignored.
fn is(text: &[u8], line: &str) -> bool {
    text.trim_ascii().eq_ignore_ascii_case(line.as_bytes())
}

/// The name and parameters: everything before the first `:`.
fn head_of(text: &[u8]) -> &[u8] {
    let end = memchr::memchr(b':', text).unwrap_or(text.len());
    &text[..end]
}

/// `item1.TEL;TYPE=cell:...` → `TEL`.
fn name_of(text: &[u8]) -> Option<String> {
    let head = head_of(text);
    let end = memchr::memchr(b';', head).unwrap_or(head.len());
    let name = std::str::from_utf8(&head[..end]).ok()?;
    let name = name.rsplit('.').next().unwrap_or(name);
    Some(name.trim().to_ascii_uppercase())
}

/// One contact being read.
struct Card {
    begin: u64,
    size: usize,
    problems: Vec<String>,
    more_problems: usize,
    /// Numbers that could not be read: the card is stored without them.
    left_out: Vec<String>,
    family: Option<String>,
    given: Option<String>,
    formatted: Option<String>,
    aliases: Vec<String>,
    numbers: Vec<Number>,
    emails: Vec<String>,
    organization: Option<String>,
    notes: Vec<String>,
    uid: Option<String>,
    /// The language and its preference (1 is most preferred).
    language: Option<(u32, String)>,
}

impl Card {
    fn new(begin: u64) -> Card {
        Card {
            begin,
            size: 0,
            problems: Vec::new(),
            more_problems: 0,
            left_out: Vec::new(),
            family: None,
            given: None,
            formatted: None,
            aliases: Vec::new(),
            numbers: Vec::new(),
            emails: Vec::new(),
            organization: None,
            notes: Vec::new(),
            uid: None,
            language: None,
        }
    }

    fn problem(&mut self, problem: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        } else {
            self.more_problems += 1;
        }
    }

    fn add(&mut self, logical: &Logical, numbering: &Numbering) {
        let Some(name) = name_of(&logical.text).filter(|n| READ.contains(&n.as_str())) else {
            return;
        };
        let line = logical.number;
        self.size += logical.text.len();
        if self.size > MAX_CARD {
            if self.size - logical.text.len() <= MAX_CARD {
                self.problem(format!("the card is larger than {} KiB", MAX_CARD / 1024));
            }
            return;
        }
        if logical.too_long {
            return self.problem(format!(
                "{name} on line {line} is longer than {} KiB",
                MAX_PROPERTY / 1024
            ));
        }
        let Ok(text) = std::str::from_utf8(&logical.text) else {
            return self.problem(format!("line {line} is not valid UTF-8"));
        };
        let value = Property::parse(text).and_then(|p| p.decoded().map(|v| (p, v)));
        match value {
            // An unreadable number is left out; the card is stored with the rest.
            Ok((property, value)) if name == "TEL" => {
                if let Err(problem) = self.set(&property, &value, numbering) {
                    if self.left_out.len() < MAX_PROBLEMS {
                        self.left_out
                            .push(format!("{name} on line {line}: {problem}"));
                    }
                }
            }
            Ok((property, value)) => {
                if let Err(problem) = self.set(&property, &value, numbering) {
                    self.problem(format!("{name} on line {line}: {problem}"));
                }
            }
            Err(problem) => self.problem(format!("{name} on line {line}: {problem}")),
        }
    }

    fn set(
        &mut self,
        property: &Property<'_>,
        value: &str,
        numbering: &Numbering,
    ) -> Result<(), String> {
        match property.name.as_str() {
            "N" => {
                let parts: Vec<String> =
                    split_unescaped(value, ';').into_iter().map(words).collect();
                let given = [parts.get(1), parts.get(2)]
                    .into_iter()
                    .flatten()
                    .filter(|p| !p.is_empty())
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" ");
                self.family
                    .get_or_insert_with(|| parts.first().cloned().unwrap_or_default());
                self.given.get_or_insert(given);
            }
            "FN" => {
                self.formatted
                    .get_or_insert_with(|| unescape(value).trim().to_owned());
            }
            "NICKNAME" => self.aliases.extend(
                split_unescaped(value, ',')
                    .into_iter()
                    .map(|n| unescape(n).trim().to_owned())
                    .filter(|n| !n.is_empty()),
            ),
            "TEL" => {
                let written = if property.is_uri() {
                    value.to_owned()
                } else {
                    unescape(value)
                };
                let number = fields::phone(numbering, &written, tel_kind(&property.types))?;
                if !self.numbers.contains(&number) {
                    self.numbers.push(number);
                }
            }
            "EMAIL" => {
                let email = fields::email(&unescape(value))?;
                if !self.emails.contains(&email) {
                    self.emails.push(email);
                }
            }
            "ORG" => {
                let name = split_unescaped(value, ';')
                    .first()
                    .map(|n| unescape(n))
                    .unwrap_or_default();
                if self.organization.is_none() && !name.trim().is_empty() {
                    self.organization = Some(name.trim().to_owned());
                }
            }
            "NOTE" => self.notes.push(unescape(value)),
            "UID" => {
                self.uid
                    .get_or_insert_with(|| unescape(value).trim().to_owned());
            }
            "LANG" => {
                if let Some(language) = fields::language(value)? {
                    let preference = property.preference.unwrap_or(u32::MAX);
                    if self
                        .language
                        .as_ref()
                        .is_none_or(|(best, _)| preference < *best)
                    {
                        self.language = Some((preference, language));
                    }
                }
            }
            "KIND" => {
                let kind = value.trim().to_ascii_lowercase();
                if kind != "individual" {
                    return Err(format!(
                        "a card of kind {kind:?} is not a person (only individual cards are contacts)"
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ReadRow, RowError> {
        let mut first_name = self.given.take().unwrap_or_default().trim().to_owned();
        let last_name = self.family.take().unwrap_or_default().trim().to_owned();
        if first_name.is_empty() && last_name.is_empty() {
            first_name = self.formatted.take().unwrap_or_default();
        }
        let contact = Contact {
            external_id: self.uid.take().filter(|u| !u.is_empty()),
            first_name,
            last_name,
            aliases: std::mem::take(&mut self.aliases),
            numbers: std::mem::take(&mut self.numbers),
            emails: std::mem::take(&mut self.emails),
            language: self.language.take().map(|(_, language)| language),
            notes: self.notes.join("\n"),
            ..Contact::default()
        };
        for problem in problems_of_contact(&contact) {
            self.problem(problem);
        }
        if self.more_problems > 0 {
            self.problems
                .push(format!("and {} more problems", self.more_problems));
        }
        if !self.problems.is_empty() {
            self.problems.append(&mut self.left_out);
            return Err(RowError::new(self.begin, self.problems.join("; ")));
        }
        let link = OrganizationLink {
            external_id: None,
            name: self.organization,
        };
        Ok(ReadRow {
            line: self.begin,
            row: Row::Contact(contact, link),
            left_out: self.left_out,
        })
    }
}

/// `TYPE=cell,voice` → mobile. The most specific type wins; a plain voice line is `work`.
fn tel_kind(types: &[String]) -> NumberKind {
    const KINDS: &[(&str, NumberKind)] = &[
        ("fax", NumberKind::Fax),
        ("cell", NumberKind::Mobile),
        ("mobile", NumberKind::Mobile),
        ("iphone", NumberKind::Mobile),
        ("home", NumberKind::Home),
        ("work", NumberKind::Work),
        ("main", NumberKind::Main),
        ("pager", NumberKind::Other),
    ];
    KINDS
        .iter()
        .find(|(name, _)| types.iter().any(|t| t == name))
        .map_or(NumberKind::Work, |(_, kind)| *kind)
}

/// One property: `[group.]NAME *(;param) : value`.
struct Property<'a> {
    name: String,
    /// `TYPE` values, lower case; vCard 2.1's bare parameters (`TEL;CELL:`) count as types.
    types: Vec<String>,
    encoding: Option<String>,
    charset: Option<String>,
    value_type: Option<String>,
    preference: Option<u32>,
    value: &'a str,
}

impl<'a> Property<'a> {
    fn parse(text: &'a str) -> Result<Property<'a>, String> {
        let colon = find_unquoted(text, ':').ok_or("no ':' between name and value")?;
        let (head, value) = (&text[..colon], &text[colon + 1..]);
        let mut parts = split_unquoted(head, ';').into_iter();
        let name = parts.next().unwrap_or_default();
        let mut property = Property {
            name: name
                .rsplit('.')
                .next()
                .unwrap_or(name)
                .trim()
                .to_ascii_uppercase(),
            types: Vec::new(),
            encoding: None,
            charset: None,
            value_type: None,
            preference: None,
            value,
        };
        for parameter in parts {
            let (key, values) = parameter.split_once('=').unwrap_or(("TYPE", parameter));
            // `TYPE=work,voice`, `TYPE="work,voice"` (4.0) and `TYPE=work;TYPE=voice` alike.
            let mut values = split_unquoted(values, ',')
                .into_iter()
                .flat_map(|v| v.trim().trim_matches('"').split(','))
                .map(|v| v.trim().to_ascii_lowercase());
            match key.trim().to_ascii_uppercase().as_str() {
                "TYPE" => property.types.extend(values),
                "ENCODING" => property.encoding = values.next_back(),
                "CHARSET" => property.charset = values.next_back(),
                "VALUE" => property.value_type = values.next_back(),
                "PREF" => property.preference = values.next_back().and_then(|v| v.parse().ok()),
                _ => {}
            }
        }
        if property.types.iter().any(|t| t == "pref") {
            property.preference.get_or_insert(1);
        }
        Ok(property)
    }

    fn is_uri(&self) -> bool {
        self.value_type.as_deref() == Some("uri")
            || self
                .value
                .trim_start()
                .get(..4)
                .is_some_and(|s| s.eq_ignore_ascii_case("tel:"))
    }

    /// The value with any transfer encoding undone (still escaped). A NUL character, raw or
    /// encoded, refuses the property (no database column can keep one).
    fn decoded(&self) -> Result<Cow<'a, str>, String> {
        let value = self.transfer_decoded()?;
        if value.contains('\0') {
            return Err("the value contains a NUL character".to_owned());
        }
        Ok(value)
    }

    fn transfer_decoded(&self) -> Result<Cow<'a, str>, String> {
        match self.encoding.as_deref() {
            None | Some("8bit" | "7bit") => Ok(Cow::Borrowed(self.value)),
            Some("quoted-printable") => {
                match self.charset.as_deref() {
                    None | Some("utf-8" | "us-ascii") => {}
                    Some(other) => {
                        return Err(format!(
                            "charset {other} is not supported (save the cards as UTF-8)"
                        ))
                    }
                }
                String::from_utf8(quoted_printable(self.value))
                    .map(Cow::Owned)
                    .map_err(|_| "the quoted-printable text is not UTF-8".to_owned())
            }
            Some(other) => Err(format!("{other} encoding is not supported here")),
        }
    }
}

/// `=C3=A9` → the bytes; an `=` not followed by two hex digits stays as it is.
fn quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Where `wanted` first occurs outside double quotes.
fn find_unquoted(text: &str, wanted: char) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == wanted && !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(at) = find_unquoted(rest, separator) {
        parts.push(&rest[..at]);
        rest = &rest[at + separator.len_utf8()..];
    }
    parts.push(rest);
    parts
}

/// Splits on `separator` where it is not escaped by a backslash; the parts stay escaped.
fn split_unescaped(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == separator => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `\n` and `\N` are line breaks; a backslash before anything else keeps that thing.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// A component of `N`: its comma-separated values (`Anna,Maria`) as words.
fn words(component: &str) -> String {
    split_unescaped(component, ',')
        .into_iter()
        .map(|w| unescape(w).trim().to_owned())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A contact read, its line and the name of its organization.
    type Read = (u64, Contact, Option<String>);

    fn read(text: &str) -> Vec<Result<Read, RowError>> {
        read_with_left_out(text)
            .into_iter()
            .map(|row| row.map(|(read, _)| read))
            .collect()
    }

    fn read_with_left_out(text: &str) -> Vec<Result<(Read, Vec<String>), RowError>> {
        let mut source = VCardSource::new(text.as_bytes(), Numbering::new("US").unwrap());
        std::iter::from_fn(|| source.next_row().unwrap())
            .map(|row| {
                row.map(|read| match read.row {
                    Row::Contact(contact, link) => ((read.line, contact, link.name), read.left_out),
                    other => panic!("not a contact: {other:?}"),
                })
            })
            .collect()
    }

    #[test]
    fn a_version_3_card_with_folding_and_escapes() {
        let cards = read(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Smith;John;Quincy;Dr.;\r\nFN:Dr. John Q. Smith\r\n\
             NICKNAME:Johnny,J\\, Q\r\nORG:Acme\\, Inc.;Sales\r\n\
             item1.TEL;TYPE=cell,voice:+1 (212) 555-01\r\n 42\r\nTEL;TYPE=WORK:212.555.0199\r\n\
             TEL;TYPE=home;TYPE=fax:1-212-555-0100\r\nEMAIL;TYPE=INTERNET:john@acme.example\r\n\
             NOTE:Line one\\nline two\\; with a semicolon\r\nPHOTO;ENCODING=b;TYPE=JPEG:AAAA\r\n  BBBB\r\n\
             UID:crm-17\r\nEND:VCARD\r\n",
        );
        let (line, contact, organization) = cards[0].as_ref().unwrap();
        assert_eq!(*line, 1);
        assert_eq!(contact.first_name, "John Quincy");
        assert_eq!(contact.last_name, "Smith");
        assert_eq!(contact.aliases, ["Johnny", "J, Q"]);
        assert_eq!(organization.as_deref(), Some("Acme, Inc."));
        let numbers: Vec<(&str, NumberKind)> = contact
            .numbers
            .iter()
            .map(|n| (n.number.as_str(), n.kind))
            .collect();
        assert_eq!(
            numbers,
            [
                ("+12125550142", NumberKind::Mobile),
                ("+12125550199", NumberKind::Work),
                ("+12125550100", NumberKind::Fax),
            ]
        );
        assert_eq!(contact.emails, ["john@acme.example"]);
        assert_eq!(contact.notes, "Line one\nline two; with a semicolon");
        assert_eq!(contact.external_id.as_deref(), Some("crm-17"));
    }

    #[test]
    fn a_version_4_card_with_uri_numbers_and_languages() {
        let cards = read(
            "BEGIN:VCARD\nVERSION:4.0\nFN:Anna Maria\nN:;Anna,Maria;;;\n\
             TEL;VALUE=uri;TYPE=\"voice,cell\";PREF=1:tel:+1-212-555-0142;ext=5\n\
             LANG;PREF=2:en\nLANG;PREF=1:ru\nKIND:individual\nEND:VCARD\n",
        );
        let (_, contact, organization) = cards[0].as_ref().unwrap();
        assert_eq!(contact.first_name, "Anna Maria");
        assert_eq!(contact.numbers[0].number, "+12125550142");
        assert_eq!(contact.numbers[0].kind, NumberKind::Mobile);
        assert_eq!(contact.language.as_deref(), Some("ru"));
        assert_eq!(*organization, None);
    }

    #[test]
    fn quoted_printable_is_decoded() {
        let cards = read(
            "BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=9F=D0=B5=D1=82=D1=80=D0=BE=D0=B2;=D0=98=\n=D0=B2=D0=B0=D0=BD\nTEL;CELL:212 555 0142\nEND:VCARD\n",
        );
        let (_, contact, _) = cards[0].as_ref().unwrap();
        assert_eq!(contact.last_name, "Петров");
        assert_eq!(contact.first_name, "Иван");
        assert_eq!(contact.numbers[0].kind, NumberKind::Mobile);
    }

    #[test]
    fn broken_cards_are_reported_at_their_begin_line() {
        let cards = read(
            "junk\nmore junk\nBEGIN:VCARD\nFN:No End\nBEGIN:VCARD\nN:;;;;\nEND:VCARD\n\
             BEGIN:VCARD\nN:;;;;\nTEL:call me\nEND:VCARD\nBEGIN:VCARD\nKIND:org\nFN:Acme\nEND:VCARD\n\
             BEGIN:VCARD\nFN:Cut\n",
        );
        let errors: Vec<(u64, String)> = cards
            .into_iter()
            .map(|c| c.map(|_| ()).unwrap_err())
            .map(|e| (e.line, e.reason))
            .collect();
        assert_eq!(
            errors[0],
            (1, "text outside BEGIN:VCARD … END:VCARD".to_owned())
        );
        assert_eq!(errors[1].0, 3);
        assert!(errors[1].1.contains("line 5"), "{}", errors[1].1);
        assert_eq!(errors[2].0, 5);
        assert!(errors[2].1.contains("first or last name"));
        // A card refused for its name lists the number it could not read as well.
        assert_eq!(errors[3].0, 8);
        assert!(
            errors[3]
                .1
                .starts_with("a contact needs a first or last name; TEL on line 10:"),
            "{}",
            errors[3].1
        );
        assert_eq!(errors[4].0, 12);
        assert!(errors[4].1.contains("\"org\""));
        assert_eq!(
            errors[5],
            (
                16,
                "the card has no END:VCARD before the end of the file".to_owned()
            )
        );
        assert_eq!(errors.len(), 6);
    }

    #[test]
    fn an_unreadable_number_is_left_out_of_a_card_stored_without_it() {
        let cards = read_with_left_out(
            "BEGIN:VCARD\nVERSION:3.0\nN:Smith;John;;;\nTEL;TYPE=cell:call me\n\
             TEL;TYPE=work:212.555.0199\nEND:VCARD\n",
        );
        let ((line, contact, _), left_out) = cards[0].as_ref().unwrap();
        assert_eq!(*line, 1);
        assert_eq!(contact.numbers[0].number, "+12125550199");
        assert_eq!(contact.numbers.len(), 1);
        assert_eq!(left_out.len(), 1);
        assert_eq!(left_out[0], "TEL on line 4: no digits in \"call me\"");
    }
}
