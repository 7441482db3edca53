//! The `switchdesk` command: wiring only. Each subcommand parses its arguments, loads the
//! configuration and hands over to the library.

use std::fs::File;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use switchdesk::config::Config;
use switchdesk::directory::import::{ColumnMap, Format, ImportReport, Kind, Progress};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::sync::{self, SourceName};
use switchdesk::esl::event::EventFormat;
use switchdesk::esl::tail::TailMode;
use switchdesk::service;
use switchdesk::store::Peek;
use switchdesk::users::{self, Role};

#[derive(Parser)]
#[command(
    name = "switchdesk",
    version,
    about = "Contact-center service for FreeSWITCH",
    after_help = "Examples:\n  \
        switchdesk demo                                  a simulated contact center on http://127.0.0.1:8080/\n  \
        switchdesk --config /etc/switchdesk.toml check-config\n  \
        switchdesk user add alice --role admin           prints a generated password\n  \
        switchdesk token add xml-cdr --role supervisor   a token for mod_xml_cdr or Prometheus\n  \
        switchdesk phonebook import contacts.csv --map email=emails,company=organization\n  \
        switchdesk phonebook export --kind contacts > contacts.csv\n  \
        switchdesk esl tail --events CHANNEL_PARK,CHANNEL_HANGUP --format json"
)]
struct Cli {
    /// Configuration file (default: ./switchdesk.toml when present).
    #[arg(long, global = true, env = "SWITCHDESK_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service against the configured FreeSWITCH.
    Serve,
    /// Run the service with a simulated FreeSWITCH, synthetic callers and agents.
    Demo(DemoArgs),
    /// Event-socket tools.
    #[command(subcommand)]
    Esl(EslCommand),
    /// Apply database migrations and exit.
    Migrate,
    /// Load the configuration, explain any mistake, and exit.
    CheckConfig,
    /// Manage dashboard users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens for machines (mod_xml_cdr, scripts, Prometheus).
    #[command(subcommand)]
    Token(TokenCommand),
    /// The phone book: organizations, contacts and assets.
    #[command(subcommand)]
    Phonebook(PhonebookCommand),
    /// Call detail records from FreeSWITCH's mod_xml_cdr.
    #[command(subcommand)]
    Cdr(CdrCommand),
}

#[derive(Subcommand)]
enum CdrCommand {
    /// Ingest every CDR file (*.xml) of mod_xml_cdr's log directory, as if POSTed: calls are
    /// linked and filed into tickets. Files already ingested change nothing; unreadable ones
    /// are moved into DIR/failed and listed; the exit status is 1 if there was one.
    Import {
        /// mod_xml_cdr's `log-dir` (or `err-log-dir`), e.g. /var/log/freeswitch/xml_cdr.
        dir: PathBuf,
    },
}

