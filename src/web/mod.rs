//! HTTP: the JSON API under `/api`, `/metrics`, `/healthz` and the dashboard assets, with
//! authentication and roles. The only module that knows HTTP.
//!
//! Handlers turn requests into calls on [`crate::users`], [`crate::store`] and
//! [`crate::metrics`], and their results into JSON. No business rules live here and no SQL.
//! Every error leaves as `{"error": "...", "code": "..."}`, whoever produced it.

mod admin;
mod assets;
mod audit;
mod auth;
mod blocklist;
mod cdr;
mod directory;
mod download;
mod error;
mod fax;
mod history;
mod incidents;
mod input;
mod languages;
mod layers;
mod peer;
mod popup;
mod queues;
mod recordings;
mod reports;
mod roles;
mod server;
mod session;
mod shown;
mod status;
mod tickets;
mod ws;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post, put};
use axum::{middleware, Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, Notify};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use auth::{Auth, Credential, SESSION_COOKIE};
pub use error::ApiError;

use crate::blocklist::Blocklist;
use crate::cdr::CdrIngest;
use crate::config::Config;
use crate::directory::PhoneBook;
use crate::fax::FaxDesk;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::switch::Board;
use crate::tickets::TicketEvent;
use crate::users::LoginThrottle;

/// How long a shutdown waits for open requests before closing anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub board: Board,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    pub phonebook: Arc<PhoneBook>,
    pub blocklist: Arc<Blocklist>,
    /// Where CDRs are stored and filed into tickets.
    pub cdrs: CdrIngest,
    /// Ticket changes, for the live dashboard.
    pub ticket_events: broadcast::Sender<TicketEvent>,
    /// Wakes the helpdesk webhook worker; None when no webhook is configured.
    pub webhook: Option<Arc<Notify>>,
    /// Incidents from monitoring: alarms in, take and resolve, their events.
    pub incidents: crate::incidents::Incidents,
    /// Received faxes: records them and queues their mail (CDR ingest feeds it too).
    pub fax: FaxDesk,
    /// The live feed behind `/ws`.
    pub live: crate::live::Hub,
    /// The supervised long-lived tasks, for `/healthz`.
    pub tasks: crate::supervise::Tasks,
    /// Each FreeSWITCH node's link, for `/api/status`.
    pub links: crate::esl::Links,
    /// Whether this instance leads, for `/healthz` and `/api/status`.
    pub leadership: crate::leadership::Leadership,
}

