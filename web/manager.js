// The manager's view: tickets with filters, one ticket with its calls, time, notes and faxes
// (status and priority edited in place), and the profitability report per organization for a
// period, drawn as an SVG bar chart (fee, cost, margin) with a CSV download.

import {
  $, el, fill, svg, api, act, notify, table, cells, allPages, count, duration, when, cents, isoDate, dateMs, ticketRow, callRow, label, t, tn, N_,
  TICKET_STATUS_LABEL, DASH,
} from "./lib.js";
import { localeTag } from "./i18n.js";

const STATUSES = ["new", "open", "pending", "resolved", "closed"];
const PRIORITIES = [
  ["1", N_("1 (high)")],
  ["2", N_("2 (normal)")],
  ["3", N_("3 (low)")],
];
const KIND_LABEL = { call: N_("call"), callback: N_("callback"), fax: N_("fax"), voicemail: N_("voicemail"), manual: N_("manual") };

let organizations = new Map(); // id → name
let shown = false;
let selected = null; // the ticket id whose detail is open
let refresh = null; // debounce of reloads triggered by the feed

export function init() {
  $("ticket-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadTickets();
  });
  $("tickets").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-ticket]");
    if (row) openTicket(row.dataset.ticket);
  });
  $("tickets").addEventListener("keydown", (event) => {
    const row = event.target.closest("tr[data-ticket]");
    if (row && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      openTicket(row.dataset.ticket);
    }
  });
  $("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadReport();
  });
  for (const id of ["report-from", "report-to"]) $(id).addEventListener("change", updateCsvLink);
  const today = new Date();
  $("report-from").value = isoDate(new Date(today.getFullYear(), today.getMonth(), 1));
  $("report-to").value = isoDate(today);
  updateCsvLink();
}

export async function show() {
  shown = true;
  await Promise.all([loadOrganizations(), loadQueues()]);
  if (!shown) return;
  loadTickets();
  loadReport();
}

export function hide() {
  shown = false;
  clearTimeout(refresh);
}

/// Ticket changes arrive on the wallboard feed: reload the list (and the open ticket) soon.
export function onFeed(message) {
  if (!shown || message.type !== "ticket") return;
  clearTimeout(refresh);
  refresh = setTimeout(() => {
    loadTickets();
    const id = message.event && message.event.ticket && message.event.ticket.id;
    if (selected !== null && String(id) === String(selected)) openTicket(selected, false);
  }, 500);
}

async function loadOrganizations() {
  try {
    const records = await allPages("/api/organizations");
    organizations = new Map(records.map((o) => [o.id, o.name]));
    const select = $("filter-organization");
    const chosen = select.value;
    select.replaceChildren(
      el("option", { value: "" }, t("any")),
      ...[...organizations].sort((a, b) => a[1].localeCompare(b[1], localeTag())).map(([id, name]) => el("option", { value: String(id) }, name)),
    );
    select.value = chosen;
  } catch {
    // The list still works without names.
  }
}

async function loadQueues() {
  try {
    const result = await api("/api/queues");
    if (!result.ok || !Array.isArray(result.body)) return;
    const select = $("filter-queue");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, t("any")), ...result.body.map((q) => el("option", { value: q.name }, q.name)));
    select.value = chosen;
  } catch {
    // Queue filter stays "any".
  }
}

function ticketQuery() {
  const params = new URLSearchParams();
  const value = (id) => $(id).value.trim();
  if (value("filter-organization")) params.set("organization_id", value("filter-organization"));
  if (value("filter-status")) params.set("status", value("filter-status"));
  const from = dateMs(value("filter-from"));
  const to = dateMs(value("filter-to"), 1); // the whole "to" day
  if (from !== null) params.set("from", String(from));
  if (to !== null) params.set("to", String(to));
  if (value("filter-queue")) params.set("queue", value("filter-queue"));
  if (value("filter-agent")) params.set("agent", value("filter-agent"));
  if ($("filter-breached").checked) params.set("breached", "true");
  params.set("limit", "200");
  return params.toString();
}

async function loadTickets() {
  const result = await act(t("Loading tickets"), "/api/tickets?" + ticketQuery());
  if (!shown || !result || !result.ok) return;
  const tickets = result.body || [];
  const body = $("tickets").tBodies[0];
  body.replaceChildren(
    ...tickets.map((ticket) =>
      ticketRow(ticket, {
        as: "tr",
        organization: organizationName(ticket),
        className: "clickable" + (String(ticket.id) === String(selected) ? " selected" : ""),
        tabIndex: 0,
      }),
    ),
  );
  $("no-tickets").hidden = tickets.length > 0;
  $("tickets-count").textContent = tickets.length === 200 ? t("the newest 200") : tn("{n} tickets", tickets.length);
}

function organizationName(ticket) {
  if (ticket.organization_id === null || ticket.organization_id === undefined) return ticket.unidentified ? t("unidentified") : DASH;
  return organizations.get(ticket.organization_id) || "#" + ticket.organization_id;
}

