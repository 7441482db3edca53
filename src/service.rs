//! Wiring for `serve` and `demo`: configuration → store → web, and the ESL connection → metrics.
//! No business rules live here; each piece is built by its own module and only connected here.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::{self, Receiver};
use tokio::sync::Notify;

use crate::acd::{AgentConfig, AgentStatus, Membership, Overflow, QueueConfig};
use crate::blocklist::Blocklist;
use crate::cdr::{CdrIngest, IngestSettings};
use crate::config::{Config, LogConfig, Secret};
use crate::directory::PhoneBook;
use crate::esl::{Connection, ConnectionEvent, Continuity, Links};
use crate::fax::{self, FaxDesk};
use crate::fsarg::{Endpoint, Extension};
use crate::mail::{run_outbox, Outbox, SmtpMailer};
use crate::metrics::{
    Metrics, CDR_RECEIVED_TOTAL, CDR_RESULTS, ESL_CONNECTED, ESL_EVENTS_SHED_TOTAL,
    ESL_EVENTS_TOTAL, ESL_RECONNECTS_TOTAL, LAGGED_QUEUES, SWITCHBOARD_LAGGED_TOTAL,
};
use crate::sim::traffic::{run_traffic, TrafficAgent, TrafficConfig};
use crate::sim::{CdrTarget, Route, SimConfig, Simulator};
use crate::stats::StatsRecorder;
use crate::store::Store;
use crate::supervise::{Policy, Tasks};
use crate::switch::{Board, BoardOptions, EVENTS};
use crate::tickets;
use crate::users::{self, Role};
use crate::web::{self, AppState};

/// Logs go to stderr (stdout belongs to commands that print data, like `esl tail`).
pub fn init_logging(config: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

/// A database URL fit for a log line: the password, if any, is replaced.
pub fn describe_database(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Opens (and migrates) the configured database, saying which one when it cannot.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::connect(
        config.database.url.expose(),
        config.database.max_connections,
    )
    .await
    .with_context(|| {
        format!(
            "opening {}",
            describe_database(config.database.url.expose())
        )
    })
}

/// The real service: FreeSWITCH over ESL, the database, the dashboard.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding HTTP on {}", config.http.listen))?;
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    println!(
        "switchdesk serves the dashboard at http://{}/",
        listener.local_addr()?
    );
    run(config, listener, shutdown).await
}

/// Runs the service on an already bound listener until `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_supervised(config, listener, shutdown, Tasks::new(Metrics::new())).await
}

