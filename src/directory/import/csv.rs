//! CSV rows: RFC 4180 records (quoted fields may hold the delimiter, `""` and line breaks),
//! read one physical line at a time, with the header naming the columns in any order and any
//! case (`First Name` is `first_name`; [`super::columns`] says which names are read). The
//! delimiter is `,`, or `;` or a tab when the header uses one of those instead (spreadsheets in
//! many locales save that way). The file must be UTF-8.
//!
//! A quote opened and never properly closed would swallow every following line into one
//! field. So when a record spans several lines and comes out malformed or with the wrong
//! number of fields, only its first line is reported (as an unbalanced quote) and the lines
//! after it are read again as records of their own; nothing the broken quote swallowed is lost.
//!
//! A cell that starts with `'` before a formula's first character is read without that `'`
//! ([`crate::spreadsheet::restore`]), so the phone book's own export reads back unchanged. A
//! field holding a NUL character refuses its row (no database column can keep one).

use std::collections::VecDeque;
use std::io::BufRead;

use super::columns::{ColumnMap, Header};
use super::fields;
use super::lines::{Line, Lines};
use super::{ImportError, Kind, NextRow, OrganizationLink, OwnerLink, ReadRow, Row, RowError};
use crate::directory::model::{
    problems_of_asset, problems_of_contact, problems_of_organization, Asset, Contact, Number,
    Organization,
};
use crate::directory::number::Numbering;
use crate::spreadsheet;

/// Longest record; a quote left open is given up on after this much text.
const MAX_RECORD: usize = 1024 * 1024;

/// Records, split into fields, from physical lines.
pub(super) struct Records<R> {
    lines: Lines<R>,
    /// Lines read ahead by a record that turned out broken, to be read again.
    again: VecDeque<Line>,
    delimiter: u8,
}

/// A record's fields and the line it starts on.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Record {
    pub line: u64,
    pub fields: Vec<String>,
}

impl<R: BufRead> Records<R> {
    pub fn new(input: R) -> Records<R> {
        Records {
            lines: Lines::new(input),
            again: VecDeque::new(),
            delimiter: b',',
        }
    }

    fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        match self.again.pop_front() {
            Some(line) => Ok(Some(line)),
            None => self.lines.next_line(),
        }
    }

    /// The next record (blank lines between records are skipped), checked to have `width`
    /// fields when given.
    pub fn next_record(
        &mut self,
        width: Option<usize>,
    ) -> std::io::Result<Option<Result<Record, RowError>>> {
        let first = loop {
            match self.next_line()? {
                None => return Ok(None),
                Some(line) if line.text.iter().all(u8::is_ascii_whitespace) && !line.too_long => {}
                Some(line) => break line,
            }
        };
        let start = first.number;
        if first.too_long {
            return Ok(Some(Err(RowError::new(
                start,
                "the line is longer than 1 MiB",
            ))));
        }
        let mut splitter = Splitter::new(self.delimiter);
        splitter.feed(&first.text);
        let mut size = first.text.len();
        let mut more = Vec::new();
        while splitter.state == State::Quoted {
            match self.next_line()? {
                Some(line) if !line.too_long && size + line.text.len() < MAX_RECORD => {
                    size += line.text.len() + 1;
                    splitter.field.push(b'\n');
                    splitter.feed(&line.text);
                    more.push(line);
                }
                line => {
                    more.extend(line);
                    return Ok(Some(Err(self.unbalanced(start, more))));
                }
            }
        }
        let fields = splitter.finish();
        let fits = |fields: &[Vec<u8>]| width.is_none_or(|w| fields.len() == w);
        if !more.is_empty() && !fields.as_deref().is_ok_and(fits) {
            return Ok(Some(Err(self.unbalanced(start, more))));
        }
        let fields = fields.map_err(|reason| RowError::new(start, reason));
        Ok(Some(
            fields.and_then(|fields| text_fields(start, fields, width)),
        ))
    }

    /// Reports the record's first line and puts the lines it swallowed back to be read again.
    fn unbalanced(&mut self, line: u64, swallowed: Vec<Line>) -> RowError {
        for line in swallowed.into_iter().rev() {
            self.again.push_front(line);
        }
        RowError::new(
            line,
            "unbalanced quote: a quoted field opened on this line is not closed properly \
             (the lines after it are read as rows of their own)",
        )
    }

    pub fn bytes_read(&self) -> u64 {
        self.lines.bytes_read()
    }
}