#[derive(Args)]
struct DemoArgs {
    /// Address for the dashboard.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seed for the simulated traffic; the same seed gives the same day.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Synthetic callers per minute, on average (default: `demo.callers_per_minute`, 12).
    #[arg(long)]
    callers_per_minute: Option<f64>,
    /// The demo's own database (default: sqlite://data/switchdesk-demo.db). Never the
    /// configured `database.url`: the demo seeds a fake contact center, and refuses a
    /// database that holds anything it did not create.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

#[derive(Subcommand)]
enum EslCommand {
    /// Decode a raw capture of ESL traffic (or - for stdin) to JSON lines, one per frame.
    Decode {
        file: PathBuf,
        /// Largest frame accepted, in bytes.
        #[arg(long, default_value_t = 64 * 1024 * 1024)]
        max_frame: usize,
    },
    /// Print live events from the configured FreeSWITCH as JSON lines. Nothing is dropped:
    /// when the output is slower, reading pauses and FreeSWITCH buffers. Ends with status 0
    /// on FreeSWITCH's disconnect notice or Ctrl-C, 1 when the connection fails.
    Tail {
        /// Event names, comma- or space-separated (default ALL).
        #[arg(long, default_value = "ALL")]
        events: String,
        /// Format to ask FreeSWITCH for: plain, json or xml.
        #[arg(long, default_value = "plain")]
        format: EventFormat,
        /// Every second, events per second by name, MB/s, lag and reads queued, instead of
        /// the events.
        #[arg(long)]
        stats: bool,
        /// Only the totals at the end (events, bytes, events by name).
        #[arg(long)]
        count: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from stdin with --password-stdin, or generated.
    Add {
        name: String,
        /// agent, supervisor, manager or admin (each may do everything the ones before it may).
        #[arg(long)]
        role: Role,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (from stdin with --password-stdin, or generated).
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token; it is printed once and only its hash is stored.
    Add {
        name: String,
        /// agent, supervisor, manager or admin (mod_xml_cdr needs supervisor).
        #[arg(long)]
        role: Role,
    },
    /// Revoke an API token by name.
    Revoke { name: String },
}

#[derive(Subcommand)]
enum PhonebookCommand {
    /// Import contacts, organizations or assets from CSV, or contacts from vCard. Records with
    /// an external id are updated by it, so importing a file again is safe. Each row that is
    /// not imported is printed as `line N: reason`, and the exit status is 1 if there was one;
    /// a row saved without a number that could not be read is printed as
    /// `warning: line N: reason`, and columns that are not read are named once.
    Import {
        /// The file, or - for stdin.
        file: PathBuf,
        /// What the file holds: contacts, organizations or assets (default: told by the CSV
        /// header; vCard holds contacts).
        #[arg(long)]
        kind: Option<Kind>,
        /// csv, vcard or auto (default: by the file's extension, else by its first line).
        #[arg(long)]
        format: Option<Format>,
        /// The file's names for columns, as FILE_COLUMN=COLUMN, comma-separated or repeated:
        /// `--map email=emails,company=organization --map cell=phones:mobile`.
        #[arg(long, value_name = "FROM=TO,...")]
        map: Vec<ColumnMap>,
    },
    /// Export one kind of record as CSV, in the columns `import` reads.
    Export {
        /// contacts, organizations or assets.
        #[arg(long)]
        kind: Kind,
        /// Where to write (default: stdout).
        file: Option<PathBuf>,
    },
    /// Search names (typos, swapped, partial, either script) or number fragments, as agents
    /// do; one line per hit, best first: score, kind and id, name, organization. With a token
    /// (an API token, agent or above) it asks the running service at `http.listen`, whose
    /// book is in memory (milliseconds); without one, or when no service answers there, it
    /// reads the book from the database itself (seconds for a million contacts).
    Search {
        text: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// API token for the running service (`switchdesk token add NAME --role agent`).
        #[arg(long, env = "SWITCHDESK_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Bring the phone book in line with the sources in [phonebook.sync] (iTop, then LDAP):
    /// records upserted by the source's ids, those the source no longer has marked removed.
    /// Prints each source's counts and every refused value as `refused: ID (NAME): REASON`;
    /// the exit status is 1 if a source failed or something was refused.
    Sync {
        /// Only this source: itop or ldap (default: every configured one).
        #[arg(long)]
        source: Option<SourceName>,
    },
}

/// glibc gives threads that allocate at once arenas of their own (up to eight per core), and
/// an arena keeps what it once held as long as anything in it lives: with a million-contact
/// phone book loaded beside the runtime's workers and SQLite's, that was about 80 MB of
/// resident memory nobody used. Two arenas are enough for a service whose hot paths do not
/// allocate much. Set before any thread starts.
fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets one of glibc's allocator parameters; no pointer is involved.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> ExitCode {
    limit_allocator_arenas();
    let cli = Cli::parse();
    if cli.command.writes_to_a_pipe() {
        end_quietly_on_a_closed_pipe();
    }
    // `esl decode` needs neither configuration nor runtime.
    if let Command::Esl(EslCommand::Decode { file, max_frame }) = &cli.command {
        return report(decode(file, *max_frame));
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("switchdesk: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::CheckConfig = cli.command {
        println!("configuration is valid");
        println!(
            "  database: {}",
            service::describe_database(config.database.url.expose())
        );
        println!("  FreeSWITCH event socket: {}", config.esl.address());
        println!("  HTTP: {}", config.http.listen);
        if let Some(ldap) = &config.phonebook.sync.ldap {
            let when = match config.phonebook.sync.interval_minutes {
                0 => "on demand only".to_owned(),
                minutes => format!("at start and every {minutes} minutes"),
            };
            println!(
                "  phone-book sync: LDAP {} under {:?}, {when} (reachability is not checked)",
                ldap.url, ldap.base_dn
            );
        }
        let file = cli
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(switchdesk::config::DEFAULT_FILE));
        if !file.exists() {
            println!(
                "warning: no configuration file {}: defaults and SWITCHDESK_* variables only",
                file.display()
            );
        }
        for warning in config.warnings() {
            println!("warning: {warning}");
        }
        check_database(&config, cli.config.as_deref());
        return ExitCode::SUCCESS;
    }
    service::init_logging(&config.log);
    // Before anything hashes a password: the pool's size is fixed when it starts.
    users::start_hashing(config.http.login_workers, config.http.login_queue);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("switchdesk: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    report(runtime.block_on(run(cli.command, config, cli.config)))
}

impl Command {
    /// Commands whose output is read by another program (`| head`, `| grep`).
    fn writes_to_a_pipe(&self) -> bool {
        matches!(
            self,
            Command::Esl(_)
                | Command::Phonebook(_)
                | Command::User(UserCommand::List)
                | Command::CheckConfig
        )
    }
}

/// Rust ignores SIGPIPE, so a write to a closed pipe fails and `println!` panics; for the
/// commands that print for other programs, the reader closing the pipe ends the process
/// quietly, as it ends `cat` or `grep`. Never for `serve` or `demo`: a client closing its
/// socket must not stop the service.
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchdesk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config, file: Option<PathBuf>) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            first_run_hint(&config, file.as_deref()).await?;
            service::serve(config, service::shutdown_signal()).await
        }
        Command::Demo(args) => {
            let mut config = config;
            config.database.url = switchdesk::config::Secret::new(
                args.database
                    .unwrap_or_else(|| switchdesk::demo::DEMO_DATABASE.to_owned()),
            );
            if let Some(rate) = args.callers_per_minute {
                config.demo.callers_per_minute = rate;
                config.validate()?;
            }
            switchdesk::demo::run(config, args.listen, args.seed, service::shutdown_signal()).await
        }
        Command::Esl(EslCommand::Tail {
            events,
            format,
            stats,
            count,
        }) => tail(config, &events, format, TailMode { stats, count }).await,
        Command::Esl(EslCommand::Decode { .. }) | Command::CheckConfig => Ok(()),
        Command::Migrate => {
            let store = service::open_store(&config).await?;
            println!(
                "database is up to date ({})",
                service::describe_database(config.database.url.expose())
            );
            store.close().await;
            Ok(())
        }
        Command::User(command) => user(config, command).await,
        Command::Token(command) => token(config, command).await,
        Command::Phonebook(command) => phonebook(config, command).await,
        Command::Cdr(CdrCommand::Import { dir }) => import_cdrs(config, &dir).await,
    }
}

