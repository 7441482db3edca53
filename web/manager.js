// The manager's view: tickets with filters, a search and pages (and the filtered list as CSV),
// one ticket with its calls, time, notes and faxes (status, priority, assignee and star edited
// in place; its own address, `#manager/ticket/42`), and the profitability report per
// organization for a period, drawn as an SVG bar chart (fee, cost, margin) with a CSV download,
// and callers' ratings per agent, queue or organization (a low one flags its ticket).
// Incidents from monitoring lead the view (`incidents.js`).

import {
  $, el, fill, svg, api, act, ask, notify, notifyLineCallback, percent, table, cells, allPages, count, duration, when, cents, isoDate, dateMs, ticketRow, callRow, label, t, tn, N_,
  TICKET_STATUS_LABEL, DASH, callerShown,
} from "./lib.js";
import { localeTag } from "./i18n.js";
import * as incidents from "./incidents.js";

const STATUSES = ["new", "open", "pending", "resolved", "closed"];
const PRIORITIES = [
  ["1", N_("1 (high)")],
  ["2", N_("2 (normal)")],
  ["3", N_("3 (low)")],
];
const KIND_LABEL = { call: N_("call"), callback: N_("callback"), fax: N_("fax"), voicemail: N_("voicemail"), manual: N_("manual"), incident: N_("incident") };

const PAGE = 50; // tickets a page

let organizations = new Map(); // id → name
let shown = false;
let offset = 0; // the first ticket of the page shown, newest first
let total = 0; // tickets the filters match on every page
let selected = null; // the ticket id whose detail is open
let refresh = null; // debounce of reloads triggered by the feed
let listed = null; // the list's first load since the view was shown

export function init() {
  incidents.init();
  $("ticket-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    loadTickets();
  });
  $("tickets-newer").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    loadTickets();
  });
  $("tickets-older").addEventListener("click", () => {
    offset += PAGE;
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
  $("ratings-by").addEventListener("change", loadRatings);
  const today = new Date();
  $("report-from").value = isoDate(new Date(today.getFullYear(), today.getMonth(), 1));
  $("report-to").value = isoDate(today);
  updateCsvLink();
}

export function show() {
  shown = true;
  incidents.show();
  listed = (async () => {
    await Promise.all([loadOrganizations(), loadQueues()]);
    if (!shown) return;
    loadReport();
    await loadTickets();
  })();
  return listed;
}

export function hide() {
  shown = false;
  incidents.hide();
  clearTimeout(refresh);
}

/// The part of the address after `#manager/`: `ticket/42` opens that ticket, once the list
/// above it is drawn (so the list does not push the detail out of view).
export async function route(place) {
  const match = /^ticket\/(\d+)$/.exec(place);
  if (!match || match[1] === String(selected)) return;
  selected = match[1];
  await listed;
  if (shown && selected === match[1]) openTicket(match[1]);
}

/// Ticket changes arrive on the wallboard feed: reload the list (and the open ticket) soon.
export function onFeed(message) {
  incidents.onFeed(message);
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
    // The queues' agents, offered where a ticket's assignee is typed.
    const agents = new Set(result.body.flatMap((q) => (q.agents || []).map((a) => a.name || a)));
    $("assignee-names").replaceChildren(...[...agents].sort().map((name) => el("option", { value: name })));
  } catch {
    // Queue filter stays "any".
  }
}

/// The filters as a query, without the page.
function ticketFilters() {
  const params = new URLSearchParams();
  const value = (id) => $(id).value.trim();
  if (value("filter-q")) params.set("q", value("filter-q"));
  if (value("filter-organization")) params.set("organization_id", value("filter-organization"));
  if (value("filter-status")) params.set("status", value("filter-status"));
  const from = dateMs(value("filter-from"));
  const to = dateMs(value("filter-to"), 1); // the whole "to" day
  if (from !== null) params.set("from", String(from));
  if (to !== null) params.set("to", String(to));
  if (value("filter-queue")) params.set("queue", value("filter-queue"));
  if (value("filter-agent")) params.set("agent", value("filter-agent"));
  if (value("filter-assignee")) params.set("assignee", value("filter-assignee"));
  if ($("filter-breached").checked) params.set("breached", "true");
  if ($("filter-low-rating").checked) params.set("low_rating", "true");
  return params;
}

