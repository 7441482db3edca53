//! The manager's review: calls with their legs, the profitability report (JSON or CSV) and
//! the rates behind it, queue and agent statistics by interval, callers' ratings, and the
//! helpdesk deliveries.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::download::{self, CsvChoice};
use super::error::ApiJson;
use super::roles::{Admin, Agent, Authorized, Manager, Supervisor};
use super::shown::Shown;
use super::{ApiError, AppState, Auth};
use crate::cdr::{CallRecord, Leg};
use crate::clock::{self, Millis};
use crate::directory::model::Organization;
use crate::stats::ratings::{self, By, RatingRow};
use crate::stats::report::{self, AgentRow, QueueRow, Step};
use crate::store::{CallFilter, WebhookDelivery};
use crate::tickets::{profitability, Profitability};

/// Largest single money figure accepted, in cents (a billion).
const MAX_CENTS: i64 = 100_000_000_000;

/// `from` / `to` as given in a query: a date (`2026-11-01`, midnight UTC), an RFC 3339 time
/// or Unix milliseconds.
pub(crate) fn parse_moment(name: &str, text: &str) -> Result<Millis, ApiError> {
    let moment = read_moment(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{name} {text:?} is not a date (YYYY-MM-DD), an RFC 3339 time or Unix milliseconds"
        ))
    })?;
    // Report spans are subtracted and prorated: keep them within 1970..=9999.
    if !(0..=crate::cdr::leg::LATEST_MS).contains(&moment) {
        return Err(ApiError::bad_request(format!(
            "{name} {text:?} is outside the years 1970 to 9999"
        )));
    }
    Ok(moment)
}