/// On a database with no user yet, the exact command that creates the first administrator.
async fn first_run_hint(config: &Config, file: Option<&Path>) -> anyhow::Result<()> {
    let store = service::open_store(config).await?;
    let users = store.list_users().await;
    store.close().await;
    if users?.is_empty() {
        println!("No user exists yet. {}", first_admin_hint(file));
    }
    Ok(())
}

/// How to create the first administrator, with the configuration file in use.
fn first_admin_hint(file: Option<&Path>) -> String {
    let with_file = file.map_or_else(String::new, |f| format!(" --config {}", f.display()));
    format!(
        "Create the first administrator (it prints the password):\n  \
         switchdesk{with_file} user add admin --role admin"
    )
}

/// `check-config`'s look at the database, read-only: a missing SQLite file is said, not
/// created; a database with no user gets the command that creates the first one.
fn check_database(config: &Config, file: Option<&Path>) {
    let url = config.database.url.expose();
    let peeked = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            runtime.block_on(async {
                let peek = switchdesk::store::Store::peek(url);
                tokio::time::timeout(std::time::Duration::from_secs(10), peek)
                    .await
                    .map_err(|_| anyhow::anyhow!("no answer within 10 s"))?
                    .map_err(anyhow::Error::from)
            })
        });
    match peeked {
        Ok(Peek::Missing(path)) => println!(
            "note: the database {} does not exist yet; `switchdesk serve` creates it \
             (check-config did not)",
            path.display()
        ),
        Ok(Peek::InMemory) => {}
        Ok(Peek::Users(0)) => {
            println!("warning: no users yet. {}", first_admin_hint(file));
        }
        Ok(Peek::Users(_)) => {}
        Err(e) => println!(
            "warning: cannot read the database {}: {e:#}",
            service::describe_database(url)
        ),
    }
}

