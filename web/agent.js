// The agent desktop: my status (available, a break with a reason, logged out), what my phone
// is doing and for how long, the current call, and the pop-up that opens when my phone rings:
// who is calling, their organization, open tickets, last calls and assets, with a note to a
// ticket or a new ticket written from it. The pop-up stays until closed. It is the server's
// (`Popup::gather`): the feed's `popup` frame when the phone starts ringing, otherwise the
// same from `GET /api/agents/{name}/popup`.

import {
  $, el, fill, api, act, ask, notify, notifyLineCallback, duration, now, agentStatus, ticketRow, callRow, label, t, N_, STATUS_LABEL, ACTIVITY_LABEL, DASH,
} from "./lib.js";
import * as ring from "./ring.js";
import { incidentLines } from "./incidents.js";

/// How sure the identification is, as the pop-up says it: text and colour.
const CONFIDENCE = {
  exact: [N_("the number is this contact's"), "ok"],
  organization: [N_("a line of this organization"), ""],
  fuzzy: [N_("only the name resembles: check who it is"), "warn"],
  unknown: [N_("not in the phone book"), "bad"],
};
/// A pop-up the agent closed stays closed for its call, across reloads of this tab.
const CLOSED_KEY = "switchdesk.closed-popup";

let me = null;
let agent = null; // the ACD agent as last received (null: the user is no agent)
let popup = null; // the pop-up shown (a `popup` message), or null
let closedCall = remembered(); // the call whose pop-up the agent closed: it does not come back
let fetching = null; // the call whose pop-up is being asked for (`popupFromApi`)
let ticker = null;
let shown = false;

export function init() {
  $("go-available").addEventListener("click", () => setStatus({ status: "available" }));
  $("go-break").addEventListener("click", () => setStatus({ status: "on_break", reason: $("break-reason").value }));
  $("go-logout").addEventListener("click", () => setStatus({ status: "logged_out" }));
  $("popup-close").addEventListener("click", closePopup);
  $("popup-note-submit").addEventListener("click", addNote);
  $("popup-escalate").addEventListener("click", escalate);
  $("popup-new-ticket").addEventListener("click", newTicket);
  $("popup-add-contact").addEventListener("click", addContact);
  $("popup-link-contact").addEventListener("click", linkContact);
  $("ring-setup").addEventListener("click", async () => {
    await ring.askPermission();
    showRingSetup();
  });
  showRingSetup();
}

function remembered() {
  try {
    return sessionStorage.getItem(CLOSED_KEY);
  } catch {
    return null;
  }
}

/// The button that asks for notifications, while the browser may still be asked.
function showRingSetup() {
  $("ring-setup").hidden = !ring.mayAsk();
}

export function show(user) {
  me = user;
  shown = true;
  $("agent-name").textContent = me.name;
  clearInterval(ticker);
  ticker = setInterval(tick, 1000);
  render();
}

export function hide() {
  shown = false;
  clearInterval(ticker);
  ticker = null;
  ring.stop();
}

export function onFeed(message, live) {
  if (!shown) return;
  if (message.type === "snapshot" || message.type === "agent") {
    agent = message.agent || null;
    render();
    // A snapshot starts each connection (any frame before it was missed); polling brings none.
    if (message.type === "snapshot" || !live) popupFromApi();
  } else if (message.type === "popup") {
    openPopup(message);
  }
}

async function setStatus(change) {
  if (!me) return;
  const result = await act(t("Changing your status"), "/api/agents/" + encodeURIComponent(me.name) + "/status", { method: "POST", json: change });
  if (result && result.ok && result.body && result.body.agent) {
    agent = result.body.agent;
    render();
  }
}

function render() {
  $("agent-missing").hidden = agent !== null;
  const { status, reason } = agentStatus(agent);
  const statusPill = $("agent-status");
  statusPill.textContent = agent ? label(STATUS_LABEL, status) + (reason ? ": " + t(reason) : "") : DASH;
  statusPill.className = "pill " + status;
  statusPill.dataset.status = status;
  const activity = agent ? agent.activity : "";
  const activityPill = $("agent-activity");
  activityPill.textContent = agent ? label(ACTIVITY_LABEL, activity) : DASH;
  activityPill.className = "pill " + activity;
  activityPill.dataset.activity = activity;
  $("agent-since-label").textContent = activity === "wrap_up" ? t("Wrap-up ends in") : t("In this state");
  $("agent-calls").textContent = agent ? String(agent.calls) : DASH;
  $("go-available").disabled = !agent || status === "available";
  $("go-break").disabled = !agent || status === "on_break";
  $("go-logout").disabled = !agent || status === "logged_out";
  renderCall();
  ringing();
  tick();
}

