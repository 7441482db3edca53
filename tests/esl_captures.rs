//! Replays every ESL capture recorded from a real FreeSWITCH 1.10.12 (`tests/fixtures/freeswitch`) through
//! the parser and asserts what the switch really sent.

mod captures;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use switchdesk::esl::event::EventFormat;
use switchdesk::esl::{wire, Event, Frame, FrameKind, Parser};

fn fixtures() -> PathBuf {
    captures::freeswitch()
}

fn captures() -> Vec<PathBuf> {
    let dir = fixtures().join("esl");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures at {} are needed: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rx"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 24,
        "expected every capture, found {}",
        files.len()
    );
    files
}

/// (byte offset, frame) for each frame of a capture, parsed in one go.
fn frames_of(path: &Path) -> Vec<(usize, Frame)> {
    let bytes = std::fs::read(path).unwrap();
    let mut parser = Parser::default();
    parser.push(&bytes);
    let mut out = Vec::new();
    let mut offset = 0;
    while let Some(frame) = parser.next_frame().unwrap() {
        let len = frame.wire_len();
        out.push((offset, frame));
        offset += len;
    }
    assert_eq!(parser.buffered(), 0, "{}: trailing bytes", path.display());
    out
}

fn capture(name: &str) -> Vec<(usize, Frame)> {
    frames_of(&fixtures().join("esl").join(name))
}

fn events_of(frames: &[(usize, Frame)]) -> Vec<Event> {
    frames
        .iter()
        .filter(|(_, f)| f.kind().is_event())
        .map(|(_, f)| Event::from_frame(f).unwrap())
        .collect()
}

/// Every message of every capture lines up with the summary the recorder derived from it:
/// same byte offset, same content type, same event name and sequence number.
#[test]
fn every_capture_frames_exactly_as_its_summary_says() {
    let mut by_type: HashMap<String, usize> = HashMap::new();
    for rx in captures() {
        let summary = std::fs::read_to_string(rx.with_extension("summary.txt")).unwrap();
        let expected: Vec<&str> = summary.lines().filter(|l| l.starts_with('@')).collect();
        let frames = frames_of(&rx);
        assert_eq!(frames.len(), expected.len(), "{}", rx.display());
        for ((offset, frame), line) in frames.iter().zip(&expected) {
            let mut words = line.split(' ');
            let at: usize = words.next().unwrap()[1..].parse().unwrap();
            let content_type = words.next().unwrap();
            assert_eq!(*offset, at, "{}: {line}", rx.display());
            assert_eq!(
                frame.content_type(),
                Some(content_type),
                "{}: {line}",
                rx.display()
            );
            *by_type.entry(content_type.to_owned()).or_default() += 1;
            if frame.kind().is_event() {
                let event = Event::from_frame(frame)
                    .unwrap_or_else(|e| panic!("{}: {line}: {e}", rx.display()));
                let name = words.next().unwrap();
                let seq = words.next().unwrap().strip_prefix("seq=").unwrap();
                // The summary shows the first of a repeated header (COMMAND before PRIVATE_COMMAND).
                // `a|b` in the summary: a header sent twice (COMMAND, then PRIVATE_COMMAND).
                let joined = |header| event.get_all(header).collect::<Vec<_>>().join("|");
                assert_eq!(joined("Event-Name"), name, "{}: {line}", rx.display());
                assert_eq!(joined("Event-Sequence"), seq, "{line}");
                if let Some(uuid) = line.split("Unique-ID='").nth(1).map(|r| &r[..36]) {
                    assert_eq!(event.get_all("Unique-ID").next().unwrap(), uuid, "{line}");
                }
            }
        }
    }
    // Totals over the whole fixture set, counted by the recorder.
    assert_eq!(by_type["text/event-plain"], 774);
    assert_eq!(by_type["text/event-json"], 199);
    assert_eq!(by_type["text/event-xml"], 81);
    assert_eq!(by_type["command/reply"], 100);
    assert_eq!(by_type["api/response"], 40);
    assert_eq!(by_type["auth/request"], 24);
    assert_eq!(by_type["text/disconnect-notice"], 25);
}

