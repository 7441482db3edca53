//! A day at the contact center in miniature, for `switchdesk demo`: callers arrive at random
//! (Poisson arrivals at `callers_per_minute`) with varied patience and talk time, some press a
//! digit, and agent endpoints answer after a ring, don't answer, or are busy, in proportions set
//! per agent. Optionally a fax arrives now and then. All draws come from its own seeded RNG.
//! Most callers answer a survey after the call (a score that follows their number in the day).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;

use super::rng::SimRng;
use super::spec::{AgentBehaviour, CallSpec, FaxSpec};
use super::{SimError, Simulator};

/// One agent endpoint and how it tends to behave.
#[derive(Clone, Debug)]
pub struct TrafficAgent {
    pub endpoint: String,
    /// Relative weights of answering, not answering and being busy.
    pub answer: u32,
    pub no_answer: u32,
    pub busy: u32,
    pub ring: (Duration, Duration),
    /// Handle time once bridged.
    pub talk: (Duration, Duration),
}

impl TrafficAgent {
    pub fn new(endpoint: impl Into<String>) -> TrafficAgent {
        TrafficAgent {
            endpoint: endpoint.into(),
            answer: 8,
            no_answer: 1,
            busy: 1,
            ring: (Duration::from_secs(1), Duration::from_secs(6)),
            talk: (Duration::from_secs(20), Duration::from_secs(120)),
        }
    }
}

#[derive(Clone, Debug)]
pub struct TrafficFax {
    pub destination: String,
    pub tiff: PathBuf,
    pub every: Duration,
}

#[derive(Clone, Debug)]
pub struct TrafficConfig {
    pub seed: u64,
    pub callers_per_minute: f64,
    /// The DID callers dial (routed to a queue in `SimConfig::dialplan`).
    pub destination: String,
    pub patience: (Duration, Duration),
    /// How long callers stay once bridged (they hang up first if shorter than the agent's talk).
    pub talk: (Duration, Duration),
    /// Share of callers who press a digit after being answered.
    pub dtmf_probability: f64,
    pub agents: Vec<TrafficAgent>,
    pub fax: Option<TrafficFax>,
    /// Callers who call again and again: (number, caller-ID name). The rest are strangers.
    pub regulars: Vec<(String, String)>,
    /// Share of callers who are regulars (when there are any).
    pub regular_share: f64,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            seed: 1,
            callers_per_minute: 4.0,
            destination: "7000".into(),
            patience: (Duration::from_secs(20), Duration::from_secs(180)),
            talk: (Duration::from_secs(30), Duration::from_secs(240)),
            dtmf_probability: 0.2,
            agents: vec![
                TrafficAgent::new("user/1001"),
                TrafficAgent::new("user/1002"),
            ],
            fax: None,
            regulars: Vec::new(),
            regular_share: 0.0,
        }
    }
}

const NAMES: &[&str] = &[
    "Alice Martin",
    "Bruno Keller",
    "Chloé Dubois",
    "Daniel Weber",
    "Eva Novak",
    "Farid Haddad",
    "Greta Lindqvist",
    "Hugo Moreau",
    "Ines Ferreira",
    "Jonas Berg",
    "Katarzyna Nowak",
    "Luca Rossi",
    "Mia Schmidt",
    "Noah Jensen",
];

/// The mix an agent's endpoint is registered with: several answer variants so handle times
/// vary from call to call.
fn behaviour(agent: &TrafficAgent, rng: &mut SimRng) -> AgentBehaviour {
    let mut choices = Vec::new();
    for _ in 0..4 {
        let ring = rng.duration_between(agent.ring.0, agent.ring.1);
        let talk = rng.duration_between(agent.talk.0, agent.talk.1);
        choices.push((
            agent.answer,
            AgentBehaviour::Answer {
                ring,
                talk: Some(talk),
            },
        ));
    }
    choices.push((agent.no_answer * 4, AgentBehaviour::NoAnswer));
    choices.push((agent.busy * 4, AgentBehaviour::Busy));
    AgentBehaviour::Random(choices)
}

