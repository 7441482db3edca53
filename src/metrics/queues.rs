//! The queues' gauges and counters, read from the engine's own views (`Board::queues`) when
//! they are scraped: nothing is counted twice, and the longest wait is current at that moment.

use std::collections::BTreeMap;

use super::{
    Metrics, AGENT_CALLS_TOTAL, AGENT_STATES, AGENT_TALK_SECONDS_TOTAL, CALL_OUTCOMES,
    QUEUE_AGENTS, QUEUE_CALLS_TOTAL, QUEUE_LONGEST_WAIT_SECONDS, QUEUE_SERVICE_LEVEL,
    QUEUE_WAITING,
};
use crate::acd::QueueView;

/// Sets every queue and agent series from `views`; a queue or agent no longer there loses its
/// series.
pub fn record(metrics: &Metrics, views: &[QueueView]) {
    let mut agents = BTreeMap::new();
    for view in views {
        let queue = [("queue", view.name.as_str())];
        let waiting = view.waiting.iter().filter(|w| !w.callback).count();
        metrics.set(QUEUE_WAITING, "", &queue, waiting as f64);
        metrics.set(
            QUEUE_LONGEST_WAIT_SECONDS,
            "",
            &queue,
            view.counters.longest_wait_secs as f64,
        );
        metrics.set(
            QUEUE_SERVICE_LEVEL,
            "",
            &queue,
            view.counters.service_level.unwrap_or(0.0),
        );
        for state in AGENT_STATES {
            let count = view.agents.iter().filter(|a| a.state() == *state).count();
            metrics.set(
                QUEUE_AGENTS,
                "",
                &[("queue", &view.name), ("state", state)],
                count as f64,
            );
        }
        let c = &view.counters;
        let outcomes = [
            c.offered,
            c.answered,
            c.abandoned,
            c.overflowed,
            c.moved,
            c.callbacks,
            c.exited,
        ];
        for (outcome, count) in CALL_OUTCOMES.iter().zip(outcomes) {
            metrics.set_counter(
                QUEUE_CALLS_TOTAL,
                "",
                &[("outcome", outcome), ("queue", &view.name)],
                count as f64,
            );
        }
        for agent in &view.agents {
            agents.insert(agent.name.as_str(), (agent.calls, agent.talk_secs));
        }
    }
    for (agent, (calls, talk_secs)) in &agents {
        let labels = [("agent", *agent)];
        metrics.set_counter(AGENT_CALLS_TOTAL, "", &labels, *calls as f64);
        metrics.set_counter(AGENT_TALK_SECONDS_TOTAL, "", &labels, *talk_secs as f64);
    }
    let queue_known = |queue: &str| views.iter().any(|v| v.name == queue);
    for family in [
        QUEUE_WAITING,
        QUEUE_LONGEST_WAIT_SECONDS,
        QUEUE_SERVICE_LEVEL,
        QUEUE_AGENTS,
        QUEUE_CALLS_TOTAL,
    ] {
        metrics.retain(family, "queue", queue_known);
    }
    for family in [AGENT_CALLS_TOTAL, AGENT_TALK_SECONDS_TOTAL] {
        metrics.retain(family, "agent", |agent| agents.contains_key(agent));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::view::{AgentView, CountersView, WaitingView};
    use crate::acd::{AgentStatus, Strategy};

    fn view(name: &str, agents: Vec<AgentView>, waiting: Vec<WaitingView>) -> QueueView {
        QueueView {
            name: name.into(),
            strategy: Strategy::default(),
            waiting,
            agents,
            alerts: Default::default(),
            counters: CountersView {
                offered: 3,
                answered: 2,
                abandoned: 1,
                overflowed: 0,
                moved: 0,
                callbacks: 0,
                callbacks_pending: 0,
                exited: 0,
                service_level: Some(0.5),
                service_level_2: None,
                service_level_secs: 20,
                average_speed_of_answer_secs: None,
                average_handle_time_secs: None,
                answered_rate: None,
                longest_wait_secs: 42,
                longest_wait_answered_secs: 0,
            },
        }
    }

    fn agent(name: &str, activity: &str) -> AgentView {
        AgentView {
            name: name.into(),
            endpoint: "user/1001".parse().unwrap(),
            tier: 1,
            position: 1,
            status: AgentStatus::Available,
            activity: activity.into(),
            since: 0,
            wrap_up_until: None,
            call: None,
            calls: 4,
            talk_secs: 300,
        }
    }

    fn waiting(callback: bool) -> WaitingView {
        WaitingView {
            call: "c".into(),
            number: "1".into(),
            name: String::new(),
            position: 1,
            waited_secs: 42,
            priority: 0,
            enqueued_at: 0,
            callback,
            offered: false,
        }
    }

    #[test]
    fn queues_and_agents_show_and_go_with_the_views() {
        let m = Metrics::new();
        let sales = view(
            "sales",
            vec![agent("olga", "in_call"), agent("ivan", "idle")],
            vec![waiting(false), waiting(true)],
        );
        record(
            &m,
            &[
                sales,
                view("support", vec![agent("olga", "in_call")], vec![]),
            ],
        );
        let sales = [("queue", "sales")];
        assert_eq!(m.get(QUEUE_WAITING, &sales), Some(1.0));
        assert_eq!(m.get(QUEUE_LONGEST_WAIT_SECONDS, &sales), Some(42.0));
        assert_eq!(m.get(QUEUE_SERVICE_LEVEL, &sales), Some(0.5));
        let in_call = [("queue", "sales"), ("state", "in_call")];
        assert_eq!(m.get(QUEUE_AGENTS, &in_call), Some(1.0));
        let on_break = [("queue", "sales"), ("state", "on_break")];
        assert_eq!(m.get(QUEUE_AGENTS, &on_break), Some(0.0));
        let offered = [("queue", "sales"), ("outcome", "offered")];
        assert_eq!(m.get(QUEUE_CALLS_TOTAL, &offered), Some(3.0));
        assert_eq!(m.get(AGENT_CALLS_TOTAL, &[("agent", "olga")]), Some(4.0));
        assert_eq!(
            m.get(AGENT_TALK_SECONDS_TOTAL, &[("agent", "ivan")]),
            Some(300.0)
        );

        // Sales and ivan were removed.
        record(&m, &[view("support", vec![agent("olga", "idle")], vec![])]);
        assert_eq!(m.get(QUEUE_WAITING, &sales), None);
        assert_eq!(m.get(QUEUE_AGENTS, &in_call), None);
        assert_eq!(m.get(QUEUE_CALLS_TOTAL, &offered), None);
        assert_eq!(m.get(AGENT_CALLS_TOTAL, &[("agent", "ivan")]), None);
        assert_eq!(
            m.get(
                QUEUE_AGENTS,
                &[("queue", "support"), ("state", "available")]
            ),
            Some(1.0)
        );
        assert!(m
            .render()
            .contains("# TYPE switchdesk_queue_waiting gauge\n"));
    }
}