/// [`run`] with its long-lived tasks supervised by `tasks` (and its metrics in
/// `tasks.metrics()`), so a test can watch them.
pub async fn run_supervised(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    tasks: Tasks,
) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let metrics = tasks.metrics().clone();
    let mut background = Vec::new();
    let mut nodes = Vec::new();
    let mut connections = Vec::new();
    let mut fax_feeds = Vec::new();
    let links = Links::new();
    for (name, node) in config.esl.all_nodes() {
        let mut options = node.connection_options(&name);
        options.events = EVENTS
            .iter()
            .chain(fax::desk::EVENTS)
            .map(|e| (*e).to_owned())
            .collect();
        prime_node_metrics(&metrics, &name, &options.events);
        links.register(&name, &options.address);
        let (connection, events) = Connection::spawn_supervised(options, &tasks);
        let (counted, metrics, node) = (connection.clone(), metrics.clone(), name.clone());
        let watched = links.clone();
        // Subscribed before the first connect completes, so it is seen; a restarted task
        // subscribes again and takes the link as it finds it.
        let mut first = Some(connection.subscribe());
        background.push(tasks.spawn(
            format!("esl-metrics:{name}"),
            Policy::RestartOnPanic,
            move || {
                let feed = first.take().unwrap_or_else(|| counted.subscribe());
                if counted.is_connected() {
                    watched.assume_connected(&node, users::now_millis());
                    metrics.set(ESL_CONNECTED, "", &[("node", node.as_str())], 1.0);
                }
                record_esl_metrics(
                    feed,
                    counted.clone(),
                    metrics.clone(),
                    watched.clone(),
                    node.clone(),
                )
            },
        ));
        fax_feeds.push((name.clone(), connection.clone(), connection.subscribe()));
        connections.push(connection.clone());
        nodes.push((connection, events));
    }
    let numbering = config.phonebook.numbering().map_err(anyhow::Error::msg)?;
    let phonebook = Arc::new(PhoneBook::load(&store, numbering.clone()).await?);
    let mailer = SmtpMailer::new(&config.smtp).context("setting up [smtp]")?;
    let outbox = Outbox::new();
    let (sender, policy, queued) = (store.clone(), config.fax.retry_policy(), outbox.clone());
    background.push(tasks.spawn("outbox", Policy::Restart, move || {
        run_outbox(sender.clone(), mailer.clone(), policy, queued.clone())
    }));
    let fax_desk = FaxDesk::new(store.clone(), phonebook.clone(), config.fax.clone(), outbox);
    for (node, connection, feed) in fax_feeds {
        // The first run reads from before the first connect; a restarted one subscribes
        // again (a fax it missed arrives with its CDR).
        let mut first = Some(feed);
        let desk = fax_desk.clone();
        background.push(tasks.spawn(
            format!("fax-watcher:{node}"),
            Policy::RestartOnPanic,
            move || {
                let feed = first.take().unwrap_or_else(|| connection.subscribe());
                fax::watch_node(feed, desk.clone(), node.clone())
            },
        ));
    }
    let (book_store, book) = (store.clone(), phonebook.clone());
    background.push(tasks.spawn("phonebook-catch-up", Policy::Restart, move || {
        keep_phonebook_current(book_store.clone(), book.clone())
    }));
    let blocklist = Arc::new(Blocklist::new(store.blocks().await?));
    let options = BoardOptions {
        transfer_context: config.switch.transfer_context.clone(),
        seed: rand::random(),
        identity: phonebook.clone(),
        blocklist: blocklist.clone(),
        numbering,
        tasks: tasks.clone(),
        inbox_capacity: crate::switch::INBOX_CAPACITY,
        stats: config.stats.clone(),
    };
    let board = Board::start(
        nodes,
        store.clone(),
        &config.queues,
        &config.agents,
        options,
    )
    .await?;
    // Subscribed right after the switchboard starts, before anything else is awaited: its
    // first updates follow a node's first resync, a network round trip later.
    let stats = StatsRecorder::start(&board, store.clone(), &config.stats, &tasks);
    prime_service_metrics(&metrics, &board).await;
    let (ticket_events, _) = broadcast::channel(TICKET_EVENT_BUFFER);
    let webhook = config.webhook.enabled().then(|| Arc::new(Notify::new()));
    let cdrs = supervised_cdr_ingest(
        &config,
        &store,
        phonebook.clone(),
        ticket_events.clone(),
        webhook.clone(),
        Some(fax_desk.clone()),
        &tasks,
    );
    let (sla_store, sla_events, sla_webhook) =
        (store.clone(), ticket_events.clone(), webhook.clone());
    background.push(tasks.spawn("sla-watcher", Policy::Restart, move || {
        tickets::sla::watch(
            sla_store.clone(),
            sla_events.clone(),
            sla_webhook.clone(),
            SLA_CHECK,
        )
    }));
    if let Some(wake) = &webhook {
        let (hook_store, hook_config, wake) = (store.clone(), config.webhook.clone(), wake.clone());
        background.push(tasks.spawn("webhook", Policy::Restart, move || {
            tickets::webhook::deliver_forever(hook_store.clone(), hook_config.clone(), wake.clone())
        }));
    }
    let live = live_hub(&board, &store, &phonebook, &ticket_events, &tasks);
    let state = AppState {
        store: store.clone(),
        board,
        metrics,
        config: Arc::new(config),
        phonebook,
        blocklist,
        cdrs,
        ticket_events,
        webhook,
        fax: fax_desk,
        live,
        tasks,
        links,
    };
    let served = web::serve(listener, state, shutdown).await;
    // The last seconds of statistics, before the next process reads the day's sums.
    stats.flush().await;
    for task in background {
        task.abort();
    }
    for connection in connections {
        connection.shutdown();
    }
    store.close().await;
    served
}

