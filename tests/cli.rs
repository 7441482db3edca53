//! The `switchdesk` binary as an operator uses it: `esl decode`, `esl tail`, `check-config`,
//! `user` and `token`.

mod captures;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use switchdesk::sim::{CallSpec, SimConfig, Simulator};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchdesk"));
    // Only what each test sets reaches the configuration.
    for (key, _) in std::env::vars() {
        if key.starts_with("SWITCHDESK_") && key != "SWITCHDESK_FIXTURES" {
            command.env_remove(key);
        }
    }
    command
}

/// `switchdesk --config FILE check-config`.
fn check_config(file: &Path) -> std::process::Output {
    binary()
        .arg("--config")
        .arg(file)
        .arg("check-config")
        .output()
        .unwrap()
}

/// What a long-running command printed up to the line holding `marker`; then it is stopped.
fn said_until(mut child: std::process::Child, marker: &str) -> String {
    let mut said = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.contains(marker);
        said.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    said.join("\n")
}

fn capture(name: &str) -> PathBuf {
    captures::freeswitch().join("esl").join(name)
}

#[test]
fn esl_decode_prints_one_json_line_per_frame() {
    let output = binary()
        .args(["esl", "decode"])
        .arg(capture("02_call_plain_ALL.rx"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = output
        .stdout
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(lines.len(), 89);
    assert_eq!(lines[0]["content_type"], "auth/request");
    assert_eq!(lines[1]["headers"]["Reply-Text"], "+OK accepted");
    let park = lines
        .iter()
        .find(|l| l["event_name"] == "CHANNEL_PARK")
        .unwrap();
    assert_eq!(park["offset"], 78083);
    assert_eq!(
        park["event"]["Unique-ID"],
        "02bbee13-3a02-4f46-982e-d4f4cf6e771a"
    );
    assert_eq!(
        park["event"]["Channel-Name"],
        "sofia/external/+15550001@127.0.0.1:5070"
    );
    let job = lines
        .iter()
        .find(|l| l["event_name"] == "BACKGROUND_JOB")
        .unwrap();
    assert_eq!(
        job["event"]["_body"],
        "+OK 9a8b25a2-ee22-44b7-9a88-33801a5d0b8d\n"
    );
    assert_eq!(lines[88]["content_type"], "text/disconnect-notice");
    assert_eq!(String::from_utf8_lossy(&output.stderr).trim(), "89 frames");
}

#[test]
fn esl_decode_reads_stdin_and_reports_a_cut_or_broken_stream() {
    let bytes = std::fs::read(capture("04_commands.rx")).unwrap();
    let mut child = binary()
        .args(["esl", "decode", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Cut in the middle of a frame: the whole frames come out, the rest is reported.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&bytes[..1000])
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = output
        .stdout
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["incomplete"], true);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["content_type"] == "api/response")
            .count(),
        3
    );

    let mut child = binary()
        .args(["esl", "decode", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Content-Type: api/response\nContent-Length: ten\n\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("invalid Content-Length") && error.contains("frame 1"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn esl_tail_prints_live_events_as_json_lines() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Simulator::start(
        listener,
        SimConfig {
            password: "tail-pw-123".into(),
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let mut child = binary()
        .args([
            "esl",
            "tail",
            "--events",
            "CHANNEL_PARK,CHANNEL_HANGUP_COMPLETE",
            "--format",
            "json",
        ])
        .env("SWITCHDESK_ESL__PORT", sim.addr().port().to_string())
        .env("SWITCHDESK_ESL__PASSWORD", "tail-pw-123")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(1)
            .collect::<Vec<_>>()
    });
    // Wait for the subscription, then let a caller in.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !sim
        .commands_received()
        .iter()
        .any(|c| c.starts_with("event json"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "tail never subscribed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(sim.commands_received().contains(
        &"event json CHANNEL_PARK CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB HEARTBEAT".to_string()
    ));
    let caller = sim
        .place_call(CallSpec {
            from_number: "+15550001".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    let lines = tokio::task::spawn_blocking(move || lines.join().unwrap())
        .await
        .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let event: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(event["Event-Name"], "CHANNEL_PARK");
    assert_eq!(event["Unique-ID"], caller.as_str());
}

/// `esl tail` against a replayed burst of real events; what it printed, what it said on stderr,
/// and whether it succeeded. `read_slowly` holds the output unread for a while first, as a
/// slow terminal or a stalled pipe would.
async fn tail_a_burst(
    stream: std::sync::Arc<Vec<u8>>,
    args: &[&str],
    read_slowly: bool,
) -> (Vec<u8>, String, bool) {
    // A small queue between the socket and the output, so a slow reader reaches the socket.
    let queued_reads = if read_slowly { "4" } else { "1024" };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(captures::replay_once(listener, stream));
    let mut child = binary()
        .args(["esl", "tail"])
        .args(args)
        .env("SWITCHDESK_ESL__PORT", port.to_string())
        .env("SWITCHDESK_ESL__EVENT_BUFFER", queued_reads)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut said = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
        said
    });
    let printed = tokio::task::spawn_blocking(move || {
        if read_slowly {
            std::thread::sleep(Duration::from_secs(2));
        }
        let mut printed = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut printed).unwrap();
        printed
    });
    let printed = tokio::time::timeout(Duration::from_secs(240), printed)
        .await
        .expect("esl tail did not finish the burst in time")
        .unwrap();
    let status = child.wait().unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the replay did not end")
        .unwrap();
    (printed, said.join().unwrap(), status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esl_tail_counts_every_event_of_a_100_mb_burst_and_ends_cleanly_on_goodbye() {
    let (bytes, events) = captures::event_stream("text/event-plain", 100 * 1000 * 1000);
    let total = bytes.len();
    let (printed, said, success) =
        tail_a_burst(std::sync::Arc::new(bytes), &["--count"], false).await;
    let printed = String::from_utf8(printed).unwrap();
    assert!(success, "{said}");
    let first = printed.lines().next().unwrap();
    assert_eq!(first, format!("total: {events} events, {total} bytes"));
    // The per-name counts add up to the total.
    let by_name: u64 = printed
        .lines()
        .skip(1)
        .map(|l| l.rsplit(": ").next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(by_name, events as u64);
    assert!(said.contains("disconnect notice"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esl_tail_holds_the_socket_instead_of_dropping_events_for_a_slow_reader() {
    let (bytes, events) = captures::event_stream("text/event-json", 30 * 1000 * 1000);
    let (printed, said, success) =
        tail_a_burst(std::sync::Arc::new(bytes), &["--format", "json"], true).await;
    assert!(success, "{said}");
    let lines: Vec<&[u8]> = printed
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), events, "{said}");
    // In the order sent: the replay repeats the captures, so the first and the last line are
    // whole events with a name.
    for line in [lines[0], lines[lines.len() - 1]] {
        let event: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert!(event["Event-Name"].is_string(), "{event}");
    }
    assert!(said.contains("reading paused"), "{said}");
    assert!(!said.contains("skipped"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esl_tail_stats_prints_rates_by_event_name() {
    let (bytes, _) = captures::event_stream("text/event-plain", 5 * 1000 * 1000);
    let (printed, said, success) =
        tail_a_burst(std::sync::Arc::new(bytes), &["--stats"], false).await;
    let printed = String::from_utf8(printed).unwrap();
    assert!(success, "{said}");
    let line = printed.lines().next().expect("a rate line");
    assert!(
        line.contains("events/s") && line.contains("MB/s") && line.contains("lag"),
        "{line}"
    );
    assert!(line.contains("CHANNEL_"), "{line}");
}

#[test]
fn check_config_explains_every_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchdesk.toml");
    std::fs::write(
        &path,
        "[esl]\npassword = \"\"\nheartbeat_secs = 0\n[log]\nformat = \"xml\"\n\
         [service]\nlanguage = \"de\"\n",
    )
    .unwrap();
    let output = check_config(&path);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "esl.password is empty",
        "esl.heartbeat_secs",
        "log.format",
        "line 7: service.language",
    ] {
        assert!(error.contains(expected), "{error}");
    }
    std::fs::write(
        &path,
        "[esl]\nhost = \"10.1.2.3\"\npassword = \"very-secret-pw\"\n",
    )
    .unwrap();
    let output = check_config(&path);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("10.1.2.3:8021") && !text.contains("very-secret-pw"),
        "{text}"
    );
}

/// Support lines and categories are checked before the service starts.
#[test]
fn check_config_refuses_bad_ticket_categories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchdesk.toml");
    std::fs::write(
        &path,
        "[esl]\npassword = \"pw\"\n[tickets]\nlines = [\"1st\", \"\", \"3rd\"]\n\
         default_category = \"sales\"\ncall_first_response_seconds = -1\n\
         [[tickets.categories]]\nkey = \"Emergency!\"\nname = \"Emergency\"\n\
         resolution_minutes = [60, 0, 60]\n\
         [[tickets.categories]]\nkey = \"info\"\nname = \"Info\"\n\
         [[tickets.categories]]\nkey = \"info\"\nname = \"Again\"\n",
    )
    .unwrap();
    let output = check_config(&path);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "tickets.lines must name lines 1, 2 and 3",
        "tickets.default_category \"sales\"",
        "tickets.call_first_response_seconds",
        "key \"Emergency!\" must be",
        "\"Emergency!\" SLA targets must be positive",
        "key \"info\" appears twice",
    ] {
        assert!(error.contains(expected), "{expected}: {error}");
    }
}

/// One run names every bad value of a file, with its line, and the cross-references
/// (duplicates, overflow and membership targets) of what reads.
#[test]
fn check_config_lists_every_problem_of_a_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchdesk.toml");
    std::fs::write(
        &path,
        r#"[database]
max_connections = "lots"

[esl]
port = "eighty"
pasword = "x"

[http]
listen = 5

[[queues]]
name = "support"
ring_timeout_secs = "twenty"

[[queues]]
name = "sales"
overflow = { to = "queue", target = "nowhere" }

[[queues]]
name = "sales"

[[agents]]
name = "olga"
endpoint = "user/1001@default"
queues = [{ queue = "billing" }]

[[agents]]
name = "ivan"
endpoint = 12

[stats]
timezone = "Mars/Olympus"
day_starts_at = "25:00"
"#,
    )
    .unwrap();
    let output = check_config(&path);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "line 2: database.max_connections: invalid type: found string \"lots\", expected u32",
        "line 5: esl.port: invalid type",
        "line 6: esl.pasword: unknown key `pasword`; expected one of host, port, password,",
        "line 9: http.listen: invalid type",
        "line 13: queues.0.ring_timeout_secs: invalid type",
        "line 29: agents.1.endpoint: invalid type",
        "line 32: stats.timezone: \"Mars/Olympus\" is not an IANA time zone",
        "line 33: stats.day_starts_at: \"25:00\" is not a time of day",
        "queue sales: overflow queue \"nowhere\" is not defined in [[queues]]",
        "queue \"sales\" is defined 2 times",
        "agent olga: queue \"billing\" is not defined in [[queues]]",
    ] {
        assert!(
            error.contains(expected),
            "missing {expected:?} in:\n{error}"
        );
    }
    assert!(!error.contains("``"), "{error}");
}

/// A valid file with risky settings says so, and still passes.
#[test]
fn check_config_warns_of_risky_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let output = binary()
        .current_dir(dir.path())
        .arg("check-config")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "warning: no configuration file switchdesk.toml",
        "warning: esl.password is FreeSWITCH's well-known default ClueCon",
        "warning: cdr.password is empty",
        "warning: phonebook.default_region is not set",
        "warning: stats.timezone is not set",
        "warning: service.currency is not set",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let path = dir.path().join("switchdesk.toml");
    std::fs::write(
        &path,
        "[esl]\npassword = \"s3cret-esl\"\n[cdr]\npassword = \"s3cret-cdr\"\n[phonebook]\ndefault_region = \"RU\"\n[stats]\ntimezone = \"Europe/Moscow\"\n[service]\ncurrency = \"RUB\"\n",
    )
    .unwrap();
    let output = binary()
        .current_dir(dir.path())
        .arg("check-config")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && !text.contains("warning"),
        "{text}"
    );
    // The event buffer of an older configuration (it counted events, now socket reads).
    let output = binary()
        .current_dir(dir.path())
        .env("SWITCHDESK_ESL__EVENT_BUFFER", "16384")
        .arg("check-config")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("warning: esl.event_buffer = 16384 counts socket reads")
            && text.contains("up to 1024 MiB"),
        "{text}"
    );
}

