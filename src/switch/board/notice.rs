//! The incident notice: a waiting caller whose organization has an incident open (the set
//! `incidents` keeps current through [`Board::set_incident_organizations`]) hears it once,
//! in their language, just before their first announcement while it lasts.

use super::*;

/// Callers remembered as having heard the notice, at most; beyond, those no longer tracked
/// are forgotten.
const NOTICED: usize = 10_000;

/// Puts the notice in front of `steps` (after their `uuid_break`) when `call` is owed it:
/// its organization is among `organizations` and it has not heard it (`noticed`). Fields of
/// the switchboard, passed apart so the engine's queue can stay borrowed meanwhile.
pub(super) fn incident_notice(
    noticed: &mut HashSet<String>,
    identities: &HashMap<String, Identity>,
    organizations: &watch::Receiver<IncidentOrganizations>,
    call: &str,
    queue: &QueueConfig,
    language: Option<&crate::fsarg::Language>,
    steps: &mut Vec<Step>,
) {
    let organization = identities
        .get(call)
        .and_then(|who| who.organization.as_ref())
        .map(|o| o.id);
    let Some(organization) = organization else {
        return;
    };
    if noticed.contains(call) || !organizations.borrow().contains_key(&organization) {
        return;
    }
    let notice = render::incident_notice(call, queue, language);
    if notice.is_empty() {
        return;
    }
    if noticed.len() >= NOTICED {
        noticed.retain(|c| identities.contains_key(c));
    }
    noticed.insert(call.to_owned());
    let at = match steps.first() {
        Some(Step::Api {
            command: Api::Break(_),
            ..
        }) => 1,
        _ => 0,
    };
    steps.splice(at..at, notice);
}
