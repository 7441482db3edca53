//! The FreeSWITCH simulator against the captures of a real FreeSWITCH 1.10.12
//! (`shared/fixtures/freeswitch`): the same handshake bytes, the same reply texts, the same
//! event order and header structure for the same call situations, the same mod_xml_cdr POST.
//! Each scenario runs on its own simulator on 127.0.0.1:0, driven over raw TCP.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
    std::env::var_os("SWITCHDESK_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/freeswitch")
        })
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
    loop {
        if let ConnectionEvent::Event(e) = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            if e.is("CHANNEL_PARK") {
                assert_eq!(e.unique_id().unwrap(), caller);
                break;
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