async function loadTickets() {
  const params = ticketFilters();
  const csv = new URLSearchParams(params);
  csv.set("format", "csv");
  $("tickets-csv").href = "/api/tickets?" + csv.toString();
  params.set("limit", String(PAGE));
  params.set("offset", String(offset));
  const result = await act(t("Loading tickets"), "/api/tickets?" + params.toString());
  if (!shown || !result || !result.ok) return;
  const tickets = result.body || [];
  total = Number(result.headers.get("X-Total-Count")) || tickets.length;
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
  $("tickets-count").textContent = tn("{n} tickets", total);
  $("tickets-page").textContent = tickets.length ? t("{first}–{last} of {total}", { first: count(offset + 1), last: count(offset + tickets.length), total: count(total) }) : "";
  $("tickets-newer").disabled = offset === 0;
  $("tickets-older").disabled = offset + tickets.length >= total;
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
  // The ticket's own address, to copy or bookmark (replaced, so Back leaves the view).
  if (location.hash !== ticketLink(id)) history.replaceState(null, "", ticketLink(id));
  if (scroll) reveal($("ticket-detail"));
}

function ticketLink(id) {
  return "#manager/ticket/" + id;
}

/// Scrolls `box` to the top of the window, below the top bar when the bar stays on screen.
function reveal(box) {
  const bar = document.querySelector(".topbar");
  if (bar && getComputedStyle(bar).position === "sticky") box.style.scrollMarginTop = bar.offsetHeight + 12 + "px";
  box.scrollIntoView({ behavior: "smooth", block: "start" });
}

function closeTicket() {
  $("ticket-detail").hidden = true;
  selected = null;
  for (const row of $("tickets").tBodies[0].rows) row.classList.remove("selected");
  history.replaceState(null, "", "#manager");
}

/// Saves a change of the open ticket and shows it, with `done` as the notice.
async function change(k, what, patch, done) {
  const result = await act(what, "/api/tickets/" + k.id, { method: "PATCH", json: patch });
  if (result && result.ok) {
    notify(done);
    loadTickets();
    openTicket(k.id, false);
  }
  return result;
}

