//! Which column of a kind a CSV header names: the importer's own column names, the common
//! names other systems' exports give them (iTop, CMDB and spreadsheet exports), and the
//! operator's column map. Names are compared as [`column_name`] folds them: `E-Mail`,
//! `e mail` and `E_MAIL` are the same name.
//!
//! Precedence: a column the map names, then a column with the importer's own name, then a
//! common name. A common name whose column the file already has (by the map, its own name or
//! an earlier common name) is ignored like an unknown column; so is every other column the
//! kind does not have, and the report names them once. Phone columns are the exception: a
//! file may have any number of them (`phone`, `mobile_phone`, `fax`...), each read with its
//! number kind into the one list of numbers.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use super::{ImportError, Kind, ASSET_COLUMNS, CONTACT_COLUMNS, ORGANIZATION_COLUMNS};
use crate::directory::model::NumberKind;

/// `First Name` → `first_name`: trimmed, lower case, spaces and dashes as `_`.
pub(super) fn column_name(field: &str) -> String {
    field
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// A column of a kind, and for a phone column the kind of a number written without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub column: &'static str,
    /// `None`: the kind's default (`work` for contacts, `main` for organizations).
    pub number_kind: Option<NumberKind>,
}

impl Target {
    const fn column(column: &'static str) -> Target {
        Target {
            column,
            number_kind: None,
        }
    }

    const fn phones(kind: NumberKind) -> Target {
        Target {
            column: "phones",
            number_kind: Some(kind),
        }
    }
}

/// The common names of contact columns. `name` is the last name, as in iTop's Person
/// (`name` and `first_name`); a file that also has a last-name column keeps `name` ignored.
const CONTACT_SYNONYMS: &[(&str, Target)] = &[
    ("id", Target::column("external_id")),
    ("firstname", Target::column("first_name")),
    ("given_name", Target::column("first_name")),
    ("givenname", Target::column("first_name")),
    ("forename", Target::column("first_name")),
    ("lastname", Target::column("last_name")),
    ("surname", Target::column("last_name")),
    ("family_name", Target::column("last_name")),
    ("familyname", Target::column("last_name")),
    ("name", Target::column("last_name")),
    ("alias", Target::column("aliases")),
    ("nickname", Target::column("aliases")),
    ("company", Target::column("organization")),
    ("company_name", Target::column("organization")),
    ("organisation", Target::column("organization")),
    ("organisation_name", Target::column("organization")),
    ("organization_name", Target::column("organization")),
    ("org", Target::column("organization")),
    ("org_name", Target::column("organization")),
    ("org_id", Target::column("organization_id")),
    ("organisation_id", Target::column("organization_id")),
    ("company_id", Target::column("organization_id")),
    ("lang", Target::column("language")),
    ("note", Target::column("notes")),
    ("comment", Target::column("notes")),
    ("comments", Target::column("notes")),
];

/// The common names of organization columns.
const ORGANIZATION_SYNONYMS: &[(&str, Target)] = &[
    ("id", Target::column("external_id")),
    ("organization", Target::column("name")),
    ("organisation", Target::column("name")),
    ("organization_name", Target::column("name")),
    ("organisation_name", Target::column("name")),
    ("org_name", Target::column("name")),
    ("company", Target::column("name")),
    ("company_name", Target::column("name")),
    ("fax_mailbox", Target::column("fax_mailboxes")),
    ("fax_email", Target::column("fax_mailboxes")),
    ("note", Target::column("notes")),
    ("comment", Target::column("notes")),
    ("comments", Target::column("notes")),
];

