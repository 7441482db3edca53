//! The FreeSWITCH simulator against the captures of a real FreeSWITCH 1.10.12
//! (`tests/fixtures/freeswitch`): the same handshake bytes, the same reply texts, the same
//! event order and header structure for the same call situations, the same mod_xml_cdr POST.
//! Each scenario runs on its own simulator on 127.0.0.1:0, driven over raw TCP.

mod captures;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use switchdesk::esl::event::EventFormat;
use switchdesk::esl::{percent, wire, Event, Frame, FrameKind, Parser};
use switchdesk::sim::{
    AgentBehaviour, CallSpec, CdrTarget, FaxOutcome, FaxSpec, Route, SimConfig, Simulator,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(5);
const AGENT: &str = "sofia/external/agent@127.0.0.1:5090";
const AGENT_UUID: &str = "9a8b25a2-ee22-44b7-9a88-33801a5d0b8d";

// ----- fixtures ---------------------------------------------------------------------------

fn fixtures() -> PathBuf {
    captures::freeswitch()
}

fn capture_bytes(name: &str) -> Vec<u8> {
    let path = fixtures().join("esl").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} is needed: {e}", path.display()))
}

fn capture_frames(name: &str) -> Vec<Frame> {
    let mut parser = Parser::default();
    parser.push(&capture_bytes(name));
    let mut frames = Vec::new();
    while let Some(frame) = parser.next_frame().unwrap() {
        frames.push(frame);
    }
    frames
}

fn capture_events(name: &str) -> Vec<Event> {
    capture_frames(name)
        .iter()
        .filter(|f| f.kind().is_event())
        .map(|f| Event::from_frame(f).unwrap())
        .collect()
}

/// `COMMAND|PRIVATE_COMMAND` for the double header set, as the fixture summaries write it.
fn kind(e: &Event) -> String {
    e.get_all("Event-Name").collect::<Vec<_>>().join("|")
}

fn uid(e: &Event) -> String {
    e.get_all("Unique-ID")
        .next()
        .map(|u| u.into_owned())
        .unwrap_or_default()
}

/// Header names in order, without `variable_*` (whose set depends on SIP details).
fn names(e: &Event) -> Vec<String> {
    e.headers()
        .map(|(n, _)| n.to_owned())
        .filter(|n| !n.starts_with("variable_"))
        .collect()
}

const CODEC_HEADERS: [&str; 6] = [
    "Channel-Read-Codec-Name",
    "Channel-Read-Codec-Rate",
    "Channel-Read-Codec-Bit-Rate",
    "Channel-Write-Codec-Name",
    "Channel-Write-Codec-Rate",
    "Channel-Write-Codec-Bit-Rate",
];

// ----- a raw ESL client -------------------------------------------------------------------

struct Esl {
    stream: TcpStream,
    parser: Parser,
    /// Every event received, in order.
    events: Vec<Event>,
}

impl Esl {
    async fn connect(sim: &Simulator) -> Esl {
        let stream = TcpStream::connect(sim.addr()).await.unwrap();
        let mut esl = Esl {
            stream,
            parser: Parser::default(),
            events: Vec::new(),
        };
        let greeting = esl.frame().await.expect("auth/request");
        assert_eq!(greeting.kind(), FrameKind::AuthRequest);
        esl
    }

    /// Authenticated, optionally subscribed (`plain ALL`, `json CHANNEL_PARK ...`).
    async fn open(sim: &Simulator, subscription: Option<&str>) -> Esl {
        let mut esl = Esl::connect(sim).await;
        assert_eq!(esl.command("auth ClueCon").await, "+OK accepted");
        if let Some(sub) = subscription {
            let format = sub.split(' ').next().unwrap_or("plain");
            assert_eq!(
                esl.command(&format!("event {sub}")).await,
                format!("+OK event listener enabled {format}")
            );
        }
        esl
    }

    async fn send(&mut self, block: &str) {
        self.stream
            .write_all(format!("{block}\n\n").as_bytes())
            .await
            .unwrap();
    }

    /// The next frame; `None` when the peer closed the socket.
    async fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.parser.next_frame().unwrap() {
                return Some(frame);
            }
            let n = tokio::time::timeout(WAIT, self.stream.read_buf(self.parser.buffer_mut()))
                .await
                .expect("the simulator went silent")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
        }
    }

    /// The next frame that is not an event (events are kept in `self.events`).
    async fn reply_frame(&mut self) -> Frame {
        loop {
            let frame = self
                .frame()
                .await
                .expect("connection closed before the reply");
            if frame.kind().is_event() {
                self.events.push(Event::from_frame(&frame).unwrap());
            } else {
                return frame;
            }
        }
    }

    /// An ESL command; its `Reply-Text`.
    async fn command(&mut self, block: &str) -> String {
        self.send(block).await;
        let frame = self.reply_frame().await;
        assert_eq!(frame.kind(), FrameKind::CommandReply, "{block}");
        frame.reply_text().unwrap_or("").to_owned()
    }

    async fn api(&mut self, command: &str) -> String {
        self.send(&format!("api {command}")).await;
        let frame = self.reply_frame().await;
        assert_eq!(frame.kind(), FrameKind::ApiResponse, "api {command}");
        frame.body_text().into_owned()
    }

    /// `bgapi`; the Job-UUID from the reply.
    async fn bgapi(&mut self, command: &str) -> String {
        let reply = self.command(&format!("bgapi {command}")).await;
        reply
            .strip_prefix("+OK Job-UUID: ")
            .expect("bgapi reply")
            .to_owned()
    }

    /// Reads until an event matching `want` arrives (all events are kept); returns its index.
    async fn until(&mut self, want: impl Fn(&Event) -> bool) -> usize {
        self.search(0, want).await
    }

    /// Index of the first event after `from` matching `want` (waiting for it if needed).
    async fn after(&mut self, from: usize, want: impl Fn(&Event) -> bool) -> usize {
        self.search(from + 1, want).await
    }

    async fn search(&mut self, start: usize, want: impl Fn(&Event) -> bool) -> usize {
        if let Some(i) = self.events.iter().skip(start).position(&want) {
            return start + i;
        }
        loop {
            let frame = self
                .frame()
                .await
                .expect("connection closed while waiting for an event");
            if frame.kind().is_event() {
                let event = Event::from_frame(&frame).unwrap();
                let hit = want(&event);
                self.events.push(event);
                if hit {
                    return self.events.len() - 1;
                }
            }
        }
    }
}

impl Esl {
    /// A caller dials in; returns once this connection has seen its CHANNEL_PARK.
    async fn parked(&mut self, sim: &Simulator, spec: CallSpec) -> String {
        let uuid = sim.place_call(spec).await.unwrap();
        self.until(is("CHANNEL_PARK", &uuid)).await;
        uuid
    }
}

fn is(name: &'static str, uuid: &str) -> impl Fn(&Event) -> bool {
    let uuid = uuid.to_owned();
    move |e| kind(e) == name && uid(e) == uuid
}

fn dialling(number: &str) -> CallSpec {
    CallSpec {
        from_number: number.into(),
        from_name: "Caller 1".into(),
        destination: "7000".into(),
        ..Default::default()
    }
}

async fn simulator(config: SimConfig) -> Simulator {
    Simulator::start(TcpListener::bind("127.0.0.1:0").await.unwrap(), config)
        .await
        .unwrap()
}

fn quick() -> SimConfig {
    SimConfig {
        heartbeat: Duration::from_secs(3600),
        seed: 42,
        ..Default::default()
    }
}

// ----- 01: handshake ----------------------------------------------------------------------

/// Sends a capture's client bytes command by command and returns every byte the simulator
/// wrote until it closed the socket.
async fn replay(sim: &Simulator, commands: &[&str]) -> Vec<u8> {
    let mut stream = TcpStream::connect(sim.addr()).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    received.extend_from_slice(&buf[..n]);
    for command in commands {
        stream
            .write_all(format!("{command}\n\n").as_bytes())
            .await
            .unwrap();
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        received.extend_from_slice(&buf[..n]);
    }
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the simulator did not close the socket"),
        }
    }
    received
}

#[tokio::test]
async fn handshakes_are_byte_identical_to_capture_01() {
    let sim = simulator(quick()).await;
    assert_eq!(
        replay(&sim, &["auth ClueCon", "exit"]).await,
        capture_bytes("01_auth_ok.rx")
    );
    assert_eq!(
        replay(&sim, &["auth WrongPassword"]).await,
        capture_bytes("01_auth_bad.rx")
    );
    assert_eq!(
        replay(&sim, &["api status", "auth ClueCon", "exit"]).await,
        capture_bytes("01_cmd_before_auth.rx")
    );
    // A changed password applies to the next auth.
    sim.set_password("s3cret").await.unwrap();
    assert_eq!(
        replay(&sim, &["auth ClueCon"]).await,
        capture_bytes("01_auth_bad.rx")
    );
    assert_eq!(
        replay(&sim, &["auth s3cret", "exit"]).await,
        capture_bytes("01_auth_ok.rx")
    );
    let log = sim.commands_received();
    assert_eq!(&log[..3], ["auth ClueCon", "exit", "auth WrongPassword"]);
    sim.shutdown();
}

// ----- 02: the service-driven call --------------------------------------------------------

/// The events a capture delivered between its n-th and (n+1)-th reply (api/response,
/// command/reply, auth/request): `segments("02...")[3]` are the events after `event plain ALL`.
fn segments(name: &str) -> Vec<Vec<Event>> {
    let mut out = vec![Vec::new()];
    for frame in capture_frames(name) {
        if frame.kind().is_event() {
            if let Some(last) = out.last_mut() {
                last.push(Event::from_frame(&frame).unwrap());
            }
        } else {
            out.push(Vec::new());
        }
    }
    out
}

/// `(event kind, leg)` with the leg named by role, so runs with different UUIDs compare.
fn roles(events: &[Event], legs: &[(&str, &str)]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            let id = uid(e);
            let role = legs.iter().find(|(u, _)| *u == id).map_or("", |(_, r)| *r);
            (kind(e), role.to_owned())
        })
        .collect()
}

struct Call02 {
    esl: Esl,
    caller: String,
    /// `esl.events` indexes where each step's events start: after the uuid_answer,
    /// uuid_broadcast, bgapi and uuid_bridge replies, and at the caller's hangup.
    marks: [usize; 5],
    job: String,
}

/// Capture 02's call, with switchdesk's dialplan contract: the caller parks unanswered and the
/// service answers it with `uuid_answer`; then hold music, an agent originate, uuid_bridge and
/// the caller hanging up.
async fn call_like_capture_02(sim: &Simulator) -> Call02 {
    let mut esl = Esl::open(sim, Some("plain ALL")).await;
    sim.add_endpoint(
        AGENT,
        AgentBehaviour::Answer {
            ring: Duration::from_millis(100),
            talk: None,
        },
    )
    .await
    .unwrap();
    let caller = esl.parked(sim, dialling("+15550001")).await;

    assert_eq!(esl.api(&format!("uuid_answer {caller}")).await, "+OK\n");
    let answered = esl.events.len();
    let body = esl
        .api(&format!(
            "uuid_broadcast {caller} tone_stream://%(200,0,500);loops=2 aleg"
        ))
        .await;
    assert_eq!(body, "+OK Message sent\n");
    let broadcast = esl.events.len();
    esl.until(is("COMMAND|PRIVATE_COMMAND", &caller)).await;

    let job = esl
        .bgapi(&format!(
            "originate {{origination_uuid={AGENT_UUID},origination_caller_id_number=7000,origination_caller_id_name=ccsvc,cc_role=agent}}{AGENT} &park()"
        ))
        .await;
    let originated = esl.events.len();
    esl.until(is("CHANNEL_PARK", AGENT_UUID)).await;

    assert_eq!(
        esl.api(&format!("uuid_bridge {caller} {AGENT_UUID}")).await,
        format!("+OK {AGENT_UUID}\n")
    );
    let bridged = esl.events.len();
    let update = esl.until(is("CALL_UPDATE", AGENT_UUID)).await;
    esl.after(update, is("CALL_UPDATE", AGENT_UUID)).await;

    assert!(sim.hangup(&caller, "NORMAL_CLEARING").await.unwrap());
    let hung = esl.until(is("CHANNEL_HANGUP", &caller)).await;
    esl.until(|e| {
        kind(e) == "CHANNEL_STATE"
            && uid(e) == AGENT_UUID
            && e.get("Channel-State").as_deref() == Some("CS_DESTROY")
    })
    .await;
    Call02 {
        esl,
        caller,
        marks: [answered, broadcast, originated, bridged, hung],
        job,
    }
}

const CAPTURE_CALLER: &str = "02bbee13-3a02-4f46-982e-d4f4cf6e771a";

#[tokio::test]
async fn a_service_driven_call_fires_capture_02s_events_in_capture_02s_order() {
    let sim = simulator(quick()).await;
    let call = call_like_capture_02(&sim).await;
    let ours = &call.esl.events;
    let our_legs = [(call.caller.as_str(), "caller"), (AGENT_UUID, "agent")];
    let their_legs = [(CAPTURE_CALLER, "caller"), (AGENT_UUID, "agent")];
    let capture = segments("02_call_plain_ALL.rx");
    let [answered, broadcast, originated, bridged, hung] = call.marks;

    // Arrival and dialplan up to park: the capture minus its `answer` application (switchdesk's
    // dialplan parks without answering; the service answers later).
    let theirs: Vec<Event> = capture[3].clone();
    let answer_from = theirs
        .iter()
        .position(|e| e.get("Application").as_deref() == Some("answer"))
        .unwrap();
    let answer_to = theirs
        .iter()
        .rposition(|e| e.get("Application").as_deref() == Some("answer"))
        .unwrap();
    let mut without_answer = theirs[..answer_from].to_vec();
    without_answer.extend_from_slice(&theirs[answer_to + 1..]);
    let park = ours
        .iter()
        .position(is("CHANNEL_PARK", &call.caller))
        .unwrap();
    assert_eq!(
        roles(&ours[..=park], &our_legs),
        roles(&without_answer, &their_legs)
    );

    // uuid_answer: the API event, then exactly the media/answer events the answer app fired.
    let media = &theirs[answer_from + 1..answer_to];
    let ours_answer = &ours[answered..broadcast];
    assert_eq!(kind(&ours_answer[0]), "API");
    assert_eq!(
        roles(&ours_answer[1..], &our_legs),
        roles(media, &their_legs)
    );

    // Hold music, the agent originate, the bridge, the hangup: step for step.
    assert_eq!(
        roles(&ours[broadcast..originated], &our_legs),
        roles(&capture[4], &their_legs)
    );
    assert_eq!(
        roles(&ours[originated..bridged], &our_legs),
        roles(&capture[5], &their_legs)
    );
    let their_hangup = capture[6]
        .iter()
        .position(|e| kind(e) == "CHANNEL_HANGUP")
        .unwrap();
    assert_eq!(
        roles(&ours[bridged..hung], &our_legs),
        roles(&capture[6][..their_hangup], &their_legs)
    );
    let their_tail: Vec<Event> = capture[6][their_hangup..]
        .iter()
        .filter(|e| !matches!(kind(e).as_str(), "HEARTBEAT" | "RE_SCHEDULE"))
        .cloned()
        .collect();
    assert_eq!(
        roles(&ours[hung..], &our_legs),
        roles(&their_tail, &their_legs)
    );

    // The job result and the bridge as a client reads them.
    let job = ours.iter().find(|e| e.is("BACKGROUND_JOB")).unwrap();
    assert_eq!(job.job_uuid().unwrap(), call.job);
    assert_eq!(job.get("Job-Command").unwrap(), "originate");
    assert_eq!(job.body().unwrap(), format!("+OK {AGENT_UUID}\n"));
    let bridges: Vec<&Event> = ours.iter().filter(|e| e.is("CHANNEL_BRIDGE")).collect();
    assert_eq!(bridges.len(), 1);
    assert_eq!(uid(bridges[0]), call.caller);
    assert_eq!(bridges[0].get("Other-Leg-Unique-ID").unwrap(), AGENT_UUID);
    assert_eq!(bridges[0].get("Bridge-B-Unique-ID").unwrap(), AGENT_UUID);
    assert_eq!(ours.iter().filter(|e| e.is("CHANNEL_UNBRIDGE")).count(), 1);
    for leg in [call.caller.as_str(), AGENT_UUID] {
        let done = ours
            .iter()
            .find(|e| e.is("CHANNEL_HANGUP_COMPLETE") && uid(e) == leg)
            .unwrap();
        assert_eq!(
            done.get_all("Hangup-Cause").collect::<Vec<_>>(),
            ["NORMAL_CLEARING", "NORMAL_CLEARING"]
        );
        assert_eq!(done.variable("hangup_cause").unwrap(), "NORMAL_CLEARING");
        assert!(done.variable("billsec").is_some() && done.variable("duration").is_some());
    }
    let command = ours
        .iter()
        .find(|e| kind(e) == "COMMAND|PRIVATE_COMMAND")
        .unwrap();
    assert_eq!(
        command.get_all("execute-app-arg").next().unwrap(),
        "tone_stream://%(200,0,500);loops=2"
    );
    let stop = ours
        .iter()
        .find(|e| {
            e.is("CHANNEL_EXECUTE_COMPLETE") && e.get("Application").as_deref() == Some("playback")
        })
        .unwrap();
    assert_eq!(stop.get("Application-Response").unwrap(), "FILE PLAYED");
    // The park's EXECUTE_COMPLETE carries the playback's response, as FreeSWITCH leaks it.
    let unparked = ours
        .iter()
        .find(|e| {
            e.is("CHANNEL_EXECUTE_COMPLETE")
                && uid(e) == call.caller
                && e.get("Application").as_deref() == Some("park")
        })
        .unwrap();
    assert_eq!(unparked.get("Application-Response").unwrap(), "FILE PLAYED");
    sim.shutdown();
}

