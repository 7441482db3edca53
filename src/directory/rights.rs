//! Who may change which field of a phone book record. Agents keep records current: names,
//! aliases, e-mails, notes, language, links, and numbers people dial. What routes calls and
//! faxes needs a supervisor:
//!
//! - `vip` and `priority` (contacts and organizations): they move a caller up the queue;
//! - an organization's `fax_mailboxes`: where its received faxes are mailed;
//! - an organization's numbers of kind `fax`: which DIDs' faxes go to those mailboxes;
//! - an organization's numbers of kind `range`: a prefix claims every caller under it (and
//!   with it the organization's VIP standing and priority).
//!
//! Money (monthly fees, agents' rates) is not in these records; it has manager-only routes.
//! A change is judged against the stored record (a new record against an empty one), so an
//! agent may send a whole record back with those fields as they were.

use super::model::{Contact, Number, NumberKind, Organization};
use crate::users::Role;

/// A field a change touched, and the role that change needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guarded {
    /// The field as the API names it.
    pub field: &'static str,
    pub role: Role,
}

/// The guarded fields `after` changes, compared with `before` (the default record for a new
/// one). Both as prepared for storing (numbers in E.164).
pub fn organization_changes(before: &Organization, after: &Organization) -> Vec<Guarded> {
    let mut changes = Changes::default();
    changes.check("vip", before.vip != after.vip);
    changes.check("priority", before.priority != after.priority);
    changes.check(
        "fax_mailboxes",
        mailboxes(&before.fax_mailboxes) != mailboxes(&after.fax_mailboxes),
    );
    for (kind, field) in [
        (NumberKind::Fax, "numbers of kind fax"),
        (NumberKind::Range, "numbers of kind range"),
    ] {
        changes.check(
            field,
            numbers_of(&before.numbers, kind) != numbers_of(&after.numbers, kind),
        );
    }
    changes.0
}

/// As [`organization_changes`], for a contact.
pub fn contact_changes(before: &Contact, after: &Contact) -> Vec<Guarded> {
    let mut changes = Changes::default();
    changes.check("vip", before.vip != after.vip);
    changes.check("priority", before.priority != after.priority);
    changes.0
}

/// The guarded changes `role` may not make.
pub fn refused(role: Role, changes: Vec<Guarded>) -> Vec<Guarded> {
    changes
        .into_iter()
        .filter(|change| !role.allows(change.role))
        .collect()
}

#[derive(Default)]
struct Changes(Vec<Guarded>);

impl Changes {
    /// Every guarded field needs a supervisor today; the role is per field so one can differ.
    fn check(&mut self, field: &'static str, changed: bool) {
        if changed {
            self.0.push(Guarded {
                field,
                role: Role::Supervisor,
            });
        }
    }
}

/// Mailboxes as a set: order, case and surrounding spaces change nothing.
fn mailboxes(list: &[String]) -> Vec<String> {
    let mut set: Vec<String> = list.iter().map(|m| m.trim().to_lowercase()).collect();
    set.sort();
    set.dedup();
    set
}

/// The numbers of one kind, as a set.
fn numbers_of(numbers: &[Number], kind: NumberKind) -> Vec<&str> {
    let mut set: Vec<&str> = numbers
        .iter()
        .filter(|n| n.kind == kind)
        .map(|n| n.number.as_str())
        .collect();
    set.sort_unstable();
    set.dedup();
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(number: &str, kind: NumberKind) -> Number {
        Number {
            number: number.to_owned(),
            kind,
        }
    }

    fn fields(changes: &[Guarded]) -> Vec<&'static str> {
        changes.iter().map(|c| c.field).collect()
    }

    #[test]
    fn routing_fields_need_a_supervisor_and_everyday_ones_nobody() {
        let stored = Organization {
            id: 7,
            name: "Acme".into(),
            numbers: vec![
                number("+74951230000", NumberKind::Main),
                number("+74951230099", NumberKind::Fax),
                number("+7495123", NumberKind::Range),
            ],
            fax_mailboxes: vec!["fax@acme.example".into()],
            vip: true,
            priority: 3,
            ..Organization::default()
        };
        // Renamed, a main number added, the lists reordered and respelled: nothing guarded.
        let mut edited = stored.clone();
        edited.name = "Acme Ltd".into();
        edited.notes = "moved offices".into();
        edited.numbers.reverse();
        edited
            .numbers
            .push(number("+74951230001", NumberKind::Main));
        edited.fax_mailboxes = vec![" FAX@acme.example".into()];
        assert_eq!(organization_changes(&stored, &edited), vec![]);

        let mut hijacked = stored.clone();
        hijacked.fax_mailboxes = vec!["thief@evil.example".into()];
        hijacked.numbers[1].number = "+74959999999".into();
        hijacked.vip = false;
        let changes = organization_changes(&stored, &hijacked);
        assert_eq!(
            fields(&changes),
            vec!["vip", "fax_mailboxes", "numbers of kind fax"]
        );
        assert!(changes.iter().all(|c| c.role == Role::Supervisor));
        assert_eq!(fields(&refused(Role::Agent, changes.clone())).len(), 3);
        assert_eq!(refused(Role::Supervisor, changes), vec![]);

        // A new record is judged against an empty one.
        let new = Organization {
            priority: 1,
            numbers: vec![number("+7812", NumberKind::Range)],
            ..Organization::default()
        };
        assert_eq!(
            fields(&organization_changes(&Organization::default(), &new)),
            vec!["priority", "numbers of kind range"]
        );
    }

    #[test]
    fn a_contacts_standing_is_guarded_and_the_rest_is_not() {
        let stored = Contact {
            first_name: "Ivan".into(),
            vip: true,
            ..Contact::default()
        };
        let mut edited = stored.clone();
        edited.last_name = "Petrov".into();
        edited.numbers.push(number("+79161234567", NumberKind::Fax));
        assert_eq!(contact_changes(&stored, &edited), vec![]);
        edited.vip = false;
        edited.priority = 5;
        assert_eq!(
            fields(&contact_changes(&stored, &edited)),
            vec!["vip", "priority"]
        );
    }
}
