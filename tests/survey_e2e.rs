//! The survey after a call, end to end: the whole service drives the simulated FreeSWITCH
//! over ESL and the simulator posts every leg's CDR to `POST /api/cdr`. A caller of a queue
//! with `survey = true` stays on the line when the agent hangs up, hears the question
//! (`play_and_get_digits`) and presses a key; the rating lands on the call, its ticket and the
//! agent's statistics; a low one flags the ticket; no key, or a hangup, records nothing; a
//! queue without a survey hangs the caller up with the agent as before.

mod common;

use std::time::Duration;

use common::service::Service;
use switchdesk::acd::{AgentConfig, AgentStatus, Membership, QueueConfig};
use switchdesk::cdr::CallRecord;
use switchdesk::config::{Config, Secret};
use switchdesk::sim::{AgentBehaviour, CallSpec, CdrTarget, Route, SimConfig, Simulator};
use switchdesk::stats::report::{self, Step};
use switchdesk::stats::StatsConfig;
use switchdesk::store::Store;
use switchdesk::tickets::Ticket;
use tokio::net::TcpListener;

const CDR_PASSWORD: &str = "survey-cdr-password";

struct Running {
    sim: Simulator,
    store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _spool: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.sim.shutdown();
    }
}

/// `support` asks for a rating (two tries, a second each); `plain` does not.
fn queue(name: &str, survey: bool) -> QueueConfig {
    let mut q = QueueConfig::named(name);
    q.prompts.hold_music = "tone_stream://%(1000,4000,440);loops=-1".parse().unwrap();
    q.wrap_up_secs = 0;
    q.ring_timeout_secs = 5;
    q.survey = survey;
    q.survey_tries = 2;
    q.survey_timeout_secs = 1;
    q
}

/// The simulated switch: 7000 is `support` (survey), 7001 `plain`; agent1 answers after
/// 100 ms and hangs up a second into the call; CDRs go to `cdr_base` when given.
async fn switch(cdr_base: Option<&str>) -> Simulator {
    switch_talking(cdr_base, Duration::from_secs(1)).await
}

/// [`switch`], with agent1 hanging up `talk` into the call.
async fn switch_talking(cdr_base: Option<&str>, talk: Duration) -> Simulator {
    let sim = Simulator::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig {
            seed: 19,
            heartbeat: Duration::from_secs(1),
            cdr: cdr_base.map(|base| CdrTarget {
                username: Some("freeswitch".into()),
                password: Some(CDR_PASSWORD.into()),
                retries: 5,
                retry_delay: Duration::from_millis(300),
                ..CdrTarget::new(format!("{base}/api/cdr"))
            }),
            dialplan: vec![
                Route::queue("7000", "support"),
                Route::queue("7001", "plain"),
            ],
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    sim.add_endpoint(
        "user/1001@default",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(100),
            talk: Some(talk),
        },
    )
    .await
    .unwrap();
    sim
}

/// The service's configuration on `db` and `sim`, with agent1 on duty in both queues.
async fn service_config(db: &common::TestDb, sim: &Simulator, spool: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.database.url = Secret::new(db.url.clone());
    config.esl.host = "127.0.0.1".into();
    config.esl.port = sim.addr().port();
    config.cdr.password = Secret::new(CDR_PASSWORD);
    config.fax.spool_dir = spool.to_path_buf();
    config.queues = vec![queue("support", true), queue("plain", false)];
    config.agents = vec![AgentConfig {
        name: "agent1".into(),
        endpoint: "user/1001@default".parse().unwrap(),
        queues: ["support", "plain"]
            .into_iter()
            .map(|q| Membership {
                queue: q.into(),
                tier: 1,
                position: 1,
            })
            .collect(),
    }];
    for agent in &config.agents {
        db.store.seed_agent(agent).await.unwrap();
        db.store
            .save_agent_state(&agent.name, &AgentStatus::Available, 0, 0)
            .await
            .unwrap();
    }
    config
}

/// The service on a fresh SQLite database and the switch, its CDRs posted to the service.
async fn start(db: &common::TestDb) -> Running {
    let web = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", web.local_addr().unwrap());
    let spool = tempfile::tempdir().unwrap();
    let sim = switch(Some(&base)).await;
    let config = service_config(db, &sim, spool.path()).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchdesk::service::run(config, web, async {
        let _ = stopped.await;
    }));
    Running {
        sim,
        store: db.store.clone(),
        stop: Some(stop),
        _spool: spool,
    }
}

async fn wait_for<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn calling(from: &str, to: &str) -> CallSpec {
    CallSpec {
        from_number: from.into(),
        from_name: "Jane Doe".into(),
        destination: to.into(),
        ..CallSpec::default()
    }
}

