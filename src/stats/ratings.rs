//! Callers' ratings (the survey after a call, 1-5) rolled up, pure: per agent, queue or
//! organization and step, how many calls were rated and their average. Read from the rated
//! calls themselves (a rating comes with the caller's CDR, after the call), not from the
//! stored intervals; the agent report takes its `ratings` and `average_rating` from here too,
//! so the two cannot disagree.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::config::Day;
use super::report::{show, Step};
use crate::acd::stats::ratio;
use crate::clock::Millis;

/// One rated call as the report needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatedCall {
    /// When the call started.
    pub at: Millis,
    pub agent: Option<String>,
    pub queue: Option<String>,
    pub organization_id: Option<i64>,
    /// 1-5.
    pub rating: u8,
}

/// Ratings counted: how many, their sum, and how many of each score.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ratings {
    pub count: u64,
    pub sum: u64,
    /// Scores 1 to 5.
    pub by_score: [u64; 5],
}

impl Ratings {
    pub fn add(&mut self, rating: u8) {
        let Some(slot) = usize::from(rating)
            .checked_sub(1)
            .and_then(|i| self.by_score.get_mut(i))
        else {
            return;
        };
        *slot += 1;
        self.count += 1;
        self.sum += u64::from(rating);
    }

    /// The mean score; `None` without ratings.
    pub fn average(&self) -> Option<f64> {
        ratio(self.sum, self.count)
    }
}

/// What the rows are per.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Agent,
    Queue,
    Organization,
}

impl By {
    /// `agent`, `queue` or `organization` (empty: agent).
    pub fn parse(text: &str) -> Result<By, String> {
        match text {
            "" | "agent" => Ok(By::Agent),
            "queue" => Ok(By::Queue),
            "organization" => Ok(By::Organization),
            other => Err(format!("by {other:?} is not agent, queue or organization")),
        }
    }

    fn key(self, call: &RatedCall, names: &HashMap<i64, String>) -> String {
        match self {
            By::Agent => call.agent.clone().unwrap_or_default(),
            By::Queue => call.queue.clone().unwrap_or_default(),
            By::Organization => call
                .organization_id
                .map(|id| names.get(&id).cloned().unwrap_or_else(|| id.to_string()))
                .unwrap_or_default(),
        }
    }
}

/// One row of the ratings report: the agent, queue or organization (empty: none known) and
/// the step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatingRow {
    pub name: String,
    pub from: String,
    pub to: String,
    pub ratings: u64,
    pub average_rating: Option<f64>,
    /// How many calls got each score, 1 to 5.
    pub scores: [u64; 5],
}

impl RatingRow {
    pub const CSV_HEADER: [&'static str; 10] = [
        "name",
        "from",
        "to",
        "ratings",
        "average_rating",
        "rated_1",
        "rated_2",
        "rated_3",
        "rated_4",
        "rated_5",
    ];

    pub fn csv_cells(&self) -> Vec<String> {
        let mut cells = vec![
            self.name.clone(),
            self.from.clone(),
            self.to.clone(),
            self.ratings.to_string(),
            self.average_rating
                .map_or_else(String::new, |v| format!("{v:.4}")),
        ];
        cells.extend(self.scores.iter().map(u64::to_string));
        cells
    }
}

/// The ratings of `rated` per (step start, step end, name), `name` by `key`.
pub(crate) fn sums(
    rated: &[RatedCall],
    step: Step,
    from: Millis,
    to: Millis,
    day: &Day,
    key: impl Fn(&RatedCall) -> String,
) -> BTreeMap<(Millis, Millis, String), Ratings> {
    let mut sums: BTreeMap<(Millis, Millis, String), Ratings> = BTreeMap::new();
    for call in rated.iter().filter(|c| (from..to).contains(&c.at)) {
        let (b, e) = step.bucket(call.at, from, to, day);
        sums.entry((b, e, key(call))).or_default().add(call.rating);
    }
    sums
}

/// The report's rows in (start, name) order; `names` are organizations' names by id.
pub fn rows(
    rated: &[RatedCall],
    by: By,
    step: Step,
    from: Millis,
    to: Millis,
    day: &Day,
    names: &HashMap<i64, String>,
) -> Vec<RatingRow> {
    sums(rated, step, from, to, day, |c| by.key(c, names))
        .into_iter()
        .map(|((b, e, name), r)| RatingRow {
            name,
            from: show(day, b.max(from)),
            to: show(day, e.min(to)),
            ratings: r.count,
            average_rating: r.average(),
            scores: r.by_score,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::StatsConfig;

    const HOUR: Millis = 3_600_000;

    fn rated(at: Millis, agent: &str, queue: &str, org: Option<i64>, rating: u8) -> RatedCall {
        RatedCall {
            at,
            agent: Some(agent.into()),
            queue: Some(queue.into()),
            organization_id: org,
            rating,
        }
    }

    #[test]
    fn ratings_roll_up_per_agent_queue_and_organization() {
        let day = StatsConfig::default().day();
        let calls = [
            rated(1_000, "alice", "support", Some(7), 4),
            rated(2_000, "alice", "sales", Some(7), 2),
            rated(HOUR + 1, "bob", "support", None, 5),
            // Outside the period: not counted.
            rated(3 * HOUR, "bob", "support", None, 1),
        ];
        let names = HashMap::from([(7, "Acme".to_owned())]);
        let (from, to) = (0, 2 * HOUR);
        let agents = rows(&calls, By::Agent, Step::Whole, from, to, &day, &names);
        assert_eq!(agents.len(), 2);
        assert_eq!((agents[0].name.as_str(), agents[0].ratings), ("alice", 2));
        assert_eq!(agents[0].average_rating, Some(3.0));
        assert_eq!(agents[0].scores, [0, 1, 0, 1, 0]);
        assert_eq!(agents[1].average_rating, Some(5.0));
        let orgs = rows(
            &calls,
            By::Organization,
            Step::Whole,
            from,
            to,
            &day,
            &names,
        );
        assert_eq!(
            orgs.iter()
                .map(|r| (r.name.as_str(), r.ratings))
                .collect::<Vec<_>>(),
            [("", 1), ("Acme", 2)]
        );
        let hours = rows(&calls, By::Queue, Step::Every(HOUR), from, to, &day, &names);
        assert_eq!(
            hours
                .iter()
                .map(|r| (r.name.as_str(), r.ratings))
                .collect::<Vec<_>>(),
            [("sales", 1), ("support", 1), ("support", 1)]
        );
        assert_eq!(
            By::parse("team"),
            Err("by \"team\" is not agent, queue or organization".into())
        );
        let mut none = Ratings::default();
        none.add(0);
        none.add(6);
        assert_eq!((none.count, none.average()), (0, None));
        assert_eq!(
            agents[0].csv_cells()[3..5],
            ["2".to_owned(), "3.0000".to_owned()]
        );
    }
}