/// The common names of phone and e-mail columns, for contacts and organizations alike.
const CONTACT_DETAIL_SYNONYMS: &[(&str, Target)] = &[
    ("email", Target::column("emails")),
    ("e_mail", Target::column("emails")),
    ("mail", Target::column("emails")),
    ("email_address", Target::column("emails")),
    ("e_mail_address", Target::column("emails")),
    // A number without a kind in these is the kind's default: work, or main for organizations.
    ("phone", Target::column("phones")),
    ("phone_number", Target::column("phones")),
    ("telephone", Target::column("phones")),
    ("telephone_number", Target::column("phones")),
    ("tel", Target::column("phones")),
    ("work_phone", Target::phones(NumberKind::Work)),
    ("business_phone", Target::phones(NumberKind::Work)),
    ("office_phone", Target::phones(NumberKind::Work)),
    ("mobile", Target::phones(NumberKind::Mobile)),
    ("mobile_phone", Target::phones(NumberKind::Mobile)),
    ("mobile_number", Target::phones(NumberKind::Mobile)),
    ("cell", Target::phones(NumberKind::Mobile)),
    ("cellphone", Target::phones(NumberKind::Mobile)),
    ("cell_phone", Target::phones(NumberKind::Mobile)),
    ("home_phone", Target::phones(NumberKind::Home)),
    ("fax", Target::phones(NumberKind::Fax)),
    ("fax_number", Target::phones(NumberKind::Fax)),
    ("ipphone", Target::phones(NumberKind::Extension)),
    ("ip_phone", Target::phones(NumberKind::Extension)),
    ("extension", Target::phones(NumberKind::Extension)),
];

/// The common names of asset columns.
const ASSET_SYNONYMS: &[(&str, Target)] = &[
    ("id", Target::column("external_id")),
    ("asset_name", Target::column("name")),
    ("hostname", Target::column("name")),
    ("asset_type", Target::column("type")),
    ("serial_number", Target::column("serial")),
    ("serialnumber", Target::column("serial")),
    ("serial_no", Target::column("serial")),
    ("location_name", Target::column("location")),
    ("site", Target::column("location")),
    ("org_id", Target::column("owner_organization")),
    ("org_name", Target::column("owner_organization")),
    ("organization", Target::column("owner_organization")),
    ("organisation", Target::column("owner_organization")),
    ("company", Target::column("owner_organization")),
    ("note", Target::column("notes")),
    ("comment", Target::column("notes")),
    ("comments", Target::column("notes")),
];

/// Every common name a kind recognises, with the column it is read as (for the README and
/// the admin screen's help).
pub fn synonyms(kind: Kind) -> impl Iterator<Item = (&'static str, Target)> {
    let (own, details): (&[_], &[_]) = match kind {
        Kind::Contacts => (CONTACT_SYNONYMS, CONTACT_DETAIL_SYNONYMS),
        Kind::Organizations => (ORGANIZATION_SYNONYMS, CONTACT_DETAIL_SYNONYMS),
        Kind::Assets => (ASSET_SYNONYMS, &[]),
    };
    own.iter().chain(details).copied()
}

fn synonym(kind: Kind, name: &str) -> Option<Target> {
    synonyms(kind).find(|(n, _)| *n == name).map(|(_, t)| t)
}

/// The operator's names for columns: `email=emails,phone=phones,cell=phones:mobile`. Each
/// entry names a column of the file (as [`column_name`] folds it) and the column it is read
/// as; `phones:KIND` reads a phone column whose bare numbers are of that kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnMap {
    entries: Vec<(String, Target)>,
}

/// A column map that cannot be used, found before anything is read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("column map: {0}")]
pub struct MapError(String);

impl FromStr for ColumnMap {
    type Err = MapError;

    /// `from=to` entries separated by `,`; blank entries are skipped.
    fn from_str(text: &str) -> Result<ColumnMap, MapError> {
        let mut map = ColumnMap::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((from, to)) = entry.split_once('=') else {
                return Err(MapError(format!(
                    "{entry:?} is not FILE_COLUMN=COLUMN (like email=emails)"
                )));
            };
            let from = column_name(from);
            if from.is_empty() {
                return Err(MapError(format!("{entry:?} names no column of the file")));
            }
            map.add(from, target(to)?)?;
        }
        Ok(map)
    }
}