/// The API's state over `store` with no FreeSWITCH attached: queues empty, no outbox worker
/// (mail waits in the outbox), CDR ingest running. For tools and tests that serve the API
/// alone; `run` builds the real one.
pub async fn state_without_switch(
    config: Config,
    store: &Store,
    phonebook: Arc<PhoneBook>,
) -> anyhow::Result<AppState> {
    let blocklist = Arc::new(Blocklist::new(store.blocks().await?));
    let tasks = Tasks::new(Metrics::new());
    let options = BoardOptions {
        identity: phonebook.clone(),
        blocklist: blocklist.clone(),
        numbering: phonebook.numbering().clone(),
        tasks: tasks.clone(),
        stats: config.stats.clone(),
        ..BoardOptions::new(rand::random())
    };
    let board = Board::start(Vec::new(), store.clone(), &[], &[], options).await?;
    let (ticket_events, _) = broadcast::channel(TICKET_EVENT_BUFFER);
    let fax = FaxDesk::new(
        store.clone(),
        phonebook.clone(),
        config.fax.clone(),
        Outbox::new(),
    );
    let cdrs = supervised_cdr_ingest(
        &config,
        store,
        phonebook.clone(),
        ticket_events.clone(),
        None,
        Some(fax.clone()),
        &tasks,
    );
    let live = live_hub(&board, store, &phonebook, &ticket_events, &tasks);
    Ok(AppState {
        store: store.clone(),
        board,
        metrics: tasks.metrics().clone(),
        config: Arc::new(config),
        phonebook,
        blocklist,
        cdrs,
        ticket_events,
        webhook: None,
        fax,
        live,
        tasks,
        links: Links::new(),
    })
}

/// The live feed over the switchboard's updates and the ticket events.
fn live_hub(
    board: &Board,
    store: &Store,
    phonebook: &Arc<PhoneBook>,
    ticket_events: &broadcast::Sender<tickets::TicketEvent>,
    tasks: &Tasks,
) -> crate::live::Hub {
    let sources = crate::live::Sources {
        board: board.clone(),
        updates: board.subscribe(),
        tickets: ticket_events.subscribe(),
        store: store.clone(),
        phonebook: phonebook.clone(),
    };
    crate::live::Hub::start(sources, tasks)
}

/// The one CDR writer over `store`, filing calls by the configured rules; a configured webhook
/// gets every ticket change queued (and `webhook` woken). Supervised on its own (for tools).
pub fn start_cdr_ingest(
    config: &Config,
    store: &Store,
    phonebook: Arc<PhoneBook>,
    events: broadcast::Sender<tickets::TicketEvent>,
    webhook: Option<Arc<Notify>>,
    fax: Option<FaxDesk>,
) -> CdrIngest {
    let tasks = Tasks::new(Metrics::new());
    supervised_cdr_ingest(config, store, phonebook, events, webhook, fax, &tasks)
}

fn supervised_cdr_ingest(
    config: &Config,
    store: &Store,
    phonebook: Arc<PhoneBook>,
    events: broadcast::Sender<tickets::TicketEvent>,
    webhook: Option<Arc<Notify>>,
    fax: Option<FaxDesk>,
    tasks: &Tasks,
) -> CdrIngest {
    CdrIngest::start(IngestSettings {
        store: store.clone(),
        rules: config.tickets.clone(),
        numbering: phonebook.numbering().clone(),
        identity: phonebook,
        events,
        webhook,
        fax,
        tasks: tasks.clone(),
    })
}

/// Ticket changes buffered for each dashboard subscriber.
const TICKET_EVENT_BUFFER: usize = 1024;

/// How often SLA clocks are checked for breaches.
const SLA_CHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// How often the phone book looks for records written by another process.
const PHONEBOOK_CATCH_UP: std::time::Duration = std::time::Duration::from_secs(30);