/// For every event type the call fires, its header names (values and `variable_*` aside) are
/// those of an event of the same type in capture 02. An event fired before the caller was
/// answered has no codec yet; it is compared with the capture's codec headers left out.
#[tokio::test]
async fn every_event_has_the_header_structure_of_its_capture_02_counterpart() {
    let sim = simulator(quick()).await;
    let call = call_like_capture_02(&sim).await;
    let theirs = capture_events("02_call_plain_ALL.rx");
    let mut compared: HashMap<String, usize> = HashMap::new();
    for ours in &call.esl.events {
        let k = kind(ours);
        let candidates: Vec<Vec<String>> =
            theirs.iter().filter(|t| kind(t) == k).map(names).collect();
        assert!(!candidates.is_empty(), "capture 02 has no {k} event");
        let mine = names(ours);
        let pre_media = !mine.iter().any(|n| n == "Channel-Read-Codec-Name");
        let fits = candidates.iter().any(|c| {
            let c: Vec<String> = if pre_media {
                c.iter()
                    .filter(|n| !CODEC_HEADERS.contains(&n.as_str()))
                    .cloned()
                    .collect()
            } else {
                c.clone()
            };
            c == mine
        });
        assert!(
            fits,
            "{k} of {}: {mine:?}\ncapture has:\n{candidates:#?}",
            uid(ours)
        );
        *compared.entry(k).or_default() += 1;
    }
    // Every event type of the captured call was fired and checked.
    let mut their_kinds: Vec<String> = theirs.iter().map(kind).collect();
    their_kinds.sort();
    their_kinds.dedup();
    let mut our_kinds: Vec<String> = compared.keys().cloned().collect();
    our_kinds.sort();
    assert_eq!(
        our_kinds,
        their_kinds
            .into_iter()
            .filter(|k| k != "HEARTBEAT" && k != "RE_SCHEDULE")
            .collect::<Vec<_>>()
    );
    sim.shutdown();
}

// ----- 04: command replies ----------------------------------------------------------------

/// The api/response bodies and command/reply texts capture 04 received, in order.
fn capture_04_replies() -> Vec<String> {
    capture_frames("04_commands.rx")
        .iter()
        .filter_map(|f| match f.kind() {
            FrameKind::ApiResponse => Some(f.body_text().into_owned()),
            FrameKind::CommandReply => f.reply_text().map(str::to_owned),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn api_replies_have_capture_04s_texts() {
    let sim = simulator(quick()).await;
    let theirs = capture_04_replies();
    let mut esl = Esl::open(&sim, None).await;

    let status = esl.api("status").await;
    let their_status = &theirs[1];
    assert!(
        status.starts_with("UP 0 years, 0 days, 0 hours, 0 minutes, "),
        "{status}"
    );
    assert_eq!(status.lines().nth(1), their_status.lines().nth(1));
    assert_eq!(status.lines().count(), their_status.lines().count());
    assert!(status.ends_with("Current Stack Size/Max 240K/8192K\n"));
    assert_eq!(esl.api("show channels as json").await, theirs[2]);
    assert_eq!(esl.api("show channels").await, theirs[3]);
    assert_eq!(theirs[2], "{\"row_count\": 0}\n");

    // With one parked caller: the capture's column set, no trailing newline after json rows.
    let caller = sim.place_call(dialling("+15550001")).await.unwrap();
    let json = esl.api("show channels as json").await;
    let ours: serde_json::Value = serde_json::from_str(&json).unwrap();
    let captured: serde_json::Value = serde_json::from_str(&theirs[4]).unwrap();
    let keys = |v: &serde_json::Value| {
        v["rows"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&ours), keys(&captured));
    assert!(!json.ends_with('\n'));
    assert_eq!(ours["row_count"], 1);
    assert_eq!(ours["rows"][0]["uuid"], caller.as_str());
    assert_eq!(ours["rows"][0]["application"], "park");
    assert_eq!(ours["rows"][0]["callstate"], "RINGING");
    let csv = esl.api("show channels").await;
    assert_eq!(csv.lines().next(), theirs[5].lines().next());
    assert!(csv.ends_with("\n\n1 total.\n"));
    let calls: serde_json::Value =
        serde_json::from_str(&esl.api("show calls as json").await).unwrap();
    let captured_calls: serde_json::Value = serde_json::from_str(&theirs[6]).unwrap();
    assert_eq!(keys(&calls), keys(&captured_calls));

    assert_eq!(esl.api(&format!("uuid_exists {caller}")).await, theirs[7]);
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} sip_from_user"))
            .await,
        theirs[8]
    );
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} no_such_var")).await,
        "_undef_"
    );
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} switchdesk_queue"))
            .await,
        "support"
    );
    assert_eq!(
        esl.api(&format!("uuid_setvar {caller} switchdesk_priority 5"))
            .await,
        "+OK\n"
    );
    assert_eq!(
        esl.api(&format!("uuid_setvar {caller} switchdesk_note two words"))
            .await,
        "+OK\n"
    );
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} switchdesk_note"))
            .await,
        "two words"
    );
    let snapshot = sim.channels().await.unwrap();
    assert_eq!(snapshot[0].variable("switchdesk_priority"), Some("5"));
    assert_eq!(snapshot[0].call_state, "RINGING");
    assert!(!snapshot[0].answered && snapshot[0].parked);

    // uuid_dump in both formats parses as the caller's CHANNEL_DATA, with the variables set.
    let dump = Event::parse(
        EventFormat::Plain,
        Bytes::from(esl.api(&format!("uuid_dump {caller}")).await),
    )
    .unwrap();
    let dump_json = Event::parse(
        EventFormat::Json,
        Bytes::from(esl.api(&format!("uuid_dump {caller} json")).await),
    )
    .unwrap();
    for d in [&dump, &dump_json] {
        assert_eq!(d.name().unwrap(), "CHANNEL_DATA");
        assert_eq!(d.unique_id().unwrap(), caller);
        assert_eq!(d.variable("switchdesk_priority").unwrap(), "5");
    }
    let their_dump = Event::parse(EventFormat::Plain, Bytes::from(theirs[9].clone())).unwrap();
    assert_eq!(names(&dump)[..13], names(&their_dump)[..13]);

    // The error texts for a bogus uuid, exactly as captured.
    let bogus = "78c76637-5501-4cfc-a5c4-bb91df34549e";
    assert_eq!(
        esl.api(&format!("uuid_bridge {bogus} {caller}")).await,
        theirs[11]
    );
    assert_eq!(
        esl.api(&format!("uuid_bridge {caller} {bogus}")).await,
        theirs[12]
    );
    assert_eq!(
        esl.api(&format!(
            "uuid_broadcast {bogus} tone_stream://%(100,0,400) aleg"
        ))
        .await,
        theirs[13]
    );
    assert_eq!(esl.api(&format!("uuid_kill {bogus}")).await, theirs[14]);
    assert_eq!(esl.api("no_such_command foo").await, theirs[15]);
    assert_eq!(esl.command("no_such_esl_command").await, theirs[16]);
    assert_eq!(esl.command("api").await, theirs[17]);
    assert_eq!(
        esl.api(&format!("uuid_getvar {bogus} x")).await,
        "-ERR No such channel!\n"
    );
    assert_eq!(esl.api(&format!("uuid_answer {bogus}")).await, "-ERROR\n");
    assert_eq!(
        esl.api(&format!("uuid_break {bogus}")).await,
        "-ERR No such channel!\n"
    );
    assert_eq!(
        esl.api("uuid_broadcast").await,
        "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"
    );
    assert_eq!(esl.api("originate").await, "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n");

    // ESL-level commands, each reply text as captured (or, where capture 04 did not send the
    // command, as mod_event_socket writes it).
    let invalid_session = format!("-ERR invalid session id [{bogus}]");
    let filter_added = format!("+OK filter added. [Unique-ID]=[{caller}]");
    let sendmsg = format!("sendmsg {bogus}\ncall-command: execute\nexecute-app-name: playback");
    let filter = format!("filter Unique-ID {caller}");
    // (command, reply, whether capture 04 holds this very reply text)
    let table: [(&str, &str, bool); 15] = [
        (&sendmsg, &invalid_session, true),
        (&filter, &filter_added, false),
        (
            "filter delete Unique-ID",
            "+OK filter deleted. [Unique-ID][]",
            true,
        ),
        ("filter Unique-ID", "-ERR invalid syntax", true),
        ("filter", "-ERR command not found", true),
        ("noevents", "-ERR not listening for events", false),
        ("linger 3", "-ERR not controlling a session", false),
        ("divert_events on", "-ERR not controlling a session.", false),
        (
            "event plain CHANNEL_PARK CHANNEL_HANGUP_COMPLETE CUSTOM callcenter::info",
            "+OK event listener enabled plain",
            true,
        ),
        (
            "event json CHANNEL_ANSWER",
            "+OK event listener enabled json",
            true,
        ),
        (
            "event xml HEARTBEAT",
            "+OK event listener enabled xml",
            true,
        ),
        ("nixevent CHANNEL_ANSWER", "+OK events nixed", true),
        ("noevents", "+OK no longer listening for events", true),
        ("log 7", "+OK log level 7 [7]", true),
        ("nolog", "+OK no longer logging", true),
    ];
    for (command, reply, captured) in table {
        assert_eq!(esl.command(command).await, reply, "{command}");
        assert!(
            !captured || theirs.iter().any(|t| t == reply),
            "{reply} is not in capture 04"
        );
    }
    assert_eq!(
        esl.command(&format!("myevents {caller}")).await,
        "+OK Events Enabled"
    );
    assert_eq!(esl.command("divert_events on").await, "+OK events diverted");
    // Killing the controlled channel ends the connection with a session disconnect notice.
    assert_eq!(
        esl.api(&format!("uuid_kill {caller} NORMAL_CLEARING"))
            .await,
        "+OK\n"
    );
    let mut last = None;
    while let Some(frame) = esl.frame().await {
        last = Some(frame);
    }
    let notice = last.expect("a disconnect notice");
    assert_eq!(notice.kind(), FrameKind::DisconnectNotice);
    assert_eq!(
        notice.header("Controlled-Session-UUID"),
        Some(caller.as_str())
    );
    assert_eq!(notice.header("Content-Disposition"), Some("disconnect"));
    assert_eq!(&notice.body()[..], wire::DISCONNECT_BODY.as_bytes());
    sim.shutdown();
}

#[tokio::test]
async fn bgapi_jobs_reach_only_subscribers_and_keep_the_clients_job_uuid() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, None).await;
    // Without a BACKGROUND_JOB subscription only the reply arrives (capture 04).
    esl.bgapi("originate user/1000 &park()").await;
    assert_eq!(
        esl.command("event plain BACKGROUND_JOB").await,
        "+OK event listener enabled plain"
    );
    let job = esl.bgapi("originate user/1000 &park()").await;
    let done = esl.until(|e| e.is("BACKGROUND_JOB")).await;
    assert_eq!(esl.events.len(), 1, "the first job's result was delivered");
    assert_eq!(esl.events[done].job_uuid().unwrap(), job);
    assert_eq!(
        esl.events[done].body().unwrap(),
        "-ERR USER_NOT_REGISTERED\n"
    );
    assert_eq!(
        esl.events[done].get("Job-Command-Arg").unwrap(),
        "user/1000 &park()"
    );

    esl.send("bgapi status\nJob-UUID: 6153d242-2bed-462a-a327-b5e41671ec84")
        .await;
    let reply = esl.reply_frame().await;
    assert_eq!(
        reply.reply_text(),
        Some("+OK Job-UUID: 6153d242-2bed-462a-a327-b5e41671ec84")
    );
    assert_eq!(
        reply.header("Job-UUID"),
        Some("6153d242-2bed-462a-a327-b5e41671ec84")
    );
    let status = esl
        .until(|e| e.job_uuid().as_deref() == Some("6153d242-2bed-462a-a327-b5e41671ec84"))
        .await;
    assert!(esl.events[status].body().unwrap().contains("is ready"));
    assert!(esl.events[status].get("Job-Command-Arg").is_none());

    let unreachable = esl
        .bgapi("originate sofia/external/nobody@127.0.0.1:5999 &park()")
        .await;
    let i = esl
        .until(|e| e.job_uuid().as_deref() == Some(unreachable.as_str()))
        .await;
    assert_eq!(
        esl.events[i].body().unwrap(),
        "-ERR NORMAL_TEMPORARY_FAILURE\n"
    );
    // An unquoted space inside {} is originate's parse error (capture 07x); no channel is made.
    let broken = esl.bgapi("originate {origination_uuid=abc,fax_header=CC Fixture TX}sofia/external/agent@127.0.0.1:5090 &park()").await;
    let i = esl
        .until(|e| e.job_uuid().as_deref() == Some(broken.as_str()))
        .await;
    assert_eq!(
        esl.events[i].body().unwrap(),
        "-ERR DESTINATION_OUT_OF_ORDER\n"
    );
    assert!(sim.channels().await.unwrap().is_empty());
    sim.shutdown();
}

// ----- 04c: originate failures ------------------------------------------------------------