fn text_fields(line: u64, fields: Vec<Vec<u8>>, width: Option<usize>) -> Result<Record, RowError> {
    if let Some(width) = width.filter(|w| *w != fields.len()) {
        return Err(RowError::new(
            line,
            format!(
                "{} fields, but the header has {width} columns",
                fields.len()
            ),
        ));
    }
    if let Some(n) = fields.iter().position(|field| field.contains(&0)) {
        return Err(RowError::new(
            line,
            format!("field {} contains a NUL character", n + 1),
        ));
    }
    let fields = fields
        .into_iter()
        .map(String::from_utf8)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| RowError::new(line, "not valid UTF-8 (save the file as UTF-8)"))?;
    // Our export guards cells a spreadsheet would run as formulas; take the guard off.
    let fields = fields
        .into_iter()
        .map(|field| {
            let restored = spreadsheet::restore(&field);
            if restored.len() == field.len() {
                field
            } else {
                restored.to_owned()
            }
        })
        .collect();
    Ok(Record { line, fields })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the field's end, or the first half of `""`.
    QuoteInQuoted,
}

/// Splits a record's text into fields, a line at a time. Quotes inside an unquoted field are
/// kept as text (`12" rack`), as spreadsheets write them; text after a closing quote is an
/// error, since it means the quoting is not what the writer meant.
struct Splitter {
    delimiter: u8,
    state: State,
    field: Vec<u8>,
    fields: Vec<Vec<u8>>,
    error: Option<String>,
}

impl Splitter {
    fn new(delimiter: u8) -> Splitter {
        Splitter {
            delimiter,
            state: State::FieldStart,
            field: Vec::new(),
            fields: Vec::new(),
            error: None,
        }
    }

    fn feed(&mut self, text: &[u8]) {
        for &byte in text {
            self.state = match (self.state, byte) {
                (State::FieldStart, b'"') => State::Quoted,
                (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b)
                    if b == self.delimiter =>
                {
                    self.fields.push(std::mem::take(&mut self.field));
                    State::FieldStart
                }
                (State::FieldStart | State::Unquoted, b) => {
                    self.field.push(b);
                    State::Unquoted
                }
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, b) => {
                    self.field.push(b);
                    State::Quoted
                }
                (State::QuoteInQuoted, b'"') => {
                    self.field.push(b'"');
                    State::Quoted
                }
                (State::QuoteInQuoted, b) => {
                    if self.error.is_none() {
                        self.error = Some(format!(
                            "text after the closing quote of field {}",
                            self.fields.len() + 1
                        ));
                    }
                    self.field.push(b);
                    State::Unquoted
                }
            };
        }
    }

    /// The fields, at the end of a line outside quotes.
    fn finish(mut self) -> Result<Vec<Vec<u8>>, String> {
        self.fields.push(self.field);
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.fields),
        }
    }
}

/// `,`, unless the header line holds more `;` or tabs (outside quotes) than commas.
fn delimiter_of(header: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &byte in header {
        if byte == b'"' {
            quoted = !quoted;
        }
        for (delimiter, count) in &mut counts {
            if !quoted && byte == *delimiter {
                *count += 1;
            }
        }
    }
    counts
        .iter()
        .fold(
            (b',', 0),
            |best, &(d, n)| if n > best.1 { (d, n) } else { best },
        )
        .0
}

/// A CSV file of one kind of record.
pub(super) struct CsvSource<R> {
    records: Records<R>,
    header: Header,
    numbering: Numbering,
}

