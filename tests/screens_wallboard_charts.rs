//! The wallboard's charts over time and the announced waits' median error in a real headless
//! Chromium, against the whole service on the simulated switch: the store holds the last four
//! hours of `support` (callers waiting, its two agents' time by state, answers within and past
//! the threshold) and three answered callers' promises (told 2 minutes; waited 1.6, 2.4 and 3:
//! errors 20%, 20% and 50%). A supervisor sees three charts with a point per interval and the
//! median error, 20%, among the queue's figures, with the callers and agents still on the
//! screen; in English and Russian, at desktop and phone size. Screenshots under
//! `target/screenshots/` (`wallboard-charts-{en,ru}[-phone]`).

mod browser;
mod common;

use std::time::Duration;

use browser::{Browser, UNTRANSLATED};
use common::service::{agent, queue, Service};
use serde_json::{json, Value};
use switchdesk::acd::stats::{Counters, PromisedWait};
use switchdesk::acd::{AgentConfig, AgentStatus, Membership};
use switchdesk::clock::{self, Millis};
use switchdesk::stats::{AgentInterval, AgentTime, Deltas, QueueInterval, WaitingTime};
use switchdesk::store::Store;
use switchdesk::users::{self, Role};

const PASSWORD: &str = "wallboard-charts";

/// How far back the stored history goes, in intervals.
const HISTORY: i64 = 16;