#[tokio::test]
async fn failed_originates_answer_like_capture_04c() {
    let sim = simulator(quick()).await;
    sim.add_endpoint("sofia/external/agent@127.0.0.1:5091", AgentBehaviour::Busy)
        .await
        .unwrap();
    sim.add_endpoint(
        "sofia/external/agent@127.0.0.1:5092",
        AgentBehaviour::NoAnswer,
    )
    .await
    .unwrap();
    sim.add_endpoint("user/1001", AgentBehaviour::Unregistered)
        .await
        .unwrap();
    let subscription = "plain BACKGROUND_JOB CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_DESTROY";
    let mut esl = Esl::open(&sim, Some(subscription)).await;
    let capture = capture_events("04c_originate_failures.rx");
    let legs_of = |events: &[Event]| {
        let mut legs: Vec<String> = Vec::new();
        for e in events {
            let u = uid(e);
            if !u.is_empty() && !legs.contains(&u) {
                legs.push(u);
            }
        }
        legs
    };
    let their_legs = legs_of(&capture);

    let busy = esl.bgapi("originate {origination_uuid=1c2ae6b7-7d90-458c-82c7-8f83b87852c2,originate_timeout=4,ignore_early_media=true}sofia/external/agent@127.0.0.1:5091 &park()").await;
    esl.until(is(
        "CHANNEL_DESTROY",
        "1c2ae6b7-7d90-458c-82c7-8f83b87852c2",
    ))
    .await;
    let no_answer = esl.bgapi("originate {origination_uuid=52fd8512-5c11-49a6-9040-8ea2e78450df,originate_timeout=1,ignore_early_media=true}sofia/external/agent@127.0.0.1:5092 &park()").await;
    esl.until(is(
        "CHANNEL_DESTROY",
        "52fd8512-5c11-49a6-9040-8ea2e78450df",
    ))
    .await;

    // A synchronous api originate: its leg's events wait behind the api/response.
    esl.send("api originate {originate_timeout=1}sofia/external/agent@127.0.0.1:5092 &park()")
        .await;
    let response = esl.reply_frame().await;
    assert_eq!(response.body_text(), "-ERR NO_ANSWER\n");
    let before_response = esl.events.len();
    let sync_leg = esl
        .until(|e| {
            e.is("CHANNEL_CREATE")
                && uid(e) != "52fd8512-5c11-49a6-9040-8ea2e78450df"
                && uid(e) != "1c2ae6b7-7d90-458c-82c7-8f83b87852c2"
        })
        .await;
    assert_eq!(
        sync_leg, before_response,
        "the api leg's events came before its response"
    );
    let sync_uuid = uid(&esl.events[sync_leg]);
    esl.until(is("CHANNEL_DESTROY", &sync_uuid)).await;

    let our_legs = legs_of(&esl.events);
    let ours: Vec<(String, usize)> = esl
        .events
        .iter()
        .map(|e| {
            (
                kind(e),
                our_legs.iter().position(|l| *l == uid(e)).unwrap_or(99),
            )
        })
        .collect();
    let theirs: Vec<(String, usize)> = capture
        .iter()
        .map(|e| {
            (
                kind(e),
                their_legs.iter().position(|l| *l == uid(e)).unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(ours, theirs);
    for (ours, theirs) in esl.events.iter().zip(&capture) {
        assert_eq!(names(ours), names(theirs), "{}", kind(ours));
    }

    let jobs: Vec<(String, String)> = esl
        .events
        .iter()
        .filter(|e| e.is("BACKGROUND_JOB"))
        .map(|e| {
            (
                e.job_uuid().unwrap().into_owned(),
                e.body().unwrap().into_owned(),
            )
        })
        .collect();
    assert_eq!(
        jobs,
        [
            (busy, "-ERR USER_BUSY\n".to_owned()),
            (no_answer, "-ERR NO_ANSWER\n".to_owned())
        ]
    );
    let busy_done = esl
        .events
        .iter()
        .find(|e| e.is("CHANNEL_HANGUP_COMPLETE"))
        .unwrap();
    assert_eq!(busy_done.variable("sip_term_status").unwrap(), "486");
    assert_eq!(busy_done.get("Hangup-Cause").unwrap(), "USER_BUSY");
    assert_eq!(
        esl.api("originate user/1001 &park()").await,
        "-ERR USER_NOT_REGISTERED\n"
    );
    assert_eq!(
        esl.api("originate user/1999@default &park()").await,
        "-ERR USER_NOT_REGISTERED\n"
    );
    sim.shutdown();
}

// ----- 03: abandon during hold music ------------------------------------------------------

#[tokio::test]
async fn a_caller_out_of_patience_during_hold_music_hangs_up_like_capture_03() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let mut spec = dialling("+15550001");
    spec.patience = Some(Duration::from_millis(600));
    let caller = esl.parked(&sim, spec).await;
    esl.api(&format!("uuid_answer {caller}")).await;
    assert_eq!(
        esl.api(&format!(
            "uuid_broadcast {caller} tone_stream://%(1000,4000,440);loops=-1 aleg"
        ))
        .await,
        "+OK Message sent\n"
    );
    let start = esl.until(is("PLAYBACK_START", &caller)).await;
    esl.until(|e| {
        kind(e) == "CHANNEL_STATE" && e.get("Channel-State").as_deref() == Some("CS_DESTROY")
    })
    .await;

    let capture = capture_events("03_abandon_plain_ALL.rx");
    let their_start = capture.iter().position(|e| e.is("PLAYBACK_START")).unwrap();
    let their_tail: Vec<String> = capture[their_start..]
        .iter()
        .map(kind)
        .filter(|k| k != "HEARTBEAT" && k != "RE_SCHEDULE")
        .collect();
    let our_tail: Vec<String> = esl.events[start..].iter().map(kind).collect();
    assert_eq!(our_tail, their_tail);
    for (ours, theirs) in esl.events[start..].iter().zip(&capture[their_start..]) {
        assert_eq!(names(ours), names(theirs), "{}", kind(ours));
    }
    let find = |app: &str| {
        esl.events
            .iter()
            .find(|e| {
                e.is("CHANNEL_EXECUTE_COMPLETE") && e.get("Application").as_deref() == Some(app)
            })
            .unwrap()
    };
    assert_eq!(
        find("playback").get("Application-Response").unwrap(),
        "PLAYBACK ERROR"
    );
    assert_eq!(
        find("park").get("Application-Response").unwrap(),
        "PLAYBACK ERROR"
    );
    let done = esl
        .events
        .iter()
        .find(|e| e.is("CHANNEL_HANGUP_COMPLETE"))
        .unwrap();
    assert_eq!(done.get("Hangup-Cause").unwrap(), "NORMAL_CLEARING");
    assert_eq!(done.variable("sip_hangup_disposition").unwrap(), "recv_bye");
    assert!(!esl.events.iter().any(|e| e.is("CHANNEL_BRIDGE")));
    sim.shutdown();
}

#[tokio::test]
async fn an_unanswered_parked_caller_rings_and_gives_up() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let mut spec = dialling("+15550002");
    spec.patience = Some(Duration::from_millis(300));
    let caller = sim.place_call(spec).await.unwrap();
    let park = esl.until(is("CHANNEL_PARK", &caller)).await;
    let parked = &esl.events[park];
    assert_eq!(parked.get("Channel-Call-State").unwrap(), "RINGING");
    assert_eq!(parked.get("Answer-State").unwrap(), "ringing");
    assert_eq!(parked.variable("switchdesk_queue").unwrap(), "support");
    assert_eq!(parked.variable("DP_MATCH").unwrap(), "ARRAY::7000|:7000");
    assert_eq!(parked.get("Caller-Caller-ID-Number").unwrap(), "+15550002");
    assert!(parked.get("Channel-Read-Codec-Name").is_none());
    let done = esl.until(is("CHANNEL_HANGUP_COMPLETE", &caller)).await;
    let done = &esl.events[done];
    assert_eq!(done.get("Hangup-Cause").unwrap(), "NORMAL_CLEARING");
    assert_eq!(done.variable("billsec").unwrap(), "0");
    assert_eq!(
        done.variable("sip_hangup_disposition").unwrap(),
        "recv_cancel"
    );
    assert!(esl.events.iter().all(|e| !e.is("CHANNEL_ANSWER")));
    sim.shutdown();
}

// ----- 05: DTMF ---------------------------------------------------------------------------

#[tokio::test]
async fn dtmf_presses_carry_capture_05s_headers() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let mut spec = dialling("+15550001");
    spec.dtmf = vec![
        (Duration::from_millis(100), '1'),
        (Duration::from_millis(200), '#'),
    ];
    let caller = esl.parked(&sim, spec).await;
    esl.api(&format!("uuid_answer {caller}")).await;
    let first = esl.until(is("DTMF", &caller)).await;
    let second = esl.after(first, is("DTMF", &caller)).await;
    assert_eq!(
        esl.api(&format!("uuid_recv_dtmf {caller} 9")).await,
        format!("+OK {caller} received DTMF 9.\n")
    );
    let third = esl.after(second, is("DTMF", &caller)).await;

    let capture = capture_events("05_dtmf_plain_ALL.rx");
    let theirs = capture.iter().find(|e| e.is("DTMF")).unwrap();
    let digits: Vec<(String, String, String)> = [first, second, third]
        .iter()
        .map(|&i| {
            let e = &esl.events[i];
            assert_eq!(names(e), names(theirs));
            (
                e.get("DTMF-Digit").unwrap().into(),
                e.get("DTMF-Source").unwrap().into(),
                e.get("DTMF-Duration").unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        digits,
        [
            ("1".to_owned(), "RTP".to_owned(), "2240".to_owned()),
            ("#".into(), "RTP".into(), "2240".into()),
            ("9".into(), "APP".into(), "2000".into())
        ]
    );
    sim.hangup(&caller, "NORMAL_CLEARING").await.unwrap();
    let done = esl.until(is("CHANNEL_HANGUP_COMPLETE", &caller)).await;
    assert_eq!(esl.events[done].variable("digits_dialed").unwrap(), "1#9");
    sim.shutdown();
}

// ----- 04b: sendmsg, filters, myevents ----------------------------------------------------

#[tokio::test]
async fn sendmsg_and_filters_behave_like_capture_04b() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = esl.parked(&sim, dialling("+15550001")).await;
    esl.api(&format!("uuid_answer {caller}")).await;
    let other = sim.place_call(dialling("+15550009")).await.unwrap();
    assert_eq!(
        esl.command(&format!("filter Unique-ID {caller}")).await,
        format!("+OK filter added. [Unique-ID]=[{caller}]")
    );
    let from = esl.events.len();

    let event_uuid = "f383262a-b869-468f-9e0d-b19552dddcc6";
    let reply = esl
        .command(&format!(
            "sendmsg {caller}\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: /srv/freeswitch/snd/prompt_8k.wav\nevent-lock: true\nevent-uuid: {event_uuid}"
        ))
        .await;
    assert_eq!(reply, "+OK");
    let played = esl.until(is("PRIVATE_COMMAND", &caller)).await;
    assert_eq!(esl.command(&format!("sendmsg {caller}\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: cc_note=hello world")).await, "+OK");
    let set = esl.after(played, is("PRIVATE_COMMAND", &caller)).await;
    esl.send(&format!("sendmsg {caller}\ncall-command: execute\nexecute-app-name: set\ncontent-type: text/plain\ncontent-length: 16\n\ncc_body_form=yes")).await;
    assert_eq!(esl.reply_frame().await.reply_text(), Some("+OK"));
    let body = esl.after(set, is("PRIVATE_COMMAND", &caller)).await;
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} cc_note")).await,
        "hello world"
    );
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} cc_body_form")).await,
        "yes"
    );
    assert_eq!(
        esl.command(&format!(
            "sendmsg {caller}\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING"
        ))
        .await,
        "+OK"
    );
    esl.until(|e| {
        kind(e) == "CHANNEL_STATE" && e.get("Channel-State").as_deref() == Some("CS_DESTROY")
    })
    .await;

    let capture = segments("04b_sendmsg_filter_plain.rx");
    // Everything after the filter: the same events, with the same header names.
    let theirs: Vec<&Event> = capture[4..].iter().flatten().collect();
    let ours = &esl.events[from..];
    assert_eq!(
        ours.iter().map(kind).collect::<Vec<_>>(),
        theirs.iter().map(|e| kind(e)).collect::<Vec<_>>()
    );
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(names(o), names(t), "{}", kind(o));
    }
    assert!(
        ours.iter().all(|e| uid(e) == caller),
        "the filter let another channel's event through"
    );
    assert!(
        esl.events[..from].iter().any(|e| uid(e) == other),
        "the other caller was seen before the filter"
    );

    let execute = ours
        .iter()
        .find(|e| e.is("CHANNEL_EXECUTE") && e.get("Application").as_deref() == Some("playback"))
        .unwrap();
    assert_eq!(execute.get("Application-UUID").unwrap(), event_uuid);
    let complete = ours
        .iter()
        .find(|e| {
            e.is("CHANNEL_EXECUTE_COMPLETE") && e.get("Application").as_deref() == Some("playback")
        })
        .unwrap();
    assert_eq!(complete.get("Application-UUID").unwrap(), event_uuid);
    assert_eq!(complete.get("Application-Response").unwrap(), "FILE PLAYED");
    assert_eq!(
        esl.events[played].get("Command").unwrap(),
        format!("sendmsg {caller}")
    );
    assert_eq!(esl.events[body].body().unwrap(), "cc_body_form=yes");
    sim.shutdown();
}

#[tokio::test]
async fn myevents_linger_notices_follow_capture_04b() {
    let sim = simulator(quick()).await;
    let caller = sim.place_call(dialling("+15550001")).await.unwrap();
    let mut esl = Esl::open(&sim, None).await;
    assert_eq!(
        esl.command(&format!("myevents {caller}")).await,
        "+OK Events Enabled"
    );
    assert_eq!(esl.command("linger 1").await, "+OK will linger 1 seconds");
    // Another channel's events do not reach a myevents connection.
    sim.place_call(dialling("+15550003")).await.unwrap();
    assert!(sim.hangup(&caller, "NORMAL_CLEARING").await.unwrap());
    let mut frames = Vec::new();
    let started = tokio::time::Instant::now();
    while let Some(frame) = esl.frame().await {
        frames.push(frame);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the linger time was not honoured"
    );
    let notices: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.kind() == FrameKind::DisconnectNotice)
        .collect();
    assert_eq!(notices.len(), 2);
    let events: Vec<Event> = frames
        .iter()
        .filter(|f| f.kind().is_event())
        .map(|f| Event::from_frame(f).unwrap())
        .collect();
    assert!(events.iter().all(|e| uid(e) == caller));
    assert!(
        events.last().unwrap().is("CHANNEL_HANGUP_COMPLETE"),
        "events stop at HANGUP_COMPLETE"
    );
    assert_eq!(notices[0].header("Content-Disposition"), Some("linger"));
    assert_eq!(notices[0].header("Linger-Time"), Some("1"));
    assert_eq!(
        notices[0].header("Channel-Name"),
        Some("sofia/external/+15550001@127.0.0.1:5070")
    );
    assert_eq!(notices[1].header("Content-Disposition"), Some("disconnect"));
    let linger = capture_frames("04b_myevents_linger.rx")
        .into_iter()
        .filter(|f| f.kind() == FrameKind::DisconnectNotice)
        .collect::<Vec<_>>();
    let header_names = |f: &Frame| f.headers().map(|(n, _)| n.to_owned()).collect::<Vec<_>>();
    assert_eq!(header_names(notices[0]), header_names(&linger[0]));
    assert_eq!(header_names(notices[1]), header_names(&linger[1]));

    // `myevents <uuid> json` is accepted but events still come as plain (1.10.12's bug), and
    // `myevents json <uuid>` is refused.
    let second = sim.place_call(dialling("+15550004")).await.unwrap();
    let mut esl = Esl::open(&sim, None).await;
    assert_eq!(
        esl.command(&format!("myevents json {second}")).await,
        "-ERR invalid uuid"
    );
    assert_eq!(
        esl.command(&format!("myevents {second} json")).await,
        "+OK Events Enabled"
    );
    esl.api(&format!("uuid_answer {second}")).await;
    let frame = esl.frame().await.unwrap();
    assert_eq!(frame.kind(), FrameKind::EventPlain);
    sim.shutdown();
}

// ----- the three formats ------------------------------------------------------------------

#[tokio::test]
async fn plain_json_and_xml_listeners_receive_the_same_events() {
    let sim = simulator(quick()).await;
    let mut xml = Esl::open(&sim, Some("xml ALL")).await;
    let mut json = Esl::open(&sim, Some("json ALL")).await;
    let call = call_like_capture_02(&sim).await;
    let last = call
        .esl
        .events
        .last()
        .map(|e| e.sequence().unwrap())
        .unwrap();
    for esl in [&mut json, &mut xml] {
        esl.until(|e| {
            e.get_all("Event-Sequence")
                .next()
                .and_then(|s| s.parse::<u64>().ok())
                == Some(last)
        })
        .await;
        assert_eq!(esl.events.len(), call.esl.events.len());
        for (theirs, ours) in esl.events.iter().zip(&call.esl.events) {
            let a: Vec<(String, String)> = ours
                .headers()
                .map(|(n, v)| (n.to_owned(), v.into_owned()))
                .collect();
            let b: Vec<(String, String)> = theirs
                .headers()
                .map(|(n, v)| (n.to_owned(), v.into_owned()))
                .collect();
            assert_eq!(a, b, "{:?} {}", theirs.format(), kind(ours));
            assert_eq!(ours.body(), theirs.body());
        }
    }
    assert!(json.events.iter().all(|e| e.format() == EventFormat::Json));
    assert!(xml.events.iter().all(|e| e.format() == EventFormat::Xml));
    sim.shutdown();
}

// ----- determinism ------------------------------------------------------------------------

async fn scripted_run(seed: u64) -> (Vec<(String, String)>, Vec<String>) {
    let sim = simulator(SimConfig { seed, ..quick() }).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    sim.add_endpoint(
        "user/1001",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(50),
            talk: Some(Duration::from_millis(100)),
        },
    )
    .await
    .unwrap();
    let mut spec = dialling("+15550001");
    spec.dtmf = vec![(Duration::from_millis(10), '5')];
    let first = esl.parked(&sim, spec).await;
    esl.api(&format!("uuid_answer {first}")).await;
    esl.until(is("DTMF", &first)).await;
    let job = esl
        .bgapi(&format!(
            "originate {{switchdesk_caller_uuid={first}}}user/1001 &park()"
        ))
        .await;
    let done = esl.until(|e| e.is("BACKGROUND_JOB")).await;
    let agent = esl.events[done]
        .body()
        .unwrap()
        .trim()
        .strip_prefix("+OK ")
        .unwrap()
        .to_owned();
    esl.until(is("CHANNEL_PARK", &agent)).await;
    esl.api(&format!("uuid_bridge {first} {agent}")).await;
    esl.until(is("CHANNEL_DESTROY", &first)).await;
    let trace = esl.events.iter().map(|e| (kind(e), uid(e))).collect();
    sim.shutdown();
    (trace, vec![first, job, agent])
}

#[tokio::test]
async fn the_same_seed_and_script_give_the_same_uuids_and_events() {
    let (trace_a, ids_a) = scripted_run(7).await;
    let (trace_b, ids_b) = scripted_run(7).await;
    assert_eq!(ids_a, ids_b);
    assert_eq!(trace_a, trace_b);
    let (trace_c, ids_c) = scripted_run(8).await;
    assert_ne!(ids_a, ids_c);
    assert_eq!(
        trace_a.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        trace_c.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    assert!(trace_a.iter().any(|(k, _)| k == "CHANNEL_BRIDGE"));
}

// ----- 06: mod_xml_cdr --------------------------------------------------------------------

/// A raw HTTP sink like the one that recorded `cdr/http`: answers each request with the next
/// status of `statuses` (then 200) and hands over the exact request bytes.
async fn cdr_sink(statuses: Vec<u16>) -> (String, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cdr", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 8192];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let status = statuses.next().unwrap_or(200);
            let _ = stream
                .write_all(format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n").as_bytes())
                .await;
            let _ = tx.send(request);
        }
    });
    (url, rx)
}