/// Rings (sound, notification, flashing title) while my phone rings, and stops after.
function ringing() {
  if (!agent || agent.activity !== "ringing" || !agent.call) {
    ring.stop();
    return;
  }
  const about = popup && popup.call === agent.call ? popup : null;
  const who = about ? callerName(about) : t("a caller");
  const organization = about ? organizationName(about) : "";
  const number = about ? shownNumber(about) : "";
  ring.start("☎ " + t("Incoming call"), [who, organization, number].filter(Boolean).join(" · "), agent.call);
}

/// The calling number as the service shows numbers (`[phonebook] number_style`).
function shownNumber(message) {
  const caller = message.caller;
  return caller ? caller.number_shown || caller.number : "";
}

function organizationName(message) {
  const { organization, identity } = message;
  return (organization && organization.name) || (identity && identity.organization && identity.organization.name) || "";
}

function renderCall() {
  const box = $("agent-call");
  if (!agent || !agent.call) {
    box.textContent = t("No call.");
    box.className = "muted";
    return;
  }
  const about = popup && popup.call === agent.call ? popup : null;
  const caller = about ? callerName(about) + " (" + (shownNumber(about) || DASH) + ")" : t("a caller");
  const line = agent.activity === "ringing" ? N_("Ringing: {caller}") : agent.activity === "wrap_up" ? N_("Wrapping up after {caller}") : N_("In call with {caller}");
  box.textContent = t(line, { caller });
  box.className = "";
}

function tick() {
  const until = agent && agent.activity === "wrap_up" ? agent.wrap_up_until : null;
  if (until) {
    // A countdown to the next call.
    $("agent-since").textContent = duration(Math.max(0, (until - now()) / 1000));
    return;
  }
  const since = agent && agent.since;
  $("agent-since").textContent = since ? duration((now() - since) / 1000) : DASH;
}

function callerName(message) {
  const contact = message.contact;
  if (contact) {
    const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
    if (name) return name;
  }
  if (message.identity && message.identity.label) return message.identity.label;
  return (message.caller && message.caller.name) || t("Unknown caller");
}

function openPopup(message) {
  if (!message.call || message.call === closedCall) return;
  popup = message;
  renderPopup();
  renderCall();
  ringing();
}

function closePopup() {
  if (popup) {
    closedCall = popup.call;
    try {
      sessionStorage.setItem(CLOSED_KEY, closedCall);
    } catch {
      // Private mode: a reload shows it again.
    }
  }
  popup = null;
  $("popup").hidden = true;
}

function renderPopup() {
  const box = $("popup");
  if (!popup) {
    box.hidden = true;
    return;
  }
  const { contact, organization, identity } = popup;
  const vip = !!((contact && contact.vip) || (organization && organization.vip) || (identity && identity.vip));
  box.dataset.call = popup.call;
  box.querySelector(".caller-number").textContent = shownNumber(popup) || DASH;
  box.classList.toggle("is-vip", vip);
  // The organization's open incidents first: the caller most likely calls about one.
  const incidents = incidentLines(popup.incidents);
  fill($("popup-incidents"), incidents);
  $("popup-incidents").hidden = incidents.length === 0;
  const orgName = organizationName(popup);
  const confidence = contact ? "exact" : (identity && identity.confidence) || "unknown";
  const [sureness, tone] = CONFIDENCE[confidence] || CONFIDENCE.unknown;
  const details = [];
  if (contact && contact.emails && contact.emails.length) details.push(contact.emails.join(", "));
  if (contact && contact.language) details.push(t("speaks {language}", { language: contact.language }));
  fill(
    $("popup-who"),
    el(
      "p",
      { className: "popup-name" },
      el("span", { className: "contact" }, callerName(popup)),
      vip ? el("span", { className: "vip", title: "VIP" }, "VIP") : null,
    ),
    el("p", {}, el("span", { id: "popup-match", className: "tag " + tone, dataset: { confidence } }, t(sureness))),
    orgName
      ? el("p", { className: "organization" }, orgName)
      : el("p", { className: "muted" }, t("No organization on record.")),
    details.length ? el("p", { className: "muted" }, details.join(" · ")) : null,
    contact && contact.notes ? el("p", { className: "notes" }, contact.notes) : null,
    organization && organization.notes ? el("p", { className: "notes" }, organization.notes) : null,
  );
  renderTickets();
  const calls = popup.recent_calls || [];
  $("popup-calls").replaceChildren(...(calls.length ? calls.map((call) => callRow(call)) : [el("li", { className: "muted" }, t("No earlier calls."))]));
  const assets = popup.assets || [];
  $("popup-assets").replaceChildren(
    ...(assets.length
      ? assets.map((asset) =>
          el(
            "li",
            { dataset: { asset: String(asset.id) } },
            el("strong", {}, asset.name),
            " ",
            el("span", { className: "muted" }, [asset.kind, asset.serial ? t("S/N {serial}", { serial: asset.serial }) : "", asset.location].filter(Boolean).join(" · ")),
          ),
        )
      : [el("li", { className: "muted" }, t("No assets on record."))]),
  );
  $("popup-subject").value = t("Call from {caller}", { caller: callerName(popup) });
  // An unknown or only fuzzily matched caller can be put into the phone book from here.
  $("popup-book").hidden = confidence === "exact" || confidence === "organization";
  box.hidden = false;
}

