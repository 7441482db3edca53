//! How quickly incidents were taken and resolved, per organization and line. Pure: the
//! incidents opened in a period in, one row per (organization, line) out. The line is the
//! one an incident is on now (where it ended up); an incident without an organization
//! counts under none.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::Incident;
use crate::clock;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReportRow {
    pub organization_id: Option<i64>,
    pub organization: Option<String>,
    pub line: u8,
    pub incidents: i64,
    pub taken: i64,
    pub resolved: i64,
    /// Escalations by timers (steps `escalated`).
    pub escalations: i64,
    /// Mean seconds from opening to being taken, over those taken.
    pub take_secs_mean: Option<f64>,
    /// Mean seconds from opening to being resolved, over those resolved.
    pub resolve_secs_mean: Option<f64>,
}

/// A row being summed, with the milliseconds to take and to resolve each of its incidents.
type Group = (ReportRow, Vec<u64>, Vec<u64>);

/// The rows of `incidents` (with their steps), by organization then line.
pub fn rows(incidents: &[Incident]) -> Vec<ReportRow> {
    let mut groups: BTreeMap<(Option<i64>, u8), Group> = BTreeMap::new();
    for incident in incidents {
        let (row, takes, resolves) = groups
            .entry((incident.organization_id, incident.line))
            .or_insert_with(|| {
                let row = ReportRow {
                    organization_id: incident.organization_id,
                    organization: incident.organization.clone(),
                    line: incident.line,
                    ..ReportRow::default()
                };
                (row, Vec::new(), Vec::new())
            });
        row.incidents += 1;
        row.escalations += incident
            .steps
            .iter()
            .filter(|s| s.kind == super::StepKind::Escalated)
            .count() as i64;
        if let Some(at) = incident.taken_at {
            row.taken += 1;
            takes.push(clock::elapsed(incident.opened_at, at));
        }
        if let Some(at) = incident.resolved_at {
            row.resolved += 1;
            resolves.push(clock::elapsed(incident.opened_at, at));
        }
    }
    groups
        .into_values()
        .map(|(mut row, takes, resolves)| {
            row.take_secs_mean = mean_secs(&takes);
            row.resolve_secs_mean = mean_secs(&resolves);
            row
        })
        .collect()
}

fn mean_secs(spans: &[u64]) -> Option<f64> {
    (!spans.is_empty()).then(|| {
        let total: f64 = spans.iter().map(|&ms| ms as f64 / 1000.0).sum();
        total / spans.len() as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Millis;
    use crate::incidents::{IncidentStatus, Step, StepKind};

    fn incident(
        org: Option<i64>,
        line: u8,
        taken: Option<Millis>,
        resolved: Option<Millis>,
    ) -> Incident {
        Incident {
            id: 1,
            source: "zabbix".into(),
            title: "t".into(),
            host: "h".into(),
            address: String::new(),
            severity: String::new(),
            organization_id: org,
            organization: org.map(|_| "Acme".into()),
            asset_id: None,
            ticket_id: 1,
            status: IncidentStatus::Open,
            line,
            occurrences: 1,
            opened_at: 0,
            taken_at: taken,
            taken_by: None,
            resolved_at: resolved,
            resolved_by: None,
            due_at: None,
            updated_at: 0,
            steps: vec![Step {
                kind: StepKind::Escalated,
                by: "switchdesk".into(),
                line,
                at: 0,
            }],
        }
    }

    #[test]
    fn means_per_organization_and_line() {
        let rows = rows(&[
            incident(Some(1), 1, Some(60_000), Some(600_000)),
            incident(Some(1), 1, Some(120_000), None),
            incident(None, 2, None, None),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].organization_id, None);
        assert_eq!(rows[0].take_secs_mean, None);
        let acme = &rows[1];
        assert_eq!(
            (acme.incidents, acme.taken, acme.resolved, acme.escalations),
            (2, 2, 1, 2)
        );
        assert_eq!(acme.take_secs_mean, Some(90.0));
        assert_eq!(acme.resolve_secs_mean, Some(600.0));
    }
}