/// `SWITCHDESK_CONFIG=FILE` chooses the file, as `--config` does, and is not itself read as a
/// setting; neither are other `SWITCHDESK_` variables that name no section.
#[test]
fn switchdesk_config_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("elsewhere.toml");
    std::fs::write(&path, "[esl]\nhost = \"10.9.8.7\"\n").unwrap();
    let output = binary()
        .env("SWITCHDESK_CONFIG", &path)
        .env("SWITCHDESK_REQUIRE_POSTGRES", "1")
        .arg("check-config")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("10.9.8.7:8021"), "{text}");

    let output = binary()
        .env("SWITCHDESK_CONFIG", dir.path().join("missing.toml"))
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("missing.toml does not exist"), "{error}");
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sd.db").display());
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = binary()
            .args(args)
            .env("SWITCHDESK_DATABASE__URL", &url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    };
    let added = run(
        &[
            "user",
            "add",
            "alice",
            "--role",
            "supervisor",
            "--password-stdin",
        ],
        Some("correct horse battery\n"),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let generated = run(&["user", "add", "bob", "--role", "agent"], None);
    let text = String::from_utf8_lossy(&generated.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("password: ") && l.len() > 20),
        "{text}"
    );
    let duplicate = run(&["user", "add", "alice", "--role", "agent"], None);
    assert!(!duplicate.status.success());
    let bad_role = run(&["user", "add", "carol", "--role", "janitor"], None);
    assert!(!bad_role.status.success());
    let list = run(&["user", "list"], None);
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "alice\tsupervisor\nbob\tagent\n"
    );
    let token = run(&["token", "add", "xml-cdr", "--role", "admin"], None);
    assert!(String::from_utf8_lossy(&token.stdout).starts_with("sdk_"));
    assert!(run(&["token", "revoke", "xml-cdr"], None).status.success());
}