async function openTicket(id, scroll = true) {
  selected = id;
  for (const row of $("tickets").tBodies[0].rows) row.classList.toggle("selected", row.dataset.ticket === String(id));
  const result = await act(t("Loading ticket #{id}", { id }), "/api/tickets/" + encodeURIComponent(id));
  if (!result || !result.ok) return;
  renderTicket(result.body);
  if (scroll) $("ticket-detail").scrollIntoView({ behavior: "smooth", block: "start" });
}

function renderTicket(view) {
  const k = view.ticket;
  const box = $("ticket-detail");
  const status = el("select", { id: "detail-status" }, STATUSES.map((s) => el("option", { value: s }, label(TICKET_STATUS_LABEL, s))));
  status.value = k.status;
  const priority = el("select", { id: "detail-priority" }, PRIORITIES.map(([v, name]) => el("option", { value: v }, t(name))));
  priority.value = String(k.priority);
  const save = el("button", { type: "button", id: "detail-save" }, t("Save"));
  save.addEventListener("click", async () => {
    save.disabled = true;
    const result = await act(t("Saving ticket #{id}", { id: k.id }), "/api/tickets/" + k.id, {
      method: "PATCH",
      json: { status: status.value, priority: Number(priority.value) },
    });
    save.disabled = false;
    if (result && result.ok) {
      notify(t("Ticket #{id} saved.", { id: k.id }));
      loadTickets();
    }
  });
  const note = el("textarea", { id: "detail-note", rows: 2, placeholder: t("Add a note") });
  const addNote = el("button", { type: "button", className: "secondary" }, t("Add the note"));
  addNote.addEventListener("click", async () => {
    const body = note.value.trim();
    if (!body) return;
    const result = await act(t("Adding the note"), "/api/tickets/" + k.id + "/notes", { method: "POST", json: { body } });
    if (result && result.ok) openTicket(k.id, false);
  });
  const contact = view.contact ? [view.contact.first_name, view.contact.last_name].filter(Boolean).join(" ") : "";
  fill(
    box,
    el(
      "div",
      { className: "card-head" },
      el("h2", {}, "#" + k.id + " " + k.subject),
      el("button", { type: "button", className: "secondary", on: { click: () => ((box.hidden = true), (selected = null)) } }, t("Close")),
    ),
    el(
      "dl",
      { className: "facts" },
      fact(t("Kind"), label(KIND_LABEL, k.kind)),
      fact(t("Organization"), (view.organization && view.organization.name) || DASH),
      fact(t("Contact"), contact || DASH),
      fact(t("Caller"), k.caller_number || DASH),
      fact(t("Queue"), k.queue || DASH),
      fact(t("Created"), when(k.created_at)),
      fact(t("First response"), k.first_response_at ? when(k.first_response_at) : t("due {time}", { time: when(k.first_response_due) })),
      fact(t("Resolution"), k.resolved_at ? when(k.resolved_at) : t("due {time}", { time: when(k.resolution_due) })),
      fact(t("Talk time"), duration(view.talk_secs)),
      fact(t("Cost"), cents(view.cost_cents)),
    ),
    el("div", { className: "actions" }, el("label", { className: "inline", htmlFor: "detail-status" }, t("Status")), status, el("label", { className: "inline", htmlFor: "detail-priority" }, t("Priority")), priority, save),
    el("h3", {}, t("Calls")),
    view.calls.length
      ? el(
          "div",
          { className: "scroll" },
          table(
            [t("Started"), t("Outcome"), t("Agent"), t("Queue"), t("Wait"), t("Talk"), t("Hangup cause"), t("Recording")],
            view.calls.map((c) => callRow(c, { as: "tr" })),
            { numeric: [4, 5] },
          ),
        )
      : el("p", { className: "muted" }, t("No calls.")),
    el("h3", {}, t("Time entries")),
    view.time_entries.length
      ? table(
          [t("When"), t("Agent"), t("Time"), t("Rate"), t("Cost")],
          view.time_entries.map((e) => el("tr", {}, ...cells([when(e.at), e.agent, duration(e.seconds), t("{amount}/h", { amount: cents(e.hourly_rate_cents) }), cents(e.cost_cents)], [2, 3, 4]))),
          { numeric: [2, 3, 4] },
        )
      : el("p", { className: "muted" }, t("No time booked.")),
    view.faxes.length ? el("h3", {}, t("Faxes")) : null,
    view.faxes.length
      ? el(
          "ul",
          { className: "plain-list" },
          view.faxes.map((f) =>
            el(
              "li",
              {},
              when(f.received_at) + " · " + (f.caller_number || DASH) + " → " + (f.did || DASH) + " · " + tn("{n} pages", f.pages || 0) + " · " + (f.success ? t("received") : t("failed: {reason}", { reason: f.result_text })) + " ",
              f.pdf_file_id ? el("a", { href: "/api/files/" + encodeURIComponent(f.pdf_file_id), target: "_blank", rel: "noopener" }, "PDF") : null,
            ),
          ),
        )
      : null,
    el("h3", {}, t("Notes")),
    el(
      "ul",
      { className: "notes-list" },
      view.notes.length ? view.notes.map((n) => el("li", {}, el("span", { className: "muted" }, when(n.at) + " · " + n.author), el("p", {}, n.body))) : el("li", { className: "muted" }, t("No notes.")),
    ),
    note,
    el("div", { className: "actions" }, addNote),
  );
  box.hidden = false;
}

