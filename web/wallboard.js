// The supervisor's wallboard: every queue with its waiting callers, agents and figures, the
// ticket escalations, and an event ticker. State comes whole per queue (`snapshot`, `queue`
// messages); times tick locally every second from `enqueued_at` and `since`.
// Actions: pause/resume an agent, move a caller to another queue or to the front, and
// listen / whisper / barge on an agent's call from the supervisor's own phone.

import {
  $, el, api, act, ask, notify, count, percent, duration, now, agentStatus, ticketRow, label, t, tn, N_,
  STATUS_LABEL, ACTIVITY_LABEL, STRATEGY_LABEL, DASH, readSetting, writeSetting,
} from "./lib.js";
import * as charts from "./charts.js";
import { localeTag } from "./i18n.js";
import { chime } from "./ring.js";

const ENDPOINT_KEY = "switchdesk.supervisor-endpoint";
const ESCALATIONS_OPEN_KEY = "switchdesk.escalations-open";
/// In TV mode, how long each page of queues stays before the next when they do not all fit.
const TV_PAGE_MS = 12000;

/// What SL and SL2 mean, for the counters' tooltips (`{secs}`: the queue's threshold).
const EXPLAINED = {
  service_level: N_("Service level: calls answered within {secs} s, of all answered calls (Asterisk's SL)."),
  service_level_2: N_("SL2: calls answered or abandoned within {secs} s, of all answered and abandoned calls (Asterisk's SL2): a caller who hangs up quickly does not count against it."),
};
const TICKER_MAX = 40;
const ESCALATIONS_MAX = 50;

/// The figures of a queue, in the order shown, with how each is formatted.
const COUNTERS = [
  ["offered", N_("Offered today"), count],
  ["answered", N_("Answered today"), count],
  ["abandoned", N_("Abandoned today"), count],
  ["service_level", N_("Service level"), percent],
  ["service_level_2", N_("SL2"), percent],
  ["average_speed_of_answer_secs", N_("ASA"), duration],
  ["average_handle_time_secs", N_("AHT"), duration],
  ["longest_wait_secs", N_("Longest wait"), duration],
  ["answered_rate", N_("Answered rate"), percent],
  ["callbacks_pending", N_("Callbacks pending"), count],
];

/// What the engine's values are called on the wallboard.
const DEPARTURE_LABEL = {
  answered: N_("answered"),
  abandoned: N_("abandoned"),
  overflowed: N_("overflowed"),
  callback_requested: N_("callback requested"),
  exited: N_("left by the exit key"),
  callback_failed: N_("callback failed"),
};
const EAVESDROP_LABEL = { listen: N_("Listen"), whisper: N_("Whisper"), barge: N_("Barge") };

let queues = new Map(); // name → the queue as last received
const callers = new Map(); // call UUID → {number, name, organization}, kept for agents' current calls
let ticker = null;
let shown = false;
let tvTimer = null;
let tvPage = 0;
let red = new Set(); // the queues shown red, for the alert banner and its chime

export function init() {
  $("queues").addEventListener("click", onAction);
  $("change-endpoint").addEventListener("click", () => supervisorEndpoint(true));
  $("tv-mode").addEventListener("click", enterTv);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.body.dataset.tv) leaveTv();
  });
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement && document.body.dataset.tv) leaveTv();
  });
  charts.init();
  const card = $("escalations-card");
  card.open = readFlag(ESCALATIONS_OPEN_KEY, true);
  card.addEventListener("toggle", () => writeFlag(ESCALATIONS_OPEN_KEY, card.open));
}

function readFlag(key, otherwise) {
  return readSetting(key, String(otherwise)) === "true";
}

function writeFlag(key, value) {
  writeSetting(key, String(value));
}

/// TV mode: full screen, large type, no controls; pages through the queues when they do not
/// all fit. Escape (or leaving full screen) ends it.
function enterTv() {
  document.body.dataset.tv = "true";
  window.scrollTo(0, 0);
  if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
  tvPage = 0;
  clearInterval(tvTimer);
  tvTimer = setInterval(turnTvPage, TV_PAGE_MS);
  layOutTv();
}

function leaveTv() {
  delete document.body.dataset.tv;
  clearInterval(tvTimer);
  tvTimer = null;
  for (const section of $("queues").children) section.hidden = false;
  if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(() => {});
}

function turnTvPage() {
  tvPage += 1;
  layOutTv();
}