/// The call once both its legs are in (the agent's completes the record, the caller's ends
/// after the survey), with its ticket.
async fn filed(running: &Running, call: &str) -> (CallRecord, Ticket) {
    let store = &running.store;
    wait_for("the call filed with its agent", async || {
        let record = store.call(call).await.unwrap()?;
        let legs = store.legs_of_call(call).await.unwrap();
        if legs.len() < 2 || record.agent.is_none() {
            return None;
        }
        let ticket = store.ticket(record.ticket_id?).await.unwrap()?;
        Some((record, ticket))
    })
    .await
}

/// The applications the caller's channel ran, from its CDR (`app_name app_data`).
async fn caller_apps(running: &Running, call: &str) -> Vec<String> {
    let document = wait_for("the caller's CDR", async || {
        running.store.cdr_document(call).await.unwrap()
    })
    .await;
    document
        .lines()
        .filter_map(|line| {
            let name = line.split("app_name=\"").nth(1)?.split('"').next()?;
            let data = line.split("app_data=\"").nth(1)?.split('"').next()?;
            line.contains("app_stamp=")
                .then(|| format!("{name} {data}").trim_end().to_owned())
        })
        .collect()
}

/// What was sent about `call`, in order.
fn sent_for(sim: &Simulator, call: &str) -> Vec<String> {
    sim.commands_received()
        .into_iter()
        .filter(|c| c.contains(call))
        .collect()
}