/// Applies imports made next to the running service (`switchdesk phonebook import`), so
/// callers are identified from them without a restart.
async fn keep_phonebook_current(store: Store, phonebook: Arc<PhoneBook>) {
    let mut every = tokio::time::interval(PHONEBOOK_CATCH_UP);
    every.tick().await;
    loop {
        every.tick().await;
        match phonebook.catch_up(&store).await {
            Ok(0) => {}
            Ok(applied) => tracing::info!(applied, "phone book caught up with the database"),
            Err(e) => tracing::warn!("phone book catch-up failed: {e}"),
        }
    }
}

/// A node's series at zero before anything happens on it: its link, reconnects, lags, and
/// the events it is subscribed to.
fn prime_node_metrics(metrics: &Metrics, node: &str, events: &[String]) {
    metrics.set(ESL_CONNECTED, "", &[("node", node)], 0.0);
    metrics.zero(ESL_RECONNECTS_TOTAL, &[("node", node)]);
    for queue in LAGGED_QUEUES {
        metrics.zero(
            SWITCHBOARD_LAGGED_TOTAL,
            &[("node", node), ("queue", queue)],
        );
    }
    for event in events {
        metrics.zero(ESL_EVENTS_TOTAL, &[("event", event)]);
    }
}

/// The service's own series at zero, and every configured queue and agent as the engine
/// starts with them.
async fn prime_service_metrics(metrics: &Metrics, board: &Board) {
    metrics.zero(ESL_EVENTS_SHED_TOTAL, &[]);
    for result in CDR_RESULTS {
        metrics.zero(CDR_RECEIVED_TOTAL, &[("result", result)]);
    }
    match board.queues().await {
        Ok(views) => crate::metrics::queues::record(metrics, &views),
        Err(e) => tracing::warn!("queue metrics wait for the first scrape: {e}"),
    }
}

/// Counts what one node's ESL connection sees, for `/metrics` and the dashboard; its link
/// state and reconnects carry the node's name. The node's link (`links`) follows it too.
async fn record_esl_metrics(
    mut events: Receiver<ConnectionEvent>,
    connection: Connection,
    metrics: Arc<Metrics>,
    links: Links,
    name: String,
) {
    let node = [("node", name.as_str())];
    let mut connected_before = false;
    let mut continuity = Continuity::default();
    loop {
        let seen = events.recv().await;
        if let Ok(seen) = &seen {
            links.observe(&name, seen, users::now_millis());
        }
        match seen {
            Ok(ConnectionEvent::Events(batch)) => {
                let missed = continuity.missed_before(&batch);
                if missed > 0 {
                    tracing::warn!(
                        missed,
                        "metrics fell behind the event socket; events were shed"
                    );
                    metrics.inc(
                        ESL_EVENTS_SHED_TOTAL,
                        "Events a slow consumer missed.",
                        &[],
                        missed,
                    );
                }
                for event in &batch {
                    let name = event.name();
                    let name = name.as_deref().unwrap_or("UNKNOWN");
                    metrics.inc(
                        ESL_EVENTS_TOTAL,
                        "Events received from FreeSWITCH, by event name.",
                        &[("event", name)],
                        1,
                    );
                }
            }
            Ok(ConnectionEvent::Connected { .. }) => {
                // The switch's version and uptime at once, not at its first heartbeat; asked
                // aside, so events keep being counted meanwhile.
                let (asking, links, name) = (connection.clone(), links.clone(), name.clone());
                tokio::spawn(async move {
                    match asking.api("status").await {
                        Ok(reply) => links.read_status(&name, &reply),
                        Err(e) => tracing::debug!(node = %name, "api status failed: {e}"),
                    }
                });
                metrics.set(
                    ESL_CONNECTED,
                    "1 while the event socket is connected and subscribed.",
                    &node,
                    1.0,
                );
                if connected_before {
                    metrics.inc(
                        ESL_RECONNECTS_TOTAL,
                        "Event-socket reconnects after a lost connection.",
                        &node,
                        1,
                    );
                }
                connected_before = true;
            }
            Ok(ConnectionEvent::Disconnected { .. }) => {
                metrics.set(
                    ESL_CONNECTED,
                    "1 while the event socket is connected and subscribed.",
                    &node,
                    0.0,
                );
            }
            // Counted in events at the next batch, from the sequence numbers.
            Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => break,
        }
    }
}

