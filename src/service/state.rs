//! The one builder of the application's state, for every way the service runs: `serve` and
//! `demo` (through [`super::run`]) and the tools and tests that serve the API alone
//! ([`super::state_without_switch`]). It builds the store's phone book and blocklist, the
//! switchboard, CDR ingest, the fax desk and its outbox, the live hub, the statistics
//! recorder and the workers around them; whatever differs between those uses is a
//! [`Startup`] option, said where it is called.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{broadcast, Notify};
use tokio::task::JoinHandle;

use crate::blocklist::Blocklist;
use crate::cdr::{CdrIngest, IngestSettings};
use crate::config::Config;
use crate::directory::PhoneBook;
use crate::esl::{Connection, Links};
use crate::fax::{self, FaxDesk};
use crate::leadership::{Leadership, Role};
use crate::mail::{run_outbox, Outbox, SmtpMailer};
use crate::metrics::{Metrics, CDR_RECEIVED_TOTAL, CDR_RESULTS, ESL_EVENTS_SHED_TOTAL};
use crate::stats::StatsRecorder;
use crate::store::{Backend, Store};
use crate::supervise::{Policy, Tasks};
use crate::switch::{Board, BoardOptions, INBOX_CAPACITY};
use crate::tickets;
use crate::web::AppState;

use super::nodes::{self, Nodes};

/// What [`build`] starts besides what every use has (the phone book, the blocklist, the
/// switchboard, CDR ingest, the fax desk, the live hub).
#[derive(Clone, Copy, Debug)]
pub struct Startup {
    /// Connect to every configured FreeSWITCH node (each followed into the metrics and
    /// watched for faxes) and start the configured queues and agents; without, the
    /// switchboard has no node, no queue and no agent.
    pub switch: bool,
    /// Send the outbox's mail over the configured SMTP; without, mail waits in the outbox.
    pub send_mail: bool,
    /// Apply phone-book imports another process writes (`switchdesk phonebook import`).
    pub phonebook_catch_up: bool,
    /// Sync the phone book from `[phonebook.sync]`'s sources every `interval_minutes`.
    pub phonebook_sync: bool,
    /// Record queue and agent statistics in intervals.
    pub statistics: bool,
    /// The service's series at zero, and every queue and agent, before anything happens.
    pub prime_metrics: bool,
    /// Check SLA clocks for breaches, and incidents' timers.
    pub sla_watch: bool,
    /// Queue every ticket change for the configured webhook and deliver it; without, none.
    pub webhook: bool,
}

impl Startup {
    /// `serve` and `demo`: everything.
    pub const SERVICE: Startup = Startup {
        switch: true,
        send_mail: true,
        phonebook_catch_up: true,
        phonebook_sync: true,
        statistics: true,
        prime_metrics: true,
        sla_watch: true,
        webhook: true,
    };

    /// The API alone over a store: no switch and no worker besides CDR ingest and the live
    /// hub.
    pub const API_ONLY: Startup = Startup {
        switch: false,
        send_mail: false,
        phonebook_catch_up: false,
        phonebook_sync: false,
        statistics: false,
        prime_metrics: false,
        sla_watch: false,
        webhook: false,
    };
}

/// What runs beside a built state until [`Running::stop`].
#[must_use = "the workers and connections run until stopped"]
pub struct Running {
    statistics: Option<StatsRecorder>,
    background: Vec<JoinHandle<()>>,
    connections: Vec<Connection>,
}

impl Running {
    /// The last seconds of statistics written (before the next process reads the day's
    /// sums), the workers stopped, the node connections closed.
    pub async fn stop(self) {
        if let Some(statistics) = self.statistics {
            statistics.flush().await;
        }
        for task in self.background {
            task.abort();
        }
        for connection in self.connections {
            connection.shutdown();
        }
    }
}