impl<R: BufRead> CsvSource<R> {
    /// Reads the header; `kind` overrides what the columns suggest, `map` names columns.
    pub fn open(
        input: R,
        kind: Option<Kind>,
        map: &ColumnMap,
        numbering: Numbering,
    ) -> Result<CsvSource<R>, ImportError> {
        let mut records = Records::new(input);
        let mut first = loop {
            match records.lines.next_line()? {
                None => return Err(ImportError::Empty),
                Some(line) if line.text.iter().all(u8::is_ascii_whitespace) && !line.too_long => {}
                Some(line) => break line,
            }
        };
        // Excel's "CSV UTF-8" (and switchdesk's own downloads) start with a byte order mark.
        if first.text.starts_with(crate::spreadsheet::BOM.as_bytes()) {
            first.text.drain(..crate::spreadsheet::BOM.len());
        }
        records.delimiter = delimiter_of(&first.text);
        records.again.push_front(first);
        let header = match records.next_record(None)? {
            Some(Ok(record)) => Header::read(&record.fields, kind, map)?,
            Some(Err(e)) => {
                return Err(ImportError::Header {
                    line: e.line,
                    reason: e.reason,
                })
            }
            None => return Err(ImportError::Empty),
        };
        Ok(CsvSource {
            records,
            header,
            numbering,
        })
    }

    pub fn kind(&self) -> Kind {
        self.header.kind
    }

    /// The file's columns that are not read, as the file names them.
    pub fn ignored_columns(&self) -> &[String] {
        &self.header.ignored
    }

    pub fn bytes_read(&self) -> u64 {
        self.records.bytes_read()
    }

    pub fn next_row(&mut self) -> NextRow {
        let record = match self.records.next_record(Some(self.header.width))? {
            None => return Ok(None),
            Some(Err(failure)) => return Ok(Some(Err(failure))),
            Some(Ok(record)) => record,
        };
        let line = record.line;
        let row = match self.header.kind {
            Kind::Contacts => self.contact(&record),
            Kind::Organizations => self.organization(&record),
            Kind::Assets => self.asset(&record),
        };
        Ok(Some(
            row.map(|(row, left_out)| ReadRow {
                line,
                row,
                left_out,
            })
            .map_err(|problems| RowError::new(line, problems.join("; "))),
        ))
    }

    /// Every phone column's numbers, in column order, each number once; an unreadable number
    /// is left out of the list and named in `problems`.
    fn numbers(&self, record: &Record, problems: &mut Problems) -> Vec<Number> {
        let mut numbers = Vec::new();
        for column in &self.header.phones {
            let text = record
                .fields
                .get(column.position)
                .map_or("", String::as_str);
            for unreadable in
                fields::phones(&self.numbering, text, column.number_kind, &mut numbers)
            {
                problems.left_out(&column.label, unreadable);
            }
        }
        numbers
    }

    fn contact(&self, record: &Record) -> Result<(Row, Vec<String>), Vec<String>> {
        let get = |column| self.header.get(&record.fields, column);
        let mut problems = Problems::default();
        let contact = Contact {
            external_id: fields::optional(get("external_id")),
            first_name: get("first_name").trim().to_owned(),
            last_name: get("last_name").trim().to_owned(),
            aliases: fields::list(get("aliases")),
            numbers: self.numbers(record, &mut problems),
            emails: problems.check("emails", fields::emails(get("emails"))),
            vip: problems.check("vip", fields::yes_no(get("vip"))),
            priority: problems.check("priority", fields::whole(get("priority"))),
            language: problems.check("language", fields::language(get("language"))),
            notes: get("notes").to_owned(),
            ..Contact::default()
        };
        problems.refuse(problems_of_contact(&contact));
        let link = OrganizationLink {
            external_id: fields::optional(get("organization_id")),
            name: fields::optional(get("organization")),
        };
        problems.done(Row::Contact(contact, link))
    }

    fn organization(&self, record: &Record) -> Result<(Row, Vec<String>), Vec<String>> {
        let get = |column| self.header.get(&record.fields, column);
        let mut problems = Problems::default();
        let organization = Organization {
            external_id: fields::optional(get("external_id")),
            name: get("name").trim().to_owned(),
            numbers: self.numbers(record, &mut problems),
            emails: problems.check("emails", fields::emails(get("emails"))),
            fax_mailboxes: problems.check("fax_mailboxes", fields::emails(get("fax_mailboxes"))),
            vip: problems.check("vip", fields::yes_no(get("vip"))),
            priority: problems.check("priority", fields::whole(get("priority"))),
            notes: get("notes").to_owned(),
            ..Organization::default()
        };
        problems.refuse(problems_of_organization(&organization));
        problems.done(Row::Organization(organization))
    }