function renderTickets() {
  const tickets = popup.open_tickets || [];
  $("popup-tickets").replaceChildren(...(tickets.length ? tickets.map((ticket) => ticketRow(ticket)) : [el("li", { className: "muted" }, t("No open tickets."))]));
  const select = $("popup-note-ticket");
  select.replaceChildren(...tickets.map((ticket) => el("option", { value: String(ticket.id) }, "#" + ticket.id + " " + ticket.subject)));
  select.disabled = tickets.length === 0;
  $("popup-note-submit").disabled = tickets.length === 0;
  $("popup-escalate").disabled = tickets.length === 0;
}

/// Moves the chosen open ticket one support line up, with the reason the agent gives.
async function escalate() {
  const id = $("popup-note-ticket").value;
  if (!id) return;
  const answer = await ask(t("Escalate ticket #{id} to the next line", { id }), [{ name: "reason", label: t("Reason") }], t("Escalate"));
  if (!answer || !answer.reason) return;
  const result = await act(t("Escalating ticket #{id}", { id }), "/api/tickets/" + encodeURIComponent(id) + "/escalate", { method: "POST", json: { reason: answer.reason } });
  if (result && result.ok) {
    popup.open_tickets = (popup.open_tickets || []).map((ticket) => (String(ticket.id) === id ? result.body : ticket));
    renderTickets();
    $("popup-note-ticket").value = id;
    notify(t("Ticket #{id} escalated to line {line}.", { id, line: result.body.line }));
    notifyLineCallback(result.body.line_callback);
  }
}

async function addNote() {
  const body = $("popup-note").value.trim();
  const ticket = $("popup-note-ticket").value;
  if (!body) {
    notify(t("Write the note first."), "bad");
    return;
  }
  if (!ticket) {
    notify(t("There is no open ticket; open a new one instead."), "bad");
    return;
  }
  const result = await act(t("Adding the note"), "/api/tickets/" + encodeURIComponent(ticket) + "/notes", { method: "POST", json: { body } });
  if (result && result.ok) {
    $("popup-note").value = "";
    notify(t("Note added to ticket #{id}.", { id: ticket }));
  }
}

async function newTicket() {
  if (!popup) return;
  const subject = $("popup-subject").value.trim() || t("Call from {caller}", { caller: callerName(popup) });
  const note = $("popup-note").value.trim();
  const request = {
    subject,
    contact_id: popup.contact ? popup.contact.id : (popup.identity && popup.identity.contact && popup.identity.contact.id) || null,
    organization_id: popup.organization ? popup.organization.id : (popup.identity && popup.identity.organization && popup.identity.organization.id) || null,
    caller_number: (popup.caller && popup.caller.number) || "",
  };
  if (note) request.note = note;
  const result = await act(t("Opening a ticket"), "/api/tickets", { method: "POST", json: request });
  if (result && result.ok && result.body) {
    popup.open_tickets = [result.body, ...(popup.open_tickets || [])];
    renderTickets();
    $("popup-note-ticket").value = String(result.body.id);
    $("popup-note").value = "";
    notify(t("Ticket #{id} opened.", { id: result.body.id }));
  }
}