impl ColumnMap {
    /// Adds `other`'s entries (for `--map` given more than once).
    pub fn extend(&mut self, other: ColumnMap) -> Result<(), MapError> {
        for (from, to) in other.entries {
            self.add(from, to)?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn add(&mut self, from: String, to: Target) -> Result<(), MapError> {
        if self.entries.iter().any(|(f, _)| *f == from) {
            return Err(MapError(format!("{from:?} is mapped twice")));
        }
        self.entries.push((from, to));
        Ok(())
    }

    fn get(&self, name: &str) -> Option<Target> {
        self.entries
            .iter()
            .find(|(from, _)| from == name)
            .map(|(_, to)| *to)
    }
}

/// `emails`, `phones` or `phones:mobile`: a column of some kind.
fn target(text: &str) -> Result<Target, MapError> {
    let (column, number_kind) = match text.split_once(':') {
        Some((column, kind)) => (column, Some(kind)),
        None => (text, None),
    };
    let column = column_name(column);
    let every = [CONTACT_COLUMNS, ORGANIZATION_COLUMNS, ASSET_COLUMNS];
    let Some(column) = every.iter().flat_map(|c| c.iter()).find(|c| **c == column) else {
        let mut all: Vec<&str> = every.concat();
        all.sort_unstable();
        all.dedup();
        return Err(MapError(format!(
            "{:?} is not a column; the columns are: {}",
            text.trim(),
            all.join(", ")
        )));
    };
    let number_kind = match number_kind {
        None => None,
        Some(kind) if *column == "phones" => Some(NumberKind::parse(kind).ok_or_else(|| {
            MapError(format!(
                "{kind:?} is not a number kind (mobile, work, home, fax, main, range, extension, other)"
            ))
        })?),
        Some(_) => {
            return Err(MapError(format!(
                "{:?}: only phones takes a number kind (phones:mobile)",
                text.trim()
            )))
        }
    };
    Ok(Target {
        column,
        number_kind,
    })
}

/// Contacts have a first or last name; assets a serial, type, location or owner;
/// organizations just a name. Common names count only where they cannot mislead: a person's
/// names, an asset's serial and type (`name` is a contact's last name only once `first_name`
/// or the like says the file holds people; `company` is an organization's name, not an
/// asset's owner).
pub(super) fn kind_of(names: &[String], map: &ColumnMap) -> Option<Kind> {
    let reads_as = |kind: Kind, columns: &[&str], common: &[&str]| {
        names.iter().any(|name| {
            let read = map.get(name).map(|t| t.column).or_else(|| {
                let own = kind.columns().iter().find(|c| *c == name).copied();
                own.or_else(|| {
                    synonym(kind, name)
                        .filter(|t| name != "name" && common.contains(&t.column))
                        .map(|t| t.column)
                })
            });
            read.is_some_and(|column| columns.contains(&column))
        })
    };
    let person = ["first_name", "last_name"];
    let asset = [
        "serial",
        "type",
        "location",
        "owner_contact",
        "owner_organization",
    ];
    if reads_as(Kind::Contacts, &person, &person) {
        Some(Kind::Contacts)
    } else if reads_as(Kind::Assets, &asset, &["serial", "type"]) {
        Some(Kind::Assets)
    } else if reads_as(Kind::Organizations, &["name"], &["name"]) {
        Some(Kind::Organizations)
    } else {
        None
    }
}

/// A column of phone numbers.
#[derive(Debug)]
pub(super) struct PhoneColumn {
    pub position: usize,
    /// The header as the file writes it, to name the column in the report.
    pub label: String,
    /// The kind of a number written without one.
    pub number_kind: NumberKind,
}

/// The header's columns: where each column of the kind is.
#[derive(Debug)]
pub(super) struct Header {
    pub kind: Kind,
    pub width: usize,
    positions: HashMap<&'static str, usize>,
    pub phones: Vec<PhoneColumn>,
    /// The file's columns that are not read, as the file writes them.
    pub ignored: Vec<String>,
}

impl Header {
    /// Reads the header's `fields`; `kind` overrides what the columns suggest.
    pub fn read(
        fields: &[String],
        kind: Option<Kind>,
        map: &ColumnMap,
    ) -> Result<Header, ImportError> {
        let names: Vec<String> = fields.iter().map(|f| column_name(f)).collect();
        let kind = match kind.or_else(|| kind_of(&names, map)) {
            Some(kind) => kind,
            None => return Err(ImportError::UnknownKind { columns: names }),
        };
        let own = |name: &str| kind.columns().iter().find(|c| **c == name).copied();
        let mut targets: Vec<Option<Target>> = Vec::with_capacity(names.len());
        // The columns other than phones already read from some column of the file.
        let mut taken: HashSet<&'static str> = HashSet::new();
        for name in &names {
            let target = match map.get(name) {
                Some(target) if own(target.column).is_none() => {
                    return Err(ImportError::MapTarget {
                        kind,
                        column: target.column,
                    })
                }
                Some(target) => Some(target),
                None => own(name).map(Target::column),
            };
            if let Some(target) = target.filter(|t| t.column != "phones") {
                if !taken.insert(target.column) {
                    return Err(ImportError::DuplicateColumn(name.clone()));
                }
            }
            targets.push(target);
        }
        // Common names fill only the columns still missing, the one earlier in the table
        // first (`surname` before `name`, `email` before `mail`).
        let mut common: Vec<(usize, usize, Target)> = names
            .iter()
            .enumerate()
            .filter(|(position, _)| targets[*position].is_none())
            .filter_map(|(position, name)| {
                synonyms(kind)
                    .enumerate()
                    .find(|(_, (n, _))| n == name)
                    .map(|(rank, (_, target))| (rank, position, target))
            })
            .collect();
        common.sort_unstable_by_key(|(rank, position, _)| (*rank, *position));
        for (_, position, target) in common {
            if target.column == "phones" || taken.insert(target.column) {
                targets[position] = Some(target);
            }
        }
        let default_kind = match kind {
            Kind::Organizations => NumberKind::Main,
            _ => NumberKind::Work,
        };
        let mut header = Header {
            kind,
            width: names.len(),
            positions: HashMap::new(),
            phones: Vec::new(),
            ignored: Vec::new(),
        };
        for (position, target) in targets.into_iter().enumerate() {
            let label = fields[position].trim();
            match target {
                None if label.is_empty() => header
                    .ignored
                    .push(format!("column {} (no name)", position + 1)),
                None => header.ignored.push(label.to_owned()),
                Some(Target {
                    column: "phones",
                    number_kind,
                }) => header.phones.push(PhoneColumn {
                    position,
                    label: label.to_owned(),
                    number_kind: number_kind.unwrap_or(default_kind),
                }),
                Some(target) => {
                    header.positions.insert(target.column, position);
                }
            }
        }
        let (required, column): (&[&str], _) = match kind {
            Kind::Contacts => (&["first_name", "last_name"], "first_name or last_name"),
            Kind::Organizations | Kind::Assets => (&["name"], "name"),
        };
        if !required.iter().any(|c| header.positions.contains_key(c)) {
            return Err(ImportError::MissingColumn {
                kind,
                column,
                ignored: header.ignored,
            });
        }
        Ok(header)
    }

    /// The row's value in `column`, empty when the file has no such column.
    pub fn get<'r>(&self, fields: &'r [String], column: &str) -> &'r str {
        self.positions
            .get(column)
            .and_then(|p| fields.get(*p))
            .map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str, kind: Option<Kind>, map: &str) -> Result<Header, ImportError> {
        let fields: Vec<String> = text.split(',').map(str::to_owned).collect();
        Header::read(&fields, kind, &map.parse().unwrap())
    }