function renderTicket(view) {
  const k = view.ticket;
  const box = $("ticket-detail");
  const status = el("select", { id: "detail-status" }, STATUSES.map((s) => el("option", { value: s }, label(TICKET_STATUS_LABEL, s))));
  status.value = k.status;
  const priority = el("select", { id: "detail-priority" }, PRIORITIES.map(([v, name]) => el("option", { value: v }, t(name))));
  priority.value = String(k.priority);
  const lineName = (line) => (view.lines && view.lines[line - 1]) || String(line);
  const category = el("select", { id: "detail-category" }, (view.categories || []).map((c) => el("option", { value: c.key }, c.name)));
  category.value = k.category;
  const save = el("button", { type: "button", id: "detail-save" }, t("Save"));
  save.addEventListener("click", async () => {
    save.disabled = true;
    const result = await act(t("Saving ticket #{id}", { id: k.id }), "/api/tickets/" + k.id, {
      method: "PATCH",
      json: { status: status.value, priority: Number(priority.value), category: category.value },
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
  const assignee = el("input", { id: "detail-assignee", value: k.assignee || "", autocomplete: "off", spellcheck: false, attrs: { list: "assignee-names" } });
  const assign = el("button", { type: "button", id: "detail-assign", className: "secondary" }, t("Assign"));
  assign.addEventListener("click", async () => {
    const to = assignee.value.trim() || null;
    assign.disabled = true;
    const done = to ? t("Ticket #{id} assigned to {name}.", { id: k.id, name: to }) : t("Ticket #{id} unassigned.", { id: k.id });
    await change(k, t("Assigning ticket #{id}", { id: k.id }), { assignee: to }, done);
    assign.disabled = false;
  });
  const star = el("button", { type: "button", id: "detail-star", className: "secondary star-toggle", attrs: { "aria-pressed": String(k.starred) } }, k.starred ? "★ " + t("Unstar") : "☆ " + t("Star"));
  star.addEventListener("click", async () => {
    star.disabled = true;
    const done = k.starred ? t("Ticket #{id} unstarred.", { id: k.id }) : t("Ticket #{id} starred.", { id: k.id });
    const result = await change(k, t("Starring ticket #{id}", { id: k.id }), { starred: !k.starred }, done);
    if (!result || !result.ok) star.disabled = false;
  });
  // Escalating asks why; the top line goes no higher.
  const top = k.line >= 3;
  const escalate = el("button", { type: "button", id: "detail-escalate", className: "secondary", disabled: top, title: top ? t("The highest line already") : "" }, t("Escalate to {line}", { line: lineName(Math.min(k.line + 1, 3)) }));
  escalate.addEventListener("click", async () => {
    const answer = await ask(t("Escalate ticket #{id} to {line}", { id: k.id, line: lineName(k.line + 1) }), [{ name: "reason", label: t("Reason") }], t("Escalate"));
    if (!answer || !answer.reason) return;
    escalate.disabled = true;
    const result = await act(t("Escalating ticket #{id}", { id: k.id }), "/api/tickets/" + k.id + "/escalate", { method: "POST", json: { reason: answer.reason } });
    if (result && result.ok) {
      notify(t("Ticket #{id} escalated to {line}.", { id: k.id, line: lineName(result.body.line) }));
      notifyLineCallback(result.body.line_callback);
      loadTickets();
      openTicket(k.id, false);
    } else escalate.disabled = false;
  });
  // A low rating flags the ticket until a manager has seen to it.
  const unflag = k.low_rating ? el("button", { type: "button", id: "detail-unflag", className: "secondary" }, t("Clear the low-rating flag")) : null;
  if (unflag) {
    unflag.addEventListener("click", async () => {
      unflag.disabled = true;
      const result = await change(k, t("Clearing the flag of ticket #{id}", { id: k.id }), { low_rating: false }, t("Ticket #{id}: low-rating flag cleared.", { id: k.id }));
      if (!result || !result.ok) unflag.disabled = false;
    });
  }
  const rating = k.rating ? t("Rated {rating} of 5", { rating: k.rating }) + (k.low_rating ? " · " + t("rated low") : "") : t("not rated");
  const contact = view.contact ? [view.contact.first_name, view.contact.last_name].filter(Boolean).join(" ") : "";
  fill(
    box,
    el(
      "div",
      { className: "card-head" },
      el("h2", {}, el("a", { href: ticketLink(k.id), id: "detail-link", title: t("Link to this ticket") }, "#" + k.id), " " + k.subject),
      el("span", { className: "actions" }, star, el("button", { type: "button", className: "secondary", on: { click: closeTicket } }, t("Close"))),
    ),
    el(
      "dl",
      { className: "facts" },
      fact(t("Kind"), label(KIND_LABEL, k.kind)),
      fact(t("Support line"), lineName(k.line)),
      fact(t("Organization"), (view.organization && view.organization.name) || DASH),
      fact(t("Contact"), contact || DASH),
      fact(t("Caller"), callerShown(k) || DASH),
      fact(t("Queue"), k.queue || DASH),
      fact(t("Assignee"), k.assignee || t("nobody")),
      fact(t("Created"), when(k.created_at)),
      fact(t("First response"), k.first_response_at ? when(k.first_response_at) : t("due {time}", { time: when(k.first_response_due) })),
      fact(t("Resolution"), k.resolved_at ? when(k.resolved_at) : t("due {time}", { time: when(k.resolution_due) })),
      fact(t("Talk time"), duration(view.talk_secs)),
      fact(t("Cost"), cents(view.cost_cents)),
      fact(t("Caller's rating"), rating),
    ),
    el("div", { className: "actions" }, el("label", { className: "inline", htmlFor: "detail-status" }, t("Status")), status, el("label", { className: "inline", htmlFor: "detail-priority" }, t("Priority")), priority, el("label", { className: "inline", htmlFor: "detail-category" }, t("Category")), category, save),
    el("div", { className: "actions" }, escalate, unflag),
    el("div", { className: "actions" }, el("label", { className: "inline", htmlFor: "detail-assignee" }, t("Assignee")), assignee, assign),
    el("h3", {}, t("Calls")),
    view.calls.length
      ? el(
          "div",
          { className: "scroll" },
          table(
            [t("Started"), t("Caller"), t("Outcome"), t("Agent"), t("Queue"), t("Wait"), t("Talk"), t("Hangup cause"), t("Recording")],
            view.calls.map((c) => callRow(c, { as: "tr" })),
            { numeric: [5, 6] },
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
              when(f.received_at) + " · " + (callerShown(f) || DASH) + " → " + (f.did || DASH) + " · " + tn("{n} pages", f.pages || 0) + " · " + (f.success ? t("received") : t("failed: {reason}", { reason: f.result_text })) + " ",
              f.pdf_file_id ? el("a", { href: "/api/files/" + encodeURIComponent(f.pdf_file_id), target: "_blank", rel: "noopener" }, "PDF") : null,
            ),
          ),
        )
      : null,
    el("h3", {}, t("Notes")),
    el(
      "ul",
      { className: "notes-list" },
      view.notes.length ? view.notes.map((n) => el("li", { className: n.kind === "escalation" ? "escalation" : "" }, el("span", { className: "muted" }, when(n.at) + " · " + n.author + (n.kind === "escalation" ? " · " + t("escalated to {line}", { line: lineName(n.line) }) : "")), el("p", {}, n.body))) : el("li", { className: "muted" }, t("No notes.")),
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
  $("sla-csv").href = "/api/reports/sla?" + reportPeriod() + "&format=csv";
  $("ratings-csv").href = "/api/reports/ratings?" + ratingsQuery() + "&format=csv";
}

/// The ratings report's query: the report's period as local days, per agent, queue or
/// organization.
function ratingsQuery() {
  const params = new URLSearchParams({ by: $("ratings-by").value });
  if ($("report-from").value) params.set("from", $("report-from").value);
  if ($("report-to").value) params.set("to", $("report-to").value);
  return params.toString();
}

/// Callers' ratings of the period (the survey after a call): how many, their average, and
/// how many of each score, per agent, queue or organization.
async function loadRatings() {
  updateCsvLink();
  const result = await act(t("Loading the ratings"), "/api/reports/ratings?" + ratingsQuery());
  if (!shown || !result || !result.ok) return;
  const rows = result.body.rows || [];
  const average = (value) => (value === null || value === undefined ? DASH : value.toLocaleString(localeTag(), { minimumFractionDigits: 1, maximumFractionDigits: 2 }));
  $("ratings-table").replaceChildren(
    rows.length
      ? table(
          [t("Name"), t("Ratings"), t("Average"), "1", "2", "3", "4", "5"],
          rows.map((r) => el("tr", { dataset: { name: r.name } }, ...cells([r.name || DASH, count(r.ratings), average(r.average_rating), ...r.scores.map(count)], [1, 2, 3, 4, 5, 6, 7]))),
          { numeric: [1, 2, 3, 4, 5, 6, 7] },
        )
      : el("p", { className: "muted" }, t("No ratings in this period.")),
  );
}

/// The share of the period's tickets within SLA per category and line (the report's figures).
async function loadSlaReport() {
  const result = await act(t("Loading the SLA report"), "/api/reports/sla?" + reportPeriod());
  if (!shown || !result || !result.ok) return;
  const rows = result.body.rows || [];
  $("sla-table").replaceChildren(
    rows.length
      ? table(
          [t("Category"), t("Support line"), t("Tickets"), t("First response kept"), t("Resolution kept"), t("Within SLA")],
          rows.map((r) =>
            el(
              "tr",
              { dataset: { category: r.category, line: String(r.line) } },
              ...cells([r.category_name, r.line_name, count(r.tickets), count(r.first_response_kept), count(r.resolution_kept), percent(r.within_sla_percent === null ? null : r.within_sla_percent / 100)], [2, 3, 4, 5]),
            ),
          ),
          { numeric: [2, 3, 4, 5] },
        )
      : el("p", { className: "muted" }, t("No tickets in this period.")),
  );
}

async function loadReport() {
  updateCsvLink();
  loadSlaReport();
  loadRatings();
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
  // Every loss-maker first, the worst on top, then the biggest accounts; the table below
  // keeps the report's order.
  const size = (l) => Math.max(l.fee_cents, l.cost_cents);
  const losses = lines.filter((l) => l.margin_cents < 0).sort((a, b) => a.margin_cents - b.margin_cents);
  const others = lines.filter((l) => l.margin_cents >= 0).sort((a, b) => size(b) - size(a));
  const shownLines = [...losses, ...others].slice(0, Math.max(25, losses.length));
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
        { class: line.margin_cents < 0 ? "row loss-maker" : "row", "data-organization": String(line.organization_id ?? "") },
        svg("title", {}, t("{organization}: fee {fee}, cost {cost}, margin {margin}", { organization: line.organization, fee: cents(line.fee_cents), cost: cents(line.cost_cents), margin: cents(line.margin_cents) })),
        svg("text", { x: labelWidth - 8, y: y + 17, "text-anchor": "end", class: line.margin_cents < 0 ? "loss" : "" }, (line.margin_cents < 0 ? "▼ " : "") + name),
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