fn decode(file: &PathBuf, max_frame: usize) -> anyhow::Result<()> {
    let stdout = std::io::stdout().lock();
    let frames = if file.as_os_str() == "-" {
        switchdesk::esl::decode::decode_stream(std::io::stdin().lock(), stdout, max_frame)?
    } else {
        let input =
            std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        switchdesk::esl::decode::decode_stream(std::io::BufReader::new(input), stdout, max_frame)?
    };
    eprintln!("{frames} frames");
    Ok(())
}

async fn tail(
    config: Config,
    events: &str,
    format: EventFormat,
    mode: TailMode,
) -> anyhow::Result<()> {
    let mut options = config.esl.connection_options("tail");
    options.format = format;
    options.reconnect = false;
    options.events = events
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let (connection, receiver) = switchdesk::esl::Connection::spawn_lossless(options);
    eprintln!("connecting to {}", config.esl.address());
    let started = std::time::Instant::now();
    let mut stdout = std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
    let (ending, totals) = switchdesk::esl::tail::run(
        receiver,
        mode,
        &mut stdout,
        &mut std::io::stderr(),
        service::shutdown_signal(),
    )
    .await?;
    connection.shutdown();
    let seconds = started.elapsed().as_secs_f64();
    let paused = connection
        .stats()
        .reads_paused
        .load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "{} events, {:.1} MB in {seconds:.1} s{}",
        totals.events,
        totals.bytes as f64 / 1e6,
        if paused > 0 {
            format!("; reading paused {paused} times while the output caught up (FreeSWITCH buffered, nothing was dropped)")
        } else {
            String::new()
        }
    );
    match ending {
        switchdesk::esl::tail::Ending::Orderly(reason) => {
            eprintln!("ended: {reason}");
            Ok(())
        }
        switchdesk::esl::tail::Ending::Lost(reason) => anyhow::bail!("disconnected: {reason}"),
    }
}

/// A password from stdin, or a generated one (printed once).
fn obtain_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        if std::io::stdin().is_terminal() {
            eprint!("password: ");
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(!password.is_empty(), "no password on stdin");
        Ok((password, false))
    } else {
        Ok((users::generate_password(), true))
    }
}

