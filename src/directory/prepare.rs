//! Records as users type them, made ready to store: numbers to E.164 (ranges to E.164
//! prefixes), names trimmed, and every problem listed at once.

use super::model::{
    problems_of_asset, problems_of_contact, problems_of_organization, Asset, Contact, Number,
    NumberKind, Organization,
};
use super::number::{NumberError, Numbering};

/// A number of `kind` as written, in E.164 (an E.164 prefix for a range).
pub(crate) fn normalize_number(
    numbering: &Numbering,
    written: &str,
    kind: NumberKind,
) -> Result<String, NumberError> {
    match kind {
        NumberKind::Range => numbering.normalize_prefix(written),
        _ => numbering.normalize(written),
    }
}

fn normalize_numbers(numbering: &Numbering, numbers: &mut [Number], problems: &mut Vec<String>) {
    for number in numbers {
        match normalize_number(numbering, &number.number, number.kind) {
            Ok(e164) => number.number = e164,
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