/// Shows the page of queues that fits the screen, from the current page on.
function layOutTv() {
  if (!document.body.dataset.tv) return;
  const sections = [...$("queues").children];
  for (const section of sections) section.hidden = false;
  const room = window.innerHeight - $("queues").getBoundingClientRect().top;
  const pages = [];
  let page = [];
  let used = 0;
  for (const section of sections) {
    const height = section.getBoundingClientRect().height + 16;
    if (page.length > 0 && used + height > room) {
      pages.push(page);
      page = [];
      used = 0;
    }
    page.push(section);
    used += height;
  }
  if (page.length) pages.push(page);
  if (pages.length <= 1) return;
  const shownPage = pages[tvPage % pages.length];
  for (const section of sections) section.hidden = !shownPage.includes(section);
  $("queues").dataset.tvPage = String((tvPage % pages.length) + 1) + "/" + pages.length;
}

export function show() {
  shown = true;
  queues = new Map();
  red = new Set();
  $("queue-alert").hidden = true;
  $("queues").replaceChildren();
  $("ticker").replaceChildren();
  $("no-ticker").hidden = false;
  clearInterval(ticker);
  ticker = setInterval(tick, 1000);
  loadBreached();
  charts.start();
}

export function hide() {
  shown = false;
  clearInterval(ticker);
  ticker = null;
  charts.stop();
  if (document.body.dataset.tv) leaveTv();
}

export function onFeed(message) {
  if (!shown) return;
  switch (message.type) {
    case "snapshot":
      if (Array.isArray(message.queues)) {
        queues = new Map(message.queues.map((q) => [q.name, q]));
        renderAll();
      }
      break;
    case "queue":
      if (message.queue && message.queue.name) {
        queues.set(message.queue.name, message.queue);
        renderQueue(message.queue);
      }
      break;
    case "update":
      if (message.update) log(message.at, message.update);
      break;
    case "ticket":
      if (message.event && message.event.event === "escalated") escalated(message.event, message.at);
      break;
    default:
      break;
  }
}

function renderAll() {
  const root = $("queues");
  const names = [...queues.keys()].sort();
  for (const section of [...root.children]) {
    if (!queues.has(section.dataset.queue)) section.remove();
  }
  for (const name of names) renderQueue(queues.get(name));
  $("no-queues").hidden = names.length > 0;
}

function renderQueue(queue) {
  const root = $("queues");
  for (const caller of queue.waiting || []) remember(caller);
  const section = el(
    "section",
    { className: "card queue", dataset: { queue: queue.name } },
    el(
      "div",
      { className: "card-head" },
      el("h2", {}, queue.name),
      el("span", { className: "muted" }, label(STRATEGY_LABEL, queue.strategy)),
    ),
    counters(queue.counters || {}, charts.promiseOf(queue.name)),
    charts.historyOf(queue.name),
    el(
      "div",
      { className: "queue-columns" },
      el(
        "div",
        {},
        el(
          "h3",
          { className: "waiting-head" },
          t("Waiting"),
          " ",
          el("span", { className: "muted" }, String((queue.waiting || []).length)),
          " ",
          el("span", { className: "oldest" }),
        ),
        waitingList(queue),
      ),
      el(
        "div",
        {},
        el("h3", {}, t("Agents"), " ", el("span", { className: "muted" }, String((queue.agents || []).length))),
        agentList(queue),
      ),
    ),
  );
  const existing = [...root.children].find((s) => s.dataset.queue === queue.name);
  if (existing) existing.replaceWith(section);
  else {
    const after = [...root.children].find((s) => s.dataset.queue > queue.name);
    root.insertBefore(section, after || null);
  }
  $("no-queues").hidden = true;
  tick(section);
  if (document.body.dataset.tv) layOutTv();
}

/// The queue's figures, and `extra` (the promises' median error, kept by the charts) after them.
function counters(figures, extra) {
  return el(
    "dl",
    { className: "counters" },
    COUNTERS.map(([key, name, format]) => {
      let title = t(name);
      if (key === "service_level" && figures.service_level_secs) title = t("Service level ({secs} s)", { secs: figures.service_level_secs });
      if (key === "service_level_2" && figures.service_level_secs) title = t("SL2 ({secs} s)", { secs: figures.service_level_secs });
      const explained = EXPLAINED[key] ? t(EXPLAINED[key], { secs: figures.service_level_secs ?? "?" }) : undefined;
      return el("div", { className: "counter", title: explained, dataset: { key } }, el("dt", {}, title), el("dd", { dataset: { counter: key } }, format(figures[key])));
    }),
    extra,
  );
}