/// `switchdesk demo`: the service against the simulated switch, with a synthetic day of callers
/// and a login printed on the terminal (`demo.password`, or a fresh one).
pub async fn demo(
    mut config: Config,
    listen: SocketAddr,
    seed: u64,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the dashboard on {listen}"))?;
    let esl_password = users::generate_password();
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // The simulated voicemail answers, records a few seconds and hangs up, as the shipped
    // dialplan does (freeswitch/dialplan/default/50_switchdesk_voicemail.xml).
    let voicemail = vec![
        ("answer".to_owned(), String::new()),
        ("set".to_owned(), "switchdesk_voicemail=true".to_owned()),
        ("sleep".to_owned(), "4000".to_owned()),
        ("hangup".to_owned(), "NORMAL_CLEARING".to_owned()),
    ];
    // The simulated switch posts every CDR to the service, as mod_xml_cdr would.
    let cdr_password = users::generate_password();
    config.cdr.password = Secret::new(cdr_password.clone());
    let cdr_target = CdrTarget {
        username: Some(config.cdr.username.clone()),
        password: Some(cdr_password),
        retries: 5,
        retry_delay: std::time::Duration::from_secs(2),
        ..CdrTarget::new(format!("http://{}/api/cdr", listener.local_addr()?))
    };
    let sim_config = SimConfig {
        password: esl_password.clone(),
        seed,
        cdr: Some(cdr_target),
        dialplan: vec![
            Route::queue("7000", "support"),
            Route::apps("voicemail", voicemail),
        ],
        ..SimConfig::default()
    };
    let sim = Simulator::start(sim_listener, sim_config).await?;
    config.esl.host = sim.addr().ip().to_string();
    config.esl.port = sim.addr().port();
    config.esl.password = Secret::new(esl_password);

    // The simulated switch writes no fax files of its own; a spool that exists keeps the
    // demo's log free of the warning a real service gives for a missing one.
    if !config.fax.spool_dir.is_dir() {
        let spool = std::env::temp_dir().join("switchdesk-demo-fax");
        std::fs::create_dir_all(&spool)
            .with_context(|| format!("creating the demo's fax spool {}", spool.display()))?;
        config.fax.spool_dir = spool;
    }
    // The demo's book holds Russian, British and American customers, as its teams' do.
    if config.phonebook.default_region.is_none() {
        config.phonebook.default_region = Some("RU".into());
        config.phonebook.regions = vec!["GB".into(), "US".into()];
    }
    if config.queues.is_empty() {
        config.queues = vec![demo_queue()];
        config.agents = (1001..=1005).map(demo_agent).collect();
    }
    let (login, regulars) = prepare_demo(&config, seed).await?;
    let (stop_traffic, traffic_stopped) = tokio::sync::watch::channel(false);
    let traffic = TrafficConfig {
        seed,
        callers_per_minute: config.demo.callers_per_minute,
        agents: (1001..=1005)
            .map(|n| TrafficAgent::new(format!("user/{n}@default")))
            .collect(),
        regulars,
        regular_share: 0.5,
        ..TrafficConfig::default()
    };
    tokio::spawn(run_traffic(sim.clone(), traffic, traffic_stopped));

    let address = listener.local_addr()?;
    println!(
        "switchdesk demo is running (simulated FreeSWITCH at {}, seed {seed})",
        sim.addr()
    );
    println!(
        "  database:  {} (the demo's own)",
        describe_database(config.database.url.expose())
    );
    println!(
        "  numbers:   read in {} (phonebook.default_region, phonebook.regions)",
        config
            .phonebook
            .numbering()
            .map_or_else(|e| e, |n| n.regions_label())
    );
    println!("  dashboard: http://{address}/");
    println!("  login:     {} / {}", DEMO_USER, login);
    println!("Press Ctrl-C to stop.");
    let served = run(config, listener, shutdown).await;
    let _ = stop_traffic.send(true);
    sim.shutdown();
    served
}

