//! Parses every mod_xml_cdr capture recorded from a real FreeSWITCH 1.10.12 (`tests/fixtures/freeswitch`,
//! `cdr/http` POSTs and `cdr/logdir` files) and asserts what the switch really wrote; then feeds
//! the parser hostile and broken input.

mod captures;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use switchdesk::cdr::{cdr_from_form, parse_cdr, Cdr, CdrError, MAX_CDR_BYTES};

fn fixtures() -> PathBuf {
    captures::freeswitch()
}

fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let dir = fixtures().join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures at {} are needed: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {suffix} files in {}", dir.display());
    files
}

/// One captured POST: its Content-Type and the body after the blank line.
struct Post {
    content_type: String,
    body: Vec<u8>,
}

fn post(path: &Path) -> Post {
    let raw = std::fs::read(path).expect("readable capture");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a blank line after the headers");
    let head = String::from_utf8_lossy(&raw[..split]);
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .expect("a Content-Type header")
        .to_owned();
    Post {
        content_type,
        body: raw[split + 4..].to_vec(),
    }
}

/// The XML of a POST: form-decoded, except for the `encode=textxml` capture (raw XML body).
fn post_xml(path: &Path) -> Vec<u8> {
    let post = post(path);
    match post.content_type.as_str() {
        "application/x-www-form-urlencoded" => {
            cdr_from_form(&post.body).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        }
        "text/xml" => post.body,
        other => panic!("{}: unexpected Content-Type {other}", path.display()),
    }
}

fn http(label: &str) -> Cdr {
    let path = fixtures().join("cdr/http").join(format!("{label}.http"));
    parse_cdr(&post_xml(&path)).unwrap_or_else(|e| panic!("{label}: {e}"))
}