struct Post {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn split_post(raw: &[u8]) -> Post {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap().to_owned();
    let headers = lines
        .map(|l| {
            l.split_once(": ")
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .unwrap()
        })
        .collect();
    Post {
        request_line,
        headers,
        body: body.to_owned(),
    }
}

fn captured_post(name: &str) -> Post {
    split_post(&std::fs::read(fixtures().join("cdr/http").join(name)).unwrap())
}

/// Element paths of a CDR document, leaving out what depends on the dialplan details: the
/// variables, the app log and the extension's applications.
fn cdr_structure(xml: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) => {
                path.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                let inside = |p: &[String], tag: &str| p[..p.len() - 1].iter().any(|x| x == tag);
                if !inside(&path, "variables")
                    && !inside(&path, "app_log")
                    && !inside(&path, "extension")
                {
                    out.push(path.join("/"));
                }
            }
            quick_xml::events::Event::End(_) => {
                path.pop();
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn decode_cdr(post: &Post) -> String {
    percent::decode(post.body.strip_prefix("cdr=").expect("cdr= body")).into_owned()
}

#[tokio::test]
async fn cdr_posts_have_mod_xml_cdrs_format() {
    let (url, mut posts) = cdr_sink(Vec::new()).await;
    let sim = simulator(SimConfig {
        cdr: Some(CdrTarget::new(url)),
        ..quick()
    })
    .await;
    let call = call_like_capture_02(&sim).await;
    let caller_post = split_post(
        &tokio::time::timeout(WAIT, posts.recv())
            .await
            .unwrap()
            .unwrap(),
    );
    let agent_post = split_post(
        &tokio::time::timeout(WAIT, posts.recv())
            .await
            .unwrap()
            .unwrap(),
    );

    assert_eq!(
        caller_post.request_line,
        format!("POST /cdr?uuid=a_{} HTTP/1.1", call.caller)
    );
    // A bridged originated leg is a B leg to mod_xml_cdr: no `a_`.
    assert_eq!(
        agent_post.request_line,
        format!("POST /cdr?uuid={AGENT_UUID} HTTP/1.1")
    );
    for (ours, theirs) in [
        (
            &caller_post,
            captured_post("post_001_02_call_caller_aleg.http"),
        ),
        (
            &agent_post,
            captured_post("post_002_02_call_agent_bleg.http"),
        ),
    ] {
        let names = |p: &Post| p.headers.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(ours), names(&theirs));
        for header in ["User-Agent", "Accept", "Content-Type"] {
            let get = |p: &Post| {
                p.headers
                    .iter()
                    .find(|(n, _)| n == header)
                    .map(|(_, v)| v.clone())
            };
            assert_eq!(get(ours), get(&theirs), "{header}");
        }
        let length = ours
            .headers
            .iter()
            .find(|(n, _)| n == "Content-Length")
            .unwrap()
            .1
            .parse::<usize>()
            .unwrap();
        assert_eq!(length, ours.body.len());
        assert!(
            !ours.body.contains(' ') && !ours.body.contains('+'),
            "spaces must be %20, never +"
        );
        assert_eq!(
            cdr_structure(&decode_cdr(ours)),
            cdr_structure(&decode_cdr(&theirs))
        );
    }

    let xml = decode_cdr(&caller_post);
    assert!(xml.starts_with("<?xml version=\"1.0\"?>\n<cdr core-uuid=\""));
    assert!(xml.contains(&format!("<uuid>{}</uuid>", call.caller)));
    // Variables stay URL-encoded inside the document; profile and app log values are plain.
    assert!(xml.contains("<sip_from_user>%2B15550001</sip_from_user>"));
    assert!(
        xml.contains("<channel_name>sofia/external/%2B15550001%40127.0.0.1%3A5070</channel_name>")
    );
    assert!(xml.contains("<DP_MATCH>7000</DP_MATCH>\n    <DP_MATCH>7000</DP_MATCH>"));
    assert!(xml.contains("<switchdesk_queue>support</switchdesk_queue>"));
    assert!(xml.contains("<hangup_cause>NORMAL_CLEARING</hangup_cause>"));
    assert!(xml.contains("<caller_id_number>+15550001</caller_id_number>"));
    assert!(xml.contains("app_name=\"playback\" app_data=\"tone_stream://%(200,0,500);loops=2\""));
    let billsec = xml
        .split("<billsec>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap();
    assert!(billsec.parse::<u32>().is_ok());
    let agent_xml = decode_cdr(&agent_post);
    assert!(agent_xml.contains(&format!("<bridge_uuid>{}</bridge_uuid>", call.caller)));
    assert!(agent_xml.contains("<originator_caller_profile>"));
    sim.shutdown();
}

#[tokio::test]
async fn cdr_posts_retry_and_carry_credentials() {
    let (url, mut posts) = cdr_sink(vec![500]).await;
    let mut target = CdrTarget::new(url);
    target.username = Some("cdr".into());
    target.password = Some("s3cret".into());
    target.retries = 2;
    target.retry_delay = Duration::from_millis(100);
    let sim = simulator(SimConfig {
        cdr: Some(target),
        ..quick()
    })
    .await;
    let mut spec = dialling("+15550001");
    spec.patience = Some(Duration::from_millis(50));
    let caller = sim.place_call(spec).await.unwrap();
    let first = split_post(
        &tokio::time::timeout(WAIT, posts.recv())
            .await
            .unwrap()
            .unwrap(),
    );
    let second = split_post(
        &tokio::time::timeout(WAIT, posts.recv())
            .await
            .unwrap()
            .unwrap(),
    );
    assert_eq!(first.body, second.body, "the refused CDR was posted again");
    assert_eq!(
        first.request_line,
        format!("POST /cdr?uuid=a_{caller} HTTP/1.1")
    );
    assert_eq!(
        first.headers[1],
        (
            "Authorization".to_owned(),
            "Basic Y2RyOnMzY3JldA==".to_owned()
        )
    );
    let xml = decode_cdr(&first);
    assert!(
        xml.contains("<call-stats></call-stats>"),
        "an unanswered leg has no media stats"
    );
    assert!(xml.contains("<billsec>0</billsec>"));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), posts.recv())
            .await
            .is_err(),
        "posted more than needed"
    );
    sim.shutdown();
}

// ----- 07: rxfax --------------------------------------------------------------------------

#[tokio::test]
async fn an_inbound_fax_is_received_like_capture_07() {
    let spool = tempfile::tempdir().unwrap();
    let config = SimConfig {
        dialplan: vec![
            Route::queue("7000", "support"),
            Route::fax("7200", spool.path()),
        ],
        ..quick()
    };
    let sim = simulator(config).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let tiff = fixtures().join("fax/tx.tif");
    let mut spec = FaxSpec::new("+15551234", "7200", &tiff);
    spec.duration = Duration::from_millis(400);
    spec.remote_station_id = "FIXTURE-TX".into();
    let fax = sim.receive_fax(spec.clone()).await.unwrap();
    let result = esl
        .until(|e| e.subclass().as_deref() == Some("spandsp::rxfaxresult"))
        .await;
    // The TIFF is on disk by the time the result event goes out.
    let written = spool.path().join(format!("{fax}.tif"));
    assert_eq!(
        std::fs::read(&written).unwrap(),
        std::fs::read(&tiff).unwrap()
    );
    esl.until(|e| uid(e) == fax && e.get("Channel-State").as_deref() == Some("CS_DESTROY"))
        .await;

    let capture = capture_events("07_fax_plain_ALL.rx");
    let rx_leg = "4ab15041-a966-49fa-b660-fe31b8c2f6be";
    let label = |e: &Event| match e.subclass() {
        Some(s) => format!("CUSTOM {s}"),
        None => kind(e),
    };
    let theirs: Vec<&Event> = capture.iter().filter(|e| uid(e) == rx_leg).collect();
    let their_from = theirs
        .iter()
        .position(|e| e.is("CHANNEL_EXECUTE") && e.get("Application").as_deref() == Some("rxfax"))
        .unwrap();
    let ours: Vec<&Event> = esl.events.iter().filter(|e| uid(e) == fax).collect();
    let our_from = ours
        .iter()
        .position(|e| e.is("CHANNEL_EXECUTE") && e.get("Application").as_deref() == Some("rxfax"))
        .unwrap();
    assert_eq!(
        ours[our_from..]
            .iter()
            .map(|e| label(e))
            .collect::<Vec<_>>(),
        theirs[their_from..]
            .iter()
            .map(|e| label(e))
            .collect::<Vec<_>>()
    );

    // The result event: Event-Subclass first, then the core headers; the fax-* block as captured.
    let their_result = capture
        .iter()
        .find(|e| e.subclass().as_deref() == Some("spandsp::rxfaxresult"))
        .unwrap();
    let ours_result = &esl.events[result];
    let tail = |e: &Event| {
        names(e)
            .into_iter()
            .skip_while(|n| !n.starts_with("fax-"))
            .collect::<Vec<_>>()
    };
    assert_eq!(tail(ours_result), tail(their_result));
    assert_eq!(names(ours_result)[..14], names(their_result)[..14]);
    assert_eq!(ours_result.get("fax-success").unwrap(), "1");
    assert_eq!(ours_result.get("fax-result-text").unwrap(), "OK");
    assert_eq!(
        ours_result.get("fax-document-transferred-pages").unwrap(),
        "2"
    );
    assert_eq!(
        ours_result.get("fax-remote-station-id").unwrap(),
        "FIXTURE-TX"
    );
    let complete = esl
        .events
        .iter()
        .find(|e| {
            e.is("CHANNEL_EXECUTE_COMPLETE") && e.get("Application").as_deref() == Some("rxfax")
        })
        .unwrap();
    assert_eq!(complete.get("Application-Response").unwrap(), "_none_");
    assert_eq!(complete.variable("fax_success").unwrap(), "1");
    assert_eq!(
        complete.variable("fax_document_transferred_pages").unwrap(),
        "2"
    );
    assert_eq!(
        complete.get("Application-Data").unwrap(),
        written.display().to_string()
    );

    // A failed transfer: spandsp's code and text, no file.
    spec.outcome = FaxOutcome::Failure { code: 48 };
    let failed = sim.receive_fax(spec).await.unwrap();
    let result = esl
        .until(|e| e.subclass().as_deref() == Some("spandsp::rxfaxresult") && uid(e) == failed)
        .await;
    let e = &esl.events[result];
    assert_eq!(e.get("fax-success").unwrap(), "0");
    assert_eq!(e.get("fax-result-code").unwrap(), "48");
    assert_eq!(
        e.get("fax-result-text").unwrap(),
        "Disconnected after permitted retries"
    );
    let done = esl.until(is("CHANNEL_HANGUP_COMPLETE", &failed)).await;
    assert_eq!(esl.events[done].variable("fax_success").unwrap(), "0");
    assert!(!spool.path().join(format!("{failed}.tif")).exists());
    sim.shutdown();
}

// ----- robustness, reconnects, the client, the demo traffic -------------------------------

#[tokio::test]
async fn bad_input_gets_errors_and_an_oversized_block_closes_only_its_connection() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::connect(&sim).await;
    assert_eq!(esl.command("hello world").await, "-ERR command not found");
    assert_eq!(esl.command("auth ClueCon").await, "+OK accepted");
    for (command, reply) in [
        ("hello: world", "-ERR command not found"),
        ("event plain NO_SUCH_EVENT", "-ERR no keywords supplied"),
        ("log bogus", "-ERR invalid log level"),
        (
            "sendmsg\ncall-command: execute",
            "-ERR invalid session id []",
        ),
    ] {
        assert_eq!(esl.command(command).await, reply, "{command}");
    }
    for (command, body) in [
        ("uuid_kill", "-USAGE: <uuid> [cause]\n"),
        ("originate {a=1 &park()", "-ERR DESTINATION_OUT_OF_ORDER\n"),
        ("uuid_broadcast \u{e9}\u{e9} x", "-ERR invalid uuid\n"),
    ] {
        assert_eq!(esl.api(command).await, body, "{command}");
    }

    let mut other = Esl::open(&sim, None).await;
    let flood = vec![b'a'; 2 * 1024 * 1024];
    let _ = esl.stream.write_all(&flood).await;
    assert!(
        esl.frame().await.is_none(),
        "an oversized command block must close the connection"
    );
    let mut broken = Esl::connect(&sim).await;
    broken.stream.write_all(b"auth \xff\xfe\n\n").await.unwrap();
    assert!(broken.frame().await.is_none());
    assert!(other.api("status").await.contains("is ready"));
    sim.shutdown();
}

#[tokio::test]
async fn dropped_connections_lose_nothing_but_the_socket() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = esl.parked(&sim, dialling("+15550001")).await;
    sim.drop_connections().await.unwrap();
    while let Some(frame) = esl.frame().await {
        assert_ne!(
            frame.kind(),
            FrameKind::DisconnectNotice,
            "a dropped connection gets no goodbye"
        );
    }
    let mut again = Esl::open(&sim, None).await;
    assert_eq!(again.api(&format!("uuid_exists {caller}")).await, "true");
    assert_eq!(sim.channels().await.unwrap().len(), 1);
    sim.shutdown();
}

#[tokio::test]
async fn heartbeats_come_every_interval_with_capture_02s_headers() {
    let sim = simulator(SimConfig {
        heartbeat: Duration::from_millis(200),
        ..quick()
    })
    .await;
    let mut esl = Esl::open(&sim, Some("plain HEARTBEAT RE_SCHEDULE")).await;
    let first = esl.until(|e| e.is("HEARTBEAT")).await;
    let second = esl.after(first, |e| e.is("HEARTBEAT")).await;
    let theirs = capture_events("02_call_plain_ALL.rx");
    for kind_name in ["HEARTBEAT", "RE_SCHEDULE"] {
        let t = theirs.iter().find(|e| e.is(kind_name)).unwrap();
        let o = esl.events.iter().find(|e| e.is(kind_name)).unwrap();
        assert_eq!(names(o), names(t));
    }
    let up = |i: usize| {
        esl.events[i]
            .get("Uptime-msec")
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(up(second) >= up(first) + 150);
    assert_eq!(esl.events[first].get("Event-Info").unwrap(), "System Ready");
    sim.shutdown();
}

#[tokio::test]
async fn switchdesks_own_client_drives_the_simulator_and_reconnects() {
    use switchdesk::config::Secret;
    use switchdesk::esl::{Connection, ConnectionEvent, ConnectionOptions};

    let sim = simulator(SimConfig {
        heartbeat: Duration::from_millis(300),
        ..quick()
    })
    .await;
    sim.add_endpoint(
        "user/1001@default",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(50),
            talk: None,
        },
    )
    .await
    .unwrap();
    let options = ConnectionOptions {
        node: "sim".into(),
        address: sim.addr().to_string(),
        password: Secret::new("ClueCon"),
        format: EventFormat::Json,
        events: vec!["CHANNEL_PARK".into()],
        heartbeat: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        max_frame: 8 * 1024 * 1024,
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        event_buffer: 1024,
        reconnect: true,
    };
    let (connection, mut events) = Connection::spawn_with_subscriber(options);
    let next_connected = |events: &mut tokio::sync::broadcast::Receiver<ConnectionEvent>| {
        let mut events = events.resubscribe();
        async move {
            loop {
                if let ConnectionEvent::Connected { generation } =
                    tokio::time::timeout(WAIT, events.recv())
                        .await
                        .unwrap()
                        .unwrap()
                {
                    return generation;
                }
            }
        }
    };
    let first = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        first,
        ConnectionEvent::Connected { generation: 1 }
    ));
    assert!(connection.api("status").await.unwrap().contains("is ready"));
    let caller = sim.place_call(dialling("+15550001")).await.unwrap();
    'parked: loop {
        if let ConnectionEvent::Events(batch) = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            if let Some(e) = batch.iter().find(|e| e.is("CHANNEL_PARK")) {
                assert_eq!(e.unique_id().unwrap(), caller);
                break 'parked;
            }
        }
    }
    let job = connection
        .bgapi(&format!(
            "originate {{switchdesk_caller_uuid={caller}}}user/1001 &park()"
        ))
        .await
        .unwrap();
    let result = tokio::time::timeout(WAIT, job.result())
        .await
        .unwrap()
        .unwrap();
    let agent = result
        .trim()
        .strip_prefix("+OK ")
        .expect("+OK <uuid>")
        .to_owned();
    assert_eq!(
        connection
            .api(&format!("uuid_getvar {agent} switchdesk_caller_uuid"))
            .await
            .unwrap(),
        caller
    );

    let reconnected = next_connected(&mut events);
    sim.drop_connections().await.unwrap();
    assert_eq!(reconnected.await, 2);
    assert_eq!(
        connection
            .api(&format!("uuid_bridge {caller} {agent}"))
            .await
            .unwrap(),
        format!("+OK {agent}\n")
    );
    assert!(
        sim.commands_received()
            .iter()
            .filter(|c| c.starts_with("auth "))
            .count()
            >= 2
    );
    connection.shutdown();
    sim.shutdown();
}