/// A phone's screen, as the other screen tests emulate it.
fn phone() -> Value {
    json!({"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true})
}

/// Loads the page again (`goto` to the address shown would only move to its fragment).
async fn reload(browser: &mut Browser) {
    browser
        .eval("window.__stale = true; setTimeout(() => location.reload(), 0); true")
        .await;
    browser
        .wait_for(
            "the page loaded again",
            "document.readyState === 'complete' && !window.__stale",
        )
        .await;
}

/// `agent2`, a second member of `support` (logged out now; its past time is charted).
fn second_agent() -> AgentConfig {
    AgentConfig {
        name: "agent2".into(),
        endpoint: "user/1002@default".parse().unwrap(),
        queues: vec![Membership {
            queue: "support".into(),
            tier: 1,
            position: 2,
        }],
    }
}

/// The last `HISTORY` intervals before the one running at `now`, each a little different,
/// and three promises answered just now.
async fn store_history(store: &Store, now: Millis, interval: Millis, today: Millis) {
    let current = now - now % interval;
    let whole = clock::elapsed(0, interval);
    let mut deltas = Deltas::default();
    for back in 1..=HISTORY {
        let start = current - back * interval;
        let busy = back as u64 % 5;
        // Four answers, (back % 4) + 1 of them within the threshold.
        let counters = Counters {
            offered: 6,
            answered: 4,
            answered_within_sl: back as u64 % 4 + 1,
            total_wait_answered_ms: 80_000,
            ..Counters::default()
        };
        deltas.queues.push(QueueInterval {
            queue: "support".into(),
            start,
            counters,
            waiting: WaitingTime {
                waiting_ms: whole * (busy + 1) / 2,
                peak_waiting: busy + 2,
            },
        });
        let time = |in_call: u64, wrap_up: u64, available: u64, on_break: u64| AgentTime {
            in_call_ms: whole * in_call / 10,
            wrap_up_ms: whole * wrap_up / 10,
            available_ms: whole * available / 10,
            break_ms: whole * on_break / 10,
            login_ms: whole * (in_call + wrap_up + available + on_break) / 10,
            ..AgentTime::default()
        };
        deltas.agents.push(AgentInterval {
            agent: "agent1".into(),
            start,
            time: time(5 + busy, 1, 4 - busy.min(3), 0),
        });
        deltas.agents.push(AgentInterval {
            agent: "agent2".into(),
            start,
            time: time(3, 1, 2, 4),
        });
    }
    // The interval running now, so far: as the recorder would have stored it.
    let passed = clock::elapsed(current, now);
    deltas.queues.push(QueueInterval {
        queue: "support".into(),
        start: current,
        counters: Counters::default(),
        waiting: WaitingTime {
            waiting_ms: passed,
            peak_waiting: 2,
        },
    });
    for (agent, in_call, on_break) in [("agent1", passed * 6 / 10, 0), ("agent2", 0, passed)] {
        deltas.agents.push(AgentInterval {
            agent: agent.into(),
            start: current,
            time: AgentTime {
                in_call_ms: in_call,
                available_ms: passed - in_call - on_break,
                break_ms: on_break,
                ..AgentTime::default()
            },
        });
    }
    // Answered in the last seconds, never before the day's start.
    let lately = today.max(now - 10_000);
    for (n, waited_ms) in [96_000u64, 144_000, 180_000].into_iter().enumerate() {
        let answered_at = lately + n as Millis;
        deltas.promises.push(PromisedWait {
            queue: "support".into(),
            call: format!("caller-{n}"),
            told_at: answered_at - clock::ms(waited_ms),
            promised_ms: 120_000,
            answered_at,
        });
    }
    store.add_intervals(&deltas).await.unwrap();
}

/// What the wallboard draws for `support`: the charts, their points, the promise figure, and
/// whether the callers' and agents' lists start on the screen.
const DRAWN: &str = "(() => { \
    const queue = document.querySelector('#queues .queue[data-queue=\"support\"]'); \
    const history = queue.querySelector('.queue-history'); \
    const at = (sel) => queue.querySelector(sel).getBoundingClientRect(); \
    return { \
      charts: [...history.querySelectorAll('figure')].map(f => f.dataset.chart), \
      waiting: history.querySelectorAll('[data-chart=\"waiting\"] circle.point.line-waiting').length, \
      service_level: history.querySelectorAll('[data-chart=\"service-level\"] circle.point.line-sl').length, \
      areas: history.querySelectorAll('[data-chart=\"agents\"] polygon.area').length, \
      promise_label: queue.querySelector('[data-key=\"promise_error\"] dt').textContent, \
      promise: queue.querySelector('[data-counter=\"promise_error\"]').textContent, \
      promise_title: queue.querySelector('[data-key=\"promise_error\"]').title, \
      summary: history.querySelector('summary').textContent, \
      chart_right: Math.max(...[...history.querySelectorAll('svg')].map(s => s.getBoundingClientRect().right)), \
      width: document.documentElement.clientWidth, \
      lists_top: Math.min(at('.queue-columns').top, innerHeight * 10), \
      height: innerHeight }; })()";

/// The charts drawn with the stored history (at least the last two hours), the API's answer in.
const CHARTED: &str = "document.querySelectorAll('#queues .queue[data-queue=\"support\"] \
    [data-chart=\"service-level\"] circle.point.line-sl').length >= 8 \
    && document.querySelector('[data-counter=\"promise_error\"]')?.textContent !== '—'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallboard_charts_the_last_hours_and_the_median_promise_error() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let db = common::TestDb::sqlite().await;
    db.store.seed_queue(&queue()).await.unwrap();
    for agent in [agent(), second_agent()] {
        db.store.seed_agent(&agent).await.unwrap();
    }
    db.store
        .save_agent_state("agent1", &AgentStatus::Available, 0, 0)
        .await
        .unwrap();
    users::add_user(&db.store, "sue", Role::Supervisor, PASSWORD)
        .await
        .unwrap();
    let sim = common::service::simulator(31, Duration::from_secs(1)).await;
    let spool = tempfile::tempdir().unwrap();
    let mut config = common::service::config(&db, &sim, spool.path());
    config.agents.push(second_agent());
    let now = clock::now();
    let interval = config.stats.interval_ms();
    let today = config.stats.day().start_of(now);
    store_history(&db.store, now, interval, today).await;
    let service = Service::start(config).await;

    // English, on a desktop.
    browser.sign_in(&service.base, "sue", PASSWORD).await;
    browser
        .wait_for("the charts with their history", CHARTED)
        .await;
    let drawn = browser.eval(DRAWN).await;
    browser.screenshot("wallboard-charts-en").await;
    assert_eq!(
        drawn["charts"],
        json!(["waiting", "agents", "service-level"]),
        "{drawn}"
    );
    // Four hours back from the interval four hours ago to the one running: a point each.
    assert!(drawn["waiting"].as_u64() >= Some(17), "{drawn}");
    assert!(drawn["service_level"].as_u64() >= Some(16), "{drawn}");
    assert_eq!(drawn["areas"], 5, "one area per agent state: {drawn}");
    assert_eq!(drawn["promise_label"], "Wait promise error", "{drawn}");
    // Errors 20%, 20%, 50%: the median is 20%.
    assert_eq!(drawn["promise"], "20.0%", "{drawn}");
    assert!(
        drawn["promise_title"]
            .as_str()
            .is_some_and(|t| t.contains("over 3 answered callers")),
        "{drawn}"
    );
    assert_eq!(drawn["summary"], "Over time, last 4 h", "{drawn}");
    // The charts take the queue's width, and its callers and agents still start on screen.
    assert!(
        drawn["chart_right"].as_f64() <= drawn["width"].as_f64(),
        "{drawn}"
    );
    assert!(
        drawn["lists_top"].as_f64() < drawn["height"].as_f64(),
        "{drawn}"
    );
    // Each point says what it stands for.
    let said = browser
        .eval("document.querySelector('[data-chart=\"service-level\"] circle.point.line-sl title').textContent")
        .await;
    assert!(
        said.as_str()
            .is_some_and(|s| s.contains("service level") && s.contains("of 4 answered")),
        "{said}"
    );

    // A shorter span is asked for and drawn.
    browser
        .eval(
            "(() => { const menu = document.querySelector('#history-hours'); menu.value = '2'; \
             menu.dispatchEvent(new Event('change')); return true; })()",
        )
        .await;
    browser
        .wait_for(
            "the last two hours",
            "document.querySelector('.queue-history summary').textContent === 'Over time, last 2 h' \
             && document.querySelectorAll('[data-chart=\"waiting\"] circle.point.line-waiting').length <= 10",
        )
        .await;

    // TV mode keeps the charts, larger; the queues' lists still start on the screen.
    let tv = browser
        .eval(
            "(() => { document.querySelector('#tv-mode').click(); \
             const chart = document.querySelector('.queue-history svg').getBoundingClientRect(); \
             const lists = document.querySelector('.queue .queue-columns').getBoundingClientRect(); \
             return { tv: document.body.dataset.tv, chart: chart.height, lists: lists.top, height: innerHeight }; })()",
        )
        .await;
    assert_eq!(tv["tv"], "true", "{tv}");
    assert!(tv["chart"].as_f64() > Some(0.0), "{tv}");
    assert!(tv["lists"].as_f64() < tv["height"].as_f64(), "{tv}");
    browser
        .call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyDown", "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27}),
        )
        .await;
    browser
        .wait_for("TV mode to end", "!document.body.dataset.tv")
        .await;

    // On a phone the block starts folded the first time; opened, the charts fit the width.
    browser
        .call("Emulation.setDeviceMetricsOverride", phone())
        .await;
    browser
        .eval("localStorage.removeItem('switchdesk.history-open'); true")
        .await;
    reload(&mut browser).await;
    browser.wait_for("the phone wallboard", CHARTED).await;
    let folded = browser
        .eval("document.querySelector('.queue-history').open")
        .await;
    assert_eq!(folded, false);
    browser
        .eval("document.querySelector('.queue-history summary').click(); true")
        .await;
    let drawn = browser.eval(DRAWN).await;
    assert!(
        drawn["chart_right"].as_f64() <= drawn["width"].as_f64(),
        "{drawn}"
    );
    browser
        .eval("document.querySelector('.queue-history').scrollIntoView(); true")
        .await;
    browser.screenshot("wallboard-charts-en-phone").await;

    // Russian: the same figures, every text translated.
    browser.accept_language("ru-RU,ru;q=0.9").await;
    browser
        .call("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;
    reload(&mut browser).await;
    browser
        .wait_for(
            "the Russian wallboard with its charts",
            &format!("document.documentElement.lang === 'ru' && {CHARTED}"),
        )
        .await;
    let drawn = browser.eval(DRAWN).await;
    assert_eq!(
        drawn["promise_label"], "Ошибка обещанного ожидания",
        "{drawn}"
    );
    assert!(
        drawn["promise"]
            .as_str()
            .is_some_and(|p| p.starts_with("20")),
        "{drawn}"
    );
    assert_eq!(drawn["summary"], "Динамика за последние 2 ч", "{drawn}");
    let left = browser.eval(UNTRANSLATED).await;
    assert_eq!(left, json!([]), "English left on the Russian wallboard");
    browser.screenshot("wallboard-charts-ru").await;
    browser
        .call("Emulation.setDeviceMetricsOverride", phone())
        .await;
    reload(&mut browser).await;
    browser
        .wait_for("the Russian phone wallboard", CHARTED)
        .await;
    browser
        .eval("document.querySelector('.queue-history').scrollIntoView(); true")
        .await;
    browser.screenshot("wallboard-charts-ru-phone").await;

    service.stop().await;
    sim.shutdown();
}
