//! The profitability report: per organization and period, the calls, the agents' time and what
//! it cost at their rates, against the organization's fee. Pure: the database's sums in, the
//! report out.

use std::collections::HashMap;

use serde::Serialize;

use crate::clock::Millis;

/// Average month, for prorating a monthly fee over any period.
const MONTH_MS: f64 = 365.2425 / 12.0 * 86_400_000.0;

/// One organization's figures for a period, as the database sums them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationUsage {
    /// None: callers the phone book did not place in an organization.
    pub organization_id: Option<i64>,
    pub calls: i64,
    pub answered_calls: i64,
    pub talk_secs: i64,
    pub cost_cents: i64,
}

/// One line of the report. Money is in cents.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profitability {
    pub organization_id: Option<i64>,
    pub organization: String,
    pub calls: i64,
    pub answered_calls: i64,
    pub talk_hours: f64,
    pub cost_cents: i64,
    /// The monthly fee prorated to the period.
    pub fee_cents: i64,
    pub margin_cents: i64,
}

/// The report for `[from, to)`: every organization with calls, time or a fee, by name, and
/// the unplaced callers last.
pub fn profitability(
    usage: &[OrganizationUsage],
    monthly_fees: &[(i64, i64)],
    names: &HashMap<i64, String>,
    from: Millis,
    to: Millis,
) -> Vec<Profitability> {
    let share = (to - from).max(0) as f64 / MONTH_MS;
    let fee_of = |id: Option<i64>| -> i64 {
        id.and_then(|id| monthly_fees.iter().find(|(o, _)| *o == id))
            .map_or(0, |(_, monthly)| (*monthly as f64 * share).round() as i64)
    };
    let line = |u: &OrganizationUsage| {
        let fee_cents = fee_of(u.organization_id);
        Profitability {
            organization_id: u.organization_id,
            organization: match u.organization_id {
                Some(id) => names
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("organization {id}")),
                None => "(unidentified callers)".to_owned(),
            },
            calls: u.calls,
            answered_calls: u.answered_calls,
            talk_hours: (u.talk_secs as f64 / 3600.0 * 100.0).round() / 100.0,
            cost_cents: u.cost_cents,
            fee_cents,
            margin_cents: fee_cents - u.cost_cents,
        }
    };
    let mut lines: Vec<Profitability> = usage.iter().map(line).collect();
    for (id, _) in monthly_fees {
        if !usage.iter().any(|u| u.organization_id == Some(*id)) {
            lines.push(line(&OrganizationUsage {
                organization_id: Some(*id),
                ..OrganizationUsage::default()
            }));
        }
    }
    lines.sort_by(|a, b| {
        (a.organization_id.is_none(), a.organization.to_lowercase())
            .cmp(&(b.organization_id.is_none(), b.organization.to_lowercase()))
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_is_prorated_and_the_margin_is_fee_minus_cost() {
        let usage = [
            OrganizationUsage {
                organization_id: Some(1),
                calls: 4,
                answered_calls: 3,
                talk_secs: 5400,
                cost_cents: 4500,
            },
            OrganizationUsage {
                organization_id: None,
                calls: 2,
                ..OrganizationUsage::default()
            },
        ];
        let names = HashMap::from([(1, "Acme".to_owned()), (2, "Beta".to_owned())]);
        let month = MONTH_MS as i64;
        let report = profitability(&usage, &[(1, 100_000), (2, 50_000)], &names, 0, month / 2);
        assert_eq!(report.len(), 3);
        assert_eq!(report[0].organization, "Acme");
        assert_eq!(report[0].fee_cents, 50_000);
        assert_eq!(report[0].margin_cents, 45_500);
        assert_eq!(report[0].talk_hours, 1.5);
        assert_eq!(report[1].organization, "Beta");
        assert_eq!(report[1].margin_cents, 25_000);
        assert_eq!(report[2].organization_id, None);
        assert_eq!(report[2].calls, 2);
    }
}