function identityOf(caller) {
  const identity = caller.identity || null;
  // The contact's own name when known: the label may carry the organization too, shown apart.
  const name = (identity && ((identity.contact && identity.contact.name) || identity.label)) || caller.name || "";
  const organization = (identity && identity.organization && identity.organization.name) || "";
  return { name, organization, vip: !!(identity && identity.vip) };
}

/// The caller of an agent's call as the service identified them (`caller` on the agent: the
/// wallboard opened or reloaded after the caller left the waiting list).
function fromIdentity(identity) {
  if (!identity) return null;
  const name = (identity.contact && identity.contact.name) || identity.label || "";
  const organization = (identity.organization && identity.organization.name) || "";
  const number = identity.number_shown || identity.e164 || "";
  return name || organization || number ? { name, organization, number } : null;
}

function remember(caller) {
  const who = identityOf(caller);
  callers.set(caller.call, { number: caller.number_shown || caller.number, ...who });
  if (callers.size > 1000) callers.delete(callers.keys().next().value);
}

function waitingList(queue) {
  const waiting = [...(queue.waiting || [])].sort((a, b) => a.position - b.position);
  if (waiting.length === 0) return el("p", { className: "muted empty" }, t("Nobody waiting."));
  return el(
    "ol",
    { className: "callers" },
    waiting.map((caller) => {
      const who = identityOf(caller);
      return el(
        "li",
        { className: "caller" + (who.vip ? " is-vip" : ""), dataset: { call: caller.call } },
        el("span", { className: "position" }, String(caller.position)),
        el(
          "span",
          { className: "caller-who" },
          el("span", { className: "number" }, caller.number_shown || caller.number || DASH),
          who.vip ? el("span", { className: "vip", title: "VIP" }, "VIP") : null,
          caller.callback ? el("span", { className: "tag" }, t("callback")) : null,
          caller.offered ? el("span", { className: "tag ringing" }, t("ringing")) : null,
          el("span", { className: "caller-name" }, who.name),
          el("span", { className: "organization" }, who.organization),
        ),
        el("span", { className: "waited", dataset: { since: caller.enqueued_at } }, duration(caller.waited_secs)),
        el(
          "span",
          { className: "row-actions" },
          el("button", { type: "button", className: "small secondary", dataset: { action: "front", call: caller.call } }, t("Front")),
          el("button", { type: "button", className: "small secondary", dataset: { action: "move", call: caller.call, queue: queue.name } }, t("Move…")),
        ),
      );
    }),
  );
}

function agentList(queue) {
  const agents = [...(queue.agents || [])].sort((a, b) => a.tier - b.tier || a.position - b.position || a.name.localeCompare(b.name));
  if (agents.length === 0) return el("p", { className: "muted empty" }, t("No agents."));
  return el(
    "ul",
    { className: "agents" },
    agents.map((agent) => {
      const { status, reason } = agentStatus(agent);
      const current = agent.call ? callers.get(agent.call) || fromIdentity(agent.caller) : null;
      const talking = agent.activity === "in_call" || agent.activity === "ringing";
      return el(
        "li",
        { className: "agent", dataset: { agent: agent.name, status, activity: agent.activity } },
        el("span", { className: "agent-name" }, agent.name),
        el("span", { className: "status pill " + status }, label(STATUS_LABEL, status) + (reason ? ": " + t(reason) : "")),
        el("span", { className: "activity pill " + agent.activity }, label(ACTIVITY_LABEL, agent.activity)),
        el("span", { className: "since", dataset: { since: agent.since } }, DASH),
        el(
          "span",
          { className: "current" },
          agent.call ? (current ? [current.name || current.number, current.organization ? " · " + current.organization : ""] : t("a call")) : "",
        ),
        el("span", { className: "muted figures" }, tn("{n} calls today", agent.calls || 0) + " · " + t("talk {time}", { time: duration(agent.talk_secs) })),
        el(
          "span",
          { className: "row-actions" },
          status === "on_break"
            ? el("button", { type: "button", className: "small", dataset: { action: "resume", agent: agent.name } }, t("Resume"))
            : status === "available"
              ? el("button", { type: "button", className: "small warn", dataset: { action: "pause", agent: agent.name } }, t("Pause"))
              : null,
          talking
            ? ["listen", "whisper", "barge"].map((mode) =>
                el("button", { type: "button", className: "small secondary", dataset: { action: "eavesdrop", mode, agent: agent.name } }, t(EAVESDROP_LABEL[mode])),
              )
            : null,
        ),
      );
    }),
  );
}

/// Waits and times in state, from the service's clock: in `root` (a queue just drawn), or
/// the whole wallboard once a second.
function tick(root = $("wallboard")) {
  const at = now();
  for (const node of root.querySelectorAll("[data-since]")) {
    const since = Number(node.dataset.since);
    if (since > 0) node.textContent = duration((at - since) / 1000);
  }
  judgeAll(at);
}

