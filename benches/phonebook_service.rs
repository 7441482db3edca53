//! The phone book at a million contacts, through the real binary: a SQLite database of
//! 1,000,000 generated contacts and 20,000 organizations (`directory::sample`, made once and
//! kept under the target directory), then `switchdesk serve` on it (the event socket points
//! at a closed port: the service keeps retrying it and serves HTTP regardless), timed from
//! spawn until `/healthz` answers 200, and its resident memory (`VmRSS`, and the peak
//! `VmHWM`) read from `/proc` once it serves. Then `switchdesk phonebook search` as an
//! operator runs it, with the service running (and a token) and without it.
//!
//! `cargo bench --bench phonebook_service`; `-- --runs N` starts the service N times (2).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchdesk::directory::model::{Contact, Number, NumberKind, Organization};
use switchdesk::directory::sample;
use switchdesk::store::Store;

const CONTACTS: usize = 1_000_000;
const ORGANIZATIONS: usize = 20_000;
const SEED: u64 = 2024;
const BATCH: usize = 2_000;
/// Longest wait for the service to serve.
const READY_WITHIN: Duration = Duration::from_secs(120);
/// What an operator searches for: a name with a typo, a name in the other script, a number's
/// end, an organization.
const SEARCHES: [&str; 4] = ["Алексей Ревенко", "aleksei revenko", "4567", "Ромашка"];

fn database() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("phonebook-{CONTACTS}.db"))
}

/// Makes the database once; a marker file says it was finished.
fn ensure_database(path: &Path) {
    let done = path.with_extension("done");
    if done.exists() && path.exists() {
        return;
    }
    for stale in [
        path.to_path_buf(),
        path.with_extension("db-wal"),
        path.with_extension("db-shm"),
    ] {
        let _ = std::fs::remove_file(stale);
    }
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let url = format!("sqlite://{}", path.display());
        let store = Store::connect(&url, 2).await.unwrap();
        let organizations: Vec<Organization> = sample::organizations(SEED, ORGANIZATIONS)
            .map(|o| {
                let numbers = o
                    .numbers
                    .iter()
                    .map(|n| number(n, NumberKind::Main))
                    .chain(o.ranges.iter().map(|r| number(r, NumberKind::Range)))
                    .collect();
                Organization {
                    name: o.name,
                    numbers,
                    vip: o.vip,
                    ..Organization::default()
                }
            })
            .collect();
        let mut ids = std::collections::HashMap::new();
        for chunk in organizations.chunks(BATCH) {
            for (o, id) in chunk.iter().zip(store.save_records(chunk).await.unwrap()) {
                ids.insert(o.name.clone(), id.unwrap());
            }
        }
        let mut people = sample::contacts(SEED, CONTACTS);
        loop {
            let chunk: Vec<Contact> = people
                .by_ref()
                .take(BATCH)
                .map(|c| Contact {
                    organization_id: c.organization.as_ref().and_then(|o| ids.get(o).copied()),
                    first_name: match &c.middle_name {
                        Some(middle) => format!("{} {middle}", c.first_name),
                        None => c.first_name.clone(),
                    },
                    last_name: c.last_name.clone(),
                    numbers: c
                        .numbers
                        .iter()
                        .enumerate()
                        .map(|(i, n)| {
                            number(
                                n,
                                if i == 0 {
                                    NumberKind::Mobile
                                } else {
                                    NumberKind::Work
                                },
                            )
                        })
                        .collect(),
                    emails: c.email.iter().cloned().collect(),
                    vip: c.vip,
                    ..Contact::default()
                })
                .collect();
            if chunk.is_empty() {
                break;
            }
            for saved in store.save_records(&chunk).await.unwrap() {
                saved.unwrap();
            }
        }
        store.close().await;
    });
    std::fs::write(&done, b"").unwrap();
    println!(
        "phonebook_service: generated {CONTACTS} contacts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn number(text: &str, kind: NumberKind) -> Number {
    Number {
        number: text.to_owned(),
        kind,
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary(database: &Path, http: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchdesk"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SWITCHDESK_") {
            command.env_remove(key);
        }
    }
    command
        .env(
            "SWITCHDESK_DATABASE__URL",
            format!("sqlite://{}", database.display()),
        )
        .env("SWITCHDESK_PHONEBOOK__DEFAULT_REGION", "RU")
        .env("SWITCHDESK_HTTP__LISTEN", format!("127.0.0.1:{http}"))
        // Nothing listens there: the service retries the switch and serves HTTP regardless.
        .env("SWITCHDESK_ESL__PORT", free_port().to_string())
        .env("SWITCHDESK_LOG__FILTER", "warn");
    command
}

/// The status code of `GET path`, or `None` when nothing answers yet.
fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// CPU time a process has used (user and system), from `/proc/PID/stat`: unlike the wall
/// time, it does not grow with what else the shared cores run.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) end with `)`.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / per_second)
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Served {
    child: Child,
    port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` and waits until `/healthz` says 200: the time that took, and the CPU time
/// the service used meanwhile.
fn start(database: &Path) -> (Served, Duration, Duration) {
    let port = free_port();
    let started = Instant::now();
    let child = binary(database, port)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served { child, port };
    while get_status(port, "/healthz") != Some(200) {
        assert!(
            started.elapsed() < READY_WITHIN,
            "serve did not become ready"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let ready = started.elapsed();
    let cpu = cpu_time(served.child.id());
    (served, ready, cpu)
}

/// Runs `phonebook search` for each of [`SEARCHES`]: wall time per search, and the first
/// result line.
fn searches(database: &Path, http: u16, token: Option<&str>, label: &str) {
    for text in SEARCHES {
        let mut command = binary(database, http);
        if let Some(token) = token {
            command.env("SWITCHDESK_TOKEN", token);
        }
        let started = Instant::now();
        let output = command
            .args(["phonebook", "search", text, "--limit", "10"])
            .output()
            .unwrap();
        let spent = started.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout);
        println!(
            "phonebook_service: search {label} {text:?}: {:.0} ms, {} hits, first: {}",
            spent.as_secs_f64() * 1000.0,
            stdout.lines().count(),
            stdout.lines().next().unwrap_or("-")
        );
    }
}

fn main() {
    let runs = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    let path = database();
    ensure_database(&path);
    let token = binary(&path, free_port())
        .args([
            "token",
            "add",
            &format!("bench-{}", std::process::id()),
            "--role",
            "agent",
        ])
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    for run in 1..=runs {
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let (served, ready, cpu) = start(&path);
        // Whatever the start-up freed is given back by now.
        std::thread::sleep(Duration::from_secs(2));
        let (rss, peak) = memory(served.child.id());
        println!(
            "phonebook_service: run {run}: start to HTTP ready {:.2} s ({:.2} s of CPU; load average before: {}); VmRSS {rss:.0} MiB ({:.0} MB), peak VmHWM {peak:.0} MiB",
            ready.as_secs_f64(),
            cpu.as_secs_f64(),
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
            rss * 1.048_576
        );
        if run == 1 {
            searches(&path, served.port, Some(&token), "with the service");
        }
    }
    searches(&path, free_port(), None, "without a service");
}
