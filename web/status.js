// The event-socket status view: the FreeSWITCH link and event counts from /api/status,
// polled once a second while the view is open.

import { $, api, el, count, t, N_, when, DASH } from "./lib.js";
import { localeTag } from "./i18n.js";

const REFRESH_MS = 1000;
const number = { format: count };

/// A rate: whole above 10 a second, one decimal below.
function perSecond(rate) {
  return rate >= 10 ? number.format(Math.round(rate)) : rate.toLocaleString(localeTag(), { maximumFractionDigits: 1, minimumFractionDigits: 1 });
}

let timer = null;
let generation = 0; // bumped on every show/hide, so a poll still in flight cannot revive an old loop
let previous = null; // { at, events } from the last poll, for per-second rates

export function init() {}

export function show() {
  hide();
  previous = null;
  poll(generation);
}

export function hide() {
  generation += 1;
  clearTimeout(timer);
  timer = null;
}

async function poll(loop) {
  try {
    const result = await api("/api/status");
    if (loop !== generation) return;
    $("stale").hidden = result.ok;
    if (result.ok) render(result.body);
    else if (result.status === 401) return;
  } catch {
    if (loop !== generation) return;
    $("stale").hidden = false;
  }
  timer = setTimeout(() => poll(loop), REFRESH_MS);
}

function render(status) {
  const esl = status.esl || {};
  const pill = $("esl-state");
  pill.textContent = esl.connected ? t("connected") : t("disconnected");
  pill.className = "pill " + (esl.connected ? "ok" : "bad");
  $("events-total").textContent = number.format(esl.events_total || 0);
  $("reconnects").textContent = number.format(esl.reconnects || 0);
  $("events-shed").textContent = number.format(esl.events_shed || 0);
  $("events-shed").classList.toggle("warn", (esl.events_shed || 0) > 0);
  $("esl-nodes").replaceChildren(...(esl.nodes || []).map(nodeRow));
  renderLeader(status.leadership || {});

  const now = performance.now();
  const events = status.events || {};
  const seconds = previous ? (now - previous.at) / 1000 : 0;
  const rows = Object.entries(events).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  $("events").replaceChildren(
    ...rows.map(([name, count]) => {
      const before = previous && previous.events[name] !== undefined ? previous.events[name] : count;
      const rate = seconds > 0 ? Math.max(0, count - before) / seconds : 0;
      return el(
        "tr",
        {},
        el("td", {}, name),
        el("td", { className: "num" }, number.format(count)),
        el("td", { className: "num" }, perSecond(rate)),
      );
    }),
  );
  $("no-events").hidden = rows.length > 0;
  $("updated").textContent = t("updated {time}", { time: new Date().toLocaleTimeString(localeTag()) });
  previous = { at: now, events };
}

// Which instance drives the queues, and what this one is.
const ROLE_TEXT = {
  leader: N_("this instance leads"),
  standby: N_("this instance stands by"),
  single: N_("the only instance"),
};

function renderLeader(lead) {
  $("leader").textContent = lead.leader || DASH;
  $("leader-role").textContent = ROLE_TEXT[lead.role] ? t(ROLE_TEXT[lead.role]) : "";
}

// One node's link: address, since when, the switch's version and uptime (from its
// heartbeats), the last heartbeat, events per second and reconnects.
function nodeRow(node) {
  const time = (ms) => (typeof ms === "number" ? when(ms) : DASH);
  const rate = node.events_per_second || 0;
  return el(
    "tr",
    { dataset: { node: node.node } },
    el("td", {}, node.node),
    el("td", {}, node.address || "—"),
    el(
      "td",
      {},
      el("span", { className: "pill " + (node.connected ? "ok" : "bad") }, node.connected ? t("connected") : t("disconnected")),
      node.connected || !node.disconnect_reason ? "" : " " + node.disconnect_reason,
    ),
    el("td", { className: "connected-since" }, time(node.connected_since)),
    el("td", { className: "version" }, node.version || "—"),
    el("td", { className: "uptime" }, node.uptime || "—"),
    el("td", { className: "last-heartbeat" }, time(node.last_heartbeat)),
    el("td", { className: "num" }, perSecond(rate)),
    el("td", { className: "num" }, number.format(node.reconnects || 0)),
  );
}