#[tokio::test]
async fn synthetic_traffic_brings_callers_who_park_and_give_up() {
    use switchdesk::sim::traffic::{run_traffic, TrafficAgent, TrafficConfig};

    let sim = simulator(quick()).await;
    let mut esl = Esl::open(
        &sim,
        Some("plain CHANNEL_PARK CHANNEL_HANGUP_COMPLETE DTMF"),
    )
    .await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = TrafficConfig {
        callers_per_minute: 600.0,
        patience: (Duration::from_millis(100), Duration::from_millis(300)),
        agents: vec![TrafficAgent {
            ring: (Duration::from_millis(20), Duration::from_millis(80)),
            ..TrafficAgent::new("user/2001")
        }],
        ..Default::default()
    };
    let traffic = tokio::spawn(run_traffic(sim.clone(), config, stopped));
    let mut parked = 0;
    let mut gave_up = 0;
    while gave_up < 3 {
        let i = esl.until(|_| true).await;
        let e = &esl.events[i];
        if e.is("CHANNEL_PARK") {
            parked += 1;
            assert_eq!(e.variable("switchdesk_queue").unwrap(), "support");
        }
        if e.is("CHANNEL_HANGUP_COMPLETE") {
            gave_up += 1;
            assert_eq!(e.get("Hangup-Cause").unwrap(), "NORMAL_CLEARING");
        }
        esl.events.clear();
    }
    assert!(parked >= 3);
    stop.send(true).unwrap();
    tokio::time::timeout(WAIT, traffic)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // The registered agent answers an originate (it may also be busy or not answer: a mix).
    let mut answered = false;
    for _ in 0..20 {
        let reply = esl
            .api("originate {originate_timeout=1}user/2001 &park()")
            .await;
        assert!(
            ["+OK ", "-ERR USER_BUSY", "-ERR NO_ANSWER"]
                .iter()
                .any(|p| reply.starts_with(p)),
            "{reply}"
        );
        if reply.starts_with("+OK") {
            answered = true;
            break;
        }
    }
    assert!(answered);
    sim.shutdown();
}

// ----- the adapter's commands: uuid_answer, setvar/getvar, break, sendmsg, transfer, kill --

impl Esl {
    /// A synchronisation point: every event the switch fired before this call is in
    /// `self.events` when it returns (the API event of `api version` is fired after them).
    async fn checkpoint(&mut self) -> usize {
        assert!(self.api("version").await.starts_with("FreeSWITCH Version"));
        self.until_after_last(|e| e.is("API") && e.get("API-Command").as_deref() == Some("version"))
            .await
    }

    /// Like `until`, but for an event after everything already received.
    async fn until_after_last(&mut self, want: impl Fn(&Event) -> bool) -> usize {
        let from = self.events.len();
        self.search(from, want).await
    }

    /// Waits until `uuid` is destroyed (its last event, CHANNEL_STATE CS_DESTROY).
    async fn gone(&mut self, uuid: &str) -> usize {
        let uuid = uuid.to_owned();
        self.until(move |e| {
            uid(e) == uuid
                && kind(e) == "CHANNEL_STATE"
                && e.get("Channel-State").as_deref() == Some("CS_DESTROY")
        })
        .await
    }

    /// A caller parked and answered by `uuid_answer`; returns its UUID and the index after
    /// its answer events.
    async fn answered(&mut self, sim: &Simulator, spec: CallSpec) -> (String, usize) {
        let caller = self.parked(sim, spec).await;
        assert_eq!(self.api(&format!("uuid_answer {caller}")).await, "+OK\n");
        let answer = self.until(is("CHANNEL_ANSWER", &caller)).await;
        let active = self.after(answer, is("CHANNEL_CALLSTATE", &caller)).await;
        (caller, active + 1)
    }
}

/// A `sendmsg` execute block with `event-lock: true` (and any further header lines).
fn execute(uuid: &str, app: &str, arg: &str, more: &str) -> String {
    format!(
        "sendmsg {uuid}\ncall-command: execute\nexecute-app-name: {app}\nexecute-app-arg: {arg}\nevent-lock: true{more}"
    )
}

/// One leg's events from `from` on: the kind, with the application, channel state or call
/// state it is about.
fn trace(events: &[Event], from: usize, uuid: &str) -> Vec<String> {
    events[from..]
        .iter()
        .filter(|e| uid(e) == uuid)
        .map(|e| {
            let k = kind(e);
            let detail = match k.as_str() {
                "CHANNEL_STATE" => e.get("Channel-State"),
                "CHANNEL_CALLSTATE" => e.get("Channel-Call-State"),
                _ => e.get("Application"),
            };
            match detail {
                Some(d) => format!("{k} {d}"),
                None => k,
            }
        })
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn find<'a>(events: &'a [Event], uuid: &str, name: &str, app: Option<&str>) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| {
            kind(e) == name
                && uid(e) == uuid
                && app.is_none_or(|a| e.get("Application").as_deref() == Some(a))
        })
        .collect()
}

const HANGUP_TAIL: [&str; 6] = [
    "CHANNEL_STATE CS_HANGUP",
    "CHANNEL_CALLSTATE HANGUP",
    "CHANNEL_STATE CS_REPORTING",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_DESTROY",
    "CHANNEL_STATE CS_DESTROY",
];

#[tokio::test]
async fn uuid_answer_answers_a_parked_caller_who_stays_parked() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = esl.parked(&sim, dialling("+15550001")).await;
    let parked_at = esl.events.len();
    assert_eq!(esl.api(&format!("uuid_answer {caller}")).await, "+OK\n");
    let done = esl.checkpoint().await;

    // Exactly the media and answer events capture 02's `answer` application fired.
    let capture = segments("02_call_plain_ALL.rx");
    let answer_app = |e: &Event| e.get("Application").as_deref() == Some("answer");
    let from = capture[3].iter().position(answer_app).unwrap();
    let to = capture[3].iter().rposition(answer_app).unwrap();
    let theirs: Vec<String> = capture[3][from + 1..to].iter().map(kind).collect();
    let ours: Vec<String> = esl.events[parked_at..done]
        .iter()
        .filter(|e| uid(e) == caller)
        .map(kind)
        .collect();
    assert_eq!(ours, theirs);
    let answer = find(&esl.events, &caller, "CHANNEL_ANSWER", None)[0];
    assert_eq!(answer.get("Answer-State").unwrap(), "answered");
    assert_eq!(answer.variable("switchdesk_queue").unwrap(), "support");

    // Still in park: no UNPARK, no second PARK; answered in the snapshot and the core db.
    assert!(esl.events[parked_at..]
        .iter()
        .all(|e| !e.is("CHANNEL_UNPARK") && !e.is("CHANNEL_PARK")));
    let snapshot = &sim.channels().await.unwrap()[0];
    assert!(snapshot.parked && snapshot.answered);
    assert_eq!(snapshot.call_state, "ACTIVE");
    let rows: serde_json::Value =
        serde_json::from_str(&esl.api("show channels as json").await).unwrap();
    assert_eq!(rows["rows"][0]["application"], "park");
    assert_eq!(rows["rows"][0]["callstate"], "ACTIVE");
    // switch_channel_answer on an answered leg succeeds and does nothing.
    assert_eq!(esl.api(&format!("uuid_answer {caller}")).await, "+OK\n");
    let again = esl.checkpoint().await;
    assert!(esl.events[done + 1..again].iter().all(|e| uid(e) != caller));
    assert_eq!(esl.api("uuid_answer").await, "-ERROR\n");
    sim.shutdown();
}

#[tokio::test]
async fn uuid_setvar_and_getvar_treat_spaces_and_quotes_like_mod_commands() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, None).await;
    let caller = sim.place_call(dialling("+15550001")).await.unwrap();
    for (set, get) in [
        ("note two words", "two words"),
        ("note 'quoted words'", "quoted words"),
        ("note  spaced   out  ", "spaced   out"),
        ("note it's", "it's"),
        ("note a\\sb", "a b"),
    ] {
        assert_eq!(
            esl.api(&format!("uuid_setvar {caller} {set}")).await,
            "+OK\n"
        );
        assert_eq!(
            esl.api(&format!("uuid_getvar {caller} note")).await,
            get,
            "{set}"
        );
    }
    // No value unsets; a variable that is not there is `_undef_`.
    assert_eq!(
        esl.api(&format!("uuid_setvar {caller} note")).await,
        "+OK\n"
    );
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} note")).await,
        "_undef_"
    );
    // switch_channel_get_variable falls back to the caller profile, then the globals.
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} destination_number"))
            .await,
        "7000"
    );
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} caller_id_number"))
            .await,
        "+15550001"
    );
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} hostname")).await,
        "vm"
    );
    // An empty profile field is an empty result, which mod_event_socket turns into this.
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} rdnis")).await,
        "-ERR no reply\n"
    );
    let bogus = "4b1f5a0e-1111-4222-8333-944455556666";
    for (command, reply) in [
        (
            format!("uuid_setvar {bogus} a b"),
            "-ERR No such channel!\n",
        ),
        (format!("uuid_getvar {bogus} a"), "-ERR No such channel!\n"),
        (
            format!("uuid_setvar {caller}"),
            "-USAGE: <uuid> <var> [value]\n",
        ),
        (format!("uuid_getvar {caller}"), "-USAGE: <uuid> <var>\n"),
        ("uuid_getvar".to_owned(), "-USAGE: <uuid> <var>\n"),
    ] {
        assert_eq!(esl.api(&command).await, reply, "{command}");
    }
    let snapshot = &sim.channels().await.unwrap()[0];
    assert_eq!(snapshot.variable("note"), None);
    sim.shutdown();
}

/// `uuid_setvar_multi` as mod_commands 1.10.12 runs it: pairs on `;`, each split at its first
/// `=`, trimmed; its odd replies for a missing channel, no pair and no
/// space after the uuid.
#[tokio::test]
async fn uuid_setvar_multi_sets_each_pair_like_mod_commands() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, None).await;
    let caller = sim.place_call(dialling("+15550001")).await.unwrap();
    assert_eq!(
        esl.api(&format!(
            "uuid_setvar_multi {caller} switchdesk_priority=5;switchdesk_note=a b=c; b=2 "
        ))
        .await,
        "+OK\n"
    );
    for (name, value) in [
        ("switchdesk_priority", "5"),
        ("switchdesk_note", "a b=c"),
        ("b", "2"),
    ] {
        assert_eq!(
            esl.api(&format!("uuid_getvar {caller} {name}")).await,
            value,
            "{name}"
        );
    }
    // An empty pair is refused on its own; the others are still set.
    assert_eq!(
        esl.api(&format!("uuid_setvar_multi {caller} a=1;;=2;"))
            .await,
        "-ERR No variable specified\n-ERR No variable specified\n+OK\n"
    );
    assert_eq!(esl.api(&format!("uuid_getvar {caller} a")).await, "1");
    let usage = "-USAGE: <uuid> <var>=<value>;<var>=<value>...\n";
    let bogus = "4b1f5a0e-1111-4222-8333-944455556666";
    assert_eq!(
        esl.api(&format!("uuid_setvar_multi {bogus} a=1")).await,
        format!("-ERR No such channel!\n{usage}")
    );
    assert_eq!(
        esl.api(&format!("uuid_setvar_multi {caller} =1")).await,
        format!("-ERR No variable specified\n{usage}")
    );
    // No space after the uuid: the function writes nothing at all.
    assert_eq!(
        esl.api(&format!("uuid_setvar_multi {caller}")).await,
        "-ERR no reply\n"
    );
    assert_eq!(esl.api("uuid_setvar_multi").await, usage);
    sim.shutdown();
}

#[tokio::test]
async fn uuid_break_ends_the_playback_and_all_flushes_the_queue() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let (caller, from) = esl.answered(&sim, dialling("+15550001")).await;
    for block in [
        execute(&caller, "playback", "local_stream://moh", "\nloops: -1"),
        execute(&caller, "playback", "/srv/freeswitch/snd/prompt_8k.wav", ""),
        execute(&caller, "set", "never=set", ""),
    ] {
        assert_eq!(esl.command(&block).await, "+OK");
    }
    esl.until(is("PLAYBACK_START", &caller)).await;
    // local_stream:// never ends by itself: the queued playback waits behind it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let waited = esl.checkpoint().await;
    assert_eq!(
        trace(&esl.events[..waited], from, &caller),
        strings(&["CHANNEL_EXECUTE playback", "PLAYBACK_START"])
    );

    assert_eq!(esl.api(&format!("uuid_break {caller}")).await, "+OK\n");
    let next = esl.until_after_last(is("PLAYBACK_START", &caller)).await;
    assert_eq!(esl.api(&format!("uuid_break {caller} all")).await, "+OK\n");
    esl.until_after_last(is("PRIVATE_COMMAND", &caller)).await;
    // Nothing plays now: a break is harmless.
    assert_eq!(esl.api(&format!("uuid_break {caller}")).await, "+OK\n");
    let end = esl.checkpoint().await;
    assert_eq!(
        trace(&esl.events[..end], from, &caller),
        strings(&[
            "CHANNEL_EXECUTE playback",
            "PLAYBACK_START",
            "PLAYBACK_STOP",
            "CHANNEL_EXECUTE_COMPLETE playback",
            "PRIVATE_COMMAND",
            "CHANNEL_EXECUTE playback",
            "PLAYBACK_START",
            "PLAYBACK_STOP",
            "CHANNEL_EXECUTE_COMPLETE playback",
            "PRIVATE_COMMAND",
        ])
    );
    // A broken playback reports `break` and, for mod_dptools, still `FILE PLAYED`.
    let stops = find(&esl.events, &caller, "PLAYBACK_STOP", None);
    assert!(stops
        .iter()
        .all(|e| e.get("Playback-Status").as_deref() == Some("break")));
    assert_eq!(
        stops[0].get("Playback-File-Type").as_deref(),
        Some("local_stream")
    );
    assert_eq!(
        esl.events[next].get("Playback-File-Path").unwrap(),
        "/srv/freeswitch/snd/prompt_8k.wav"
    );
    let completes = find(
        &esl.events,
        &caller,
        "CHANNEL_EXECUTE_COMPLETE",
        Some("playback"),
    );
    assert!(completes
        .iter()
        .all(|e| e.get("Application-Response").as_deref() == Some("FILE PLAYED")));
    // The `set` queued behind was flushed by `all` before it ran.
    assert_eq!(
        esl.api(&format!("uuid_getvar {caller} never")).await,
        "_undef_"
    );
    assert!(sim.channels().await.unwrap()[0].parked);
    let bogus = "4b1f5a0e-1111-4222-8333-944455556666";
    assert_eq!(
        esl.api(&format!("uuid_break {bogus}")).await,
        "-ERR No such channel!\n"
    );
    assert_eq!(esl.api("uuid_break").await, "-USAGE: <uuid> [all]\n");
    sim.shutdown();
}