const DEMO_USER: &str = "demo";

/// What an hour of a demo agent costs, in cents.
const DEMO_HOURLY_RATE_CENTS: i64 = 3_600;

/// Organizations and contacts of the demo's phone book (made once, on an empty book).
const DEMO_ORGANIZATIONS: usize = 40;
const DEMO_CONTACTS: usize = 2_000;
/// How many of them call the demo's support line again and again.
const DEMO_REGULARS: u32 = 150;

/// Fills an empty phone book with a generated one, and returns some of its contacts as
/// callers for the synthetic day, so the queues show identified callers.
async fn demo_phonebook(store: &Store, seed: u64) -> anyhow::Result<Vec<(String, String)>> {
    use crate::directory::model::{Contact, Number, NumberKind, Organization};
    use crate::directory::sample;
    if store.count_records::<Contact>().await? == 0 {
        let mut organization_ids = std::collections::HashMap::new();
        for organization in sample::organizations(seed, DEMO_ORGANIZATIONS) {
            let numbers = organization
                .numbers
                .iter()
                .map(|n| (n, NumberKind::Main))
                .chain(organization.ranges.iter().map(|r| (r, NumberKind::Range)))
                .map(|(number, kind)| Number {
                    number: number.clone(),
                    kind,
                })
                .collect();
            let id = store
                .save_record(&Organization {
                    name: organization.name.clone(),
                    numbers,
                    vip: organization.vip,
                    ..Default::default()
                })
                .await?;
            // A monthly support fee, so the demo's profitability report has margins.
            let fee = 50_000 + i64::try_from(organization_ids.len()).unwrap_or(0) * 7_500;
            store.set_organization_fee(id, fee).await?;
            organization_ids.insert(organization.name, id);
        }
        let contacts: Vec<Contact> = sample::contacts(seed, DEMO_CONTACTS)
            .map(|c| Contact {
                organization_id: c
                    .organization
                    .as_ref()
                    .and_then(|name| organization_ids.get(name).copied()),
                first_name: match &c.middle_name {
                    Some(middle) => format!("{} {middle}", c.first_name),
                    None => c.first_name.clone(),
                },
                last_name: c.last_name.clone(),
                numbers: c
                    .numbers
                    .iter()
                    .map(|n| Number {
                        number: n.clone(),
                        kind: NumberKind::Mobile,
                    })
                    .collect(),
                emails: c.email.iter().cloned().collect(),
                vip: c.vip,
                ..Default::default()
            })
            .collect();
        for batch in contacts.chunks(500) {
            store.save_records(batch).await?;
        }
    }
    let regulars = store
        .records_after::<Contact>(0, DEMO_REGULARS * 4)
        .await?
        .into_iter()
        // Regulars are business customers: people the book places in an organization.
        .filter(|c| c.organization_id.is_some())
        .take(DEMO_REGULARS as usize)
        .filter_map(|c| {
            let number = c.numbers.first()?.number.clone();
            Some((number, c.display_name()))
        })
        .collect();
    Ok(regulars)
}

/// The demo's support line: hold music from a tone (the simulator has no sound files),
/// announcements, a callback key and an exit to voicemail.
fn demo_queue() -> QueueConfig {
    let mut queue = QueueConfig::named("support");
    // Literals, checked by `tests::the_demo_queue_is_valid`.
    queue.prompts.hold_music = "tone_stream://%(1000,4000,440);loops=-1"
        .parse()
        .expect("a tone_stream:// literal");
    queue.max_wait_secs = 300;
    let voicemail: Extension = "voicemail".parse().expect("an extension literal");
    queue.overflow = Overflow::Extension(voicemail.clone());
    queue.callbacks.key = Some('1');
    // The simulated PSTN: every caller of the synthetic day can be called back there.
    queue.callbacks.dial = "user/{number}@pstn".parse().expect("a dial literal");
    queue.exit_key = Some('0');
    queue.exit_extension = Some(voicemail);
    queue.wrap_up_secs = 5;
    queue
}