function fact(name, value) {
  return el("div", {}, el("dt", {}, name), el("dd", {}, value));
}

function reportPeriod() {
  const from = $("report-from").value;
  const to = $("report-to").value;
  const params = new URLSearchParams();
  // Local midnights, as the screen shows them; "to" is exclusive, so the chosen day counts whole.
  if (from) params.set("from", String(dateMs(from)));
  if (to) params.set("to", String(dateMs(to, 1)));
  return params.toString();
}

function updateCsvLink() {
  $("report-csv").href = "/api/reports/profitability?" + reportPeriod() + "&format=csv";
}

async function loadReport() {
  updateCsvLink();
  const result = await act(t("Loading the report"), "/api/reports/profitability?" + reportPeriod());
  if (!shown || !result || !result.ok) return;
  const lines = result.body.organizations || [];
  drawChart(lines);
  $("report-table").replaceChildren(
    lines.length
      ? table(
          [t("Organization"), t("Calls"), t("Answered"), t("Talk hours"), t("Cost"), t("Fee"), t("Margin")],
          lines.map((l) =>
            el(
              "tr",
              { dataset: { organization: String(l.organization_id ?? "") } },
              ...cells([l.organization, count(l.calls), count(l.answered_calls), l.talk_hours.toLocaleString(localeTag(), { minimumFractionDigits: 2, maximumFractionDigits: 2 }), cents(l.cost_cents), cents(l.fee_cents), el("span", { className: l.margin_cents < 0 ? "loss" : "" }, cents(l.margin_cents))], [1, 2, 3, 4, 5, 6]),
            ),
          ),
          { numeric: [1, 2, 3, 4, 5, 6] },
        )
      : el("p", { className: "muted" }, t("No calls, time or fees in this period.")),
  );
}

/// Horizontal bars per organization: fee and cost side by side, the margin as a number
/// (red when negative). Drawn with DOM calls; scales to the largest figure.
function drawChart(lines) {
  const chart = $("report-chart");
  // The biggest accounts first; the table below keeps the report's order.
  const shownLines = [...lines].sort((a, b) => Math.max(b.fee_cents, b.cost_cents) - Math.max(a.fee_cents, a.cost_cents)).slice(0, 25);
  const rowHeight = 34;
  const labelWidth = 190;
  const width = 760;
  const marginWidth = 110;
  const barSpace = width - labelWidth - marginWidth - 10;
  const height = Math.max(1, shownLines.length) * rowHeight + 34;
  chart.setAttribute("viewBox", "0 0 " + width + " " + height);
  chart.setAttribute("preserveAspectRatio", "xMinYMin meet");
  const top = Math.max(1, ...shownLines.map((l) => Math.max(l.fee_cents, l.cost_cents)));
  const scale = (value) => Math.max(0, (value / top) * barSpace);
  // The cost key after the fee's label, however long it is in the language shown.
  const costAt = labelWidth + 18 + t("fee").length * 9 + 16;
  const children = [
    svg("g", { class: "legend" },
      svg("rect", { x: labelWidth, y: 4, width: 12, height: 12, class: "bar-fee" }),
      svg("text", { x: labelWidth + 18, y: 14 }, t("fee")),
      svg("rect", { x: costAt, y: 4, width: 12, height: 12, class: "bar-cost" }),
      svg("text", { x: costAt + 18, y: 14 }, t("cost")),
      svg("text", { x: width - 4, y: 14, "text-anchor": "end" }, t("margin")),
    ),
  ];
  if (shownLines.length === 0) children.push(svg("text", { x: 4, y: 44, class: "muted-text" }, t("Nothing to chart for this period.")));
  shownLines.forEach((line, i) => {
    const y = 28 + i * rowHeight;
    const name = line.organization.length > 26 ? line.organization.slice(0, 25) + "…" : line.organization;
    children.push(
      svg(
        "g",
        { class: "row", "data-organization": String(line.organization_id ?? "") },
        svg("title", {}, t("{organization}: fee {fee}, cost {cost}, margin {margin}", { organization: line.organization, fee: cents(line.fee_cents), cost: cents(line.cost_cents), margin: cents(line.margin_cents) })),
        svg("text", { x: labelWidth - 8, y: y + 17, "text-anchor": "end" }, name),
        svg("rect", { x: labelWidth, y: y + 3, width: scale(line.fee_cents), height: 12, class: "bar-fee" }),
        svg("rect", { x: labelWidth, y: y + 16, width: scale(line.cost_cents), height: 12, class: "bar-cost" }),
        svg("text", { x: width - 4, y: y + 17, "text-anchor": "end", class: line.margin_cents < 0 ? "loss" : "gain" }, cents(line.margin_cents)),
      ),
    );
  });
  if (lines.length > shownLines.length) {
    children.push(svg("text", { x: 4, y: height - 4, class: "muted-text" }, tn("and {n} more in the table", lines.length - shownLines.length)));
  }
  chart.replaceChildren(...children);
}