    fn asset(&self, record: &Record) -> Result<(Row, Vec<String>), Vec<String>> {
        let get = |column| self.header.get(&record.fields, column);
        let mut problems = Problems::default();
        let asset = Asset {
            external_id: fields::optional(get("external_id")),
            name: get("name").trim().to_owned(),
            kind: get("type").trim().to_owned(),
            serial: get("serial").trim().to_owned(),
            location: get("location").trim().to_owned(),
            notes: get("notes").to_owned(),
            ..Asset::default()
        };
        problems.refuse(problems_of_asset(&asset));
        let link = OwnerLink {
            contact: fields::optional(get("owner_contact")),
            organization: fields::optional(get("owner_organization")),
        };
        if link.contact.is_some() && link.organization.is_some() {
            problems.refuse([
                "owner_contact and owner_organization are both set; an asset has one owner".into(),
            ]);
        }
        problems.done(Row::Asset(asset, link))
    }
}

/// Every problem of a row, so one look at the report shows all that is wrong with it: those
/// that refuse the row, and the values left out of a row that is stored without them.
#[derive(Default)]
struct Problems {
    refusing: Vec<String>,
    left_out: Vec<String>,
}

impl Problems {
    fn check<T: Default>(&mut self, column: &str, value: Result<T, String>) -> T {
        value.unwrap_or_else(|problem| {
            self.refusing.push(format!("{column}: {problem}"));
            T::default()
        })
    }

    fn refuse(&mut self, problems: impl IntoIterator<Item = String>) {
        self.refusing.extend(problems);
    }

    fn left_out(&mut self, column: &str, problem: String) {
        self.left_out.push(format!("{column}: {problem}"));
    }