    fn phones(header: &Header) -> Vec<(&str, NumberKind)> {
        header
            .phones
            .iter()
            .map(|p| (p.label.as_str(), p.number_kind))
            .collect()
    }

    #[test]
    fn an_itop_person_export_is_a_contact_file() {
        let header = header(
            "id,First Name,name,org_id,org_name,E-Mail,phone,Mobile Phone,function",
            None,
            "",
        )
        .unwrap();
        assert_eq!(header.kind, Kind::Contacts);
        let row: Vec<String> = (0..9).map(|n| n.to_string()).collect();
        let got = |column| header.get(&row, column);
        assert_eq!(
            [
                got("external_id"),
                got("first_name"),
                got("last_name"),
                got("organization_id"),
                got("organization"),
                got("emails")
            ],
            ["0", "1", "2", "3", "4", "5"]
        );
        assert_eq!(
            phones(&header),
            [
                ("phone", NumberKind::Work),
                ("Mobile Phone", NumberKind::Mobile)
            ]
        );
        assert_eq!(header.ignored, ["function"]);
    }

    #[test]
    fn own_names_and_the_map_come_before_common_names() {
        // `name` is ignored when the file has a last-name column; `mail` when it has emails.
        let h = header("name,first_name,Surname,emails,mail,fax", None, "").unwrap();
        assert_eq!(h.ignored, ["name", "mail"]);
        assert_eq!(phones(&h), [("fax", NumberKind::Fax)]);
        let h = header(
            "Vorname,Nachname,Handy,Firma",
            None,
            "vorname=first_name,nachname=last_name,handy=phones:mobile,firma=organization",
        )
        .unwrap();
        assert_eq!(h.kind, Kind::Contacts);
        assert_eq!(phones(&h), [("Handy", NumberKind::Mobile)]);
        assert!(h.ignored.is_empty());
        // A bare `phone` is the switchboard of an organization.
        let h = header("company,phone,tel", None, "").unwrap();
        assert_eq!(h.kind, Kind::Organizations);
        assert_eq!(
            phones(&h),
            [("phone", NumberKind::Main), ("tel", NumberKind::Main)]
        );
        assert!(matches!(
            header("first_name,email", None, "email=emails,emails=notes"),
            Ok(Header { .. })
        ));
        assert!(matches!(
            header("first_name,email,emails", None, "email=emails"),
            Err(ImportError::DuplicateColumn(name)) if name == "emails"
        ));
    }