/// The calling number to file: E.164 when it could be read as one, else as the switch sent it.
function callingNumber() {
  return (popup.identity && popup.identity.e164) || (popup.caller && popup.caller.number) || "";
}

/// The caller becomes a contact of their own (with the organization the call was matched to).
async function addContact() {
  if (!popup) return;
  const call = popup.call;
  const [first, ...rest] = ((popup.caller && popup.caller.name) || "").trim().split(/\s+/);
  const answer = await ask(t("Add the caller to the phone book"), [
    { name: "first_name", label: t("First name"), value: first || "" },
    { name: "last_name", label: t("Last name"), value: rest.join(" "), required: false },
    { name: "number", label: t("Number"), value: callingNumber() },
  ], t("Add"));
  if (!answer || !popup || popup.call !== call) return;
  const organization = popup.identity && popup.identity.organization;
  const contact = {
    first_name: answer.first_name,
    last_name: answer.last_name,
    numbers: [{ number: answer.number, kind: "work" }],
    organization_id: organization ? organization.id : null,
  };
  const result = await act(t("Adding the caller to the phone book"), "/api/contacts", { method: "POST", json: contact });
  if (result && result.ok) filed(result.body);
}

/// The caller's number joins a contact already in the phone book, found by name or number.
async function linkContact() {
  if (!popup) return;
  const call = popup.call;
  const query = await ask(t("Link the caller to a contact"), [{ name: "q", label: t("Name or number"), value: (popup.caller && popup.caller.name) || "" }], t("Find"));
  if (!query || !query.q) return;
  const found = await act(t("Searching the phone book"), "/api/contacts/search?limit=10&q=" + encodeURIComponent(query.q));
  if (!found || !found.ok) return;
  const contacts = (found.body || []).filter((hit) => hit.type === "contact");
  if (contacts.length === 0) {
    notify(t("No contact matches {query}.", { query: query.q }), "bad");
    return;
  }
  const options = contacts.map((hit) => [String(hit.id), hit.name + (hit.organization ? " · " + hit.organization.name : "")]);
  const pick = await ask(t("Link the caller to a contact"), [{ name: "id", label: t("Contact"), options, value: options[0][0] }], t("Link"));
  if (!pick || !popup || popup.call !== call) return;
  const stored = await act(t("Reading the contact"), "/api/contacts/" + encodeURIComponent(pick.id));
  if (!stored || !stored.ok) return;
  const contact = stored.body.contact;
  const number = callingNumber();
  if (!contact.numbers.some((n) => n.number === number)) contact.numbers.push({ number, kind: "work" });
  const result = await act(t("Linking the caller"), "/api/contacts/" + encodeURIComponent(contact.id), { method: "PUT", json: contact });
  if (result && result.ok) filed(result.body);
}

/// The pop-up shows the contact just filed, matched by number from now on.
function filed(contact) {
  popup.contact = contact;
  popup.identity = { ...(popup.identity || {}), confidence: "exact", contact: { id: contact.id, name: [contact.first_name, contact.last_name].filter(Boolean).join(" ") } };
  renderPopup();
  renderCall();
  notify(t("{name} is in the phone book with {number}.", { name: callerName(popup), number: shownNumber(popup) || callingNumber() }));
}

/// The pop-up of the call at my phone from `GET /api/agents/{name}/popup`: what the feed's
/// `popup` frame carries, for a desktop that missed it (opened or reloaded while the phone
/// rang or during the call, or polling while the feed is down).
async function popupFromApi() {
  if (!agent || !agent.call || !["ringing", "in_call"].includes(agent.activity)) return;
  const call = agent.call;
  if (call === closedCall || call === fetching || (popup && popup.call === call)) return;
  fetching = call;
  try {
    const result = await api("/api/agents/" + encodeURIComponent(me.name) + "/popup");
    const found = result.ok ? result.body : null;
    // Still the call at my phone, and no frame brought it meanwhile.
    if (found && shown && agent && agent.call === found.call && !(popup && popup.call === found.call)) openPopup(found);
  } catch {
    // The next poll or snapshot tries again.
  } finally {
    fetching = null;
  }
}