/// Every route, with the body limit, JSON errors, request counting and tracing applied.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.http.max_body_bytes;
    let cdr_max_body = state.config.cdr.max_body_bytes;
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::app_js))
        .route("/lib.js", get(assets::lib_js))
        .route("/feed.js", get(assets::feed_js))
        .route("/wallboard.js", get(assets::wallboard_js))
        .route("/agent.js", get(assets::agent_js))
        .route("/manager.js", get(assets::manager_js))
        .route("/incidents.js", get(assets::incidents_js))
        .route("/admin.js", get(assets::admin_js))
        .route("/status.js", get(assets::status_js))
        .route("/style.css", get(assets::style_css))
        .route("/i18n.js", get(assets::i18n_js))
        .route("/ring.js", get(assets::ring_js))
        .route("/calls.js", get(assets::calls_js))
        .route("/faxes.js", get(assets::faxes_js))
        .route("/phonebook.js", get(assets::phonebook_js))
        .route("/agentstats.js", get(assets::agentstats_js))
        .route("/charts.js", get(assets::charts_js))
        .route("/lang/index.json", get(languages::index))
        .route("/lang/{file}", get(languages::file))
        .route("/healthz", get(status::healthz))
        .route("/healthz/leader", get(status::healthz_leader))
        .route("/metrics", get(status::metrics))
        .route("/api/login", post(session::login))
        .route("/api/logout", post(session::logout))
        .route("/api/me", get(session::me))
        .route("/api/me/password", post(session::change_password))
        .route("/api/me/language", put(session::set_language))
        .route("/api/status", get(status::status))
        .route("/api/audit", get(audit::list))
        .route("/ws", get(ws::upgrade))
        .route(
            "/api/users",
            get(admin::list_users).post(admin::create_user),
        )
        .route(
            "/api/tokens",
            get(admin::list_tokens).post(admin::create_token),
        )
        .route("/api/tokens/{name}", delete(admin::revoke_token))
        .route(
            "/api/users/{name}",
            patch(admin::update_user).delete(admin::delete_user),
        )
        .route("/api/users/{name}/password", post(admin::reset_password))
        .route("/api/queues", get(queues::list))
        .route("/api/contacts/search", get(directory::search))
        .route(
            "/api/contacts",
            get(directory::list_contacts).post(directory::create_contact),
        )
        .route(
            "/api/contacts/{id}",
            get(directory::contact)
                .put(directory::update_contact)
                .delete(directory::delete_contact),
        )
        .route(
            "/api/organizations",
            get(directory::list_organizations).post(directory::create_organization),
        )
        .route(
            "/api/organizations/{id}",
            get(directory::organization)
                .put(directory::update_organization)
                .delete(directory::delete_organization),
        )
        .route(
            "/api/assets",
            get(directory::list_assets).post(directory::create_asset),
        )
        .route(
            "/api/assets/{id}",
            get(directory::asset)
                .put(directory::update_asset)
                .delete(directory::delete_asset),
        )
        .route(
            "/api/phonebook/import",
            post(directory::import).route_layer(middleware::from_fn(layers::file_upload)),
        )
        .route("/api/phonebook/export", get(directory::export))
        .route("/api/phonebook/entries", get(directory::entries))
        .route(
            "/api/blocklist",
            get(blocklist::list).post(blocklist::create),
        )
        .route("/api/blocklist/check", get(blocklist::check))
        .route("/api/blocklist/audit", get(blocklist::audit))
        .route("/api/blocklist/block-caller", post(blocklist::block_caller))
        .route(
            "/api/blocklist/{id}",
            put(blocklist::update).delete(blocklist::delete),
        )
        .route(
            "/api/queues/{name}",
            put(queues::save).delete(queues::delete),
        )
        .route(
            "/api/queues/{name}/settings",
            get(queues::settings).patch(queues::patch_settings),
        )
        .route(
            "/api/agents/{name}",
            get(queues::agent)
                .put(queues::save_agent)
                .delete(queues::delete_agent),
        )
        .route("/api/agents/{name}/status", post(queues::set_status))
        .route("/api/agents/{name}/popup", get(popup::popup))
        .route("/api/agents/{name}/eavesdrop", post(queues::eavesdrop))
        .route("/api/tickets", get(tickets::list).post(tickets::create))
        .route(
            "/api/tickets/{id}",
            get(tickets::show).patch(tickets::update),
        )
        .route("/api/tickets/{id}/notes", post(tickets::add_note))
        .route("/api/tickets/{id}/escalate", post(tickets::escalate))
        .route("/api/alarms", post(incidents::alarms))
        .route("/api/incidents", get(incidents::list))
        .route("/api/incidents/{id}/take", post(incidents::take))
        .route("/api/incidents/{id}/resolve", post(incidents::resolve))
        .route("/api/reports/incidents", get(incidents::report))
        .route("/api/calls", get(reports::calls))
        .route("/api/calls/{id}", get(reports::call))
        .route("/api/calls/{id}/recording", get(recordings::recording))
        .route("/api/calls/{id}/move", post(queues::move_caller))
        .route("/api/calls/{id}/front", post(queues::to_front))
        .route("/api/cdrs/{uuid}", get(reports::cdr_document))
        .route(
            "/api/reports/profitability",
            get(reports::profitability_report),
        )
        .route("/api/reports/queues", get(reports::queue_report))
        .route("/api/reports/sla", get(reports::sla_report))
        .route("/api/reports/agents", get(reports::agent_report))
        .route("/api/reports/ratings", get(reports::ratings_report))
        .route("/api/stats/history", get(history::history))
        .route("/api/billing/agents", get(reports::agent_rates))
        .route("/api/billing/agents/{name}", put(reports::set_agent_rate))
        .route(
            "/api/billing/organizations",
            get(reports::organization_fees),
        )
        .route(
            "/api/billing/organizations/{id}",
            put(reports::set_organization_fee),
        )
        .route("/api/webhooks", get(reports::webhooks))
        .route("/api/outbox", get(fax::outbox))
        .route("/api/outbox/{id}/retry", post(fax::retry))
        .route("/api/faxes", get(fax::faxes))
        .route("/api/files/{id}", get(fax::file))
        .fallback(error::no_route)
        // Extractors reject a body over the limit while reading it (chunked uploads); the
        // tower layer rejects a declared Content-Length before the handler runs.
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        // mod_xml_cdr's POSTs have a limit of their own (`cdr.max_body_bytes`).
        .merge(
            Router::new()
                .route("/api/cdr", post(cdr::receive))
                .layer(DefaultBodyLimit::max(cdr_max_body))
                .layer(RequestBodyLimitLayer::new(cdr_max_body)),
        )
        // No NUL in a path or query parameter, for every route (bodies: see `input`).
        .layer(middleware::from_fn(input::refuse_nul_in_uri))
        .layer(Extension(Arc::new(LoginThrottle::new())))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            layers::same_site_writes,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            layers::finish,
        ))
        .layer(TraceLayer::new_for_http().on_failure(layers::log_failure))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then stops accepting, lets open requests finish (for at
/// most ten seconds) and returns. Connections are bounded by `http.max_connections`,
/// `http.header_read_timeout_secs` and `http.body_timeout_secs` (see [`server`]); passwords
/// are hashed by `http.login_workers` threads.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let http = &state.config.http;
    crate::users::start_hashing(http.login_workers, http.login_queue);
    let limits = server::Limits {
        max_connections: http.max_connections,
        header_read_timeout: http.header_read_timeout(),
        body_timeout: Duration::from_secs(http.body_timeout_secs),
        drain_timeout: DRAIN_TIMEOUT,
    };
    server::run(listener, router(state), limits, shutdown).await
}