/// A figure against its limits: "red", "amber" or "" (a limit of 0 is off).
function over(value, amber, red) {
  if (red > 0 && value >= red) return "red";
  if (amber > 0 && value >= amber) return "amber";
  return "";
}

function worst(...levels) {
  return levels.includes("red") ? "red" : levels.includes("amber") ? "amber" : "";
}

/// A queue's colours now: its service level (at or below the limits), the longest wait of
/// the callers waiting now (ticking) and how many wait, against the queue's alert limits.
function levels(queue, at) {
  const limits = queue.alerts || {};
  const sl = queue.counters ? queue.counters.service_level : null;
  const slLevel = sl === null || sl === undefined ? "" : sl * 100 <= limits.service_level_red ? "red" : sl * 100 <= limits.service_level_amber ? "amber" : "";
  const waiting = queue.waiting || [];
  const oldest = waiting.reduce((most, caller) => Math.max(most, (at - caller.enqueued_at) / 1000), 0);
  const wait = over(oldest, limits.wait_amber_secs, limits.wait_red_secs);
  const count = over(waiting.length, limits.waiting_amber, limits.waiting_red);
  return { sl: slLevel, waiting: worst(wait, count), queue: worst(slLevel, wait, count), oldest, count: waiting.length };
}

/// Colours every queue, and raises the alert (banner and chime) when one turns red.
function judgeAll(at) {
  const nowRed = new Set();
  for (const section of $("queues").children) {
    const queue = queues.get(section.dataset.queue);
    if (!queue) continue;
    const level = levels(queue, at);
    section.dataset.level = level.queue;
    const sl = section.querySelector('.counter[data-key="service_level"]');
    if (sl) sl.dataset.level = level.sl;
    const head = section.querySelector(".waiting-head");
    if (head) {
      head.dataset.level = level.waiting;
      head.querySelector(".oldest").textContent = level.count ? t("longest {time}", { time: duration(level.oldest) }) : "";
    }
    if (level.queue === "red") nowRed.add(queue.name);
  }
  const turned = [...nowRed].some((name) => !red.has(name));
  red = nowRed;
  const banner = $("queue-alert");
  banner.hidden = red.size === 0;
  banner.textContent = red.size ? t("Service level at risk: {queues}", { queues: [...red].sort().join(", ") }) : "";
  if (turned) chime();
}

async function onAction(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const { action, call, agent } = button.dataset;
  button.disabled = true;
  try {
    if (action === "front") {
      const result = await act(t("Moving the caller to the front"), "/api/calls/" + encodeURIComponent(call) + "/front", { method: "POST" });
      if (result && result.ok) notify(t("The caller is now first in line."));
    } else if (action === "move") {
      const others = [...queues.keys()].filter((name) => name !== button.dataset.queue).sort();
      if (others.length === 0) {
        notify(t("There is no other queue to move the caller to."), "bad");
        return;
      }
      const answer = await ask(t("Move the caller to another queue"), [{ name: "queue", label: t("Queue"), options: others.map((q) => [q, q]) }], t("Move"));
      if (!answer) return;
      const result = await act(t("Moving the caller"), "/api/calls/" + encodeURIComponent(call) + "/move", { method: "POST", json: { queue: answer.queue } });
      if (result && result.ok) notify(t("The caller moved to {queue}.", { queue: answer.queue }));
    } else if (action === "pause") {
      await act(t("Pausing {agent}", { agent }), "/api/agents/" + encodeURIComponent(agent) + "/status", { method: "POST", json: { status: "on_break", reason: "supervisor" } });
    } else if (action === "resume") {
      await act(t("Resuming {agent}", { agent }), "/api/agents/" + encodeURIComponent(agent) + "/status", { method: "POST", json: { status: "available" } });
    } else if (action === "eavesdrop") {
      const endpoint = await supervisorEndpoint();
      if (!endpoint) return;
      const mode = button.dataset.mode;
      const result = await act(t("{mode} on {agent}", { mode: t(EAVESDROP_LABEL[mode]), agent }), "/api/agents/" + encodeURIComponent(agent) + "/eavesdrop", {
        method: "POST",
        json: { mode, endpoint },
      });
      if (result && result.ok) notify(t("Calling your phone ({endpoint}) to {mode}.", { endpoint, mode: t(EAVESDROP_LABEL[mode]).toLowerCase() }));
    }
  } finally {
    button.disabled = false;
  }
}