/// The configuration shown in the README is a working one.
#[test]
fn the_readme_configuration_is_valid() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("```toml\n[database]")
        .expect("README shows the configuration")
        + "```toml\n".len();
    let toml = &readme[start..start + readme[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchdesk.toml");
    std::fs::write(&path, toml).unwrap();
    let output = check_config(&path);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `switchdesk cdr import DIR`: the log directory's CDRs stored, an unreadable file moved
/// into DIR/failed and named, exit status 1; run again, nothing new and nothing failed.
#[test]
fn cdr_import_backfills_the_log_directory() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("sd.db").display());
    let logdir = tempfile::tempdir().unwrap();
    let fixtures = capture("x")
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("cdr/logdir");
    for entry in std::fs::read_dir(fixtures).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), logdir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(
        logdir.path().join("a_truncated.cdr.xml"),
        "<cdr><variables>",
    )
    .unwrap();
    let import = || {
        binary()
            .args(["cdr", "import"])
            .arg(logdir.path())
            .env("SWITCHDESK_DATABASE__URL", &url)
            .output()
            .unwrap()
    };
    let first = import();
    let stdout = String::from_utf8_lossy(&first.stdout);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("5 CDRs: 4 stored, 0 already known, 1 failed"),
        "{stdout}"
    );
    assert!(
        stderr.contains("a_truncated.cdr.xml") && stderr.contains("moved to"),
        "{stderr}"
    );
    assert!(logdir.path().join("failed/a_truncated.cdr.xml").exists());
    let second = import();
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout)
        .contains("4 CDRs: 0 stored, 4 already known, 0 failed"));
}