async fn user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let store = service::open_store(&config).await?;
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let (password, generated) = obtain_password(password_stdin)?;
            users::add_user(&store, &name, role, &password).await?;
            println!("user {name} added with role {role}");
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let (password, generated) = obtain_password(password_stdin)?;
            users::set_password(&store, &name, &password).await?;
            println!("password of {name} changed; their sessions are closed");
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            for user in store.list_users().await? {
                println!(
                    "{}\t{}{}",
                    user.name,
                    user.role,
                    if user.disabled { "\tdisabled" } else { "" }
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn token(config: Config, command: TokenCommand) -> anyhow::Result<()> {
    let store = service::open_store(&config).await?;
    match command {
        TokenCommand::Add { name, role } => {
            let token = users::add_api_token(&store, &name, role).await?;
            println!("{token}");
            eprintln!("token {name} ({role}) created; it is shown only now");
        }
        TokenCommand::Revoke { name } => {
            users::revoke_api_token(&store, &name).await?;
            println!("token {name} revoked");
        }
    }
    store.close().await;
    Ok(())
}

async fn phonebook(config: Config, command: PhonebookCommand) -> anyhow::Result<()> {
    if let PhonebookCommand::Search { text, limit, token } = command {
        return search_phonebook(&config, &text, limit, token).await;
    }
    let store = service::open_store(&config).await?;
    let result = match command {
        PhonebookCommand::Import {
            file,
            kind,
            format,
            map,
        } => {
            let numbering = config.phonebook.numbering().map_err(anyhow::Error::msg)?;
            import_phonebook(&store, &numbering, &file, kind, format, map).await
        }
        PhonebookCommand::Export { kind, file } => export_phonebook(&store, kind, file).await,
        PhonebookCommand::Search { .. } => Ok(()),
        PhonebookCommand::Sync { source } => {
            let numbering = config.phonebook.numbering().map_err(anyhow::Error::msg)?;
            sync_phonebook(&store, &numbering, &config.phonebook.sync, source).await
        }
    };
    store.close().await;
    result
}

async fn import_cdrs(config: Config, dir: &Path) -> anyhow::Result<()> {
    let store = service::open_store(&config).await?;
    let numbering = config.phonebook.numbering().map_err(anyhow::Error::msg)?;
    let phonebook =
        std::sync::Arc::new(switchdesk::directory::PhoneBook::load(&store, numbering).await?);
    let (events, _) = tokio::sync::broadcast::channel(16);
    let webhook = config
        .webhook
        .enabled()
        .then(|| std::sync::Arc::new(tokio::sync::Notify::new()));
    // Faxes in the backfilled CDRs are recorded, and their mails wait in the outbox for the
    // service to send.
    let fax = switchdesk::fax::FaxDesk::new(
        store.clone(),
        phonebook.clone(),
        config.fax_settings(),
        switchdesk::mail::Outbox::new(),
    );
    let ingest = service::start_cdr_ingest(&config, &store, phonebook, events, webhook, Some(fax));
    // The bar appears with the first file done, once the backfill knows how many there are.
    let mut bar: Option<ProgressBar> = None;
    let on_terminal = std::io::stderr().is_terminal();
    let report = switchdesk::cdr::backfill::backfill(&ingest, dir, |done, total| {
        if !on_terminal {
            return;
        }
        bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("[{elapsed_precise}] {wide_bar} {pos}/{len} CDRs")
            {
                bar.set_style(style);
            }
            bar
        })
        .set_position(done as u64);
    })
    .await
    .with_context(|| format!("reading {}", dir.display()));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = report?;
    for (path, reason) in &report.failed {
        eprintln!("{}: {reason}", path.display());
    }
    println!(
        "{} CDRs: {} stored, {} already known, {} failed",
        report.stored + report.duplicates + report.failed.len(),
        report.stored,
        report.duplicates,
        report.failed.len()
    );
    drop(ingest);
    store.close().await;
    anyhow::ensure!(
        report.failed.is_empty(),
        "{} CDR files were not imported",
        report.failed.len()
    );
    Ok(())
}

/// One line of `phonebook search`'s output, from the service's answer or the local book.
#[derive(serde::Deserialize)]
struct SearchHit {
    #[serde(rename = "type")]
    kind: String,
    id: i64,
    name: String,
    organization: Option<SearchOrganization>,
    vip: bool,
    score: f32,
}

#[derive(serde::Deserialize)]
struct SearchOrganization {
    name: String,
}