    /// A header as long as a line may be (1 MiB) is read in one pass, however many of its
    /// columns share a name.
    #[test]
    fn a_header_of_many_repeated_names_is_read_once() {
        let mut text = "first_name".to_owned();
        text.push_str(&",mail".repeat(150_000));
        text.push_str(&",phone".repeat(50_000));
        let h = header(&text, None, "").unwrap();
        assert_eq!(h.ignored.len(), 150_000 - 1);
        assert_eq!(h.phones.len(), 50_000);
    }

    #[test]
    fn a_map_must_name_columns() {
        let refused = "email=mailbox"
            .parse::<ColumnMap>()
            .unwrap_err()
            .to_string();
        assert!(
            refused.starts_with("column map: \"mailbox\" is not a column")
                && refused.contains("emails"),
            "{refused}"
        );
        assert!("email".parse::<ColumnMap>().is_err());
        assert!("a=phones:pager".parse::<ColumnMap>().is_err());
        assert!("a=emails:mobile".parse::<ColumnMap>().is_err());
        assert!("a=emails,A=notes".parse::<ColumnMap>().is_err());
        // A column of another kind: refused once the header says which kind the file holds.
        assert!(matches!(
            header("first_name,box", None, "box=serial"),
            Err(ImportError::MapTarget {
                kind: Kind::Contacts,
                column: "serial"
            })
        ));
    }

    /// The README's table of other systems' names lists every one the importer reads.
    #[test]
    fn the_readme_lists_every_common_name() {
        let readme = include_str!("../../../README.md");
        let table = readme
            .split("**Other systems' names.**")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").nth(1))
            .expect("the README's table of common names");
        for kind in [Kind::Contacts, Kind::Organizations, Kind::Assets] {
            for (name, target) in synonyms(kind) {
                let listed = table.lines().any(|row| {
                    let cells: Vec<&str> = row.split(" | ").collect();
                    cells.len() == 3
                        && (cells[0].contains(kind.as_str()) || cells[0] == "| all")
                        && cells[1].contains(&format!("`{name}`"))
                        && cells[2].contains(&format!("`{}`", target.column))
                });
                assert!(
                    listed,
                    "{kind}: {name} → {} is not in the README",
                    target.column
                );
            }
        }
    }
}