fn demo_agent(extension: u32) -> AgentConfig {
    AgentConfig {
        name: format!("agent{extension}"),
        endpoint: Endpoint::parse(&format!("user/{extension}@default"))
            .expect("digits make a dial string"),
        queues: vec![Membership {
            queue: "support".into(),
            tier: 1 + (extension - 1001) / 4,
            position: extension - 1000,
        }],
    }
}

/// Makes sure the demo user exists with a known password and the demo agents are on duty;
/// returns the password.
async fn prepare_demo(
    config: &Config,
    seed: u64,
) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let password = match config.demo.password.expose() {
        "" => users::generate_password(),
        chosen => chosen.to_owned(),
    };
    let store = open_store(config).await?;
    let prepared = match refuse_foreign_database(&store, config).await {
        Ok(()) => prepare_demo_store(&store, config, &password, seed).await,
        Err(refused) => Err(refused),
    };
    store.close().await;
    Ok((password, prepared?))
}

/// The demo seeds a fake contact center (its admin, 2,000 contacts, fees, synthetic calls):
/// only into a database that is empty or that an earlier demo made.
async fn refuse_foreign_database(store: &Store, config: &Config) -> anyhow::Result<()> {
    let foreign: Vec<String> = store
        .list_users()
        .await?
        .into_iter()
        .map(|user| user.name)
        .filter(|name| name != DEMO_USER)
        .collect();
    let demo_made = store.user_by_name(DEMO_USER).await?.is_some();
    let contacts = store
        .count_records::<crate::directory::model::Contact>()
        .await?;
    let why = if !foreign.is_empty() {
        format!(
            "it has users the demo did not create ({})",
            foreign.join(", ")
        )
    } else if !demo_made && contacts > 0 {
        format!("it holds {contacts} contacts the demo did not create")
    } else {
        return Ok(());
    };
    anyhow::bail!(
        "the demo will not seed {}: {why}. It runs on a database of its own ({DEMO_DATABASE} \
         by default); give `demo --database URL` an empty one",
        describe_database(config.database.url.expose())
    )
}

/// Where the demo keeps its fake contact center unless `demo --database` names another.
pub const DEMO_DATABASE: &str = "sqlite://data/switchdesk-demo.db";

/// The demo's agents on duty, its user with `password`, and its phone book; returns the
/// phone book's regular callers.
async fn prepare_demo_store(
    store: &Store,
    config: &Config,
    password: &str,
    seed: u64,
) -> anyhow::Result<Vec<(String, String)>> {
    let rated: Vec<String> = store
        .agent_rates()
        .await?
        .into_iter()
        .map(|(agent, _)| agent)
        .collect();
    for agent in &config.agents {
        store.seed_agent(agent).await?;
        if !rated.contains(&agent.name) {
            store
                .set_agent_rate(&agent.name, DEMO_HOURLY_RATE_CENTS)
                .await?;
        }
        store
            .save_agent_state(&agent.name, &AgentStatus::Available, 0, 0)
            .await?;
    }
    match store.user_by_name(DEMO_USER).await? {
        Some(_) => users::set_password(store, DEMO_USER, password).await?,
        None => drop(users::add_user(store, DEMO_USER, Role::Admin, password).await?),
    }
    demo_phonebook(store, seed).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_never_reach_logs() {
        assert_eq!(
            describe_database("postgres://sd:s3cret@db:5432/sd"),
            "postgres://sd:***@db:5432/sd"
        );
        assert_eq!(
            describe_database("postgres://sd@db/sd"),
            "postgres://sd@db/sd"
        );
        assert_eq!(
            describe_database("sqlite://data/switchdesk.db"),
            "sqlite://data/switchdesk.db"
        );
    }

    #[test]
    fn the_demo_queue_is_valid() {
        assert_eq!(demo_queue().problems(), Vec::<String>::new());
        assert!(demo_agent(1001).problems().is_empty());
    }
}