#[test]
fn the_call_capture_ties_park_to_create_and_the_job_to_its_result() {
    let frames = capture("02_call_plain_ALL.rx");
    let events = events_of(&frames);
    let caller = "02bbee13-3a02-4f46-982e-d4f4cf6e771a";
    let agent = "9a8b25a2-ee22-44b7-9a88-33801a5d0b8d";

    let create = events.iter().find(|e| e.is("CHANNEL_CREATE")).unwrap();
    let park = events.iter().find(|e| e.is("CHANNEL_PARK")).unwrap();
    assert_eq!(create.unique_id().unwrap(), caller);
    assert_eq!(park.unique_id(), create.unique_id());
    assert_eq!(
        park.get("Channel-Name").unwrap(),
        "sofia/external/+15550001@127.0.0.1:5070"
    );
    assert_eq!(park.get("Caller-Caller-ID-Name").unwrap(), "Caller 1");
    assert_eq!(park.get("Caller-Caller-ID-Number").unwrap(), "+15550001");
    assert_eq!(
        park.get("Event-Date-GMT").unwrap(),
        "Sun, 22 Nov 2026 02:24:08 GMT"
    );
    assert_eq!(park.variable("DP_MATCH").unwrap(), "ARRAY::7000|:7000");
    assert_eq!(park.variable("cc_entry").unwrap(), "park");

    // The bgapi reply names the job; the BACKGROUND_JOB event completes it.
    let job_reply = frames
        .iter()
        .find(|(_, f)| {
            f.reply_text()
                .is_some_and(|t| t.starts_with("+OK Job-UUID"))
        })
        .map(|(_, f)| f)
        .unwrap();
    let job_uuid = job_reply.header("Job-UUID").unwrap();
    assert_eq!(
        job_reply.reply_text().unwrap(),
        format!("+OK Job-UUID: {job_uuid}")
    );
    let job = events.iter().find(|e| e.is("BACKGROUND_JOB")).unwrap();
    assert_eq!(job.job_uuid().unwrap(), job_uuid);
    assert_eq!(job.get("Job-Command").unwrap(), "originate");
    assert_eq!(job.body().unwrap(), format!("+OK {agent}\n"));

    // One bridge, on the caller leg only, naming the agent as the other leg.
    let bridges: Vec<_> = events.iter().filter(|e| e.is("CHANNEL_BRIDGE")).collect();
    assert_eq!(bridges.len(), 1);
    assert_eq!(bridges[0].unique_id().unwrap(), caller);
    assert_eq!(bridges[0].get("Other-Leg-Unique-ID").unwrap(), agent);

    // uuid_broadcast answered as an api/response body.
    let broadcast = frames
        .iter()
        .find(|(_, f)| f.kind() == FrameKind::ApiResponse)
        .unwrap();
    assert_eq!(&broadcast.1.body()[..], b"+OK Message sent\n");

    // COMMAND and PRIVATE_COMMAND share one event: the last set wins, as in json.
    let command = events
        .iter()
        .find(|e| e.get_all("Event-Name").count() == 2)
        .unwrap();
    assert_eq!(
        command.get_all("Event-Name").collect::<Vec<_>>(),
        ["COMMAND", "PRIVATE_COMMAND"]
    );
    assert_eq!(command.name().unwrap(), "PRIVATE_COMMAND");
    assert_eq!(
        command.get("execute-app-arg").unwrap(),
        "tone_stream://%(200,0,500);loops=2"
    );

    let hangups: Vec<_> = events
        .iter()
        .filter(|e| e.is("CHANNEL_HANGUP_COMPLETE"))
        .collect();
    assert_eq!(hangups.len(), 2);
    assert!(hangups
        .iter()
        .all(|e| e.get("Hangup-Cause").unwrap() == "NORMAL_CLEARING"));

    let last = &frames.last().unwrap().1;
    assert_eq!(last.kind(), FrameKind::DisconnectNotice);
    assert_eq!(&last.body()[..], wire::DISCONNECT_BODY.as_bytes());
}

/// The same call seen in plain, json and xml decodes to the same headers, event by event.
#[test]
fn plain_json_and_xml_observers_agree_header_for_header() {
    let plain = events_of(&capture("02_call_plain_ALL.rx"));
    let by_seq = |events: Vec<Event>| -> HashMap<u64, Event> {
        events
            .into_iter()
            .filter_map(|e| {
                let seq = e.get_all("Event-Sequence").next()?.parse().ok()?;
                Some((seq, e))
            })
            .collect()
    };
    let json = by_seq(events_of(&capture("02_call_json_ALL_observer.rx")));
    let xml = by_seq(events_of(&capture("02_call_xml_ALL_observer.rx")));
    let mut compared = 0;
    for event in &plain {
        let seq: u64 = event
            .get_all("Event-Sequence")
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = event
            .headers()
            .map(|(n, v)| (n.to_owned(), v.into_owned()))
            .collect();
        for other in [json.get(&seq), xml.get(&seq)].into_iter().flatten() {
            let theirs: Vec<(String, String)> = other
                .headers()
                .map(|(n, v)| (n.to_owned(), v.into_owned()))
                .collect();
            for (i, (ours, other_pair)) in headers.iter().zip(&theirs).enumerate() {
                assert_eq!(
                    ours,
                    other_pair,
                    "seq {seq} header {i} in {:?}",
                    other.format()
                );
            }
            assert_eq!(
                headers.len(),
                theirs.len(),
                "seq {seq} in {:?}",
                other.format()
            );
            assert_eq!(event.body(), other.body(), "seq {seq}");
            compared += 1;
        }
    }
    assert!(compared > 120, "only {compared} events were compared");
}