const QUESTION: &str = "play_and_get_digits 1 1 2 1000 # switchdesk/survey.wav \
                        ivr/ivr-that_was_an_invalid_entry.wav switchdesk_rating ^[1-5] 1000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_presses_4_rates_the_call_its_ticket_and_the_agent() {
    let db = common::TestDb::sqlite().await;
    let running = start(&db).await;
    let sim = &running.sim;
    let call = sim
        .place_call(calling("+12125550101", "7000"))
        .await
        .unwrap();
    sim.answer_reads(&call, vec![(Duration::from_millis(200), '4')])
        .await
        .unwrap();
    let (record, ticket) = wait_for("the rating on the call", async || {
        let (record, ticket) = filed(&running, &call).await;
        record.rating.map(|_| (record, ticket))
    })
    .await;
    assert_eq!(record.rating, Some(4));
    assert_eq!(record.agent.as_deref(), Some("agent1"));
    assert_eq!((ticket.rating, ticket.low_rating), (Some(4), false));

    // The agent who answered has it in their statistics.
    let store = &running.store;
    let day = StatsConfig::default().day();
    let (from, to) = (record.started_at - 1, record.ended_at + 1);
    let rated = store.rated_calls(from, to, "agent1").await.unwrap();
    let agents = report::agent_rows(&[], &rated, Step::Whole, from, to, &day);
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].agent, "agent1");
    assert_eq!(
        (agents[0].ratings, agents[0].average_rating),
        (1, Some(4.0))
    );

    // What the switch was told: the caller kept after the bridge, marked and asked; then
    // thanked and hung up.
    let sent = sent_for(sim, &call);
    let multi = sent
        .iter()
        .find(|c| c.starts_with(&format!("api uuid_setvar_multi {call} ")))
        .unwrap_or_else(|| panic!("{sent:?}"));
    assert!(multi.contains("hangup_after_bridge=false"), "{multi}");
    assert!(multi.contains("continue_on_fail=true"), "{multi}");
    assert!(
        sent.contains(&format!("api uuid_setvar {call} switchdesk_survey true")),
        "{sent:?}"
    );
    assert_eq!(
        sent.iter()
            .filter(|c| **c == format!("sendmsg {call}"))
            .count(),
        5,
        "bridge, the question, its end's mark, the thanks, the hangup: {sent:?}"
    );
    let apps = caller_apps(&running, &call).await;
    let asked = apps.iter().position(|a| a == QUESTION);
    let thanked = apps
        .iter()
        .position(|a| a == "playback ivr/ivr-thank_you.wav");
    let hung_up = apps.iter().position(|a| a == "hangup NORMAL_CLEARING");
    assert!(
        apps.iter().position(|a| a.starts_with("bridge ")) < asked
            && asked.is_some()
            && asked < thanked
            && thanked < hung_up,
        "{apps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_score_of_1_flags_the_ticket_for_a_manager() {
    let db = common::TestDb::sqlite().await;
    let running = start(&db).await;
    let sim = &running.sim;
    let call = sim
        .place_call(calling("+12125550102", "7000"))
        .await
        .unwrap();
    // A wrong key first (9: asked again), then 1.
    sim.answer_reads(
        &call,
        vec![
            (Duration::from_millis(200), '9'),
            (Duration::from_millis(200), '1'),
        ],
    )
    .await
    .unwrap();
    let (record, ticket) = wait_for("the low rating on the ticket", async || {
        let (record, ticket) = filed(&running, &call).await;
        ticket.rating.map(|_| (record, ticket))
    })
    .await;
    assert_eq!(record.rating, Some(1));
    assert_eq!((ticket.rating, ticket.low_rating), (Some(1), true));
    let flagged = running
        .store
        .tickets(&switchdesk::store::TicketFilter {
            low_rating: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        flagged.iter().map(|t| t.id).collect::<Vec<_>>(),
        [ticket.id]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_records_nothing_and_the_caller_is_hung_up_after_the_tries() {
    let db = common::TestDb::sqlite().await;
    let running = start(&db).await;
    let sim = &running.sim;
    let call = sim
        .place_call(calling("+12125550103", "7000"))
        .await
        .unwrap();
    let apps = caller_apps(&running, &call).await;
    let (record, ticket) = filed(&running, &call).await;
    assert_eq!(record.rating, None);
    assert_eq!((ticket.rating, ticket.low_rating), (None, false));
    // Asked (two tries inside the one application), then hung up without thanks.
    let asked = apps.iter().position(|a| a == QUESTION);
    let hung_up = apps.iter().position(|a| a == "hangup NORMAL_CLEARING");
    assert!(asked.is_some() && asked < hung_up, "{apps:?}");
    assert!(
        !apps
            .iter()
            .any(|a| a.starts_with("playback ivr/ivr-thank_you")),
        "{apps:?}"
    );
    assert!(!sim.channels().await.unwrap().iter().any(|c| c.uuid == call));
    assert!(running
        .store
        .rated_calls(0, i64::MAX / 2, "")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hangs_up_during_the_survey_records_nothing() {
    let db = common::TestDb::sqlite().await;
    let running = start(&db).await;
    let sim = &running.sim;
    let call = sim
        .place_call(calling("+12125550104", "7000"))
        .await
        .unwrap();
    let mark = format!("api uuid_setvar {call} switchdesk_survey true");
    wait_for("the survey's question", async || {
        sent_for(sim, &call).contains(&mark).then_some(())
    })
    .await;
    // The question is running (its prompt lasts half a second): the caller hangs up.
    assert!(sim.hangup(&call, "NORMAL_CLEARING").await.unwrap());
    let (record, ticket) = filed(&running, &call).await;
    assert_eq!(record.rating, None);
    assert_eq!(ticket.rating, None);
    let apps = caller_apps(&running, &call).await;
    assert!(apps.iter().any(|a| a == QUESTION), "{apps:?}");
    assert!(
        !apps
            .iter()
            .any(|a| a.starts_with("playback ivr/ivr-thank_you")),
        "{apps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_without_a_survey_hangs_the_caller_up_with_the_agent() {
    let db = common::TestDb::sqlite().await;
    let running = start(&db).await;
    let sim = &running.sim;
    let call = sim
        .place_call(calling("+12125550105", "7001"))
        .await
        .unwrap();
    let (record, _) = filed(&running, &call).await;
    assert_eq!(record.rating, None);
    let apps = caller_apps(&running, &call).await;
    assert!(apps.iter().any(|a| a.starts_with("bridge ")), "{apps:?}");
    assert!(
        !apps.iter().any(|a| a.starts_with("play_and_get_digits")),
        "{apps:?}"
    );
    let sent = sent_for(sim, &call);
    let multi = sent
        .iter()
        .find(|c| c.starts_with(&format!("api uuid_setvar_multi {call} ")))
        .unwrap_or_else(|| panic!("{sent:?}"));
    assert!(multi.contains("hangup_after_bridge=true"), "{multi}");
    assert!(
        !sent.iter().any(|c| c.contains("switchdesk_survey")),
        "{sent:?}"
    );
    // The bridge was the only application switchdesk ran on the caller.
    assert_eq!(
        sent.iter()
            .filter(|c| **c == format!("sendmsg {call}"))
            .count(),
        1,
        "{sent:?}"
    );
    // The caller's leg ended with the agent's: its CDR came without a survey.
    assert_eq!(record.hangup_cause, "NORMAL_CLEARING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_that_ends_while_switchdesk_restarts_is_finished_and_never_requeued() {
    let db = common::TestDb::sqlite().await;
    let sim = switch(None).await;
    let spool = tempfile::tempdir().unwrap();
    let config = service_config(&db, &sim, spool.path()).await;
    let first = Service::start(config.clone()).await;
    let call = sim
        .place_call(calling("+12125550106", "7000"))
        .await
        .unwrap();
    let mark = format!("api uuid_setvar {call} switchdesk_survey true");
    wait_for("the survey's question", async || {
        sent_for(&sim, &call).contains(&mark).then_some(())
    })
    .await;
    first.stop().await;
    // The question runs out (no key) while no switchdesk listens: the channel says so.
    wait_for("the question over", async || {
        let channels = sim.channels().await.unwrap();
        let caller = channels.iter().find(|c| c.uuid == call)?;
        (caller.variable("switchdesk_survey") == Some("done")).then_some(())
    })
    .await;
    let rung = |bridges: &[(String, String)]| bridges.iter().filter(|(c, _)| *c == call).count();
    assert_eq!(rung(&sim.bridges_run().await.unwrap()), 1);

    // The next process finds the caller marked, finishes it, and never queues it again.
    let second = Service::start(config).await;
    wait_for("the caller hung up", async || {
        let channels = sim.channels().await.unwrap();
        (!channels.iter().any(|c| c.uuid == call)).then_some(())
    })
    .await;
    assert_eq!(rung(&sim.bridges_run().await.unwrap()), 1, "rung once only");
    let sent = sent_for(&sim, &call);
    assert_eq!(
        sent.iter()
            .filter(|c| c.starts_with("api uuid_answer"))
            .count(),
        1,
        "answered once only: {sent:?}"
    );
    second.stop().await;
    sim.shutdown();
}

/// The caller's channel as the switch has it, once `check` holds for it.
async fn caller_when(
    sim: &Simulator,
    call: &str,
    what: &str,
    check: impl Fn(&Option<&str>, &Option<&str>) -> bool,
) {
    wait_for(what, async || {
        let channels = sim.channels().await.unwrap();
        let caller = channels.iter().find(|c| c.uuid == call)?;
        check(
            &caller.variable("bridge_to"),
            &caller.variable("last_bridge_to"),
        )
        .then_some(())
    })
    .await;
}

/// After the restart the caller is asked (no key here), hung up, and was rung and answered once.
async fn asked_once_after_restart(sim: &Simulator, call: &str) {
    let mark = format!("api uuid_setvar {call} switchdesk_survey true");
    wait_for("the survey's question", async || {
        sent_for(sim, call).contains(&mark).then_some(())
    })
    .await;
    wait_for("the caller hung up", async || {
        let channels = sim.channels().await.unwrap();
        (!channels.iter().any(|c| c.uuid == call)).then_some(())
    })
    .await;
    let rung = sim
        .bridges_run()
        .await
        .unwrap()
        .iter()
        .filter(|(c, _)| c == call)
        .count();
    assert_eq!(rung, 1, "rung once only");
    let sent = sent_for(sim, call);
    assert_eq!(
        sent.iter()
            .filter(|c| c.starts_with("api uuid_answer"))
            .count(),
        1,
        "answered once only: {sent:?}"
    );
}

// Found on FreeSWITCH 1.10.12: a switchdesk that restarted (or a standby that took over) during
// the talk adopted the bridged caller but no longer knew it was kept for the survey, so when
// the agent hung up the caller stayed in park in silence until they gave up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_talk_that_spans_a_restart_still_ends_in_the_survey() {
    let db = common::TestDb::sqlite().await;
    let sim = switch_talking(None, Duration::from_secs(4)).await;
    let spool = tempfile::tempdir().unwrap();
    let config = service_config(&db, &sim, spool.path()).await;
    let first = Service::start(config.clone()).await;
    let call = sim
        .place_call(calling("+12125550107", "7000"))
        .await
        .unwrap();
    caller_when(&sim, &call, "the talk", |to, _| to.is_some()).await;
    first.stop().await;
    let second = Service::start(config).await;
    asked_once_after_restart(&sim, &call).await;
    second.stop().await;
    sim.shutdown();
}

// Found on FreeSWITCH 1.10.12: when the talk ended while no switchdesk listened, the caller's
// channel still named the gone agent leg (`bridge_uuid`, `signal_bond`, `Other-Leg-*`; only
// `bridge_to` is cleared), so the next switchdesk took it for bridged and left it in park.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_talk_that_ends_while_switchdesk_restarts_ends_in_the_survey() {
    let db = common::TestDb::sqlite().await;
    let sim = switch(None).await;
    let spool = tempfile::tempdir().unwrap();
    let config = service_config(&db, &sim, spool.path()).await;
    let first = Service::start(config.clone()).await;
    let call = sim
        .place_call(calling("+12125550108", "7000"))
        .await
        .unwrap();
    caller_when(&sim, &call, "the talk", |to, _| to.is_some()).await;
    first.stop().await;
    caller_when(&sim, &call, "the talk over", |to, last| {
        to.is_none() && last.is_some()
    })
    .await;
    let second = Service::start(config).await;
    asked_once_after_restart(&sim, &call).await;
    second.stop().await;
    sim.shutdown();
}