async fn search_phonebook(
    config: &Config,
    text: &str,
    limit: usize,
    token: Option<String>,
) -> anyhow::Result<()> {
    let limit = limit.clamp(1, 100);
    let asked = match token {
        Some(token) => ask_the_service(config, &token, text, limit).await?,
        None => None,
    };
    let hits = match asked {
        Some(hits) => hits,
        None => search_here(config, text, limit).await?,
    };
    if hits.is_empty() {
        eprintln!("nothing found for {text:?}");
    }
    for hit in hits {
        let organization = hit.organization.map(|o| format!("  ({})", o.name));
        let vip = if hit.vip { "  VIP" } else { "" };
        println!(
            "{:.2}  {} {}  {}{}{vip}",
            hit.score,
            hit.kind,
            hit.id,
            hit.name,
            organization.unwrap_or_default()
        );
    }
    Ok(())
}

/// The running service's answer to `GET /api/contacts/search`; `None` when no service
/// answers at `http.listen` (then the caller searches here). A service that answers but
/// refuses (a wrong token) is an error, not a reason to search elsewhere.
async fn ask_the_service(
    config: &Config,
    token: &str,
    text: &str,
    limit: usize,
) -> anyhow::Result<Option<Vec<SearchHit>>> {
    let mut address = config.http.listen;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let sent = client
        .get(format!("http://{address}/api/contacts/search"))
        .query(&[("q", text), ("limit", &limit.to_string())])
        .bearer_auth(token)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) if e.is_connect() || e.is_timeout() => {
            eprintln!("no service answered at http://{address} ({e}); reading the book here");
            return Ok(None);
        }
        Err(e) => return Err(e).context(format!("asking the service at http://{address}")),
    };
    let status = response.status();
    anyhow::ensure!(
        status.is_success(),
        "the service at http://{address} answered {status}{}",
        if status.as_u16() == 401 || status.as_u16() == 403 {
            " (the token is not an agent's or above)"
        } else {
            ""
        }
    );
    Ok(Some(response.json().await.with_context(|| {
        format!("reading the answer of http://{address}")
    })?))
}

/// The search without a service: the book read from the database into memory here.
async fn search_here(config: &Config, text: &str, limit: usize) -> anyhow::Result<Vec<SearchHit>> {
    use switchdesk::directory::{FoundRecord, PhoneBook};
    let numbering = config.phonebook.numbering().map_err(anyhow::Error::msg)?;
    let store = service::open_store(config).await?;
    let book = PhoneBook::load(&store, numbering).await;
    store.close().await;
    Ok(book?
        .search(text, limit)
        .into_iter()
        .map(|hit| {
            let (kind, id) = match hit.record {
                FoundRecord::Contact(id) => ("contact", id),
                FoundRecord::Organization(id) => ("organization", id),
            };
            SearchHit {
                kind: kind.to_owned(),
                id,
                name: hit.name,
                organization: hit
                    .organization
                    .map(|o| SearchOrganization { name: o.name }),
                vip: hit.vip,
                score: hit.score,
            }
        })
        .collect())
}

async fn import_phonebook(
    store: &switchdesk::store::Store,
    numbering: &Numbering,
    file: &Path,
    kind: Option<Kind>,
    format: Option<Format>,
    maps: Vec<ColumnMap>,
) -> anyhow::Result<()> {
    let mut map = ColumnMap::default();
    for more in maps {
        map.extend(more)?;
    }
    let from_stdin = file.as_os_str() == "-";
    let input: Box<dyn Read + Send> = if from_stdin {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(file).with_context(|| format!("opening {}", file.display()))?)
    };
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    let format = format.unwrap_or_else(|| Format::from_path(file));
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| import_progress_bar(size, from_stdin));
    let mut progress = |progress: Progress<'_>| {
        let say = || {
            for failure in progress.new_failures {
                eprintln!("{failure}");
            }
            for warning in progress.new_warnings {
                eprintln!("warning: {warning}");
            }
        };
        match &bar {
            Some(bar) => {
                bar.suspend(say);
                bar.set_position(progress.bytes_read);
                bar.set_message(format!(
                    "{} rows, {} failed, {} with warnings",
                    progress.rows, progress.failed, progress.warned
                ));
            }
            None => say(),
        }
    };
    let report = switchdesk::directory::import::import(
        store,
        numbering,
        input,
        format,
        kind,
        &map,
        &mut progress,
    )
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = report.with_context(|| format!("importing {}", file.display()))?;
    if !report.ignored_columns.is_empty() {
        eprintln!(
            "warning: columns not read (not {} columns; see --map): {}",
            report.kind,
            report.ignored_columns.join(", ")
        );
    }
    println!("{}", import_summary(&report));
    anyhow::ensure!(
        report.failed == 0,
        "{} of {} rows were not imported",
        report.failed,
        report.rows
    );
    Ok(())
}