/// The simulator's encoder reproduces every captured event byte for byte.
#[test]
fn wire_encoder_reproduces_captured_events_exactly() {
    let mut checked = 0;
    for rx in captures() {
        for (_, frame) in frames_of(&rx) {
            let Ok(event) = Event::from_frame(&frame) else {
                continue;
            };
            let body = event.body();
            // The encoder writes the body's Content-Length itself.
            let headers: Vec<(String, String)> = event
                .headers()
                .filter(|(n, _)| body.is_none() || *n != "Content-Length")
                .map(|(n, v)| (n.to_owned(), v.into_owned()))
                .collect();
            let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
            let encoded = wire::event(event.format(), pairs, body.as_deref());
            let mut original = frame.head().to_vec();
            original.extend_from_slice(b"\n\n");
            original.extend_from_slice(frame.body());
            assert_eq!(
                String::from_utf8_lossy(&encoded),
                String::from_utf8_lossy(&original),
                "{} seq {:?}",
                rx.display(),
                event.sequence()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 774 + 199 + 81);
}

#[test]
fn command_replies_carry_the_real_texts() {
    let frames = capture("04_commands.rx");
    let api: Vec<String> = frames
        .iter()
        .filter(|(_, f)| f.kind() == FrameKind::ApiResponse)
        .map(|(_, f)| f.body_text().into_owned())
        .collect();
    assert!(api[0].contains("FreeSWITCH (Version 1.10.12-release  64bit) is ready"));
    assert_eq!(api[1], "{\"row_count\": 0}\n");
    assert_eq!(api[2], "\n0 total.\n");
    assert!(api[3].starts_with(
        "{\"row_count\":1,\"rows\":[{\"uuid\":\"6b869605-7f74-4114-9b14-f4e6c101eb6d\""
    ));
    assert!(!api[3].ends_with('\n'));
    assert_eq!(api[6], "true");
    assert_eq!(api[7], "+15550001");
    // uuid_dump in both formats parses as an event of the caller.
    let dump = Event::parse(EventFormat::Plain, Bytes::from(api[8].clone())).unwrap();
    let dump_json = Event::parse(EventFormat::Json, Bytes::from(api[9].clone())).unwrap();
    assert_eq!(dump.name().unwrap(), "CHANNEL_DATA");
    assert_eq!(
        dump.unique_id().unwrap(),
        "6b869605-7f74-4114-9b14-f4e6c101eb6d"
    );
    assert_eq!(dump.get("Channel-Name"), dump_json.get("Channel-Name"));
    assert_eq!(
        &api[10..16],
        [
            "-ERR Invalid uuid\n",
            "-ERR Invalid uuid\n",
            "-ERR invalid uuid\n",
            "-ERR No such channel!\n",
            "-ERR no_such_command Command not found!\n",
            "sales"
        ]
    );

    let replies: Vec<&str> = frames.iter().filter_map(|(_, f)| f.reply_text()).collect();
    assert!(replies.contains(&"-ERR invalid session id [78c76637-5501-4cfc-a5c4-bb91df34549e]"));
    assert!(
        replies.contains(&"+OK filter added. [Unique-ID]=[6b869605-7f74-4114-9b14-f4e6c101eb6d]")
    );
    assert!(replies.contains(&"-ERR invalid syntax"));
    assert_eq!(
        replies
            .iter()
            .filter(|r| **r == "-ERR command not found")
            .count(),
        3
    );

    // The client-chosen Job-UUID is the one the switch uses.
    let events = events_of(&frames);
    let status_job = events
        .iter()
        .find(|e| e.get("Job-Command").as_deref() == Some("status"))
        .unwrap();
    assert_eq!(
        status_job.job_uuid().unwrap(),
        "6153d242-2bed-462a-a327-b5e41671ec84"
    );
    let failures: Vec<String> = events
        .iter()
        .filter(|e| e.is("BACKGROUND_JOB"))
        .filter_map(|e| e.body().map(|b| b.into_owned()))
        .collect();
    assert!(failures.contains(&"-ERR USER_NOT_REGISTERED\n".to_string()));
    assert!(failures.contains(&"-ERR NORMAL_TEMPORARY_FAILURE\n".to_string()));

    // myevents-bound connection: a disconnect notice naming the session.
    let notice = &frames.last().unwrap().1;
    assert_eq!(
        notice.header("Controlled-Session-UUID"),
        Some("6b869605-7f74-4114-9b14-f4e6c101eb6d")
    );
    assert_eq!(notice.header("Content-Disposition"), Some("disconnect"));
}

#[test]
fn originate_failures_fax_results_and_dtmf() {
    let events = events_of(&capture("04c_originate_failures.rx"));
    let jobs: Vec<String> = events
        .iter()
        .filter(|e| e.is("BACKGROUND_JOB"))
        .map(|e| e.body().unwrap().into_owned())
        .collect();
    assert_eq!(jobs, ["-ERR USER_BUSY\n", "-ERR NO_ANSWER\n"]);
    let busy = events
        .iter()
        .find(|e| e.is("CHANNEL_HANGUP_COMPLETE"))
        .unwrap();
    assert_eq!(busy.variable("sip_term_status").unwrap(), "486");

    let fax = events_of(&capture("07_fax_plain_ALL.rx"));
    let result = fax
        .iter()
        .find(|e| e.subclass().as_deref() == Some("spandsp::rxfaxresult"))
        .unwrap();
    assert_eq!(result.get("fax-success").unwrap(), "1");
    assert_eq!(result.get("fax-result-text").unwrap(), "OK");
    assert_eq!(result.get("fax-document-transferred-pages").unwrap(), "2");
    assert_eq!(
        result.unique_id().unwrap(),
        "4ab15041-a966-49fa-b660-fe31b8c2f6be"
    );

    let dtmf = events_of(&capture("05_dtmf_plain_ALL.rx"));
    let digits: Vec<(String, String)> = dtmf
        .iter()
        .filter(|e| e.is("DTMF"))
        .map(|e| {
            (
                e.get("DTMF-Digit").unwrap().into_owned(),
                e.get("DTMF-Source").unwrap().into_owned(),
            )
        })
        .collect();
    assert_eq!(
        &digits[..3],
        [
            ("1".into(), "RTP".into()),
            ("5".into(), "ENDPOINT".into()),
            ("9".into(), "APP".into())
        ]
    );
    let info = dtmf.iter().find(|e| e.is("RECV_INFO")).unwrap();
    assert!(info.body().unwrap().contains("Signal=5\r\n"));
}

#[test]
fn auth_captures() {
    let bad = capture("01_auth_bad.rx");
    assert_eq!(bad[1].1.reply_text(), Some("-ERR invalid"));
    assert_eq!(bad[2].1.kind(), FrameKind::DisconnectNotice);
    let before = capture("01_cmd_before_auth.rx");
    let replies: Vec<_> = before.iter().filter_map(|(_, f)| f.reply_text()).collect();
    assert_eq!(replies[..2], ["-ERR command not found", "+OK accepted"]);
    let linger = capture("04b_myevents_linger.rx");
    let notices: Vec<&Frame> = linger
        .iter()
        .map(|(_, f)| f)
        .filter(|f| f.kind() == FrameKind::DisconnectNotice)
        .collect();
    assert_eq!(notices[0].header("Content-Disposition"), Some("linger"));
    assert_eq!(notices[0].header("Linger-Time"), Some("3"));
    assert_eq!(
        notices[0].header("Channel-Name"),
        Some("sofia/external/+15550001@127.0.0.1:5070")
    );
    assert_eq!(notices[1].header("Content-Disposition"), Some("disconnect"));
    // The simulator's notices are the same bytes.
    let mut expect = notices[0].head().to_vec();
    expect.extend_from_slice(b"\n\n");
    assert_eq!(
        wire::disconnect_notice(wire::Disconnect::Linger {
            uuid: "c8b4b13c-6e9b-4b77-be86-79041f3681e6",
            channel_name: "sofia/external/+15550001@127.0.0.1:5070",
            seconds: 3
        }),
        expect
    );
}