/// `serve` on a new database says where the dashboard is and the exact command that
/// creates the first administrator.
#[test]
fn serve_on_a_new_database_says_how_to_begin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchdesk.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[esl]\nhost = \"127.0.0.1\"\nport = 1\n",
            dir.path().join("sd.db").display()
        ),
    )
    .unwrap();
    let child = binary()
        .arg("--config")
        .arg(&path)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let said = said_until(child, "serves the dashboard at http://127.0.0.1:");
    assert!(said.contains("No user exists yet"), "{said}");
    assert!(
        said.contains(&format!(
            "switchdesk --config {} user add admin --role admin",
            path.display()
        )),
        "{said}"
    );
    assert!(
        said.contains("serves the dashboard at http://127.0.0.1:"),
        "{said}"
    );
}

/// `check-config` looks at the configured database read-only: a missing file is said, never
/// created; a database with no user gets the exact command that creates the first admin.
#[test]
fn check_config_says_when_the_database_has_no_user_yet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchdesk.toml");
    let database = dir.path().join("sd.db");
    std::fs::write(
        &path,
        format!("[database]\nurl = \"sqlite://{}\"\n", database.display()),
    )
    .unwrap();
    let output = check_config(&path);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!(
            "note: the database {} does not exist yet",
            database.display()
        )),
        "{text}"
    );
    assert!(!text.contains("no users yet"), "{text}");
    assert!(!database.exists(), "check-config created the database");

    let migrated = binary()
        .arg("--config")
        .arg(&path)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrated.status.success());
    let output = check_config(&path);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(text.contains("warning: no users yet."), "{text}");
    assert!(
        text.contains(&format!(
            "switchdesk --config {} user add admin --role admin",
            path.display()
        )),
        "{text}"
    );

    let added = binary()
        .arg("--config")
        .arg(&path)
        .args(["user", "add", "admin", "--role", "admin"])
        .output()
        .unwrap();
    assert!(added.status.success());
    let text = String::from_utf8_lossy(&check_config(&path).stdout).into_owned();
    assert!(!text.contains("no users yet"), "{text}");
}