    /// The row and what was left out of it, or every problem when it is refused.
    fn done(self, row: Row) -> Result<(Row, Vec<String>), Vec<String>> {
        if self.refusing.is_empty() {
            Ok((row, self.left_out))
        } else {
            Err(self.refusing.into_iter().chain(self.left_out).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str, width: Option<usize>) -> Vec<Result<Record, RowError>> {
        records_of(input.as_bytes(), width)
    }

    fn records_of(input: &[u8], width: Option<usize>) -> Vec<Result<Record, RowError>> {
        let mut records = Records::new(input);
        std::iter::from_fn(|| records.next_record(width).unwrap()).collect()
    }

    fn record(line: u64, fields: &[&str]) -> Result<Record, RowError> {
        Ok(Record {
            line,
            fields: fields.iter().map(|f| f.to_string()).collect(),
        })
    }

    #[test]
    fn quoted_fields_hold_delimiters_quotes_and_line_breaks() {
        let input = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n\n12\" rack,,\n";
        assert_eq!(
            records(input, Some(3)),
            vec![
                record(1, &["a", "b", "c"]),
                record(2, &["x, y", "say \"hi\"", "two\nlines"]),
                record(5, &["12\" rack", "", ""]),
            ]
        );
    }

    #[test]
    fn an_unbalanced_quote_loses_only_its_own_line() {
        let input = "1,\"Ivan,Petrov\n2,Anna,Smirnova\n3,Oleg,Sidorov\n";
        let got = records(input, Some(3));
        assert!(matches!(&got[0], Err(e) if e.line == 1 && e.reason.contains("unbalanced quote")));
        assert_eq!(got[1], record(2, &["2", "Anna", "Smirnova"]));
        assert_eq!(got[2], record(3, &["3", "Oleg", "Sidorov"]));
        // Closed later, on a line of its own: the swallowed lines still come back.
        let input = "1,\"Ivan,Petrov\n2,Anna,Smirnova\n3,\"Oleg\",Sidorov\n";
        let got = records(input, Some(3));
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[1], record(2, &["2", "Anna", "Smirnova"]));
        assert_eq!(got[2], record(3, &["3", "Oleg", "Sidorov"]));
    }

    #[test]
    fn wrong_widths_and_text_after_quotes_are_row_errors() {
        let got = records_of(b"a,b\n1,2,3\n\"x\"y,2\n\xff,1\n", Some(2));
        let reasons: Vec<String> = got
            .iter()
            .map(|r| match r {
                Ok(r) => format!("ok {}", r.line),
                Err(e) => format!("{}: {}", e.line, e.reason),
            })
            .collect();
        assert_eq!(
            reasons,
            [
                "ok 1",
                "2: 3 fields, but the header has 2 columns",
                "3: text after the closing quote of field 1",
                "4: not valid UTF-8 (save the file as UTF-8)",
            ]
        );
    }

    #[test]
    fn a_header_names_the_kind_and_the_delimiter() {
        let ru = Numbering::new("RU").unwrap();
        let none = ColumnMap::default();
        let open =
            |text: &'static str, kind| CsvSource::open(text.as_bytes(), kind, &none, ru.clone());
        let mut source = open("\n\"First Name\";Last-Name;PHONES\nIvan;Petrov;\n", None).unwrap();
        assert_eq!(source.kind(), Kind::Contacts);
        assert_eq!(source.records.delimiter, b';');
        // Excel's "CSV UTF-8" puts a byte order mark before the first column's name.
        let excel = open("\u{feff}\"first_name\";\"phones\"\n", None).unwrap();
        assert_eq!(
            (
                excel.kind(),
                excel.records.delimiter,
                excel.ignored_columns()
            ),
            (Kind::Contacts, b';', &[][..])
        );
        assert!(matches!(
            source.next_row(),
            Ok(Some(Ok(ReadRow {
                line: 3,
                row: Row::Contact(..),
                ..
            })))
        ));
        assert_eq!(
            open("name,phones\n", None).unwrap().kind(),
            Kind::Organizations
        );
        assert_eq!(open("name\tserial\n", None).unwrap().kind(), Kind::Assets);
        assert_eq!(
            open("name\n", Some(Kind::Assets)).unwrap().kind(),
            Kind::Assets
        );
        // Columns the kind does not have are ignored, and named.
        let source = open("first_name,Shoe Size,function\n", None).unwrap();
        assert_eq!(source.ignored_columns(), ["Shoe Size", "function"]);
        let missing = open("first_name,serial\n", Some(Kind::Organizations))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            missing,
            "organizations need a name column (the file's [\"first_name\", \"serial\"] are not \
             among them); the columns are: external_id, name, phones, emails, fax_mailboxes, vip, \
             priority, notes"
        );
        assert!(matches!(
            open("phones\n", None),
            Err(ImportError::UnknownKind { .. })
        ));
        assert!(matches!(
            open("name,Name\n", None),
            Err(ImportError::DuplicateColumn(_))
        ));
        assert!(matches!(
            open("phones\n", Some(Kind::Organizations)),
            Err(ImportError::MissingColumn { column: "name", .. })
        ));
        assert!(matches!(
            open("phones\n", Some(Kind::Contacts)),
            Err(ImportError::MissingColumn {
                column: "first_name or last_name",
                ..
            })
        ));
        assert!(matches!(open("\n\n", None), Err(ImportError::Empty)));
    }

    #[test]
    fn a_contact_row_lists_all_its_problems() {
        let ru = Numbering::new("RU").unwrap();
        let input = "first_name,last_name,phones,vip,priority\n,,mobile:12,maybe,high\n";
        let mut source =
            CsvSource::open(input.as_bytes(), None, &ColumnMap::default(), ru).unwrap();
        let failure = source.next_row().unwrap().unwrap().unwrap_err();
        assert_eq!(failure.line, 2);
        for part in [
            "phones:",
            "vip: \"maybe\"",
            "priority: \"high\"",
            "first or last name",
        ] {
            assert!(failure.reason.contains(part), "{}", failure.reason);
        }
        assert!(source.next_row().unwrap().is_none());
    }
}
