// Incidents from monitoring on the manager's view: those not resolved (and those resolved
// lately), each with its organization, line, occurrences and the running timer (to be taken,
// to be resolved; ticking in the page from `due_at`), with Take and Resolve buttons. The
// list comes from `GET /api/incidents`, again on every ticket change of the feed and every
// 30 s. `incidentLines` draws a pop-up's incidents (agent.js).

import { $, el, fill, api, act, notify, duration, when, now, serverClock, label, t, N_, DASH } from "./lib.js";

const STATUS_LABEL = { open: N_("waiting to be taken"), taken: N_("in work"), resolved: N_("incident resolved") };
const POLL_MS = 30_000;

let shown = false;
let listing = null; // the last answer of GET /api/incidents
let ticking = null; // the timers' one-second redraw
let polling = null;
let reload = null; // debounce of reloads triggered by the feed

export function init() {
  $("incidents").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const { action, incident } = button.dataset;
    button.disabled = true;
    const what = action === "take" ? t("Taking incident {id}", { id: incident }) : t("Resolving incident {id}", { id: incident });
    const result = await act(what, "/api/incidents/" + encodeURIComponent(incident) + "/" + action, { method: "POST", json: {} });
    if (result && result.ok) notify(action === "take" ? t("Incident {id} is yours.", { id: incident }) : t("Incident {id} resolved.", { id: incident }));
    load();
  });
}

export function show() {
  shown = true;
  load();
  ticking = setInterval(drawTimers, 1000);
  polling = setInterval(load, POLL_MS);
}

export function hide() {
  shown = false;
  clearInterval(ticking);
  clearInterval(polling);
  clearTimeout(reload);
}

/// Ticket changes (an incident is a ticket) arrive on the feed: reload soon.
export function onFeed(message) {
  if (!shown || message.type !== "ticket") return;
  clearTimeout(reload);
  reload = setTimeout(load, 300);
}

async function load() {
  let result;
  try {
    result = await api("/api/incidents");
  } catch {
    result = null;
  }
  if (!shown) return;
  if (!result || !result.ok) {
    fill($("incidents-list"), el("p", { className: "error" }, t("The incidents cannot be read now.")));
    return;
  }
  listing = result.body;
  serverClock(listing.at);
  draw();
}

function lineName(line) {
  return (listing && listing.lines && listing.lines[line - 1]) || String(line);
}

function draw() {
  const incidents = listing.incidents || [];
  const open = incidents.filter((i) => i.status !== "resolved");
  $("incidents-count").textContent = open.length ? t("Open: {count}", { count: open.length }) : "";
  if (!incidents.length) {
    fill($("incidents-list"), el("p", { className: "muted empty" }, t("No incidents.")));
    return;
  }
  fill(
    $("incidents-list"),
    el(
      "ul",
      { className: "plain-list incidents" },
      incidents.map((incident) =>
        el(
          "li",
          { className: "incident is-" + incident.status, dataset: { incident: String(incident.id) } },
          el(
            "p",
            {},
            el("strong", {}, "#" + incident.id + " " + incident.title),
            " ",
            el("span", { className: "tag" }, label(STATUS_LABEL, incident.status)),
            incident.occurrences > 1 ? el("span", { className: "muted" }, " ×" + incident.occurrences) : null,
          ),
          el(
            "p",
            { className: "muted" },
            [incident.organization || t("no organization"), incident.host || incident.address, lineName(incident.line), incident.taken_by ? t("taken by {name}", { name: incident.taken_by }) : null, when(incident.opened_at)]
              .filter(Boolean)
              .join(" · "),
          ),
          el("p", { className: "incident-timer", dataset: { due: incident.due_at === null ? "" : String(incident.due_at), status: incident.status } }),
          incident.status === "resolved"
            ? null
            : el(
                "div",
                { className: "actions" },
                incident.status === "open" ? el("button", { type: "button", dataset: { action: "take", incident: String(incident.id) } }, t("Take")) : null,
                el("button", { type: "button", className: "secondary", dataset: { action: "resolve", incident: String(incident.id) } }, t("Resolve")),
              ),
        ),
      ),
    ),
  );
  drawTimers();
}

/// Each running timer: the time left to take or resolve, or how long it is overdue.
function drawTimers() {
  for (const node of document.querySelectorAll("#incidents-list .incident-timer")) {
    const { due, status } = node.dataset;
    if (status === "resolved") {
      node.textContent = "";
      continue;
    }
    if (!due) {
      node.textContent = t("Overdue on the highest line");
      node.classList.add("bad");
      continue;
    }
    const left = (Number(due) - now()) / 1000;
    const which = status === "open" ? t("to be taken within {time}", { time: duration(left) }) : t("to be resolved within {time}", { time: duration(left) });
    node.textContent = left > 0 ? which : t("Escalating…");
    node.classList.toggle("bad", left <= 60);
  }
}

/// A pop-up's incidents (the caller's organization's, newest first), drawn first.
export function incidentLines(incidents) {
  return (incidents || []).map((incident) =>
    el(
      "p",
      { className: "incident-notice", dataset: { incident: String(incident.id) } },
      el("strong", {}, t("Incident #{id}", { id: incident.id }) + ": " + incident.title),
      " ",
      el("span", { className: "muted" }, [incident.host || incident.address, label(STATUS_LABEL, incident.status)].filter(Boolean).join(" · ") || DASH),
    ),
  );
}