fn read_moment(text: &str) -> Option<Millis> {
    if let Ok(ms) = text.parse::<Millis>() {
        return Some(ms);
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(midnight) = date.and_hms_opt(0, 0, 0) {
            return Some(Utc.from_utc_datetime(&midnight).timestamp_millis());
        }
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct CallQuery {
    organization_id: Option<i64>,
    contact_id: Option<i64>,
    ticket_id: Option<i64>,
    queue: Option<String>,
    agent: Option<String>,
    outcome: Option<String>,
    caller_number: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

pub(crate) async fn calls(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
    Query(query): Query<CallQuery>,
) -> Result<Json<Vec<Shown<CallRecord>>>, ApiError> {
    let filter = CallFilter {
        organization_id: query.organization_id,
        contact_id: query.contact_id,
        ticket_id: query.ticket_id,
        queue: query.queue,
        agent: query.agent,
        outcome: query.outcome,
        // Any written form: E.164, national, `00`/`810`, a SIP or tel URI, an extension.
        caller_number: query
            .caller_number
            .as_deref()
            .map(|raw| super::tickets::caller_as_filed(&state, raw))
            .transpose()?,
        from: query
            .from
            .as_deref()
            .map(|t| parse_moment("from", t))
            .transpose()?,
        to: query
            .to
            .as_deref()
            .map(|t| parse_moment("to", t))
            .transpose()?,
        limit: query.limit,
        offset: query.offset,
    };
    let calls = state.store.calls(&filter).await?;
    Ok(Json(Shown::all(&state, calls)))
}

#[derive(Serialize)]
pub(crate) struct CallView {
    call: Shown<CallRecord>,
    legs: Vec<Leg>,
}

/// One call with every leg FreeSWITCH reported for it (agents who did not answer included).
pub(crate) async fn call(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Path(id): Path<String>,
) -> Result<Json<CallView>, ApiError> {
    let call = state
        .store
        .call(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("call {id} not found")))?;
    Ok(Json(CallView {
        legs: state.store.legs_of_call(&id).await?,
        call: Shown::of(&state, call),
    }))
}

/// The CDR of one leg, as FreeSWITCH sent it.
pub(crate) async fn cdr_document(
    State(state): State<AppState>,
    _: Authorized<Manager>,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let document = state
        .store
        .cdr_document(&uuid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("CDR {uuid} not found")))?;
    Ok(([(CONTENT_TYPE, "application/xml; charset=utf-8")], document).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Period {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

impl Period {
    /// `[from, to)` as asked; without them, this month so far.
    pub(crate) fn bounds(&self, now: Millis) -> Result<(Millis, Millis), ApiError> {
        let month_start = Utc
            .timestamp_millis_opt(now)
            .single()
            .and_then(|t| NaiveDate::from_ymd_opt(t.year(), t.month(), 1))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(0, |t| Utc.from_utc_datetime(&t).timestamp_millis());
        let from = match self.from.as_deref() {
            Some(t) => parse_moment("from", t)?,
            None => month_start,
        };
        let to = match self.to.as_deref() {
            Some(t) => parse_moment("to", t)?,
            None => now,
        };
        if to <= from {
            return Err(ApiError::bad_request("the period ends before it starts"));
        }
        Ok((from, to))
    }
}

/// `GET /api/reports/profitability?from=&to=[&format=csv]`: per organization, calls, talk
/// hours, cost at the agents' rates, the fee prorated to the period, and the margin. Without
/// a period: this month so far.
pub(crate) async fn profitability_report(
    State(state): State<AppState>,
    auth: Authorized<Manager>,
    headers: HeaderMap,
    Query(period): Query<Period>,
    Query(choice): Query<CsvChoice>,
) -> Result<Response, ApiError> {
    let (from, to) = period.bounds(clock::now())?;
    let usage = state.store.organization_usage(from, to).await?;
    let fees = state.store.organization_fees().await?;
    let mut names = HashMap::new();
    for id in usage
        .iter()
        .filter_map(|u| u.organization_id)
        .chain(fees.iter().map(|(id, _)| *id))
    {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(id) {
            if let Some(org) = state.store.find_record::<Organization>(id).await? {
                slot.insert(org.name);
            }
        }
    }
    let lines = profitability(&usage, &fees, &names, from, to);
    let currency = state.config.service.currency_code();
    if period.format.as_deref() == Some("csv") {
        let dialect = choice.dialect(&state, &auth, &headers).await?;
        return Ok(download::csv(
            "profitability",
            dialect,
            &[
                "organization_id",
                "organization",
                "calls",
                "answered_calls",
                "talk_hours",
                "cost",
                "fee",
                "margin",
                "currency",
            ],
            lines
                .iter()
                .map(|line| profitability_cells(line, currency.as_deref())),
        ));
    }
    Ok(Json(json!({
        "from": from,
        "to": to,
        "currency": currency,
        "organizations": lines,
    }))
    .into_response())
}

fn profitability_cells(line: &Profitability, currency: Option<&str>) -> Vec<String> {
    let money = |cents: i64| format!("{:.2}", cents as f64 / 100.0);
    vec![
        line.organization_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        line.organization.clone(),
        line.calls.to_string(),
        line.answered_calls.to_string(),
        format!("{:.2}", line.talk_hours),
        money(line.cost_cents),
        money(line.fee_cents),
        money(line.margin_cents),
        currency.unwrap_or_default().to_owned(),
    ]
}

/// `GET /api/reports/sla?from=&to=[&format=csv]` (manager+): the tickets created in the
/// period per category and support line, and the share of them within SLA (both clocks met by
/// their deadlines, or still running). Without a period: this month so far.
pub(crate) async fn sla_report(
    State(state): State<AppState>,
    auth: Authorized<Manager>,
    headers: HeaderMap,
    Query(period): Query<Period>,
    Query(choice): Query<CsvChoice>,
) -> Result<Response, ApiError> {
    let now = clock::now();
    let (from, to) = period.bounds(now)?;
    let rows = state.store.sla_report(from, to, now).await?;
    let rules = &state.config.tickets;
    let category_name = |key: &str| {
        rules
            .category(key)
            .map_or(key.to_owned(), |c| c.name.clone())
    };
    let line_name = |line: u8| rules.lines[usize::from(line.clamp(1, 3)) - 1].as_str();
    if period.format.as_deref() == Some("csv") {
        let dialect = choice.dialect(&state, &auth, &headers).await?;
        return Ok(download::csv(
            "sla",
            dialect,
            &[
                "category",
                "category_name",
                "line",
                "line_name",
                "tickets",
                "first_response_kept",
                "resolution_kept",
                "within_sla",
                "within_sla_percent",
            ],
            rows.iter().map(|row| {
                vec![
                    row.category.clone(),
                    category_name(&row.category),
                    row.line.to_string(),
                    line_name(row.line).to_owned(),
                    row.tickets.to_string(),
                    row.first_response_kept.to_string(),
                    row.resolution_kept.to_string(),
                    row.within_sla.to_string(),
                    row.within_percent()
                        .map(|p| format!("{p:.1}"))
                        .unwrap_or_default(),
                ]
            }),
        ));
    }
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "category": row.category,
                "category_name": category_name(&row.category),
                "line": row.line,
                "line_name": line_name(row.line),
                "tickets": row.tickets,
                "first_response_kept": row.first_response_kept,
                "resolution_kept": row.resolution_kept,
                "within_sla": row.within_sla,
                "within_sla_percent": row.within_percent(),
            })
        })
        .collect();
    Ok(Json(json!({ "from": from, "to": to, "rows": rows })).into_response())
}