#[tokio::test]
async fn sendmsg_applications_run_in_turn_in_park_with_loops() {
    let sim = simulator(SimConfig {
        sound_file_length: Duration::from_millis(200),
        ..quick()
    })
    .await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let (caller, from) = esl.answered(&sim, dialling("+15550001")).await;
    let event_uuid = "0d8a0d43-6a65-4f4c-9a3b-2c1e7a6d9b01";
    for block in [
        // Shorter than 500 ms: FreeSWITCH runs it once whatever `loops` says.
        execute(
            &caller,
            "playback",
            "tone_stream://%(100,0,440)",
            "\nloops: -1",
        ),
        execute(
            &caller,
            "playback",
            "tone_stream://%(300,300,440)",
            &format!("\nloops: 2\nevent-uuid: {event_uuid}\nevent-uuid-name: moh-turn"),
        ),
        execute(&caller, "say", "en number pronounced 3", ""),
        execute(&caller, "sleep", "100", ""),
        execute(&caller, "hangup", "NORMAL_CLEARING", ""),
    ] {
        assert_eq!(esl.command(&block).await, "+OK");
    }
    esl.gone(&caller).await;
    let played = |n: usize| {
        let mut turn = vec![
            "CHANNEL_EXECUTE playback",
            "PLAYBACK_START",
            "PLAYBACK_STOP",
            "CHANNEL_EXECUTE_COMPLETE playback",
        ];
        turn = turn.repeat(n);
        turn.push("PRIVATE_COMMAND");
        turn
    };
    let mut expected = played(1);
    expected.extend(played(2));
    expected.extend([
        "CHANNEL_EXECUTE say",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CHANNEL_EXECUTE_COMPLETE say",
        "PRIVATE_COMMAND",
        "CHANNEL_EXECUTE sleep",
        "CHANNEL_EXECUTE_COMPLETE sleep",
        "PRIVATE_COMMAND",
        "CHANNEL_EXECUTE hangup",
        "CHANNEL_HANGUP",
        "CHANNEL_EXECUTE_COMPLETE hangup",
        "PRIVATE_COMMAND",
        "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE park",
    ]);
    expected.extend(HANGUP_TAIL);
    assert_eq!(trace(&esl.events, from, &caller), strings(&expected));

    // Each turn of the loop carries the client's event-uuid and its turn number; the loop
    // variables are gone once the command is done.
    let executes = find(&esl.events, &caller, "CHANNEL_EXECUTE", Some("playback"));
    let turns: Vec<(String, String, String, String)> = executes[1..]
        .iter()
        .map(|e| {
            (
                e.get("Application-UUID").unwrap().into_owned(),
                e.get("Application-UUID-Name").unwrap().into_owned(),
                e.variable("current_loop").unwrap().into_owned(),
                e.variable("total_loops").unwrap().into_owned(),
            )
        })
        .collect();
    let turn = |n: &str| {
        (
            event_uuid.to_owned(),
            "moh-turn".to_owned(),
            n.to_owned(),
            "2".to_owned(),
        )
    };
    assert_eq!(turns, [turn("1"), turn("2")]);
    assert_eq!(executes[0].variable("total_loops").unwrap(), "-1");
    let unpark = find(&esl.events, &caller, "CHANNEL_UNPARK", None)[0];
    assert!(unpark.variable("current_loop").is_none());
    // say plays mod_say_en's files; its response, and so park's, is `_none_`.
    let say_start = esl
        .events
        .iter()
        .filter(|e| e.is("PLAYBACK_START") && uid(e) == caller)
        .nth(3)
        .unwrap();
    assert_eq!(
        say_start.get("Playback-File-Path").unwrap(),
        "file_string://digits/3.wav"
    );
    let park_done = find(
        &esl.events,
        &caller,
        "CHANNEL_EXECUTE_COMPLETE",
        Some("park"),
    )[0];
    assert_eq!(park_done.get("Application-Response").unwrap(), "_none_");
    let done = find(&esl.events, &caller, "CHANNEL_HANGUP_COMPLETE", None)[0];
    assert_eq!(done.get("Hangup-Cause").unwrap(), "NORMAL_CLEARING");
    assert_eq!(done.variable("sip_hangup_disposition").unwrap(), "send_bye");
    assert_eq!(done.variable("last_app").unwrap(), "hangup");
    // Park was never entered again.
    assert_eq!(find(&esl.events, &caller, "CHANNEL_PARK", None).len(), 1);
    sim.shutdown();
}

#[tokio::test]
async fn uuid_bridge_cuts_hold_music_short_and_bridges_like_capture_02() {
    let sim = simulator(quick()).await;
    sim.add_endpoint(
        AGENT,
        AgentBehaviour::Answer {
            ring: Duration::from_millis(50),
            talk: None,
        },
    )
    .await
    .unwrap();
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let (caller, _) = esl.answered(&sim, dialling("+15550001")).await;
    assert_eq!(
        esl.api(&format!(
            "uuid_broadcast {caller} tone_stream://%(1000,4000,440);loops=-1 aleg"
        ))
        .await,
        "+OK Message sent\n"
    );
    // Queued behind the endless hold music.
    assert_eq!(
        esl.command(&execute(&caller, "set", "after_bridge=yes", ""))
            .await,
        "+OK"
    );
    esl.until(is("PLAYBACK_START", &caller)).await;
    esl.bgapi(&format!(
        "originate {{origination_uuid={AGENT_UUID},origination_caller_id_number=7000,origination_caller_id_name=ccsvc}}{AGENT} &park()"
    ))
    .await;
    esl.until(is("CHANNEL_PARK", AGENT_UUID)).await;
    let before = esl.events.len();
    assert_eq!(
        esl.api(&format!("uuid_bridge {caller} {AGENT_UUID}")).await,
        format!("+OK {AGENT_UUID}\n")
    );
    let set_done = esl
        .until(|e| uid(e) == caller && e.is("PRIVATE_COMMAND"))
        .await;
    let set_done = esl
        .after(set_done, |e| uid(e) == caller && e.is("PRIVATE_COMMAND"))
        .await;

    // The hold music finds the leg no longer ready: done, PLAYBACK ERROR, its command.
    assert_eq!(
        trace(&esl.events, before, &caller)[..3],
        strings(&[
            "PLAYBACK_STOP",
            "CHANNEL_EXECUTE_COMPLETE playback",
            "COMMAND|PRIVATE_COMMAND",
        ])
    );
    let stop = find(&esl.events, &caller, "PLAYBACK_STOP", None)[0];
    assert_eq!(stop.get("Playback-Status").unwrap(), "done");
    let played = find(
        &esl.events,
        &caller,
        "CHANNEL_EXECUTE_COMPLETE",
        Some("playback"),
    )[0];
    assert_eq!(
        played.get("Application-Response").unwrap(),
        "PLAYBACK ERROR"
    );
    let unparked = find(
        &esl.events,
        &caller,
        "CHANNEL_EXECUTE_COMPLETE",
        Some("park"),
    )[0];
    assert_eq!(
        unparked.get("Application-Response").unwrap(),
        "PLAYBACK ERROR"
    );

    // Then the bridge exactly as capture 02 shows it.
    let legs = [(caller.as_str(), "caller"), (AGENT_UUID, "agent")];
    let their_legs = [(CAPTURE_CALLER, "caller"), (AGENT_UUID, "agent")];
    let capture = segments("02_call_plain_ALL.rx");
    let their_bridge: Vec<Event> = capture[6]
        .iter()
        .take_while(|e| kind(e) != "CHANNEL_HANGUP")
        .cloned()
        .collect();
    let interruption = esl.events[before..]
        .iter()
        .position(|e| kind(e) == "COMMAND|PRIVATE_COMMAND")
        .unwrap();
    let bridge_from = before + interruption + 1;
    let their_bridge: Vec<Event> = their_bridge
        .into_iter()
        .filter(|e| kind(e) != "API")
        .collect();
    let bridge_events: Vec<Event> = esl.events[bridge_from..]
        .iter()
        .filter(|e| kind(e) != "API")
        .take(their_bridge.len())
        .cloned()
        .collect();
    assert_eq!(
        roles(&bridge_events, &legs),
        roles(&their_bridge, &their_legs)
    );
    // The command still queued runs in the bridge, as the bridge loop parses it.
    assert_eq!(
        trace(&esl.events[..=set_done], bridge_from, &caller)
            .into_iter()
            .rev()
            .take(3)
            .collect::<Vec<_>>(),
        strings(&[
            "PRIVATE_COMMAND",
            "CHANNEL_EXECUTE_COMPLETE set",
            "CHANNEL_EXECUTE set"
        ])
    );
    let snapshot = sim.channels().await.unwrap();
    assert_eq!(snapshot[0].bridged_to.as_deref(), Some(AGENT_UUID));
    assert!(!snapshot[0].parked && !snapshot[1].parked);
    assert_eq!(snapshot[0].variable("after_bridge"), Some("yes"));
    sim.shutdown();
}

fn transfer_config() -> SimConfig {
    SimConfig {
        dialplan: vec![
            Route::queue("7000", "support"),
            Route::queue("7001", "sales"),
            Route::answer_then_hangup("voicemail", Duration::ZERO, Duration::from_millis(600)),
        ],
        ..quick()
    }
}

#[tokio::test]
async fn uuid_transfer_takes_a_parked_caller_through_the_dialplan() {
    let (url, mut posts) = cdr_sink(vec![]).await;
    let sim = simulator(SimConfig {
        cdr: Some(CdrTarget::new(url)),
        ..transfer_config()
    })
    .await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = esl.parked(&sim, dialling("+15550001")).await;
    let from = esl.events.len();
    assert_eq!(
        esl.api(&format!("uuid_transfer {caller} voicemail XML default"))
            .await,
        "+OK\n"
    );
    esl.until(|e| {
        e.is("CHANNEL_EXECUTE")
            && uid(e) == caller
            && e.get("Application").as_deref() == Some("sleep")
    })
    .await;
    // In the new extension the caller is no longer parked, for the core db as for channels().
    let rows: serde_json::Value =
        serde_json::from_str(&esl.api("show channels as json").await).unwrap();
    let row = &rows["rows"][0];
    assert_eq!(row["application"], "sleep");
    assert_eq!(row["dest"], "voicemail");
    assert_eq!(row["callstate"], "ACTIVE");
    assert!(!sim.channels().await.unwrap()[0].parked);
    esl.gone(&caller).await;

    let mut expected = strings(&[
        "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE park",
        "CHANNEL_STATE CS_ROUTING",
        "CHANNEL_STATE CS_EXECUTE",
        "CHANNEL_EXECUTE answer",
        "CODEC",
        "CODEC",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_CALLSTATE EARLY",
        "CHANNEL_ANSWER",
        "CHANNEL_CALLSTATE ACTIVE",
        "CHANNEL_EXECUTE_COMPLETE answer",
        "CHANNEL_EXECUTE sleep",
        "CHANNEL_EXECUTE_COMPLETE sleep",
        "CHANNEL_EXECUTE hangup",
        "CHANNEL_HANGUP",
        "CHANNEL_EXECUTE_COMPLETE hangup",
    ]);
    expected.extend(strings(&HANGUP_TAIL));
    assert_eq!(trace(&esl.events, from, &caller), expected);

    // The new caller profile (switch_ivr_session_transfer) is on the events from UNPARK on.
    let unpark = find(&esl.events, &caller, "CHANNEL_UNPARK", None)[0];
    assert_eq!(
        unpark.get("Caller-Destination-Number").unwrap(),
        "voicemail"
    );
    assert_eq!(unpark.get("Caller-RDNIS").unwrap(), "7000");
    assert_eq!(unpark.get("Caller-Context").unwrap(), "default");
    assert_eq!(unpark.get("Caller-Profile-Index").unwrap(), "2");
    let source = unpark.get("Caller-Transfer-Source").unwrap().into_owned();
    assert!(
        source.ends_with(":bl_xfer:voicemail/default/XML"),
        "{source}"
    );
    assert_eq!(unpark.variable("transfer_source").unwrap(), source);
    assert_eq!(unpark.variable("max_forwards").unwrap(), "69");
    let done = find(&esl.events, &caller, "CHANNEL_HANGUP_COMPLETE", None)[0];
    assert_eq!(done.get("Hangup-Cause").unwrap(), "NORMAL_CLEARING");
    assert_eq!(done.variable("sip_hangup_disposition").unwrap(), "send_bye");

    // mod_xml_cdr: both callflows, newest first, the transfer on the new one.
    let raw = tokio::time::timeout(WAIT, posts.recv())
        .await
        .unwrap()
        .unwrap();
    let post = split_post(&raw);
    assert!(post.request_line.contains(&format!("uuid=a_{caller}")));
    let xml = decode_cdr(&post);
    assert_eq!(xml.matches("<callflow ").count(), 2);
    let newest = &xml[xml.find("<callflow ").unwrap()..];
    assert!(newest.starts_with("<callflow dialplan=\"XML\""));
    assert!(newest.contains("profile_index=\"2\""));
    assert!(newest.contains("<extension name=\"voicemail\" number=\"voicemail\">"));
    assert!(newest.contains("<rdnis>7000</rdnis>"));
    assert!(newest.contains("<destination_number>voicemail</destination_number>"));
    assert!(newest.contains(&format!("<transfer_source>{source}</transfer_source>")));

    // Replies for the failures, as mod_commands writes them.
    let bogus = "4b1f5a0e-1111-4222-8333-944455556666";
    let usage = "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n";
    for (command, reply) in [
        (
            format!("uuid_transfer {bogus} voicemail"),
            "-ERR No such channel!\n",
        ),
        (
            format!("uuid_transfer {caller} voicemail"),
            "-ERR No such channel!\n",
        ),
        ("uuid_transfer".to_owned(), usage),
        (format!("uuid_transfer {bogus}"), usage),
    ] {
        assert_eq!(esl.api(&command).await, reply, "{command}");
    }
    sim.shutdown();
}

#[tokio::test]
async fn uuid_transfer_to_nowhere_ends_with_no_route_and_to_a_queue_parks_again() {
    let sim = simulator(transfer_config()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;

    // Transferred during hold music to an extension no route matches.
    let (lost, from) = esl.answered(&sim, dialling("+15550001")).await;
    assert_eq!(
        esl.api(&format!(
            "uuid_broadcast {lost} tone_stream://%(1000,4000,440);loops=-1 aleg"
        ))
        .await,
        "+OK Message sent\n"
    );
    esl.until(is("PLAYBACK_START", &lost)).await;
    assert_eq!(
        esl.api(&format!("uuid_transfer {lost} nowhere XML default"))
            .await,
        "+OK\n"
    );
    esl.gone(&lost).await;
    let mut expected = strings(&[
        "CHANNEL_EXECUTE playback",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CHANNEL_EXECUTE_COMPLETE playback",
        "COMMAND|PRIVATE_COMMAND",
        "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE park",
        "CHANNEL_STATE CS_ROUTING",
        "CHANNEL_HANGUP",
    ]);
    expected.extend(strings(&HANGUP_TAIL));
    assert_eq!(trace(&esl.events, from, &lost), expected);
    let done = find(&esl.events, &lost, "CHANNEL_HANGUP_COMPLETE", None)[0];
    assert_eq!(done.get("Hangup-Cause").unwrap(), "NO_ROUTE_DESTINATION");
    assert_eq!(done.variable("hangup_cause_q850").unwrap(), "3");
    let park_done = find(&esl.events, &lost, "CHANNEL_EXECUTE_COMPLETE", Some("park"))[0];
    assert_eq!(
        park_done.get("Application-Response").unwrap(),
        "PLAYBACK ERROR"
    );

    // Transferred to another queue's DID in `public`: the stock prelude, the new queue, park.
    let moved = esl.parked(&sim, dialling("+15550002")).await;
    let from = esl.events.len();
    assert_eq!(
        esl.api(&format!("uuid_transfer {moved} 7001 XML public"))
            .await,
        "+OK\n"
    );
    let parked = esl.until_after_last(is("CHANNEL_PARK", &moved)).await;
    assert_eq!(
        trace(&esl.events, from, &moved),
        strings(&[
            "CHANNEL_UNPARK",
            "CHANNEL_EXECUTE_COMPLETE park",
            "CHANNEL_STATE CS_ROUTING",
            "CHANNEL_STATE CS_EXECUTE",
            "CHANNEL_EXECUTE set",
            "CHANNEL_EXECUTE_COMPLETE set",
            "CHANNEL_EXECUTE export",
            "CHANNEL_EXECUTE_COMPLETE export",
            "CHANNEL_EXECUTE set",
            "CHANNEL_EXECUTE_COMPLETE set",
            "CHANNEL_EXECUTE park",
            "CHANNEL_PARK",
        ])
    );
    assert_eq!(
        esl.events[parked].variable("switchdesk_queue").unwrap(),
        "sales"
    );
    assert_eq!(
        esl.events[parked].variable("DP_MATCH").unwrap(),
        "ARRAY::7001|:7001"
    );
    assert_eq!(
        esl.api(&format!("uuid_getvar {moved} switchdesk_queue"))
            .await,
        "sales"
    );
    let snapshot = sim.channels().await.unwrap();
    assert!(snapshot.iter().find(|c| c.uuid == moved).unwrap().parked);
    sim.shutdown();
}

#[tokio::test]
async fn uuid_transfer_out_of_a_bridge_leaves_the_agent_alone_and_it_hangs_up() {
    let sim = simulator(transfer_config()).await;
    sim.add_endpoint(
        "user/1001",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(20),
            talk: None,
        },
    )
    .await
    .unwrap();
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let (caller, _) = esl.answered(&sim, dialling("+15550001")).await;
    let agent = "5d7c1f0a-2b3c-4d5e-8f90-a1b2c3d4e5f6";
    esl.bgapi(&format!(
        "originate {{origination_uuid={agent}}}user/1001 &park()"
    ))
    .await;
    esl.until(is("CHANNEL_PARK", agent)).await;
    esl.api(&format!("uuid_bridge {caller} {agent}")).await;
    let from = esl.checkpoint().await;
    assert_eq!(
        esl.api(&format!("uuid_transfer {caller} voicemail XML default"))
            .await,
        "+OK\n"
    );
    esl.gone(agent).await;
    esl.gone(&caller).await;
    let unbridges: Vec<&Event> = esl.events[from..]
        .iter()
        .filter(|e| e.is("CHANNEL_UNBRIDGE"))
        .collect();
    assert_eq!(unbridges.len(), 1);
    assert_eq!(uid(unbridges[0]), caller);
    let agent_done = find(&esl.events, agent, "CHANNEL_HANGUP_COMPLETE", None)[0];
    assert_eq!(agent_done.get("Hangup-Cause").unwrap(), "NORMAL_CLEARING");
    let caller_trace = trace(&esl.events, from, &caller);
    assert_eq!(
        caller_trace[..3],
        strings(&[
            "CHANNEL_UNBRIDGE",
            "CHANNEL_STATE CS_ROUTING",
            "CHANNEL_STATE CS_EXECUTE"
        ])
    );
    assert!(caller_trace.contains(&"CHANNEL_EXECUTE sleep".to_owned()));
    let done = find(&esl.events, &caller, "CHANNEL_HANGUP_COMPLETE", None)[0];
    assert_eq!(done.get("Hangup-Cause").unwrap(), "NORMAL_CLEARING");
    sim.shutdown();
}