/// Runs until `shutdown` turns true (or the simulator stops).
pub async fn run_traffic(
    sim: Simulator,
    config: TrafficConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SimError> {
    let mut rng = SimRng::new(config.seed);
    for agent in &config.agents {
        sim.add_endpoint(&agent.endpoint, behaviour(agent, &mut rng))
            .await?;
    }
    let mean_gap = 60.0 / config.callers_per_minute.max(0.01);
    let mut next_fax = config
        .fax
        .as_ref()
        .map(|f| tokio::time::Instant::now() + f.every);
    let mut caller_count: u64 = 0;
    loop {
        // Exponential inter-arrival times, from a uniform draw in (0, 1].
        let u = (rng.range(1..1_000_001) as f64) / 1_000_000.0;
        let gap = Duration::from_secs_f64((-u.ln() * mean_gap).min(mean_gap * 6.0));
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            _ = tokio::time::sleep(gap) => {}
        }
        if *shutdown.borrow() {
            return Ok(());
        }
        caller_count += 1;
        let (number, name) = if !config.regulars.is_empty() && rng.chance(config.regular_share) {
            config.regulars[rng.range(0..config.regulars.len() as u64) as usize].clone()
        } else {
            (
                format!("+1555{:07}", rng.range(0..10_000_000)),
                NAMES[rng.range(0..NAMES.len() as u64) as usize].to_owned(),
            )
        };
        let dtmf = if rng.chance(config.dtmf_probability) {
            let digit = char::from(b'0' + rng.range(0..10) as u8);
            vec![(
                rng.duration_between(Duration::from_secs(2), Duration::from_secs(10)),
                digit,
            )]
        } else {
            Vec::new()
        };
        let spec = CallSpec {
            from_number: number,
            from_name: name,
            destination: config.destination.clone(),
            patience: Some(rng.duration_between(config.patience.0, config.patience.1)),
            talk: Some(rng.duration_between(config.talk.0, config.talk.1)),
            dtmf,
        };
        // Every caller can be reached again: a callback to `user/<number>@pstn` rings them.
        let callback = AgentBehaviour::Answer {
            ring: rng.duration_between(Duration::from_secs(2), Duration::from_secs(8)),
            talk: Some(rng.duration_between(config.talk.0, config.talk.1)),
        };
        sim.add_endpoint(&format!("user/{}@pstn", spec.from_number), callback)
            .await?;
        let call = sim.place_call(spec).await?;
        // Most callers rate the call when a survey asks (mostly well, now and then badly);
        // the score follows the caller's number in the day, so the draws above stay as
        // they were.
        if let Some(score) = survey_answer(caller_count) {
            sim.answer_reads(&call, vec![(Duration::from_secs(1), score)])
                .await?;
        }
        if let (Some(fax), Some(at)) = (&config.fax, next_fax) {
            if tokio::time::Instant::now() >= at {
                let mut spec = FaxSpec::new(
                    format!("+4930{:07}", rng.range(0..10_000_000)),
                    fax.destination.clone(),
                    fax.tiff.clone(),
                );
                spec.pages = u32::try_from(rng.range(1..4)).unwrap_or(1);
                spec.remote_station_id = format!("FAX-{caller_count}");
                sim.receive_fax(spec).await?;
                next_fax = Some(at + fax.every);
            }
        }
    }
}

/// The key the `n`-th caller of the day presses when a survey asks, if any: one in seven
/// presses nothing, the others mostly 4 or 5.
fn survey_answer(n: u64) -> Option<char> {
    const SCORES: [char; 10] = ['5', '4', '5', '3', '4', '5', '2', '4', '5', '1'];
    (n % 7 != 0).then(|| SCORES[usize::try_from(n % 10).unwrap_or(0)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_callers_rate_mostly_well_and_some_press_nothing() {
        let answers: Vec<Option<char>> = (1..=70).map(survey_answer).collect();
        assert_eq!(answers.iter().filter(|a| a.is_none()).count(), 10);
        let low = answers.iter().flatten().filter(|s| **s <= '2').count();
        let high = answers.iter().flatten().filter(|s| **s >= '4').count();
        assert!(high > 3 * low, "{answers:?}");
    }
}
