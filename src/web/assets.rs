//! The dashboard's static files from the top-level `web/` directory, compiled into the binary
//! so a deployment is one file. No templating: the page fetches everything from `/api` and
//! listens to `/ws`. The scripts are ES modules importing each other by these paths.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const LIB_JS: &str = include_str!("../../web/lib.js");
const I18N_JS: &str = include_str!("../../web/i18n.js");
const RING_JS: &str = include_str!("../../web/ring.js");
const CALLS_JS: &str = include_str!("../../web/calls.js");
const FAXES_JS: &str = include_str!("../../web/faxes.js");
const PHONEBOOK_JS: &str = include_str!("../../web/phonebook.js");
const AGENTSTATS_JS: &str = include_str!("../../web/agentstats.js");
const FEED_JS: &str = include_str!("../../web/feed.js");
const WALLBOARD_JS: &str = include_str!("../../web/wallboard.js");
const CHARTS_JS: &str = include_str!("../../web/charts.js");
const AGENT_JS: &str = include_str!("../../web/agent.js");
const MANAGER_JS: &str = include_str!("../../web/manager.js");
const INCIDENTS_JS: &str = include_str!("../../web/incidents.js");
const ADMIN_JS: &str = include_str!("../../web/admin.js");
const STATUS_JS: &str = include_str!("../../web/status.js");
const STYLE_CSS: &str = include_str!("../../web/style.css");

const JS: &str = "text/javascript; charset=utf-8";

/// Everything comes from this origin; nothing is inlined, framed or loaded from elsewhere.
const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            // Revalidate every time, so an upgraded binary is never mixed with stale assets.
            (CACHE_CONTROL, "no-cache"),
            (CONTENT_SECURITY_POLICY, CSP),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

pub(crate) async fn app_js() -> Response {
    asset(JS, APP_JS)
}

pub(crate) async fn lib_js() -> Response {
    asset(JS, LIB_JS)
}

pub(crate) async fn i18n_js() -> Response {
    asset(JS, I18N_JS)
}

pub(crate) async fn calls_js() -> Response {
    asset(JS, CALLS_JS)
}

pub(crate) async fn faxes_js() -> Response {
    asset(JS, FAXES_JS)
}

pub(crate) async fn phonebook_js() -> Response {
    asset(JS, PHONEBOOK_JS)
}

pub(crate) async fn agentstats_js() -> Response {
    asset(JS, AGENTSTATS_JS)
}

pub(crate) async fn ring_js() -> Response {
    asset(JS, RING_JS)
}

pub(crate) async fn feed_js() -> Response {
    asset(JS, FEED_JS)
}

pub(crate) async fn wallboard_js() -> Response {
    asset(JS, WALLBOARD_JS)
}

pub(crate) async fn charts_js() -> Response {
    asset(JS, CHARTS_JS)
}

pub(crate) async fn agent_js() -> Response {
    asset(JS, AGENT_JS)
}

pub(crate) async fn manager_js() -> Response {
    asset(JS, MANAGER_JS)
}

pub(crate) async fn incidents_js() -> Response {
    asset(JS, INCIDENTS_JS)
}

pub(crate) async fn admin_js() -> Response {
    asset(JS, ADMIN_JS)
}

pub(crate) async fn status_js() -> Response {
    asset(JS, STATUS_JS)
}

pub(crate) async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}