fn import_progress_bar(size: u64, from_stdin: bool) -> ProgressBar {
    let (bar, template) = if from_stdin || size == 0 {
        (ProgressBar::new_spinner(), "{spinner} {bytes} read, {msg}")
    } else {
        (
            ProgressBar::new(size),
            "[{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
        )
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn import_summary(report: &ImportReport) -> String {
    let mut summary = format!(
        "{}: {} rows read, {} saved ({} created, {} updated), {} failed, {} saved with warnings",
        report.kind,
        report.rows,
        report.saved,
        report.created,
        report.updated,
        report.failed,
        report.warned
    );
    if report.organizations_created > 0 {
        summary += &format!(
            "\norganizations created from the names contacts gave: {}",
            report.organizations_created
        );
    }
    if report.without_external_id > 0 {
        summary += &format!(
            "\nsaved rows without an external_id (importing the file again adds them again): {}",
            report.without_external_id
        );
    }
    summary
}

/// A source's progress: a spinner on a terminal, else a line per page.
struct SyncProgress {
    source: SourceName,
    bar: Option<ProgressBar>,
}

impl sync::Progress for SyncProgress {
    fn fetched(&self, what: &'static str, done: usize, total: Option<usize>) {
        let line = match total {
            Some(total) => format!("{}: {done}/{total} {what} read", self.source),
            None => format!("{}: {done} {what} read", self.source),
        };
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None => eprintln!("{line}"),
        }
    }
}

impl Drop for SyncProgress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

async fn sync_phonebook(
    store: &switchdesk::store::Store,
    numbering: &Numbering,
    config: &sync::SyncConfig,
    only: Option<SourceName>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        only.is_some() || config.has_sources(),
        "no source to sync from: configure [phonebook.sync.itop] or [phonebook.sync.ldap] (see the README)"
    );
    let on_terminal = std::io::stderr().is_terminal();
    let progress_for = |source: SourceName| -> Box<dyn sync::Progress> {
        let bar = on_terminal.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_message(format!("{source}: reading"));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Box::new(SyncProgress { source, bar })
    };
    let outcomes = sync::run(config, store, numbering, only, &progress_for).await;
    let mut failed = Vec::new();
    let mut refused = 0;
    for outcome in &outcomes {
        match &outcome.result {
            Ok(report) => {
                println!("{}", report.summary());
                for refusal in &report.refused {
                    println!("refused: {refusal}");
                }
                let unlisted = report.refused_count - report.refused.len() as u64;
                if unlisted > 0 {
                    println!("refused: {unlisted} more not listed");
                }
                for warning in &report.warnings {
                    println!("warning: {}: {warning}", outcome.source);
                }
                refused += report.refused_count;
            }
            Err(e) => {
                eprintln!("switchdesk: sync failed: {e}");
                failed.push(outcome.source.as_str());
            }
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "the sync from {} failed (nothing of it was removed)",
        failed.join(" and ")
    );
    anyhow::ensure!(refused == 0, "{refused} values were refused (listed above)");
    Ok(())
}

async fn export_phonebook(
    store: &switchdesk::store::Store,
    kind: Kind,
    file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let output: Box<dyn Write + Send> = match &file {
        Some(path) if path.as_os_str() != "-" => {
            Box::new(File::create(path).with_context(|| format!("creating {}", path.display()))?)
        }
        _ => Box::new(std::io::stdout()),
    };
    let output = std::io::BufWriter::new(output);
    let report = switchdesk::directory::export::export(store, kind, output).await?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    eprintln!("{kind} exported: {}", report.rows);
    Ok(())
}
