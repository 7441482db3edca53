// Shared helpers of the dashboard: the API client, a small DOM builder, number and time
// formatting, and the notice and question dialogs. Text only ever enters the page through
// textContent (el's string children), never as markup.

import { t, N_, localeTag } from "./i18n.js";

export { t, tn, N_ } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

/// `el("td", {className: "num", dataset: {call: id}}, "text", child)`: attributes go through
/// properties (or setAttribute for `attrs`), children are nodes or strings (as text nodes).
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "attrs") for (const [a, v] of Object.entries(value)) node.setAttribute(a, v);
    else if (key === "on") for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else node[key] = value;
  }
  append(node, children);
  return node;
}

/// Replaces a node's children; null, undefined and false are skipped (replaceChildren would
/// print them as text).
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/// An SVG element (the report's chart), attributes set with setAttribute.
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  append(node, children);
  return node;
}

/// A setting this browser keeps (`otherwise` without one, or in private mode).
export function readSetting(key, otherwise) {
  try {
    const value = localStorage.getItem(key);
    return value === null ? otherwise : value;
  } catch {
    return otherwise;
  }
}

export function writeSetting(key, value) {
  try {
    localStorage.setItem(key, String(value));
  } catch {
    // Private mode: the default next time.
  }
}

/// The API's answer: `{status, ok, body}`; a body that is not JSON is null.
export async function api(path, options = {}) {
  const init = { credentials: "same-origin", ...options, headers: { Accept: "application/json", ...(options.headers || {}) } };
  if (options.json !== undefined) {
    init.body = JSON.stringify(options.json);
    init.headers["Content-Type"] = "application/json";
    delete init.json;
  }
  const response = await fetch(path, init);
  let body = null;
  const text = await response.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (response.status === 401 && !path.startsWith("/api/login")) sessionEnded();
  return { status: response.status, ok: response.ok, body, headers: response.headers };
}

/// An action's answer as a message: the server's JSON error when it has one.
export function failure(result, what) {
  const body = result.body || {};
  const reason = body.error ? body.error + (body.code ? " (" + body.code + ")" : "") : "HTTP " + result.status;
  return t("{what} failed: {reason}", { what, reason });
}

/// Runs an API call for a user action and tells the user if it failed; answers the result
/// (null when the service could not be reached).
export async function act(what, path, options) {
  try {
    const result = await api(path, options);
    if (!result.ok) notify(failure(result, what), "bad");
    return result;
  } catch {
    notify(t("{what} failed: cannot reach switchdesk.", { what }), "bad");
    return null;
  }
}

/// GETs a list for a part of a view: the body, or null after writing why not into `place`.
export async function loadInto(place, path, what) {
  let result;
  try {
    result = await api(path);
  } catch {
    result = null;
  }
  if (result && result.ok) return result.body;
  place.replaceChildren(el("p", { className: "error" }, result ? failure(result, what) : t("{what} failed: cannot reach switchdesk.", { what })));
  return null;
}

let onSessionEnd = () => {};
export function whenSessionEnds(handler) {
  onSessionEnd = handler;
}
function sessionEnded() {
  onSessionEnd();
}

let noticeTimer = null;
/// A short message at the bottom of the screen: "ok" fades after a few seconds, "bad" stays
/// until dismissed or replaced.
export function notify(message, kind = "ok") {
  const box = $("notice");
  box.replaceChildren(el("span", {}, message), el("button", { type: "button", className: "link", on: { click: () => (box.hidden = true) } }, t("Dismiss")));
  box.className = "notice " + kind;
  box.hidden = false;
  clearTimeout(noticeTimer);
  if (kind === "ok") noticeTimer = setTimeout(() => (box.hidden = true), 4000);
}