fn check_cents(name: &str, cents: i64) -> Result<i64, ApiError> {
    if (0..=MAX_CENTS).contains(&cents) {
        Ok(cents)
    } else {
        Err(ApiError::bad_request(format!(
            "{name} must be between 0 and {MAX_CENTS} cents"
        )))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentRate {
    hourly_rate_cents: i64,
}

pub(crate) async fn set_agent_rate(
    State(state): State<AppState>,
    auth: Authorized<Manager>,
    Path(agent): Path<String>,
    ApiJson(rate): ApiJson<AgentRate>,
) -> Result<Json<Value>, ApiError> {
    let cents = check_cents("hourly_rate_cents", rate.hourly_rate_cents)?;
    if agent.is_empty() || agent.len() > 64 {
        return Err(ApiError::bad_request("agent name is 1 to 64 characters"));
    }
    let before = state
        .store
        .agent_rates()
        .await?
        .into_iter()
        .find(|(a, _)| *a == agent);
    state.store.set_agent_rate(&agent, cents).await?;
    let after = json!({"agent": agent, "hourly_rate_cents": cents});
    let before = before.map(|(agent, cents)| json!({"agent": agent, "hourly_rate_cents": cents}));
    rate_changed(&state, &auth, format!("agent:{agent}"), before, &after).await;
    Ok(Json(after))
}

pub(crate) async fn agent_rates(
    State(state): State<AppState>,
    _: Authorized<Manager>,
) -> Result<Json<Value>, ApiError> {
    let rates: Vec<Value> = state
        .store
        .agent_rates()
        .await?
        .into_iter()
        .map(|(agent, cents)| json!({"agent": agent, "hourly_rate_cents": cents}))
        .collect();
    Ok(Json(Value::Array(rates)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrganizationFee {
    monthly_fee_cents: i64,
}

pub(crate) async fn set_organization_fee(
    State(state): State<AppState>,
    auth: Authorized<Manager>,
    Path(id): Path<i64>,
    ApiJson(fee): ApiJson<OrganizationFee>,
) -> Result<Json<Value>, ApiError> {
    let cents = check_cents("monthly_fee_cents", fee.monthly_fee_cents)?;
    let fees = state.store.organization_fees().await?;
    let before = fees.into_iter().find(|(org, _)| *org == id);
    state.store.set_organization_fee(id, cents).await?;
    let after = json!({"organization_id": id, "monthly_fee_cents": cents});
    let before =
        before.map(|(id, cents)| json!({"organization_id": id, "monthly_fee_cents": cents}));
    rate_changed(&state, &auth, format!("organization:{id}"), before, &after).await;
    Ok(Json(after))
}

/// Records a billing rate set (`create` when there was none).
async fn rate_changed(
    state: &AppState,
    auth: &Auth,
    target: String,
    before: Option<Value>,
    after: &Value,
) {
    let action = if before.is_some() { "update" } else { "create" };
    let change = auth.change("billing_rate", action, target).before(&before);
    state.audit(change.after(after)).await;
}

pub(crate) async fn organization_fees(
    State(state): State<AppState>,
    _: Authorized<Manager>,
) -> Result<Json<Value>, ApiError> {
    let fees: Vec<Value> = state
        .store
        .organization_fees()
        .await?
        .into_iter()
        .map(|(id, cents)| json!({"organization_id": id, "monthly_fee_cents": cents}))
        .collect();
    Ok(Json(Value::Array(fees)))
}

pub(crate) async fn webhooks(
    State(state): State<AppState>,
    _: Authorized<Admin>,
) -> Result<Json<Vec<WebhookDelivery>>, ApiError> {
    Ok(Json(state.store.webhooks(200).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct IntervalQuery {
    from: Option<String>,
    to: Option<String>,
    interval: Option<String>,
    queue: Option<String>,
    agent: Option<String>,
    format: Option<String>,
}

/// The period, step and format a statistics report asks for, or the reason it cannot be read.
fn interval_request(
    state: &AppState,
    query: &IntervalQuery,
) -> Result<(Millis, Millis, Step, bool), ApiError> {
    let stats = &state.config.stats;
    let day = stats.day();
    let (from, to) = report::period(
        query.from.as_deref(),
        query.to.as_deref(),
        clock::now(),
        &day,
    )
    .map_err(ApiError::bad_request)?;
    let step = Step::parse(query.interval.as_deref().unwrap_or(""), stats.interval_ms())
        .map_err(ApiError::bad_request)?;
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format {other:?} is not json or csv"
            )))
        }
    };
    Ok((from, to, step, csv))
}

/// `GET /api/reports/queues?from=&to=&interval=15m|1h|1d&queue=[&format=csv]`: per queue and
/// step, the counts and the figures (SL, SL2, ASA, AHT, abandon rate) rolled up from the
/// stored intervals, and the announced waits' median error from the promises answered in it.
/// Without a period: today so far.
pub(crate) async fn queue_report(
    State(state): State<AppState>,
    auth: Authorized<Manager>,
    headers: HeaderMap,
    Query(query): Query<IntervalQuery>,
    Query(choice): Query<CsvChoice>,
) -> Result<Response, ApiError> {
    let (from, to, step, csv) = interval_request(&state, &query)?;
    let day = state.config.stats.day();
    let queue = query.queue.as_deref().unwrap_or("");
    // Intervals that started before `from` but overlap it are not split: a period is read
    // in whole stored intervals.
    let rows = state.store.queue_intervals(from, to, queue).await?;
    let promised = state.store.wait_promises(from, to, queue).await?;
    let rows = report::queue_rows(&rows, &promised, step, from, to, &day);
    if csv {
        let dialect = choice.dialect(&state, &auth, &headers).await?;
        return Ok(download::csv(
            "queues",
            dialect,
            &QueueRow::CSV_HEADER,
            rows.iter().map(QueueRow::csv_cells),
        ));
    }
    Ok(Json(json!({
        "from": report::show(&day, from),
        "to": report::show(&day, to),
        "queues": rows,
    }))
    .into_response())
}

/// `GET /api/reports/agents?from=&to=&interval=&agent=[&format=csv]` (supervisor+: the agent
/// statistics screen): per agent and step, calls, time in each state, AHT, occupancy, the
/// share of calls answered within the service level, and the callers' ratings (count and
/// average).
pub(crate) async fn agent_report(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    headers: HeaderMap,
    Query(query): Query<IntervalQuery>,
    Query(choice): Query<CsvChoice>,
) -> Result<Response, ApiError> {
    let (from, to, step, csv) = interval_request(&state, &query)?;
    let day = state.config.stats.day();
    let agent = query.agent.as_deref().unwrap_or("");
    let rows = state.store.agent_intervals(from, to, agent).await?;
    let rated = state.store.rated_calls(from, to, agent).await?;
    let rows = report::agent_rows(&rows, &rated, step, from, to, &day);
    if csv {
        let dialect = choice.dialect(&state, &auth, &headers).await?;
        return Ok(download::csv(
            "agents",
            dialect,
            &AgentRow::CSV_HEADER,
            rows.iter().map(AgentRow::csv_cells),
        ));
    }
    Ok(Json(json!({
        "from": report::show(&day, from),
        "to": report::show(&day, to),
        "agents": rows,
    }))
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct RatingsQuery {
    by: Option<String>,
}

/// `GET /api/reports/ratings?from=&to=&interval=&by=agent|queue|organization[&format=csv]`
/// (manager+): callers' ratings (the survey after a call, 1-5) per agent, queue or
/// organization and step: how many calls were rated, their average, and how many got each
/// score. Without a period: today so far.
pub(crate) async fn ratings_report(
    State(state): State<AppState>,
    auth: Authorized<Manager>,
    headers: HeaderMap,
    Query(query): Query<IntervalQuery>,
    Query(ratings): Query<RatingsQuery>,
    Query(choice): Query<CsvChoice>,
) -> Result<Response, ApiError> {
    let (from, to, step, csv) = interval_request(&state, &query)?;
    let by = By::parse(ratings.by.as_deref().unwrap_or("")).map_err(ApiError::bad_request)?;
    let day = state.config.stats.day();
    let rated = state.store.rated_calls(from, to, "").await?;
    let mut names = HashMap::new();
    if by == By::Organization {
        for id in rated.iter().filter_map(|c| c.organization_id) {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(id) {
                if let Some(org) = state.store.find_record::<Organization>(id).await? {
                    slot.insert(org.name);
                }
            }
        }
    }
    let rows = ratings::rows(&rated, by, step, from, to, &day, &names);
    if csv {
        let dialect = choice.dialect(&state, &auth, &headers).await?;
        return Ok(download::csv(
            "ratings",
            dialect,
            &RatingRow::CSV_HEADER,
            rows.iter().map(RatingRow::csv_cells),
        ));
    }
    Ok(Json(json!({
        "from": report::show(&day, from),
        "to": report::show(&day, to),
        "rows": rows,
    }))
    .into_response())
}