#[tokio::test]
async fn uuid_kill_cancels_a_ringing_agent_and_the_job_reports_the_cause() {
    let sim = simulator(quick()).await;
    sim.add_endpoint("user/1001@default", AgentBehaviour::NoAnswer)
        .await
        .unwrap();
    let subscription = "plain BACKGROUND_JOB CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_DESTROY";
    let mut esl = Esl::open(&sim, Some(subscription)).await;
    for (cause, expected) in [
        (" ORIGINATOR_CANCEL", "ORIGINATOR_CANCEL"),
        ("", "NORMAL_CLEARING"),
        (" 17", "USER_BUSY"),
    ] {
        let leg = format!("7e0c7f9a-0000-4000-8000-00000000000{}", expected.len() % 10);
        let job = esl
            .bgapi(&format!(
                "originate {{origination_uuid={leg},originate_timeout=20}}user/1001@default &park()"
            ))
            .await;
        // The leg exists from the moment the job is accepted.
        assert_eq!(
            esl.api(&format!("uuid_kill {leg}{cause}")).await,
            "+OK\n",
            "{cause}"
        );
        let result = esl
            .until(|e| e.job_uuid().as_deref() == Some(job.as_str()))
            .await;
        assert_eq!(
            esl.events[result].body().unwrap(),
            format!("-ERR {expected}\n")
        );
        let done = esl.until(is("CHANNEL_HANGUP_COMPLETE", &leg)).await;
        let done = &esl.events[done];
        assert_eq!(done.get("Hangup-Cause").unwrap(), expected);
        assert_eq!(
            done.variable("sip_hangup_disposition").unwrap(),
            "send_cancel"
        );
        assert_eq!(done.variable("billsec").unwrap(), "0");
        esl.until(is("CHANNEL_DESTROY", &leg)).await;
        assert_eq!(
            esl.api(&format!("uuid_kill {leg}")).await,
            "-ERR No such channel!\n"
        );
    }
    // FreeSWITCH's own causes count as NORMAL_CLEARING for Q.850.
    let killed = esl
        .events
        .iter()
        .find(|e| e.is("CHANNEL_HANGUP_COMPLETE"))
        .unwrap();
    assert_eq!(killed.variable("hangup_cause_q850").unwrap(), "16");
    assert!(sim.channels().await.unwrap().is_empty());
    sim.shutdown();
}

#[tokio::test]
async fn an_agent_originate_carries_its_variables_and_caller_id() {
    let sim = simulator(quick()).await;
    sim.add_endpoint(
        "user/1001@default",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(100),
            talk: None,
        },
    )
    .await
    .unwrap();
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = esl.parked(&sim, dialling("+15550001")).await;
    let agent = "3f2e1d0c-9b8a-4776-8554-433221100fed";
    let job = esl
        .bgapi(&format!(
            "originate {{origination_uuid={agent},originate_timeout=20,origination_caller_id_number=7000,origination_caller_id_name='Support Queue',switchdesk_leg=agent,switchdesk_caller_uuid={caller},switchdesk_agent=alice}}user/1001@default &park()"
        ))
        .await;
    let create = esl.until(is("CHANNEL_CREATE", agent)).await;
    // Ringing: uuid_getvar already sees the variables.
    for (name, value) in [
        ("switchdesk_leg", "agent"),
        ("switchdesk_caller_uuid", caller.as_str()),
        ("switchdesk_agent", "alice"),
        ("origination_caller_id_name", "Support Queue"),
        ("origination_caller_id_number", "7000"),
        ("originate_timeout", "20"),
        ("origination_uuid", agent),
        ("dialed_user", "1001"),
        ("dialed_domain", "default"),
    ] {
        assert_eq!(
            esl.api(&format!("uuid_getvar {agent} {name}")).await,
            value,
            "{name}"
        );
        assert_eq!(
            esl.events[create].variable(name).as_deref(),
            Some(value),
            "{name}"
        );
    }
    let created = &esl.events[create];
    for (header, value) in [
        ("Call-Direction", "outbound"),
        ("Caller-Caller-ID-Name", "Support Queue"),
        ("Caller-Caller-ID-Number", "7000"),
        ("Caller-Orig-Caller-ID-Name", "Support Queue"),
        ("Caller-Callee-ID-Name", "Outbound Call"),
        ("Caller-Callee-ID-Number", "1001"),
        ("Caller-Destination-Number", "1001"),
        ("Caller-Context", "default"),
        ("Channel-Presence-ID", "1001@default"),
        ("Channel-Name", "sofia/internal/1001@127.0.0.1:5062"),
    ] {
        assert_eq!(created.get(header).as_deref(), Some(value), "{header}");
    }
    let result = esl
        .until(|e| e.job_uuid().as_deref() == Some(job.as_str()))
        .await;
    assert_eq!(esl.events[result].body().unwrap(), format!("+OK {agent}\n"));
    // On answer switch_channel_flip_cid turns the originate caller id into the callee.
    let flip = esl.until(is("CALL_UPDATE", agent)).await;
    assert_eq!(
        esl.events[flip].get("Caller-Callee-ID-Name").unwrap(),
        "Support Queue"
    );
    assert_eq!(
        esl.events[flip].get("Caller-Callee-ID-Number").unwrap(),
        "7000"
    );
    let parked = esl.until(is("CHANNEL_PARK", agent)).await;
    assert_eq!(
        esl.events[parked].variable("switchdesk_agent").unwrap(),
        "alice"
    );
    sim.shutdown();
}

#[tokio::test]
async fn dtmf_comes_from_the_call_spec_and_from_press() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let mut spec = dialling("+15550001");
    spec.dtmf = vec![(Duration::from_millis(50), '4')];
    let caller = esl.parked(&sim, spec).await;
    // No media before the answer: nothing to carry a digit.
    assert!(!sim.press(&caller, '1').await.unwrap());
    esl.api(&format!("uuid_answer {caller}")).await;
    let scheduled = esl.until(is("DTMF", &caller)).await;
    assert!(sim.press(&caller, '7').await.unwrap());
    let pressed = esl.after(scheduled, is("DTMF", &caller)).await;
    let theirs = capture_events("05_dtmf_plain_ALL.rx");
    let rtp = theirs.iter().find(|e| e.is("DTMF")).unwrap();
    for (i, digit) in [(scheduled, "4"), (pressed, "7")] {
        let e = &esl.events[i];
        assert_eq!(names(e), names(rtp));
        assert_eq!(e.get("DTMF-Digit").unwrap(), digit);
        assert_eq!(e.get("DTMF-Source").unwrap(), "RTP");
        assert_eq!(e.get("DTMF-Duration").unwrap(), "2240");
    }
    assert!(!sim.press(&caller, 'x').await.unwrap());
    assert!(!sim
        .press("4b1f5a0e-1111-4222-8333-944455556666", '1')
        .await
        .unwrap());

    // `*` is playback's default terminator: hold music played by `playback` stops on it.
    assert_eq!(
        esl.command(&execute(&caller, "playback", "local_stream://moh", ""))
            .await,
        "+OK"
    );
    esl.until_after_last(is("PLAYBACK_START", &caller)).await;
    assert!(sim.press(&caller, '1').await.unwrap());
    assert!(sim.press(&caller, '*').await.unwrap());
    let stop = esl.until_after_last(is("PLAYBACK_STOP", &caller)).await;
    let stopped = &esl.events[stop];
    assert_eq!(stopped.get("Playback-Status").unwrap(), "break");
    assert_eq!(stopped.variable("playback_terminator_used").unwrap(), "*");
    assert_eq!(
        esl.events[stop - 1].get("DTMF-Digit").unwrap(),
        "*",
        "the digit comes before the stop"
    );
    sim.hangup(&caller, "NORMAL_CLEARING").await.unwrap();
    let done = esl.until(is("CHANNEL_HANGUP_COMPLETE", &caller)).await;
    assert_eq!(esl.events[done].variable("digits_dialed").unwrap(), "471*");
    sim.shutdown();
}

#[tokio::test]
async fn show_channels_as_json_lists_every_live_leg_for_a_resync() {
    let sim = simulator(quick()).await;
    sim.add_endpoint("user/1001", AgentBehaviour::NoAnswer)
        .await
        .unwrap();
    sim.add_endpoint(
        "user/1002",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(20),
            talk: None,
        },
    )
    .await
    .unwrap();
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let waiting = esl.parked(&sim, dialling("+15550001")).await;
    let (on_hold, _) = esl.answered(&sim, dialling("+15550002")).await;
    esl.api(&format!("uuid_broadcast {on_hold} local_stream://moh aleg"))
        .await;
    esl.until(is("PLAYBACK_START", &on_hold)).await;
    let ringing = "11111111-2222-4333-8444-555555555555";
    esl.bgapi(&format!(
        "originate {{origination_uuid={ringing}}}user/1001 &park()"
    ))
    .await;
    let (talking, _) = esl.answered(&sim, dialling("+15550003")).await;
    let agent = "66666666-7777-4888-9999-aaaaaaaaaaaa";
    esl.bgapi(&format!(
        "originate {{origination_uuid={agent}}}user/1002 &park()"
    ))
    .await;
    esl.until(is("CHANNEL_PARK", agent)).await;
    esl.api(&format!("uuid_bridge {talking} {agent}")).await;
    esl.until(is("CHANNEL_BRIDGE", &talking)).await;

    let json = esl.api("show channels as json").await;
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["row_count"], 5);
    let rows = value["rows"].as_array().unwrap();
    let row = |uuid: &str| rows.iter().find(|r| r["uuid"] == uuid).unwrap();
    let columns = [
        "uuid",
        "direction",
        "created_epoch",
        "cid_name",
        "cid_num",
        "dest",
        "application",
        "callstate",
    ];
    for r in rows {
        for column in columns {
            assert!(r.get(column).is_some(), "{column} missing in {r}");
        }
        assert!(r["created_epoch"].as_str().unwrap().parse::<i64>().unwrap() > 0);
    }
    // (direction, cid_num, dest, application, callstate): the core db's view, where
    // `application` is the last CHANNEL_EXECUTE.
    let view = |uuid: &str| {
        let r = row(uuid);
        ["direction", "cid_num", "dest", "application", "callstate"]
            .map(|c| r[c].as_str().unwrap().to_owned())
    };
    assert_eq!(
        view(&waiting),
        ["inbound", "+15550001", "7000", "park", "RINGING"]
    );
    assert_eq!(
        view(&on_hold),
        ["inbound", "+15550002", "7000", "playback", "ACTIVE"]
    );
    assert_eq!(
        view(ringing),
        ["outbound", "0000000000", "1001", "", "RINGING"]
    );
    assert_eq!(
        view(&talking),
        ["inbound", "+15550003", "7000", "uuid_bridge", "ACTIVE"]
    );
    assert_eq!(row(&on_hold)["application_data"], "local_stream://moh");
    assert_eq!(row(&waiting)["cid_name"], "Caller 1");
    // With the rows an adapter asks each leg what it is.
    for (uuid, queue) in [
        (waiting.as_str(), "support"),
        (on_hold.as_str(), "support"),
        (talking.as_str(), "support"),
        (ringing, "_undef_"),
        (agent, "_undef_"),
    ] {
        assert_eq!(
            esl.api(&format!("uuid_getvar {uuid} switchdesk_queue"))
                .await,
            queue
        );
    }
    // The snapshot agrees on who is parked.
    let parked: Vec<String> = sim
        .channels()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.parked)
        .map(|c| c.uuid)
        .collect();
    assert_eq!(parked, [waiting.clone(), on_hold.clone()]);
    sim.shutdown();
}

/// ≥ 300 new calls a second through the whole flow (arrive, park, hold music, uuid_answer,
/// agent originate, uuid_bridge, hang up) over one ESL connection, driven the way an adapter
/// would: commands pipelined from the events. A throughput check, so run it in release mode:
/// `cargo test --release --test sim -- --ignored three_hundred_calls`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "throughput check: run in release mode"]
async fn three_hundred_calls_a_second_go_through_the_whole_flow() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use switchdesk::config::Secret;
    use switchdesk::esl::{Connection, ConnectionEvent, ConnectionOptions};
    use tokio::sync::broadcast::error::RecvError;

    const RATE: u64 = 300;
    const SECONDS: u64 = 10;
    let total = RATE * SECONDS;
    let sim = simulator(quick()).await;
    sim.add_endpoint(
        "user/1001",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(20),
            talk: None,
        },
    )
    .await
    .unwrap();
    let options = ConnectionOptions {
        node: "sim".into(),
        address: sim.addr().to_string(),
        password: Secret::new("ClueCon"),
        format: EventFormat::Json,
        events: [
            "CHANNEL_CREATE",
            "CHANNEL_ANSWER",
            "CHANNEL_PARK",
            "CHANNEL_BRIDGE",
            "CHANNEL_HANGUP",
            "CHANNEL_HANGUP_COMPLETE",
            "CHANNEL_EXECUTE_COMPLETE",
            "PLAYBACK_START",
            "PLAYBACK_STOP",
            "DTMF",
            "BACKGROUND_JOB",
        ]
        .map(str::to_owned)
        .to_vec(),
        heartbeat: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_frame: 8 * 1024 * 1024,
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        event_buffer: 1 << 16,
        reconnect: false,
    };
    let (connection, mut events) = Connection::spawn_with_subscriber(options);
    match tokio::time::timeout(WAIT, events.recv()).await {
        Ok(Ok(ConnectionEvent::Connected { generation: 1 })) => {}
        other => panic!("no connection: {other:?}"),
    }

    let started = tokio::time::Instant::now();
    let placer = {
        let sim = sim.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut placed = 0;
            while placed < total {
                tick.tick().await;
                for _ in 0..RATE / 100 {
                    placed += 1;
                    let spec = CallSpec {
                        from_number: format!("+1555{placed:07}"),
                        from_name: "Load".into(),
                        destination: "7000".into(),
                        talk: Some(Duration::from_millis(100)),
                        ..Default::default()
                    };
                    sim.place_call(spec).await.unwrap();
                }
            }
        })
    };
    let failures = Arc::new(AtomicU64::new(0));
    let mut done = 0;
    let mut agents = 0u64;
    let deadline = started + Duration::from_secs(SECONDS + 20);
    while done < total {
        let batch = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(ConnectionEvent::Events(batch))) => batch,
            Ok(Ok(other)) => panic!("the connection changed: {other:?}"),
            Ok(Err(RecvError::Lagged(n))) => panic!("the client fell {n} events behind"),
            Ok(Err(RecvError::Closed)) => panic!("the connection closed"),
            Err(_) => panic!("{done} of {total} calls done in time"),
        };
        for event in &batch {
            let uuid = event
                .unique_id()
                .map(|u| u.into_owned())
                .unwrap_or_default();
            let inbound = event.get("Call-Direction").as_deref() == Some("inbound");
            if event.is("CHANNEL_PARK") && inbound {
                agents += 1;
                let agent = format!("a0000000-0000-4000-8000-{agents:012}");
                let (connection, failures) = (connection.clone(), failures.clone());
                tokio::spawn(async move {
                    let commands = [
                        format!("uuid_answer {uuid}"),
                        format!("uuid_broadcast {uuid} local_stream://moh aleg"),
                    ];
                    for command in commands {
                        if connection.api_ok(&command).await.is_err() {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    let originate = format!(
                        "originate {{origination_uuid={agent},switchdesk_caller_uuid={uuid}}}user/1001 &park()"
                    );
                    if connection.bgapi(&originate).await.is_err() {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                });
            } else if event.is("CHANNEL_PARK") {
                let caller = event
                    .variable("switchdesk_caller_uuid")
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                let (connection, failures) = (connection.clone(), failures.clone());
                tokio::spawn(async move {
                    let bridge = format!("uuid_bridge {caller} {uuid}");
                    if connection.api_ok(&bridge).await.is_err() {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                });
            } else if event.is("CHANNEL_HANGUP_COMPLETE") && inbound {
                assert!(
                    event.variable("bridge_uuid").is_some(),
                    "a caller ended without being bridged"
                );
                done += 1;
            }
        }
    }
    let elapsed = started.elapsed();
    placer.await.unwrap();
    let rate = total as f64 / elapsed.as_secs_f64();
    println!("{total} calls in {elapsed:?}: {rate:.0} calls/s");
    assert_eq!(failures.load(Ordering::Relaxed), 0);
    assert!(connection.is_connected());
    assert!(rate >= RATE as f64 * 0.95, "{rate:.0} calls/s");
    connection.shutdown();
    sim.shutdown();
}

#[tokio::test]
async fn thousands_of_queued_commands_run_without_exhausting_the_stack() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, None).await;
    let caller = sim.place_call(dialling("+15550001")).await.unwrap();
    assert_eq!(
        esl.command(&execute(&caller, "playback", "local_stream://moh", ""))
            .await,
        "+OK"
    );
    for i in 0..20_000 {
        let block = execute(&caller, "set", &format!("n={i}"), "");
        esl.send(&block).await;
    }
    for _ in 0..20_000 {
        assert_eq!(esl.reply_frame().await.reply_text(), Some("+OK"));
    }
    assert_eq!(esl.api(&format!("uuid_break {caller}")).await, "+OK\n");
    assert_eq!(esl.api(&format!("uuid_getvar {caller} n")).await, "19999");
    assert!(sim.channels().await.unwrap()[0].parked);
    sim.shutdown();
}