/// The application's state over `store`, its tasks supervised by `tasks` (and its metrics
/// in `tasks.metrics()`), with what `startup` asks for running beside it. The phone book is
/// `phonebook`, or loaded from the store in `config.phonebook`'s numbering.
pub async fn build(
    config: Config,
    store: &Store,
    phonebook: Option<Arc<PhoneBook>>,
    tasks: Tasks,
    startup: Startup,
) -> anyhow::Result<(AppState, Running)> {
    let metrics = tasks.metrics().clone();
    let links = Links::new();
    let leadership = leadership(&config, store, &tasks, startup);
    let nodes = if startup.switch {
        nodes::connect(&config, &links, &tasks, leadership.gate())
    } else {
        Nodes::default()
    };
    let mut background = nodes.background;
    let phonebook = match phonebook {
        Some(phonebook) => phonebook,
        None => {
            let numbering = config.phonebook.numbering().map_err(anyhow::Error::msg)?;
            Arc::new(PhoneBook::load(store, numbering).await?)
        }
    };
    let outbox = Outbox::new();
    if startup.send_mail {
        let mailer = SmtpMailer::new(&config.smtp).context("setting up [smtp]")?;
        let (sender, policy, queued) = (store.clone(), config.fax.retry_policy(), outbox.clone());
        let leading = leadership.clone();
        background.push(tasks.spawn("outbox", Policy::Restart, move || {
            let (sender, mailer, queued, leading) = (
                sender.clone(),
                mailer.clone(),
                queued.clone(),
                leading.clone(),
            );
            async move {
                leading
                    .while_leading(|| {
                        run_outbox(sender.clone(), mailer.clone(), policy, queued.clone())
                    })
                    .await
            }
        }));
    }
    let fax_desk = FaxDesk::new(
        store.clone(),
        phonebook.clone(),
        config.fax_settings(),
        outbox,
    );
    for (node, connection, feed) in nodes.fax_feeds {
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
    if startup.phonebook_catch_up {
        let (book_store, book) = (store.clone(), phonebook.clone());
        background.push(tasks.spawn("phonebook-catch-up", Policy::Restart, move || {
            keep_phonebook_current(book_store.clone(), book.clone())
        }));
    }
    let sync = &config.phonebook.sync;
    if startup.phonebook_sync && sync.has_sources() && sync.interval_minutes > 0 {
        let (sync, sync_store, book, sync_metrics) = (
            sync.clone(),
            store.clone(),
            phonebook.clone(),
            metrics.clone(),
        );
        let interval = std::time::Duration::from_secs(sync.interval_minutes * 60);
        let leading = leadership.clone();
        background.push(tasks.spawn("phonebook-sync", Policy::Restart, move || {
            let (sync, sync_store, book, sync_metrics, leading) = (
                sync.clone(),
                sync_store.clone(),
                book.clone(),
                sync_metrics.clone(),
                leading.clone(),
            );
            async move {
                leading
                    .while_leading(|| {
                        crate::directory::sync::periodically(
                            sync.clone(),
                            sync_store.clone(),
                            book.clone(),
                            sync_metrics.clone(),
                            interval,
                        )
                    })
                    .await
            }
        }));
    }
    let blocklist = Arc::new(Blocklist::new(store.blocks().await?));
    let options = BoardOptions {
        transfer_context: config.switch.transfer_context.clone(),
        seed: rand::random(),
        identity: phonebook.clone(),
        blocklist: blocklist.clone(),
        numbering: phonebook.numbering().clone(),
        tasks: tasks.clone(),
        inbox_capacity: INBOX_CAPACITY,
        stats: config.stats.clone(),
        leadership: leadership.clone(),
        writer_store: match leadership.role() {
            Role::Single => None,
            _ => Some(
                store
                    .fenced(config.database.url.expose(), leadership.epoch())
                    .await
                    .context("opening the fenced queue-state pool")?,
            ),
        },
    };
    let (queues, agents) = if startup.switch {
        (&config.queues[..], &config.agents[..])
    } else {
        (&[][..], &[][..])
    };
    let board = Board::start(nodes.feeds, store.clone(), queues, agents, options).await?;
    // Subscribed right after the switchboard starts, before anything else is awaited: its
    // first updates follow a node's first resync, a network round trip later.
    let statistics = startup.statistics.then(|| {
        let leadership = leadership.clone();
        StatsRecorder::start(&board, store.clone(), &config.stats, leadership, &tasks)
    });
    if startup.prime_metrics {
        prime_service_metrics(&metrics, &board).await;
    }
    let (ticket_events, _) = broadcast::channel(TICKET_EVENT_BUFFER);
    let webhook = (startup.webhook && config.webhook.enabled()).then(|| Arc::new(Notify::new()));
    let cdrs = supervised_cdr_ingest(
        &config,
        store,
        phonebook.clone(),
        ticket_events.clone(),
        webhook.clone(),
        Some(fax_desk.clone()),
        &tasks,
    );
    if startup.sla_watch {
        let (sla_store, sla_events, sla_webhook) =
            (store.clone(), ticket_events.clone(), webhook.clone());
        let leading = leadership.clone();
        background.push(tasks.spawn("sla-watcher", Policy::Restart, move || {
            let (sla_store, sla_events, sla_webhook, leading) = (
                sla_store.clone(),
                sla_events.clone(),
                sla_webhook.clone(),
                leading.clone(),
            );
            async move {
                leading
                    .while_leading(|| {
                        tickets::sla::watch(
                            sla_store.clone(),
                            sla_events.clone(),
                            sla_webhook.clone(),
                            SLA_CHECK,
                        )
                    })
                    .await
            }
        }));
    }
    let incidents = crate::incidents::Incidents::new(
        store.clone(),
        config.incidents.clone(),
        config.ticket_rules(),
        ticket_events.clone(),
        webhook.clone(),
        Some(board.clone()),
    );
    if let Err(e) = incidents.refresh_notice().await {
        tracing::warn!("the queue's incident notice waits for the next change: {e}");
    }
    // The Matrix room: its commands reach the incidents, and it hears of their changes.
    let chat = crate::chat::start(
        &config.matrix,
        config.service.language,
        store.clone(),
        Arc::new(incidents.clone()),
        &tasks,
        leadership.clone(),
    )
    .context("starting [matrix]")?;
    background.extend(chat.task);
    if chat.notifier.is_enabled() {
        // Only the leader's room task posts; a standby's changes are not told (its queue
        // would only fill).
        let (told, notifier, leading) =
            (incidents.clone(), chat.notifier.clone(), leadership.clone());
        background.push(tasks.spawn("incident-chat", Policy::Restart, move || {
            let (told, notifier, leading) = (told.clone(), notifier.clone(), leading.clone());
            async move {
                leading
                    .while_leading(|| {
                        crate::incidents::chat::tell_room(told.clone(), notifier.clone())
                    })
                    .await
            }
        }));
    }
    if startup.sla_watch {
        let (timers, leading) = (incidents.clone(), leadership.clone());
        background.push(tasks.spawn("incident-timers", Policy::Restart, move || {
            let (timers, leading) = (timers.clone(), leading.clone());
            async move { leading.while_leading(|| timers.clone().watch()).await }
        }));
    }
    if let Some(wake) = &webhook {
        let (hook_store, hook_config, wake) = (store.clone(), config.webhook.clone(), wake.clone());
        let leading = leadership.clone();
        background.push(tasks.spawn("webhook", Policy::Restart, move || {
            let (hook_store, hook_config, wake, leading) = (
                hook_store.clone(),
                hook_config.clone(),
                wake.clone(),
                leading.clone(),
            );
            async move {
                leading
                    .while_leading(|| {
                        tickets::webhook::deliver_forever(
                            hook_store.clone(),
                            hook_config.clone(),
                            wake.clone(),
                        )
                    })
                    .await
            }
        }));
    }
    let live = live_hub(&board, store, &phonebook, &ticket_events, &tasks);
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
        incidents,
        fax: fax_desk,
        live,
        tasks,
        links,
        leadership,
    };
    let running = Running {
        statistics,
        background,
        connections: nodes.connections,
    };
    Ok((state, running))
}

/// This instance's part in the election: on PostgreSQL with the switch, it stands by until
/// it takes the lead; otherwise (SQLite, the API alone) it leads alone.
fn leadership(config: &Config, store: &Store, tasks: &Tasks, startup: Startup) -> Leadership {
    let instance = config.instance_name();
    if startup.switch && store.backend() == Backend::Postgres {
        Leadership::elect(
            config.database.url.expose(),
            store,
            &instance,
            &config.instance_address(),
            tasks,
        )
    } else {
        Leadership::single(&instance)
    }
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
/// gets every ticket change queued (and `webhook` woken). Supervised by `tasks`.
pub(super) fn supervised_cdr_ingest(
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
        rules: config.ticket_rules(),
        numbering: phonebook.numbering().clone(),
        identity: phonebook,
        events,
        webhook,
        fax,
        tasks: tasks.clone(),
    })
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