fn logdir(name: &str) -> Cdr {
    let path = fixtures().join("cdr/logdir").join(name);
    let xml = std::fs::read(&path).expect("readable logdir file");
    parse_cdr(&xml).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const CALLER_ALEG: &str = "02_call_caller_aleg__a_02bbee13-3a02-4f46-982e-d4f4cf6e771a.cdr.xml";
const AGENT_BLEG: &str = "02_call_agent_bleg__9a8b25a2-ee22-44b7-9a88-33801a5d0b8d.cdr.xml";
const ABANDON: &str = "03_abandon_caller__a_cfa37939-52aa-4338-b770-644c9a98c31c.cdr.xml";
const FAX_RX: &str = "07_fax_rx__a_4ab15041-a966-49fa-b660-fe31b8c2f6be.cdr.xml";

#[test]
fn every_http_post_parses_and_matches_its_uuid_query() {
    let posts = files("cdr/http", ".http");
    assert_eq!(posts.len(), 22);
    for path in posts {
        let cdr = parse_cdr(&post_xml(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let raw = std::fs::read(&path).expect("readable capture");
        let request_line = String::from_utf8_lossy(&raw[..raw.len().min(200)]).to_string();
        let query_uuid = request_line
            .split_once("?uuid=")
            .and_then(|(_, rest)| rest.split_once(' '))
            .map(|(uuid, _)| uuid.trim_start_matches("a_").to_owned())
            .expect("uuid query parameter");
        assert_eq!(cdr.uuid, query_uuid, "{}", path.display());
        assert_eq!(cdr.core_uuid, "d3fd6c4e-7371-428a-8f11-ac19881eb03e");
        assert_eq!(cdr.switchname, "vm");
        assert!(matches!(cdr.direction.as_str(), "inbound" | "outbound"));
        assert!(cdr.hangup_cause.is_some(), "{}", path.display());
        assert!(cdr.start_epoch.is_some() && cdr.end_epoch.is_some());
        assert!(!cdr.callflows.is_empty());
        assert_eq!(cdr.caller, cdr.callflows[0].caller_profile);
    }
}

#[test]
fn every_logdir_file_parses_and_matches_its_file_name() {
    for path in files("cdr/logdir", ".cdr.xml") {
        let xml = std::fs::read(&path).expect("readable logdir file");
        let cdr = parse_cdr(&xml).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().expect("file name").to_string_lossy();
        assert!(
            name.ends_with(&format!("{}.cdr.xml", cdr.uuid)),
            "{name} vs {}",
            cdr.uuid
        );
    }
}

#[test]
fn http_posts_and_logdir_files_are_the_same_cdrs() {
    let pairs = [
        ("post_001_02_call_caller_aleg", CALLER_ALEG),
        ("post_002_02_call_agent_bleg", AGENT_BLEG),
        ("post_003_03_abandon_caller", ABANDON),
        ("post_009_07_fax_rx_loopback_b", FAX_RX),
    ];
    for (label, file) in pairs {
        let from_post = post_xml(&fixtures().join("cdr/http").join(format!("{label}.http")));
        let on_disk = std::fs::read(fixtures().join("cdr/logdir").join(file)).expect("file");
        // Byte-identical once form-decoded, so they must parse to the same record.
        assert_eq!(from_post, on_disk, "{label}");
        let (a, b) = (http(label), logdir(file));
        assert_eq!(a.uuid, b.uuid);
        assert_eq!(a.variables, b.variables);
        assert_eq!(a, b);
    }
}

#[test]
fn caller_aleg_of_the_normal_call() {
    let cdr = logdir(CALLER_ALEG);
    assert_eq!(cdr.uuid, "02bbee13-3a02-4f46-982e-d4f4cf6e771a");
    assert_eq!(cdr.direction, "inbound");
    assert_eq!(cdr.caller.caller_id_number, "+15550001");
    assert_eq!(cdr.caller.caller_id_name, "Caller 1");
    assert_eq!(cdr.caller.destination_number, "7000");
    assert_eq!(cdr.caller.network_addr, "127.0.0.1");
    assert_eq!(cdr.caller.context, "public");
    assert_eq!(cdr.caller.ani, "+15550001");
    // The nested originatee profile (the agent) must not leak into the caller's fields.
    assert_eq!(cdr.caller.uuid, "02bbee13-3a02-4f46-982e-d4f4cf6e771a");
    assert_eq!(
        cdr.caller.chan_name,
        "sofia/external/+15550001@127.0.0.1:5070"
    );
    assert_eq!(cdr.hangup_cause.as_deref(), Some("NORMAL_CLEARING"));
    assert_eq!(cdr.hangup_cause_q850, Some(16));
    assert!(cdr.answered());
    assert_eq!(cdr.start_epoch, Some(1_795_314_248));
    assert_eq!(cdr.answer_epoch, Some(1_795_314_248));
    assert_eq!(cdr.end_epoch, Some(1_795_314_260));
    assert_eq!(cdr.start_uepoch, Some(1_795_314_248_897_629));
    assert_eq!(cdr.end_uepoch, Some(1_795_314_260_937_635));
    assert_eq!(
        (cdr.duration, cdr.billsec, cdr.waitsec),
        (Some(12), Some(12), Some(3))
    );
    assert_eq!(
        cdr.bleg_uuid(),
        Some("9a8b25a2-ee22-44b7-9a88-33801a5d0b8d")
    );
    assert_eq!(cdr.queue(), None);
    assert_eq!(cdr.fax(), None);
}

#[test]
fn channel_variables_are_percent_decoded_once() {
    let cdr = logdir(CALLER_ALEG);
    let var = |name| cdr.variable(name);
    assert_eq!(
        var("channel_name"),
        Some("sofia/external/+15550001@127.0.0.1:5070")
    );
    assert_eq!(var("sip_subject"), Some("cc fixture"));
    assert_eq!(var("RFC2822_DATE"), Some("Sun, 22 Nov 2026 02:24:08 +0000"));
    // `%25` is a literal percent sign: decoded once, not twice.
    assert_eq!(
        var("current_application_data"),
        Some("tone_stream://%(200,0,500);loops=2")
    );
    assert_eq!(var("caller_id"), Some("\"Caller 1\" <+15550001>"));
    assert_eq!(var("start_stamp"), Some("2026-11-22 02:24:08"));
    assert_eq!(var("DP_MATCH"), Some("ARRAY::7000|:7000"));
    assert_eq!(var("uuid"), Some("02bbee13-3a02-4f46-982e-d4f4cf6e771a"));
    assert_eq!(var("no_such_variable"), None);
}

#[test]
fn app_log_and_callflows_are_kept_in_order() {
    let cdr = logdir(CALLER_ALEG);
    let apps: Vec<_> = cdr.app_log.iter().map(|a| a.app_name.as_str()).collect();
    assert_eq!(apps, ["set", "export", "set", "answer", "park", "playback"]);
    assert_eq!(cdr.app_log[0].app_data, "outside_call=true");
    assert_eq!(cdr.app_log[0].app_stamp, Some(1_795_314_248_912_106));
    // app_log is plain XML, not percent-encoded.
    assert_eq!(
        cdr.app_log[1].app_data,
        "RFC2822_DATE=Sun, 22 Nov 2026 02:24:08 +0000"
    );
    assert_eq!(cdr.callflows.len(), 2);
    let latest = &cdr.callflows[0];
    assert_eq!(latest.unique_id, "d63d753d-5af7-42f8-8fa2-b0b540cd5095");
    assert_eq!(latest.profile_index, Some(2));
    assert_eq!(latest.dialplan, "XML");
    assert_eq!(latest.caller_profile.callee_id_name, "ccsvc");
    assert_eq!(latest.time("created_time"), Some(1_795_314_248_897_629));
    assert_eq!(latest.time("bridged_time"), Some(1_795_314_251_597_636));
    assert_eq!(latest.time("hangup_time"), Some(1_795_314_260_937_635));
    let first = &cdr.callflows[1];
    assert_eq!(first.profile_index, Some(1));
    assert_eq!(first.time("transfer_time"), Some(1_795_314_251_557_637));
    assert_eq!(first.time("hangup_time"), Some(0));
    assert_eq!(first.times.len(), 11);
}

#[test]
fn agent_bleg_of_the_normal_call() {
    let cdr = http("post_002_02_call_agent_bleg");
    assert_eq!(cdr.uuid, "9a8b25a2-ee22-44b7-9a88-33801a5d0b8d");
    assert_eq!(cdr.direction, "outbound");
    assert_eq!(cdr.caller.destination_number, "agent");
    assert_eq!(cdr.caller.context, "default");
    assert_eq!(
        cdr.bleg_uuid(),
        Some("02bbee13-3a02-4f46-982e-d4f4cf6e771a")
    );
    assert_eq!(
        (cdr.duration, cdr.billsec, cdr.waitsec),
        (Some(10), Some(9), Some(1))
    );
    assert_eq!(cdr.answer_uepoch, Some(1_795_314_251_537_674));
}

#[test]
fn abandoned_caller_was_answered_by_park_but_never_bridged() {
    let cdr = logdir(ABANDON);
    assert_eq!(cdr.uuid, "cfa37939-52aa-4338-b770-644c9a98c31c");
    assert_eq!(cdr.caller.caller_id_number, "+15550001");
    assert_eq!(cdr.caller.caller_id_name, "Caller 1");
    assert_eq!(cdr.caller.destination_number, "7000");
    // The dialplan answers before `park`, so FreeSWITCH counts the abandon as answered.
    assert!(cdr.answered());
    assert_eq!(cdr.answer_epoch, Some(1_795_314_278));
    assert_eq!(cdr.billsec, Some(6));
    assert_eq!(cdr.waitsec, Some(0));
    assert_eq!(cdr.bleg_uuid(), None);
    assert_eq!(cdr.hangup_cause.as_deref(), Some("NORMAL_CLEARING"));
    assert_eq!(cdr.variable("sip_hangup_disposition"), Some("recv_bye"));
}

#[test]
fn failed_agent_originate_is_not_answered() {
    let cdr = http("post_021_04c_agent_busy_486");
    assert_eq!(cdr.uuid, "1c2ae6b7-7d90-458c-82c7-8f83b87852c2");
    assert_eq!(cdr.hangup_cause.as_deref(), Some("USER_BUSY"));
    assert_eq!(cdr.hangup_cause_q850, Some(17));
    assert!(!cdr.answered());
    assert_eq!((cdr.answer_epoch, cdr.answer_uepoch), (None, None));
    assert_eq!(cdr.billsec, Some(0));
    assert!(cdr.app_log.is_empty());
    for label in [
        "post_022_04c_agent_noanswer_bgapi",
        "post_023_04c_agent_noanswer_api",
    ] {
        let cdr = http(label);
        assert_eq!(cdr.hangup_cause.as_deref(), Some("NO_ANSWER"), "{label}");
        assert!(!cdr.answered(), "{label}");
    }
}

#[test]
fn fax_receiver_reports_its_outcome() {
    let cdr = logdir(FAX_RX);
    assert_eq!(cdr.uuid, "4ab15041-a966-49fa-b660-fe31b8c2f6be");
    assert_eq!(cdr.caller.caller_id_number, "5551234");
    assert_eq!(cdr.caller.caller_id_name, "FaxSender");
    assert_eq!(cdr.caller.destination_number, "7200");
    let fax = cdr.fax().expect("fax variables");
    assert!(fax.success);
    assert_eq!(fax.result_code, Some(0));
    assert_eq!(fax.result_text.as_deref(), Some("OK"));
    assert_eq!(fax.transferred_pages, Some(2));
    assert_eq!(fax.total_pages, Some(2));
    assert_eq!(fax.remote_station_id.as_deref(), Some("FIXTURE-TX"));
    assert_eq!(fax.local_station_id.as_deref(), Some("FIXTURE-RX"));
    assert_eq!(cdr.variable("fax_header"), Some("CC Fixture TX"));
    assert!(cdr.app_log.iter().any(|a| a.app_name == "rxfax"));
    assert_eq!(cdr.billsec, Some(19));
}

#[test]
fn textxml_post_carries_raw_xml_with_encoded_variables() {
    let cdr = http("post_020_06b_textxml_caller");
    assert_eq!(cdr.uuid, "b4c948b4-2e44-41be-b363-bf898b5c9072");
    assert_eq!(cdr.caller.caller_id_number, "+15550001");
    assert_eq!(cdr.variable("sip_subject"), Some("cc fixture"));
}

// --- hostile and broken input -------------------------------------------------------------

#[test]
fn doctype_with_entities_is_refused() {
    let xml = br#"<!DOCTYPE x [<!ENTITY a "aaaa">]><cdr>&a;</cdr>"#;
    assert_eq!(parse_cdr(xml), Err(CdrError::Doctype));
}

#[test]
fn billion_laughs_is_refused_fast() {
    let mut xml =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        let refs = format!("&{prev};").repeat(10);
        xml.push_str(&format!("<!ENTITY lol{i} \"{refs}\">\n"));
    }
    xml.push_str("]>\n<cdr><variables><uuid>&lol9;</uuid></variables></cdr>");
    let started = Instant::now();
    assert_eq!(parse_cdr(xml.as_bytes()), Err(CdrError::Doctype));
    assert!(started.elapsed() < Duration::from_secs(1));
    // Without the DTD the reference is unknown, not expanded.
    let bare = b"<cdr><variables><uuid>&lol9;</uuid></variables></cdr>";
    assert_eq!(parse_cdr(bare), Err(CdrError::UnknownEntity("lol9".into())));
}

#[test]
fn oversized_input_is_refused() {
    let big = vec![b'a'; 5 * 1024 * 1024];
    assert_eq!(
        parse_cdr(&big),
        Err(CdrError::TooLarge {
            len: big.len(),
            limit: MAX_CDR_BYTES
        })
    );
    let mut form = b"cdr=".to_vec();
    form.extend_from_slice(&big);
    let xml = cdr_from_form(&form).expect("a 5 MiB form body is decoded");
    assert!(matches!(parse_cdr(&xml), Err(CdrError::TooLarge { .. })));
    let huge = vec![b'a'; 13 * 1024 * 1024];
    assert!(matches!(
        cdr_from_form(&huge),
        Err(CdrError::TooLarge { .. })
    ));
}

#[test]
fn truncated_and_garbage_input_are_errors() {
    let xml = std::fs::read(fixtures().join("cdr/logdir").join(CALLER_ALEG)).expect("file");
    assert_eq!(parse_cdr(&xml[..xml.len() / 2]), Err(CdrError::Truncated));
    assert!(parse_cdr(&xml[..xml.len() - 3]).is_err());
    assert!(parse_cdr(b"").is_err());
    assert!(parse_cdr(b"\x00\xff\xfe garbage \x01").is_err());
    assert!(parse_cdr(b"<cdr><a></b></cdr>").is_err());
    assert!(matches!(
        parse_cdr(b"<html></html>"),
        Err(CdrError::MissingRoot { .. })
    ));
    assert_eq!(
        parse_cdr(b"<cdr><variables><direction>inbound</direction></variables></cdr>"),
        Err(CdrError::MissingUuid)
    );
    assert_eq!(
        cdr_from_form(b"uuid=x&other=1"),
        Err(CdrError::MissingFormField)
    );
    assert!(matches!(
        cdr_from_form(b"cdr=%3Ccdr%zz"),
        Err(CdrError::BadPercentEscape(_))
    ));
}

#[test]
fn errors_have_clear_messages() {
    let messages = [
        CdrError::Doctype.to_string(),
        CdrError::UnknownEntity("a".into()).to_string(),
        CdrError::MissingFormField.to_string(),
    ];
    assert!(messages[0].contains("DOCTYPE"));
    assert!(messages[1].contains("&a;"));
    assert!(messages[2].contains("cdr="));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_cdr(&bytes);
        let _ = cdr_from_form(&bytes);
    }

    #[test]
    fn truncated_or_corrupted_captures_never_panic(
        cut in 0usize..17_465,
        flip in 0usize..17_465,
        byte in any::<u8>(),
    ) {
        let xml = std::fs::read(fixtures().join("cdr/logdir").join(CALLER_ALEG)).expect("file");
        let cut = cut.min(xml.len());
        let _ = parse_cdr(&xml[..cut]);
        let mut corrupted = xml.clone();
        if let Some(b) = corrupted.get_mut(flip) {
            *b = byte;
        }
        let _ = parse_cdr(&corrupted);
        let form = post(&fixtures().join("cdr/http/post_001_02_call_caller_aleg.http")).body;
        let cut = cut.min(form.len());
        if let Ok(xml) = cdr_from_form(&form[..cut]) {
            let _ = parse_cdr(&xml);
        }
    }
}
