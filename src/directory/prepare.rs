//! Records as users type them, made ready to store: numbers to E.164 (ranges to E.164
//! prefixes), names trimmed, and every problem listed at once.

use super::model::{
    problems_of_asset, problems_of_contact, problems_of_organization, Asset, Contact, Number,
    NumberKind, Organization,
};
use super::number::{NumberError, Numbering};

/// A number of `kind` as written, as stored: E.164 (an E.164 prefix for a range, the digits
/// of an internal extension). A short run of digits given as a work or other number is an
/// internal extension, and is marked as one.
pub(crate) fn normalize_number(
    numbering: &Numbering,
    written: &str,
    kind: NumberKind,
) -> Result<Number, NumberError> {
    let extension = || {
        numbering.extension(written).map(|number| Number {
            number,
            kind: NumberKind::Extension,
        })
    };
    match kind {
        NumberKind::Range => numbering
            .normalize_prefix(written)
            .map(|number| Number { number, kind }),
        NumberKind::Extension => extension().ok_or_else(|| {
            NumberError::Unparsable(
                written.trim().to_owned(),
                "an internal extension is 3 to 6 digits".into(),
            )
        }),
        // An office line may be an internal extension; a mobile, home, fax or main line not.
        NumberKind::Work | NumberKind::Other => match numbering.normalize(written) {
            Ok(number) => Ok(Number { number, kind }),
            Err(refused) => extension().ok_or(refused),
        },
        _ => numbering
            .normalize(written)
            .map(|number| Number { number, kind }),
    }
}

fn normalize_numbers(numbering: &Numbering, numbers: &mut [Number], problems: &mut Vec<String>) {
    for number in numbers {
        match normalize_number(numbering, &number.number, number.kind) {
            Ok(stored) => *number = stored,
            Err(e) => problems.push(e.to_string()),
        }
    }
}

fn trim(text: &mut String) {
    let trimmed = text.trim();
    if trimmed.len() != text.len() {
        *text = trimmed.to_owned();
    }
}

fn done(problems: Vec<String>) -> Result<(), Vec<String>> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

pub fn contact(numbering: &Numbering, contact: &mut Contact) -> Result<(), Vec<String>> {
    trim(&mut contact.first_name);
    trim(&mut contact.last_name);
    contact.aliases.retain(|a| !a.trim().is_empty());
    contact.emails.retain(|e| !e.trim().is_empty());
    let mut problems = problems_of_contact(contact);
    normalize_numbers(numbering, &mut contact.numbers, &mut problems);
    done(problems)
}

pub fn organization(
    numbering: &Numbering,
    organization: &mut Organization,
) -> Result<(), Vec<String>> {
    trim(&mut organization.name);
    organization.emails.retain(|e| !e.trim().is_empty());
    organization.fax_mailboxes.retain(|e| !e.trim().is_empty());
    let mut problems = problems_of_organization(organization);
    normalize_numbers(numbering, &mut organization.numbers, &mut problems);
    done(problems)
}

pub fn asset(asset: &mut Asset) -> Result<(), Vec<String>> {
    trim(&mut asset.name);
    done(problems_of_asset(asset))
}