// ----- the caller's own `bridge` application (FreeSWITCH 1.10.12, probed) -----------------

const BUSY_AGENT: &str = "sofia/external/busy@127.0.0.1:5090";
const SILENT_AGENT: &str = "sofia/external/silent@127.0.0.1:5090";

/// An answered caller set up as switchdesk sets a caller up for an offer (`continue_on_fail`
/// as given, `hangup_after_bridge`, ringback), who then runs `bridge` to `endpoint` with the
/// agent leg's UUID and `[sd_leg=agent]` per leg.
async fn bridging(
    esl: &mut Esl,
    sim: &Simulator,
    endpoint: &str,
    continue_on_fail: bool,
    timeout: &str,
) -> String {
    let (caller, _) = esl.answered(sim, dialling("+15550001")).await;
    assert_eq!(
        esl.api(&format!(
            "uuid_setvar_multi {caller} continue_on_fail={continue_on_fail};hangup_after_bridge=true;ringback=tone_stream://%(1000,4000,440)"
        ))
        .await,
        "+OK\n"
    );
    ring_from(esl, &caller, endpoint, timeout).await;
    caller
}

async fn ring_from(esl: &mut Esl, caller: &str, endpoint: &str, timeout: &str) {
    let dial = format!(
        "{{ignore_early_media=true,{timeout}}}[origination_uuid={AGENT_UUID},sd_leg=agent]{endpoint}"
    );
    assert_eq!(
        esl.command(&execute(caller, "bridge", &dial, "")).await,
        "+OK"
    );
}

fn bridge_done(uuid: &str) -> impl Fn(&Event) -> bool {
    let uuid = uuid.to_owned();
    move |e| {
        uid(e) == uuid
            && e.is("CHANNEL_EXECUTE_COMPLETE")
            && e.get("Application").as_deref() == Some("bridge")
    }
}

#[tokio::test]
async fn a_callers_bridge_joins_the_agent_on_answer_and_hangs_the_caller_up_after_the_talk() {
    let sim = simulator(quick()).await;
    sim.add_endpoint(
        AGENT,
        AgentBehaviour::Answer {
            ring: Duration::from_millis(300),
            talk: Some(Duration::from_millis(200)),
        },
    )
    .await
    .unwrap();
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = bridging(&mut esl, &sim, AGENT, true, "leg_timeout=10").await;
    let created = esl.until(is("CHANNEL_CREATE", AGENT_UUID)).await;
    let leg = &esl.events[created];
    assert_eq!(leg.variable("sd_leg").unwrap(), "agent");
    assert_eq!(leg.variable("originate_early_media").unwrap(), "false");
    // uuid_break (even `all`) does not stop a ringing bridge.
    assert_eq!(esl.api(&format!("uuid_break {caller} all")).await, "+OK\n");
    let answer = esl.until(is("CHANNEL_ANSWER", AGENT_UUID)).await;
    let bridge = esl.after(answer, is("CHANNEL_BRIDGE", &caller)).await;
    assert_eq!(
        esl.events[bridge].get("Bridge-B-Unique-ID").unwrap(),
        AGENT_UUID
    );
    assert!(esl.events[..bridge]
        .iter()
        .all(|e| !bridge_done(&caller)(e)));
    assert!(find(&esl.events, AGENT_UUID, "CHANNEL_PARK", None).is_empty());
    // The agent hangs up: the caller is unbridged, its bridge ends SUCCESS, and it hangs up.
    let agent_gone = esl.after(bridge, is("CHANNEL_HANGUP", AGENT_UUID)).await;
    let unbridge = esl.after(agent_gone, is("CHANNEL_UNBRIDGE", &caller)).await;
    let hangup = esl.after(unbridge, is("CHANNEL_HANGUP", &caller)).await;
    assert_eq!(
        esl.events[hangup].get("Hangup-Cause").unwrap(),
        "NORMAL_CLEARING"
    );
    let done = esl.until(bridge_done(&caller)).await;
    assert_eq!(
        esl.events[done].variable("originate_disposition").unwrap(),
        "SUCCESS"
    );
    assert_eq!(esl.events[done].variable("DIALSTATUS").unwrap(), "SUCCESS");
    esl.gone(&caller).await;
    sim.shutdown();
}

#[tokio::test]
async fn a_failed_bridge_leaves_the_caller_parked_with_continue_on_fail() {
    let sim = simulator(quick()).await;
    sim.add_endpoint(SILENT_AGENT, AgentBehaviour::NoAnswer)
        .await
        .unwrap();
    sim.add_endpoint(BUSY_AGENT, AgentBehaviour::Busy)
        .await
        .unwrap();
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;

    // No answer within leg_timeout: the leg is cancelled ALLOTTED_TIMEOUT.
    let caller = bridging(&mut esl, &sim, SILENT_AGENT, true, "leg_timeout=1").await;
    let leg_gone = esl.until(is("CHANNEL_HANGUP", AGENT_UUID)).await;
    assert_eq!(
        esl.events[leg_gone].get("Hangup-Cause").unwrap(),
        "ALLOTTED_TIMEOUT"
    );
    let done = esl.after(leg_gone, bridge_done(&caller)).await;
    let disposition = |esl: &Esl, i: usize| {
        esl.events[i]
            .variable("originate_disposition")
            .unwrap()
            .into_owned()
    };
    assert_eq!(disposition(&esl, done), "ALLOTTED_TIMEOUT");
    esl.gone(AGENT_UUID).await;
    let parked = |sim: &Simulator, caller: String| {
        let sim = sim.clone();
        async move {
            let channels = sim.channels().await.unwrap();
            let c = channels.iter().find(|c| c.uuid == caller).unwrap();
            c.parked && c.answered
        }
    };
    assert!(parked(&sim, caller.clone()).await);

    // originate_timeout: NO_ANSWER.
    let from = esl.events.len();
    ring_from(&mut esl, &caller, SILENT_AGENT, "originate_timeout=1").await;
    let done = esl.search(from, bridge_done(&caller)).await;
    assert_eq!(disposition(&esl, done), "NO_ANSWER");
    esl.gone(AGENT_UUID).await;

    // 486: USER_BUSY.
    let from = esl.events.len();
    ring_from(&mut esl, &caller, BUSY_AGENT, "leg_timeout=10").await;
    let done = esl.search(from, bridge_done(&caller)).await;
    assert_eq!(disposition(&esl, done), "USER_BUSY");
    assert_eq!(esl.events[done].variable("DIALSTATUS").unwrap(), "BUSY");
    esl.gone(AGENT_UUID).await;

    // Withdrawn: uuid_kill of the ringing leg.
    let from = esl.events.len();
    ring_from(&mut esl, &caller, SILENT_AGENT, "leg_timeout=10").await;
    esl.search(from, is("CHANNEL_PROGRESS", AGENT_UUID)).await;
    assert_eq!(
        esl.api(&format!("uuid_kill {AGENT_UUID} ORIGINATOR_CANCEL"))
            .await,
        "+OK\n"
    );
    let done = esl.search(from, bridge_done(&caller)).await;
    assert_eq!(disposition(&esl, done), "ORIGINATOR_CANCEL");
    esl.gone(AGENT_UUID).await;

    // Nobody registered: no leg at all, only the caller's application result.
    let from = esl.events.len();
    ring_from(&mut esl, &caller, "user/1009", "leg_timeout=10").await;
    let done = esl.search(from, bridge_done(&caller)).await;
    assert_eq!(disposition(&esl, done), "USER_NOT_REGISTERED");
    assert!(esl.events[from..].iter().all(|e| uid(e) != AGENT_UUID));
    assert!(parked(&sim, caller.clone()).await);
    sim.shutdown();
}

#[tokio::test]
async fn without_continue_on_fail_a_failed_bridge_hangs_the_caller_up_with_the_cause() {
    let sim = simulator(quick()).await;
    sim.add_endpoint(BUSY_AGENT, AgentBehaviour::Busy)
        .await
        .unwrap();
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = bridging(&mut esl, &sim, BUSY_AGENT, false, "leg_timeout=10").await;
    let hangup = esl.until(is("CHANNEL_HANGUP", &caller)).await;
    assert_eq!(esl.events[hangup].get("Hangup-Cause").unwrap(), "USER_BUSY");
    let done = esl.until(bridge_done(&caller)).await;
    assert!(done > hangup);
    sim.shutdown();
}

#[tokio::test]
async fn a_caller_hanging_up_during_the_ring_cancels_the_agent_leg_at_once() {
    let sim = simulator(quick()).await;
    sim.add_endpoint(SILENT_AGENT, AgentBehaviour::NoAnswer)
        .await
        .unwrap();
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = bridging(&mut esl, &sim, SILENT_AGENT, true, "leg_timeout=30").await;
    esl.until(is("CHANNEL_PROGRESS", AGENT_UUID)).await;
    assert!(sim.hangup(&caller, "NORMAL_CLEARING").await.unwrap());
    let caller_gone = esl.until(is("CHANNEL_HANGUP", &caller)).await;
    let leg_gone = esl
        .after(caller_gone, is("CHANNEL_HANGUP", AGENT_UUID))
        .await;
    assert_eq!(
        esl.events[leg_gone].get("Hangup-Cause").unwrap(),
        "ORIGINATOR_CANCEL"
    );
    let done = esl.after(leg_gone, bridge_done(&caller)).await;
    assert_eq!(
        esl.events[done].variable("originate_disposition").unwrap(),
        "ORIGINATOR_CANCEL"
    );
    sim.shutdown();
}

// ----- play_and_get_digits (a survey after the call) ----------------------------------------

/// `play_and_get_digits` on a parked, answered caller: `1 1 <tries> 1000 # prompt invalid
/// switchdesk_rating ^[1-5]`.
async fn read_digit(esl: &mut Esl, caller: &str, tries: u32) {
    esl.api(&format!("uuid_answer {caller}")).await;
    let reply = esl
        .command(&format!(
            "sendmsg {caller}\ncall-command: execute\nexecute-app-name: play_and_get_digits\n\
             execute-app-arg: 1 1 {tries} 1000 # switchdesk/survey.wav \
             ivr/ivr-that_was_an_invalid_entry.wav switchdesk_rating ^[1-5]\nevent-lock: true"
        ))
        .await;
    assert_eq!(reply, "+OK");
}

fn is_app(name: &'static str, app: &'static str, uuid: &str) -> impl Fn(&Event) -> bool {
    let uuid = uuid.to_owned();
    move |e| kind(e) == name && uid(e) == uuid && e.get("Application").as_deref() == Some(app)
}

/// The files each PLAYBACK_START between `from` and `to` names.
fn played(esl: &Esl, uuid: &str, from: usize, to: usize) -> Vec<String> {
    esl.events[from..to]
        .iter()
        .filter(|e| kind(e) == "PLAYBACK_START" && uid(e) == uuid)
        .map(|e| e.get("Playback-File-Path").unwrap_or_default().into_owned())
        .collect()
}

#[tokio::test]
async fn a_digit_during_the_prompt_answers_play_and_get_digits() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = esl.parked(&sim, dialling("+15550001")).await;
    sim.answer_reads(&caller, vec![(Duration::from_millis(100), '4')])
        .await
        .unwrap();
    read_digit(&mut esl, &caller, 2).await;
    let start = esl
        .until(is_app("CHANNEL_EXECUTE", "play_and_get_digits", &caller))
        .await;
    let stop = esl.after(start, is("PLAYBACK_STOP", &caller)).await;
    assert_eq!(esl.events[stop].get("Playback-Status").unwrap(), "break");
    let done = esl
        .after(
            start,
            is_app("CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits", &caller),
        )
        .await;
    let e = &esl.events[done];
    assert_eq!(e.get("Application-Response").unwrap(), "_none_");
    assert_eq!(e.variable("switchdesk_rating").unwrap(), "4");
    assert_eq!(e.variable("read_result").unwrap(), "success");
    assert_eq!(
        played(&esl, &caller, start, done),
        ["switchdesk/survey.wav"]
    );
    // Back in park: the caller is still there, and the next command runs.
    assert!(sim
        .channels()
        .await
        .unwrap()
        .iter()
        .any(|c| c.uuid == caller));
    sim.shutdown();
}

#[tokio::test]
async fn a_digit_after_the_prompt_is_collected_and_a_wrong_one_tried_again() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = esl.parked(&sim, dialling("+15550001")).await;
    read_digit(&mut esl, &caller, 3).await;
    let start = esl
        .until(is_app("CHANNEL_EXECUTE", "play_and_get_digits", &caller))
        .await;
    // The prompt runs out; then 9, which the expression refuses: the invalid file plays.
    let stop = esl.after(start, is("PLAYBACK_STOP", &caller)).await;
    assert_eq!(esl.events[stop].get("Playback-Status").unwrap(), "done");
    assert!(sim.press(&caller, '9').await.unwrap());
    let invalid = esl.after(stop, is("PLAYBACK_START", &caller)).await;
    assert_eq!(
        esl.events[invalid].get("Playback-File-Path").unwrap(),
        "ivr/ivr-that_was_an_invalid_entry.wav"
    );
    // The second try's prompt, then 5 while collecting.
    let second = esl.after(invalid + 1, is("PLAYBACK_START", &caller)).await;
    let second_stop = esl.after(second, is("PLAYBACK_STOP", &caller)).await;
    assert!(sim.press(&caller, '5').await.unwrap());
    let done = esl
        .after(
            second_stop,
            is_app("CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits", &caller),
        )
        .await;
    let e = &esl.events[done];
    assert_eq!(e.variable("switchdesk_rating").unwrap(), "5");
    assert_eq!(e.variable("switchdesk_rating_invalid").unwrap(), "9");
    assert_eq!(
        played(&esl, &caller, start, done),
        [
            "switchdesk/survey.wav",
            "ivr/ivr-that_was_an_invalid_entry.wav",
            "switchdesk/survey.wav"
        ]
    );
    sim.shutdown();
}

#[tokio::test]
async fn no_digit_spends_every_try_and_sets_nothing() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = esl.parked(&sim, dialling("+15550001")).await;
    read_digit(&mut esl, &caller, 2).await;
    let start = esl
        .until(is_app("CHANNEL_EXECUTE", "play_and_get_digits", &caller))
        .await;
    let done = esl
        .after(
            start,
            is_app("CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits", &caller),
        )
        .await;
    let e = &esl.events[done];
    assert_eq!(e.variable("switchdesk_rating"), None);
    assert_eq!(e.variable("read_result").unwrap(), "timeout");
    assert_eq!(
        played(&esl, &caller, start, done),
        [
            "switchdesk/survey.wav",
            "ivr/ivr-that_was_an_invalid_entry.wav",
            "switchdesk/survey.wav",
            "ivr/ivr-that_was_an_invalid_entry.wav"
        ]
    );
    sim.shutdown();
}

#[tokio::test]
async fn a_hangup_during_play_and_get_digits_ends_it_without_a_digit() {
    let sim = simulator(quick()).await;
    let mut esl = Esl::open(&sim, Some("plain ALL")).await;
    let caller = esl.parked(&sim, dialling("+15550001")).await;
    read_digit(&mut esl, &caller, 2).await;
    let start = esl
        .until(is_app("CHANNEL_EXECUTE", "play_and_get_digits", &caller))
        .await;
    esl.after(start, is("PLAYBACK_START", &caller)).await;
    assert!(sim.hangup(&caller, "NORMAL_CLEARING").await.unwrap());
    let done = esl
        .after(
            start,
            is_app("CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits", &caller),
        )
        .await;
    assert_eq!(esl.events[done].variable("switchdesk_rating"), None);
    // A digit now reaches no collection.
    assert!(!sim.press(&caller, '4').await.unwrap());
    sim.shutdown();
}