/// Tells what an escalation did about the caller's callback (`line_callback` of its answer),
/// when the line reached calls back from a queue of its own.
export function notifyLineCallback(placed) {
  if (!placed) return;
  const queue = placed.queue;
  if (placed.outcome === "queued") notify(t("The caller will be called back from queue {queue}.", { queue }));
  else if (placed.outcome === "moved") notify(t("The caller's callback moved to queue {queue}, keeping the place.", { queue }));
  else if (placed.outcome === "already_there") notify(t("The caller's callback already waits in queue {queue}.", { queue }));
  else notify(t("The caller could not be called back from queue {queue}: {reason}", { queue, reason: placed.reason || "" }), "bad");
}

/// Asks for a few values in the shared dialog. `fields`: [{name, label, value, options?}]
/// (options: [[value, label]] for a select). Answers {name: value} or null when cancelled.
export function ask(title, fields, confirm = t("OK")) {
  const dialog = $("ask");
  const form = $("ask-form");
  $("ask-title").textContent = title;
  $("ask-confirm").textContent = confirm;
  const inputs = fields.map((field) => {
    const id = "ask-" + field.name;
    const input = field.options
      ? el("select", { id, name: field.name }, field.options.map(([value, label]) => el("option", { value }, label)))
      : el("input", { id, name: field.name, type: field.type || "text", value: field.value || "", required: field.required !== false, autocomplete: field.type === "password" ? "new-password" : "off" });
    if (field.options && field.value !== undefined) input.value = field.value;
    return [el("label", { htmlFor: id }, field.label), input];
  });
  $("ask-fields").replaceChildren(...inputs.flat());
  return new Promise((resolve) => {
    const done = (answer) => {
      form.removeEventListener("submit", submit);
      dialog.removeEventListener("close", cancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const submit = (event) => {
      event.preventDefault();
      const answer = {};
      for (const field of fields) {
        const value = form.elements[field.name].value;
        answer[field.name] = field.type === "password" ? value : value.trim();
      }
      done(answer);
    };
    // The close event comes a task after the dialog closed: one left over from the dialog
    // before (closed by its answer) finds this one open, and is not a cancel.
    const cancel = () => {
      if (!dialog.open) done(null);
    };
    form.addEventListener("submit", submit);
    dialog.addEventListener("close", cancel);
    dialog.showModal();
    const first = inputs.length ? inputs[0][1] : null;
    if (first) first.focus();
  });
}

// Formatting. Every figure the API may leave out (null) shows as an em dash.

export const DASH = "—";

/// Number formats of the language shown (and of the deployment's currency), made again when
/// either changes.
const formats = { locale: null, currency: null };
let currency = null;

/// The ISO 4217 code of every amount (`[service] currency`, as `GET /api/me` tells it), or
/// null: amounts are then bare numbers.
export function setCurrency(code) {
  currency = code || null;
}

function format(kind) {
  const locale = localeTag();
  if (formats.locale !== locale || formats.currency !== currency) {
    formats.locale = locale;
    formats.currency = currency;
    formats.integer = new Intl.NumberFormat(locale);
    formats.money = new Intl.NumberFormat(locale, currency ? { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2 } : { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    formats.percent0 = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
    formats.percent1 = new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
  }
  return formats[kind];
}

export function count(n) {
  return n === null || n === undefined ? DASH : format("integer").format(n);
}

/// A ratio 0..1 as a percentage.
export function percent(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return DASH;
  return format(ratio >= 0.995 || ratio === 0 ? "percent0" : "percent1").format(ratio);
}

/// Seconds as `0:07`, `12:34` or `1:02:03`.
export function duration(secs) {
  if (secs === null || secs === undefined || !Number.isFinite(secs)) return DASH;
  const s = Math.max(0, Math.round(secs));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? h + ":" + String(m).padStart(2, "0") + ":" + rest : m + ":" + rest;
}

export function cents(value) {
  return value === null || value === undefined ? DASH : format("money").format(value / 100);
}

/// Unix milliseconds as a local date and time.
export function when(ms) {
  if (ms === null || ms === undefined) return DASH;
  return new Date(ms).toLocaleString(localeTag(), { dateStyle: "short", timeStyle: "short" });
}

/// `YYYY-MM-DD` of a Date in local time, for date inputs.
export function isoDate(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
}

/// A date input's value as Unix milliseconds at local midnight (null when empty).
export function dateMs(value, plusDays = 0) {
  if (!value) return null;
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).getTime();
}

/// The clock of the service: messages carry `at`, and the difference to ours keeps timers
/// honest on a screen whose clock is off.
let skew = 0;
export function serverClock(at) {
  if (Number.isFinite(at)) skew = at - Date.now();
}
export function now() {
  return Date.now() + skew;
}

/// A table from a header and rows of cells (strings or nodes); `numeric` lists the columns
/// aligned right.
export function table(headers, rows, { numeric = [], id } = {}) {
  return el(
    "table",
    { id },
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", { scope: "col", className: numeric.includes(i) ? "num" : "" }, h)))),
    el("tbody", {}, rows),
  );
}

export function cells(values, numeric = []) {
  return values.map((v, i) => el("td", { className: numeric.includes(i) ? "num" : "" }, v));
}

// Records, drawn one way on every screen: one function per concept. `as: "tr"` gives a table
// row (one cell per part, in the order of the table's head), otherwise a list item; `props`
// are the row's own properties (className, tabIndex, dataset, on).

/// What an SLA clock that ran out is called (`first_response`, `resolution`).
export const SLA_OVERDUE = { first_response: N_("first response overdue"), resolution: N_("resolution overdue") };

/// A ticket's SLA clocks that ran out, as red tags (none when on time).
export function slaTags(ticket) {
  return [
    ticket.first_response_breached ? el("span", { className: "tag bad" }, t(SLA_OVERDUE.first_response)) : null,
    ticket.resolution_breached ? el("span", { className: "tag bad" }, t(SLA_OVERDUE.resolution)) : null,
  ].filter(Boolean);
}

/// A record's caller as the service writes numbers (`[phonebook] number_style`).
export function callerShown(record) {
  return (record && (record.caller_number_shown || record.caller_number)) || "";
}

/// A ticket: `#id`, subject (★ when starred), status, priority, organization, caller, queue,
/// when, SLA. `organization`: the name to show (a ticket carries only its id); `at`: the time
/// shown (created by default); `overdue`: the one clock this row is about (the wallboard's
/// escalations), shown instead of the SLA tags. The pop-up's open tickets, the manager's list
/// and the wallboard's escalations.
export function ticketRow(ticket, { as = "li", organization, at, overdue, dataset, ...props } = {}) {
  const k = ticket || {};
  const subject = el("span", { className: "subject" }, k.starred ? el("span", { className: "star", title: t("starred") }, "★ ") : null, k.subject || "", k.low_rating ? lowRating(k) : null);
  const status = el("span", { className: "tag " + (k.status || "") }, label(TICKET_STATUS_LABEL, k.status));
  const time = when(at === undefined ? k.created_at : at);
  const sla = overdue ? [el("span", { className: "tag bad" }, t(SLA_OVERDUE[overdue] || N_("escalated")))] : slaTags(k);
  const own = { ...props, dataset: { ticket: String(k.id), ...(dataset || {}) } };
  if (as === "tr") {
    const where = [organization || DASH, callerShown(k) || DASH, k.queue || DASH, k.assignee || DASH];
    return el("tr", own, ...cells([String(k.id), subject, status, String(k.priority), ...where, time, sla.length ? sla : t("ok")], [0, 3]));
  }
  const where = [t("P{priority}", { priority: k.priority }), organization, callerShown(k), k.queue].filter(Boolean).join(" · ");
  return el("li", own, el("span", { className: "ticket-id" }, "#" + k.id), " ", subject, " ", status, " ", el("span", { className: "muted" }, where + " · " + time), " ", sla);
}

/// The flag of a ticket whose caller rated a call low (the survey after a call).
function lowRating(ticket) {
  return el("span", { className: "tag bad low-rating", title: t("A caller rated a call low; a manager clears the flag.") }, " " + t("rated {rating}/5", { rating: ticket.rating ?? "?" }));
}

/// A call: when, outcome, agent, queue, wait and talk time, then (a row) hang-up cause and
/// recording or (an item) its ticket. The pop-up's recent calls and a ticket's calls.
export function callRow(call, { as = "li", dataset, ...props } = {}) {
  const c = call || {};
  const outcome = label(OUTCOME_LABEL, c.outcome);
  const own = { ...props, dataset: { callId: String(c.id), ...(dataset || {}) } };
  if (as === "tr") {
    const values = [when(c.started_at), callerShown(c) || DASH, outcome, c.agent || DASH, c.queue || DASH, duration(c.wait_secs), duration(c.talk_secs), c.hangup_cause || DASH, c.recording ? player(c.id) : DASH];
    return el("tr", own, ...cells(values, [5, 6]));
  }
  const wait = t("wait {time}", { time: duration(c.wait_secs) });
  const talk = t("talk {time}", { time: duration(c.talk_secs) });
  const who = [c.agent, c.queue, wait, talk, c.ticket_id ? "#" + c.ticket_id : null].filter(Boolean).join(" · ");
  return el("li", own, el("span", {}, when(c.started_at)), " ", el("span", { className: "tag" }, outcome), " ", el("span", { className: "muted" }, who));
}

/// A call's recording: a button that puts the browser's player in its place (nothing is
/// fetched until asked; the player seeks with range requests).
function player(callId) {
  const button = el("button", { type: "button", className: "small secondary play" }, "▶ " + t("Play"));
  button.addEventListener("click", () => {
    const audio = el("audio", { controls: true, preload: "metadata", src: "/api/calls/" + encodeURIComponent(callId) + "/recording" });
    button.replaceWith(audio);
    audio.play().catch(() => {});
  });
  return button;
}

/// Every page of an `?after=ID&limit=N` list, up to `max` records.
export async function allPages(path, max = 2000) {
  const records = [];
  let after = 0;
  while (records.length < max) {
    const result = await api(path + (path.includes("?") ? "&" : "?") + "after=" + after + "&limit=500");
    if (!result.ok || !Array.isArray(result.body) || result.body.length === 0) break;
    records.push(...result.body);
    after = result.body[result.body.length - 1].id;
    if (result.body.length < 500) break;
  }
  return records;
}

/// The status of an agent whichever way it is spelled: the engine sends
/// `{"status": "on_break", "reason": "lunch"}`; older shapes a plain string.
export function agentStatus(agent) {
  const status = agent && agent.status;
  if (status && typeof status === "object") return { status: status.status || "", reason: status.reason || agent.reason || "" };
  return { status: status || "", reason: (agent && (agent.reason || agent.break_reason)) || "" };
}

// What the API's values are called on screen: `label(TABLE, value)` answers the translation,
// or the value itself (with spaces for underscores) when the table has none.

export const STATUS_LABEL = { available: N_("Available"), on_break: N_("On break"), logged_out: N_("Logged out") };
export const ACTIVITY_LABEL = { idle: N_("Idle"), ringing: N_("Ringing"), in_call: N_("In call"), wrap_up: N_("Wrap-up") };
export const TICKET_STATUS_LABEL = { new: N_("new"), open: N_("open"), pending: N_("pending"), resolved: N_("resolved"), closed: N_("closed") };
export const OUTCOME_LABEL = {
  answered: N_("answered"),
  abandoned: N_("abandoned"),
  voicemail: N_("voicemail"),
  fax: N_("fax"),
  fax_failed: N_("fax failed"),
  missed: N_("missed"),
};
export const STRATEGY_LABEL = {
  "longest-idle": N_("longest idle"),
  "round-robin": N_("round robin"),
  "ring-all": N_("ring all"),
  "fewest-calls": N_("fewest calls"),
  "least-talk-time": N_("least talk time"),
  linear: N_("linear"),
  random: N_("random"),
};
export const ROLE_LABEL = { agent: N_("agent"), supervisor: N_("supervisor"), manager: N_("manager"), admin: N_("admin") };

export function label(table, value) {
  if (value === null || value === undefined || value === "") return "";
  return table[value] ? t(table[value]) : String(value).replace(/_/g, " ");
}