/// `phonebook export | head`: the reader closing the pipe ends the export quietly.
#[test]
fn a_closed_pipe_ends_an_export_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sd.db").display());
    let csv = dir.path().join("contacts.csv");
    let mut rows = String::from("external_id,first_name,last_name,phones\n");
    for n in 0..3_000 {
        rows.push_str(&format!(
            "c-{n},Ivan,Petrov{n},+7 495 {:07}\n",
            1_000_000 + n
        ));
    }
    std::fs::write(&csv, rows).unwrap();
    let imported = binary()
        .env("SWITCHDESK_DATABASE__URL", &url)
        .args(["phonebook", "import"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let mut child = binary()
        .env("SWITCHDESK_DATABASE__URL", &url)
        .args(["phonebook", "export", "--kind", "contacts"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, as `head -1` would, and close the pipe.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("external_id"), "{first}");
    let output = child.wait_with_output().unwrap();
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        !error.contains("Broken pipe") && !error.contains("panicked"),
        "{error}"
    );
}

/// `demo` never seeds the configured database: it keeps its own, and refuses one that holds
/// anything it did not create.
#[test]
fn the_demo_keeps_to_a_database_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.db");
    let real_url = format!("sqlite://{}", real.display());
    let child = binary()
        .current_dir(dir.path())
        .env("SWITCHDESK_DATABASE__URL", &real_url)
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let said = said_until(child, "dashboard:");
    assert!(
        said.contains("switchdesk-demo.db (the demo's own)"),
        "{said}"
    );
    assert!(!real.exists(), "the configured database was touched");
    assert!(dir.path().join("data/switchdesk-demo.db").exists());

    // A database with a user of its own is refused, and left as it was.
    let added = binary()
        .env("SWITCHDESK_DATABASE__URL", &real_url)
        .args(["user", "add", "alice", "--role", "admin"])
        .output()
        .unwrap();
    assert!(added.status.success());
    let refused = binary()
        .current_dir(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0", "--database", &real_url])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(
        error.contains("the demo will not seed") && error.contains("(alice)"),
        "{error}"
    );
    let users = binary()
        .env("SWITCHDESK_DATABASE__URL", &real_url)
        .args(["user", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&users.stdout);
    assert!(
        listed.contains("alice") && !listed.contains("demo"),
        "{listed}"
    );
}
