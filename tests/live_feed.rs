//! `/ws` with a real WebSocket client: the wallboard's snapshot and the frames a caller's
//! arrival produces, the agent's pop-up while the phone rings, who may open which feed, and a
//! client too slow to keep up being closed without holding anyone else up.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use switchdesk::acd::{AgentConfig, AgentStatus, Membership, QueueConfig, Update};
use switchdesk::config::{Config, Secret};
use switchdesk::directory::model::{Asset, Contact, Number, NumberKind, Organization, Owner};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::PhoneBook;
use switchdesk::sim::{AgentBehaviour, CallSpec, SimConfig, Simulator};
use switchdesk::tickets::{NewTicket, Status, TicketKind};
use switchdesk::users::{self, Role};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::{COOKIE, ORIGIN};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const PASSWORD: &str = "live-feed-password";

async fn login(base: &str, name: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("http://{base}/api/login"))
        .json(&serde_json::json!({"name": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

async fn connect(base: &str, feed: &str, cookie: &str) -> Result<Socket, u16> {
    let mut request = format!("ws://{base}/ws?feed={feed}")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert(COOKIE, cookie.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("connect failed: {e}"),
    }
}

/// The next text frame, as JSON.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a frame within 20 s")
            .expect("the feed stays open")
            .expect("a good frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Reads frames until one matches.
async fn until(socket: &mut Socket, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..500 {
        let frame = next(socket).await;
        if wanted(&frame) {
            return frame;
        }
    }
    panic!("no frame with {what}");
}

/// The service over the simulator: agent1 (whose phone rings `ring` before answering) serves
/// `support`; Jane Doe of Acme Ltd, with her printer, is in the phone book; sue is a
/// supervisor, agent1 and agent2 agents.
struct Running {
    base: String,
    sim: Simulator,
    store: switchdesk::store::Store,
    jane: i64,
    stop: tokio::sync::oneshot::Sender<()>,
    _db: common::TestDb,
}

async fn start(ring: Duration) -> Running {
    let db = common::TestDb::sqlite().await;
    let sim = Simulator::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig {
            heartbeat: Duration::from_secs(1),
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    sim.add_endpoint(
        "user/1001@default",
        AgentBehaviour::Answer {
            ring,
            talk: Some(Duration::from_secs(1)),
        },
    )
    .await
    .unwrap();
    let store = db.store.clone();
    let acme = store
        .save_record(&Organization {
            name: "Acme Ltd".into(),
            ..Organization::default()
        })
        .await
        .unwrap();
    let jane = store
        .save_record(&Contact {
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            organization_id: Some(acme),
            numbers: vec![Number {
                number: "+12125550101".into(),
                kind: NumberKind::Mobile,
            }],
            ..Contact::default()
        })
        .await
        .unwrap();
    store
        .save_record(&Asset {
            name: "Printer 3F".into(),
            owner: Owner::Contact(jane),
            ..Asset::default()
        })
        .await
        .unwrap();
    let agent = AgentConfig {
        name: "agent1".into(),
        endpoint: "user/1001@default".parse().unwrap(),
        queues: vec![Membership {
            queue: "support".into(),
            tier: 1,
            position: 1,
        }],
    };
    store.seed_agent(&agent).await.unwrap();
    store
        .save_agent_state("agent1", &AgentStatus::Available, 0, 0)
        .await
        .unwrap();
    for (name, role) in [
        ("sue", Role::Supervisor),
        ("agent1", Role::Agent),
        ("agent2", Role::Agent),
    ] {
        users::add_user(&store, name, role, PASSWORD).await.unwrap();
    }
    let mut config = Config::default();
    config.database.url = Secret::new(db.url.clone());
    config.esl.host = "127.0.0.1".into();
    config.esl.port = sim.addr().port();
    let mut queue = QueueConfig::named("support");
    queue.prompts.hold_music = "tone_stream://%(1000,4000,440);loops=-1".parse().unwrap();
    config.queues = vec![queue];
    config.agents = vec![agent];
    let web = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = web.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchdesk::service::run(config, web, async {
        let _ = stopped.await;
    }));
    // Wait for the service to answer.
    for _ in 0..100 {
        if reqwest::get(format!("http://{base}/healthz")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Running {
        base,
        sim,
        store,
        jane,
        stop,
        _db: db,
    }
}

/// Jane Doe calls the support line.
async fn jane_calls(sim: &Simulator) -> String {
    sim.place_call(CallSpec {
        from_number: "+12125550101".into(),
        from_name: "Jane Doe".into(),
        destination: "7000".into(),
        ..CallSpec::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallboard_sees_callers_and_the_ringing_agent_sees_who_calls() {
    // `_db` lives to the end: the database outlives the service.
    let Running {
        base,
        sim,
        stop,
        _db,
        ..
    } = start(Duration::from_secs(2)).await;

    let supervisor = login(&base, "sue").await;
    let agent_cookie = login(&base, "agent1").await;
    // An agent may not open the wallboard; a page from another origin may not open anything.
    assert_eq!(
        connect(&base, "wallboard", &agent_cookie).await.err(),
        Some(403)
    );
    let mut foreign = format!("ws://{base}/ws?feed=agent")
        .into_client_request()
        .unwrap();
    foreign
        .headers_mut()
        .insert(COOKIE, agent_cookie.parse().unwrap());
    foreign
        .headers_mut()
        .insert(ORIGIN, "http://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(foreign).await.is_err());

    let mut wallboard = connect(&base, "wallboard", &supervisor).await.unwrap();
    let snapshot = next(&mut wallboard).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["queues"][0]["name"], "support");
    let mut desktop = connect(&base, "agent", &agent_cookie).await.unwrap();
    let mine = next(&mut desktop).await;
    assert_eq!(
        (mine["type"].as_str(), mine["agent"]["name"].as_str()),
        (Some("snapshot"), Some("agent1"))
    );

    let call = jane_calls(&sim).await;
    let joined = until(&mut wallboard, "caller_joined", |f| {
        f["type"] == "update" && f["update"]["update"] == "caller_joined"
    })
    .await;
    assert_eq!(joined["update"]["id"], call.as_str());
    let shown = until(&mut wallboard, "the queue with the caller", |f| {
        f["type"] == "queue" && f["queue"]["waiting"][0]["call"] == call.as_str()
    })
    .await;
    let waiting = &shown["queue"]["waiting"][0];
    assert_eq!(waiting["position"], 1);
    assert_eq!(waiting["identity"]["organization"]["name"], "Acme Ltd");
    // The number as the deployment shows numbers (`number_style`, international by default).
    assert_eq!(waiting["number_shown"], "+1 212-555-0101", "{waiting}");

    // agent1's phone rings: the desktop gets its state and the pop-up, before the answer.
    let popup = until(&mut desktop, "the pop-up", |f| f["type"] == "popup").await;
    assert_eq!(popup["call"], call.as_str());
    assert_eq!(popup["organization"]["name"], "Acme Ltd");
    assert_eq!(popup["contact"]["first_name"], "Jane");
    assert_eq!(popup["assets"][0]["name"], "Printer 3F");
    assert_eq!(
        popup["caller"]["number_shown"], "+1 212-555-0101",
        "{popup}"
    );
    let state = sim.channels().await.unwrap();
    assert!(
        state
            .iter()
            .all(|c| c.uuid != call || c.bridged_to.is_none()),
        "the pop-up came while the phone was ringing"
    );
    let answered = until(&mut desktop, "in_call", |f| {
        f["type"] == "agent" && f["agent"]["activity"] == "in_call"
    })
    .await;
    assert_eq!(answered["agent"]["call"], call.as_str());
    // A wallboard opened during the call names the agent's caller (no longer waiting).
    let mut late = connect(&base, "wallboard", &supervisor).await.unwrap();
    let snapshot = next(&mut late).await;
    let agents = snapshot["queues"][0]["agents"].as_array().unwrap().clone();
    let talking = agents.iter().find(|a| a["name"] == "agent1").unwrap();
    assert_eq!(talking["call"], call.as_str(), "{talking}");
    assert_eq!(
        talking["caller"]["organization"]["name"], "Acme Ltd",
        "{talking}"
    );
    assert_eq!(talking["caller"]["e164"], "+12125550101", "{talking}");
    assert_eq!(
        talking["caller"]["number_shown"], "+1 212-555-0101",
        "{talking}"
    );
    assert!(
        agents
            .iter()
            .filter(|a| a["call"].is_null())
            .all(|a| a["caller"].is_null()),
        "{agents:?}"
    );
    let _ = late.close(None).await;
    // The supervisor never gets the agent's pop-up; the agent never gets wallboard frames.
    let left = until(&mut wallboard, "caller_left", |f| {
        f["type"] == "update" && f["update"]["update"] == "caller_left"
    })
    .await;
    assert_eq!(left["update"]["departure"]["reason"], "answered");
    let _ = wallboard.close(None).await;
    let _ = stop.send(());
}

/// `GET /api/agents/{name}/popup` answers exactly what the feed's `popup` frame carried
/// (`Popup::gather` for the call at the agent's phone): to that agent and to a supervisor,
/// never to another agent (403); 404 while no call is at the phone, and for no such agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_popup_route_answers_what_the_feed_pushed() {
    // The phone rings long enough (the queue's ring timeout is 20 s) to ask while it rings.
    let running = start(Duration::from_secs(15)).await;
    let base = running.base.as_str();
    let now = switchdesk::clock::now();
    let ticket = running
        .store
        .open_ticket(
            &NewTicket {
                subject: "Printer jams".into(),
                category: "information".into(),
                status: Status::Open,
                priority: 2,
                starred: false,
                kind: TicketKind::Call,
                organization_id: None,
                contact_id: Some(running.jane),
                caller_number: "+12125550101".into(),
                unidentified: false,
                queue: Some("support".into()),
                assignee: None,
                created_at: now,
                last_call_at: Some(now),
                first_response_at: None,
                first_response_due: None,
                resolution_due: None,
            },
            false,
        )
        .await
        .unwrap();
    let agent1 = login(base, "agent1").await;
    let agent2 = login(base, "agent2").await;
    let sue = login(base, "sue").await;
    let http = reqwest::Client::new();
    let popup_of = |agent: &str, cookie: &str| {
        http.get(format!("http://{base}/api/agents/{agent}/popup"))
            .header("Cookie", cookie.to_owned())
            .send()
    };

    // Nothing rings yet: no pop-up.
    let idle = popup_of("agent1", &agent1).await.unwrap();
    assert_eq!(idle.status(), 404);
    assert_eq!(idle.json::<Value>().await.unwrap()["code"], "not_found");

    let mut desktop = connect(base, "agent", &agent1).await.unwrap();
    let call = jane_calls(&running.sim).await;
    let mut frame = until(&mut desktop, "the pop-up", |f| f["type"] == "popup").await;
    // The frame is the pop-up with its type and time.
    let fields = frame.as_object_mut().unwrap();
    assert_eq!(fields.remove("type"), Some(Value::from("popup")));
    assert!(fields.remove("at").is_some_and(|at| at.is_i64()));

    let mine = popup_of("agent1", &agent1).await.unwrap();
    assert_eq!(mine.status(), 200);
    let mine: Value = mine.json().await.unwrap();
    assert_eq!(mine, frame);
    assert_eq!(mine["call"], call.as_str());
    assert_eq!(mine["caller"]["number"], "+12125550101");
    assert_eq!(mine["organization"]["name"], "Acme Ltd");
    assert_eq!(mine["contact"]["first_name"], "Jane");
    assert_eq!(mine["assets"][0]["name"], "Printer 3F");
    assert_eq!(mine["open_tickets"][0]["id"], ticket.id);
    assert_eq!(mine["open_tickets"][0]["subject"], "Printer jams");
    assert!(mine["recent_calls"].is_array(), "{mine}");

    // A supervisor sees the same; another agent may not look.
    let supervised = popup_of("agent1", &sue).await.unwrap();
    assert_eq!(supervised.status(), 200);
    assert_eq!(supervised.json::<Value>().await.unwrap(), frame);
    let other = popup_of("agent1", &agent2).await.unwrap();
    assert_eq!(other.status(), 403);
    // agent2 is a user but no agent of any queue; "nobody" is neither.
    assert_eq!(popup_of("agent2", &agent2).await.unwrap().status(), 404);
    assert_eq!(popup_of("nobody", &sue).await.unwrap().status(), 404);
    let _ = running.stop.send(());
}

/// A client that stops reading is closed with 1013 once it is a full buffer behind, while
/// the hub goes on serving a client that reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_cannot_keep_up_is_closed() {
    let db = common::TestDb::sqlite().await;
    users::add_user(&db.store, "sue", Role::Supervisor, PASSWORD)
        .await
        .unwrap();
    let phonebook = Arc::new(PhoneBook::new(Numbering::new("US").unwrap()));
    let mut state =
        switchdesk::service::state_without_switch(Config::default(), &db.store, phonebook.clone())
            .await
            .unwrap();
    let (updates, receiver) = tokio::sync::broadcast::channel(64 * 1024);
    let (tickets, ticket_receiver) = tokio::sync::broadcast::channel(16);
    let sources = switchdesk::live::Sources {
        board: state.board.clone(),
        updates: receiver,
        tickets: ticket_receiver,
        store: db.store.clone(),
        phonebook,
    };
    state.live = switchdesk::live::Hub::start(sources, &state.tasks);
    let web = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = web.local_addr().unwrap().to_string();
    tokio::spawn(switchdesk::web::serve(web, state, std::future::pending()));
    let cookie = login(&base, "sue").await;
    let mut slow = connect(&base, "wallboard", &cookie).await.unwrap();
    let mut reader = connect(&base, "wallboard", &cookie).await.unwrap();
    next(&mut slow).await;
    next(&mut reader).await;
    let big_name = "x".repeat(2_000);
    let seen = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = seen.clone();
    let reading = tokio::spawn(async move {
        let mut seen = 0;
        while seen < 20_000 {
            if next(&mut reader).await["type"] == "update" {
                seen += 1;
                counted.store(seen, std::sync::atomic::Ordering::Relaxed);
            }
        }
        seen
    });
    for i in 0..20_000u32 {
        let _ = updates.send(Update::Announced {
            queue: "support".into(),
            call: format!("{big_name}-{i}"),
            position: 1,
            wait_minutes: None,
            at: 0,
        });
        if i % 500 == 0 {
            // A reader that reads keeps up however loaded the machine is (it is never more
            // than 2,000 frames behind); the slow client reads nothing and falls behind anyway.
            while seen.load(std::sync::atomic::Ordering::Relaxed) + 2_000 < i {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(
        reading.await.unwrap(),
        20_000,
        "the reading client got everything"
    );
    // The slow one finds, after what fitted in its buffers, a close "try again later".
    let mut code = None;
    while let Some(Ok(message)) = slow.next().await {
        if let Message::Close(frame) = message {
            code = frame.map(|f| u16::from(f.code));
            break;
        }
    }
    assert_eq!(code, Some(1013));
    drop(tickets);
}

/// An admin disables a user: the user's open live feed is closed at once (1008), their
/// session no longer works, and another user's feed stays open. Then the user lifecycle:
/// enabled again, role changed, password reset by the admin and changed by the user, deleted;
/// the last enabled admin cannot be disabled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_is_signed_out_everywhere_at_once() {
    let db = common::TestDb::sqlite().await;
    for (name, role) in [
        ("ada", Role::Admin),
        ("sue", Role::Supervisor),
        ("sam", Role::Supervisor),
    ] {
        users::add_user(&db.store, name, role, PASSWORD)
            .await
            .unwrap();
    }
    let phonebook = Arc::new(PhoneBook::new(Numbering::new("US").unwrap()));
    let state = switchdesk::service::state_without_switch(Config::default(), &db.store, phonebook)
        .await
        .unwrap();
    let web = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = web.local_addr().unwrap().to_string();
    tokio::spawn(switchdesk::web::serve(web, state, std::future::pending()));
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, cookie: &str, body: Option<Value>| {
        let mut request = http
            .request(method, format!("http://{base}{path}"))
            .header("Cookie", cookie.to_owned())
            .header("Origin", format!("http://{base}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    // The status `GET /api/me` answers with this cookie: 200 while the session lives.
    let signed_in_as = |cookie: &str| {
        let me = call(reqwest::Method::GET, "/api/me", cookie, None);
        async move { me.await.unwrap().status() }
    };
    let ada = login(&base, "ada").await;
    let sue = login(&base, "sue").await;
    let sam = login(&base, "sam").await;
    let mut sues_feed = connect(&base, "wallboard", &sue).await.unwrap();
    let mut sams_feed = connect(&base, "wallboard", &sam).await.unwrap();
    next(&mut sues_feed).await;
    next(&mut sams_feed).await;

    let disabled = call(
        reqwest::Method::PATCH,
        "/api/users/sue",
        &ada,
        Some(serde_json::json!({"disabled": true})),
    )
    .await
    .unwrap();
    assert_eq!(disabled.status(), 200);
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match sues_feed.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("the feed closes at once");
    assert_eq!(closed, Some(1008));
    assert_eq!(signed_in_as(&sue).await, 401);
    assert_eq!(connect(&base, "wallboard", &sue).await.err(), Some(401));
    // sam's feed is untouched: it still answers a ping.
    sams_feed
        .send(Message::Ping(b"still there".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match sams_feed.next().await {
                Some(Ok(Message::Pong(payload))) => return Some(payload.to_vec()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(pong.as_deref(), Some(&b"still there"[..]));

    // Enabled again, sue signs in; as an agent she no longer sees the wallboard.
    let enabled = call(
        reqwest::Method::PATCH,
        "/api/users/sue",
        &ada,
        Some(serde_json::json!({"disabled": false, "role": "agent"})),
    )
    .await
    .unwrap();
    let enabled: Value = enabled.json().await.unwrap();
    assert_eq!(
        (enabled["role"].as_str(), enabled["disabled"].as_bool()),
        (Some("agent"), Some(false))
    );
    let sue = login(&base, "sue").await;
    assert_eq!(connect(&base, "wallboard", &sue).await.err(), Some(403));

    // An admin resets her password: the old one and the old session stop working.
    let reset = call(
        reqwest::Method::POST,
        "/api/users/sue/password",
        &ada,
        Some(serde_json::json!({"password": "a-new-password-1"})),
    )
    .await
    .unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(signed_in_as(&sue).await, 401);
    // She changes it herself: the wrong current one is refused, the right one works and her
    // browser keeps a fresh session.
    let signed_in = http
        .post(format!("http://{base}/api/login"))
        .json(&serde_json::json!({"name": "sue", "password": "a-new-password-1"}))
        .send()
        .await
        .unwrap();
    let sue = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let wrong = call(
        reqwest::Method::POST,
        "/api/me/password",
        &sue,
        Some(serde_json::json!({"current": "not-it-at-all", "password": "her-own-password"})),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 403);
    let changed = call(
        reqwest::Method::POST,
        "/api/me/password",
        &sue,
        Some(serde_json::json!({"current": "a-new-password-1", "password": "her-own-password"})),
    )
    .await
    .unwrap();
    assert_eq!(changed.status(), 200);
    let fresh = changed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(signed_in_as(&fresh).await, 200);
    assert_eq!(signed_in_as(&sue).await, 401);

    // The last enabled admin cannot be disabled, demoted or deleted.
    for (method, body) in [
        (
            reqwest::Method::PATCH,
            Some(serde_json::json!({"disabled": true})),
        ),
        (
            reqwest::Method::PATCH,
            Some(serde_json::json!({"role": "manager"})),
        ),
        (reqwest::Method::DELETE, None),
    ] {
        let refused = call(method.clone(), "/api/users/ada", &ada, body)
            .await
            .unwrap();
        assert_eq!(refused.status(), 409, "{method}");
    }
    // Deleted, sue is gone with her sessions.
    let deleted = call(reqwest::Method::DELETE, "/api/users/sue", &ada, None)
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(signed_in_as(&fresh).await, 401);
    let users: Value = call(reqwest::Method::GET, "/api/users", &ada, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        users.as_array().unwrap().iter().all(|u| u["name"] != "sue"),
        "{users}"
    );
}