/// The supervisor's own phone, asked once and kept in this browser.
async function supervisorEndpoint(change = false) {
  let endpoint = null;
  try {
    endpoint = localStorage.getItem(ENDPOINT_KEY);
  } catch {
    endpoint = null;
  }
  if (endpoint && !change) return endpoint;
  const answer = await ask(
    t("Your phone for listening in"),
    [{ name: "endpoint", label: t("FreeSWITCH endpoint (e.g. user/1100@default)"), value: endpoint || "" }],
    t("Save"),
  );
  if (!answer || !answer.endpoint) return null;
  try {
    localStorage.setItem(ENDPOINT_KEY, answer.endpoint);
  } catch {
    // Private mode: ask again next time.
  }
  return answer.endpoint;
}

async function loadBreached() {
  try {
    const result = await api("/api/tickets?status=open&breached=true&limit=20");
    if (!result.ok || !Array.isArray(result.body) || !shown) return;
    const list = $("escalations");
    list.replaceChildren();
    for (const ticket of result.body.slice().reverse()) {
      const clock = ticket.first_response_breached && !ticket.first_response_at ? "first_response" : "resolution";
      escalated({ ticket, clock }, ticket.updated_at, true);
    }
  } catch {
    // The feed brings new ones.
  }
}

/// A ticket whose SLA clock ran out: the clock (first response or resolution) and when it ran
/// out, newest first; the list scrolls within its panel, so the queues stay on the screen.
function escalated(event, at, old = false) {
  const ticket = event.ticket || {};
  const due = event.clock === "first_response" ? ticket.first_response_due : event.clock === "resolution" ? ticket.resolution_due : null;
  at = due || at;
  const list = $("escalations");
  const existing = [...list.children].find((li) => li.dataset.ticket === String(ticket.id) && li.dataset.clock === event.clock);
  if (existing) existing.remove();
  list.prepend(ticketRow(ticket, { at, overdue: event.clock || "escalated", className: old ? "" : "fresh", dataset: { clock: event.clock || "" } }));
  while (list.children.length > ESCALATIONS_MAX) list.lastElementChild.remove();
  $("no-escalations").hidden = list.children.length > 0;
  $("escalations-count").textContent = list.children.length ? String(list.children.length) : "";
}

function log(at, update) {
  const kind = update.update || "update";
  if (kind === "caller_joined" && update.id && !callers.has(update.id)) {
    callers.set(update.id, { number: update.number, name: update.name, organization: "", vip: false });
  }
  const reason = update.departure && typeof update.departure === "object" ? update.departure.reason : update.departure;
  const departure = reason === "moved" ? t("moved to {queue}", { queue: update.departure.to }) : label(DEPARTURE_LABEL, reason);
  const line = {
    caller_joined: () => t("{caller} joined {queue} at #{position}", { caller: [update.number, update.name].filter(Boolean).join(" "), queue: update.queue, position: update.position }),
    caller_left: () => t("{caller} left {queue}", { caller: caller(update.id), queue: update.queue }) + (departure ? " (" + departure + ")" : ""),
    announced: () => t("position {position} announced to {caller}", { position: update.position, caller: caller(update.call) }),
    agent_changed: () => t("{agent} is {status} / {activity}", { agent: update.agent, status: label(STATUS_LABEL, update.status), activity: label(ACTIVITY_LABEL, update.activity) }),
    connected: () => t("{caller} connected to {agent} after {time}", { caller: caller(update.call), agent: update.agent, time: duration((update.waited_ms || 0) / 1000) }),
    ended: () => t("{agent} ended a call of {time}", { agent: update.agent, time: duration((update.talk_ms || 0) / 1000) }),
    callback_queued: () => t("callback queued for {number} in {queue}", { number: update.number, queue: update.queue }),
    callback_done: () => t(update.reached ? N_("callback reached in {queue}") : N_("callback not reached in {queue}"), { queue: update.queue }),
    moved_to_front: () => t("{caller} moved to the front of {queue}", { caller: caller(update.id), queue: update.queue }),
    counters_changed: () => null,
    wait_promised: () => null,
  }[kind];
  const text = line ? line() : kind.replace(/_/g, " ");
  if (!text) return;
  const list = $("ticker");
  list.prepend(el("li", {}, el("time", {}, new Date(at || Date.now()).toLocaleTimeString(localeTag())), " ", text));
  while (list.children.length > TICKER_MAX) list.lastElementChild.remove();
  $("no-ticker").hidden = true;
}

function caller(call) {
  const known = call ? callers.get(call) : null;
  return known ? known.name || known.number : t("a caller");
}
