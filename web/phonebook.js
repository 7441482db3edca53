// The phone book: contacts or organizations a page at a time (GET /api/phonebook/entries),
// the agents' search (GET /api/contacts/search, the same as the desktop's "link to a contact"),
// each with its numbers as the service shows them; a record opened at #phonebook/contact/12 or
// #phonebook/organization/3 with its numbers, assets, contacts, last tickets and last calls; and
// its edit form (PUT /api/contacts/{id}, /api/organizations/{id}). Numbers are checked by the
// service (a refusal names the number and why). Fields that route calls (VIP, priority, fax
// mailboxes) are a supervisor's: an agent sees them, not changes them.

import { $, el, fill, act, api, count, ticketRow, callRow, notify, failure, t, tn, N_, label, DASH } from "./lib.js";
import { languages } from "./i18n.js";

const PAGE = 50;
const KIND_LABEL = {
  mobile: N_("mobile"),
  work: N_("work"),
  home: N_("home"),
  fax: N_("fax"),
  main: N_("main"),
  range: N_("number range"),
  extension: N_("extension"),
  other: N_("other"),
};
const CONTACT_KINDS = ["mobile", "work", "home", "fax", "extension", "other"];
const ORGANIZATION_KINDS = ["main", "work", "fax", "range", "extension", "other"];

let me = null;
let shown = false;
/// The ids each page of the list started after (the first page: 0), so "Previous" goes back.
let pages = [0];
let next = null; // the id the next page starts after, when there is one
let opened = null; // {type, id} of the record shown below the list
let spoken = []; // [{code, name}]: the screens' languages, offered as a contact's language

function supervisor() {
  return me && ["supervisor", "manager", "admin"].includes(me.role);
}

export function init() {
  $("phonebook-search").addEventListener("submit", (event) => {
    event.preventDefault();
    pages = [0];
    list();
  });
  $("phonebook-kind").addEventListener("change", () => {
    $("phonebook-q").value = "";
    pages = [0];
    list();
  });
  $("phonebook-removed").addEventListener("change", () => {
    pages = [0];
    list();
  });
  $("phonebook-previous").addEventListener("click", () => {
    if (pages.length > 1) pages.pop();
    list();
  });
  $("phonebook-next").addEventListener("click", () => {
    if (next === null) return;
    pages.push(next);
    list();
  });
  $("phonebook-new").addEventListener("click", () => {
    const type = $("phonebook-kind").value === "organizations" ? "organization" : "contact";
    opened = { type, id: 0 };
    edit(type, type === "contact" ? { first_name: "", last_name: "", numbers: [] } : { name: "", numbers: [] });
  });
}

export async function show(user) {
  me = user;
  shown = true;
  if (!spoken.length) spoken = await languages();
  list();
}

export function hide() {
  shown = false;
}

/// `contact/12` or `organization/3`: that record below the list.
export function route(place) {
  const match = /^(contact|organization)\/(\d+)$/.exec(place);
  if (match) open(match[1], Number(match[2]));
}

function link(type, id) {
  return "#phonebook/" + type + "/" + id;
}

// ----- the list ---------------------------------------------------------------------------

async function list() {
  const query = $("phonebook-q").value.trim();
  const kind = $("phonebook-kind").value;
  const removed = $("phonebook-removed").checked;
  let path;
  if (query) {
    path = "/api/contacts/search?limit=" + PAGE + "&q=" + encodeURIComponent(query);
  } else {
    const params = new URLSearchParams({ kind, after: String(pages[pages.length - 1]), limit: String(PAGE + 1) });
    // Removed records (a synchronised source dropped them) only when asked for.
    if (!removed) params.set("removed", "false");
    path = "/api/phonebook/entries?" + params;
  }
  const result = await act(t("Loading the phone book"), path);
  if (!shown || !result || !result.ok) return;
  const found = result.body || [];
  const rows = query ? found : found.slice(0, PAGE);
  next = !query && found.length > PAGE ? rows[rows.length - 1].id : null;
  fill(
    $("phonebook-list"),
    rows.length
      ? el(
          "table",
          { id: "phonebook-table" },
          el("thead", {}, el("tr", {}, [t("Name"), t("Organization"), t("Numbers")].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, rows.map(entryRow)),
        )
      : el("p", { className: "muted" }, query ? t("Nobody matches {query}.", { query }) : t("The phone book is empty.")),
  );
  const first = query ? 1 : (pages.length - 1) * PAGE + 1;
  $("phonebook-page").textContent = rows.length
    ? query
      ? tn("{n} found", rows.length)
      : t("{from}–{to}", { from: count(first), to: count(first + rows.length - 1) })
    : "";
  $("phonebook-previous").disabled = query !== "" || pages.length === 1;
  $("phonebook-next").disabled = next === null;
}

/// One record in the list (a search hit or a page's row): its name (a link to it), the
/// organization, its numbers as the service shows them.
function entryRow(entry) {
  const name = el(
    "a",
    { href: link(entry.type, entry.id) },
    entry.name || DASH,
  );
  const tags = [
    entry.type === "organization" ? el("span", { className: "tag" }, t("organization")) : null,
    entry.vip ? el("span", { className: "vip" }, "VIP") : null,
    entry.removed_at ? el("span", { className: "tag warn" }, t("removed")) : null,
  ];
  const organization = entry.organization
    ? el("a", { href: link("organization", entry.organization.id) }, entry.organization.name)
    : DASH;
  const numbers = (entry.numbers_shown || []).map((n) => el("span", { className: "number" }, n));
  return el(
    "tr",
    { className: "clickable", dataset: { type: entry.type, id: String(entry.id) }, on: { click: (event) => event.target.tagName !== "A" && (location.hash = link(entry.type, entry.id)) } },
    el("td", {}, name, tags),
    el("td", {}, organization),
    el("td", { className: "numbers" }, numbers.length ? numbers : DASH),
  );
}

// ----- one record ---------------------------------------------------------------------------

async function open(type, id) {
  opened = { type, id };
  const path = (type === "contact" ? "/api/contacts/" : "/api/organizations/") + encodeURIComponent(id);
  const result = await act(t("Loading the phone book"), path);
  // Still the record asked for (not closed, nor another opened meanwhile).
  if (!shown || !result || !result.ok || !opened || opened.type !== type || opened.id !== id) return;
  render(type, result.body);
}

/// A named value of the record; nothing when the record has none (a card of dashes reads badly
/// on a phone).
function fact(name, ...value) {
  const given = value.flat().filter((v) => v !== null && v !== undefined && v !== "");
  return given.length ? el("div", {}, el("dt", {}, name), el("dd", {}, given)) : null;
}

/// The numbers of a record: as the service shows them, with their kind.
function numberList(numbers, shownNumbers) {
  return el(
    "ul",
    { className: "plain-list numbers" },
    numbers.map((n, i) => el("li", {}, el("span", { className: "number" }, shownNumbers[i] || n.number), " ", el("span", { className: "tag" }, label(KIND_LABEL, n.kind)))),
  );
}

function assetItem(asset) {
  const about = [asset.kind, asset.serial, asset.location].filter(Boolean).join(" · ");
  return el("li", { dataset: { asset: String(asset.id) } }, el("strong", {}, asset.name), about ? el("span", { className: "muted" }, " · " + about) : null);
}

function render(type, body) {
  const record = type === "contact" ? body.contact : body.organization;
  const name = type === "contact" ? [record.first_name, record.last_name].filter(Boolean).join(" ") : record.name;
  const box = $("phonebook-detail");
  box.hidden = false;
  box.dataset.type = type;
  box.dataset.id = String(record.id);
  const head = el(
    "div",
    { className: "card-head" },
    el("h2", {}, name || DASH, record.vip ? el("span", { className: "vip" }, "VIP") : null, record.removed_at ? el("span", { className: "tag warn" }, t("removed")) : null),
    el(
      "div",
      { className: "row-actions" },
      el("button", { type: "button", id: "phonebook-edit", className: "small", on: { click: () => edit(type, record, body.organization) } }, t("Edit")),
      el("button", { type: "button", className: "small secondary", on: { click: close } }, t("Close")),
    ),
  );
  const facts = el("dl", { className: "facts" });
  const known = (...pairs) => fill(facts, ...pairs);
  if (type === "contact") {
    const organization = body.organization ? el("a", { href: link("organization", body.organization.id) }, body.organization.name) : null;
    known(
      fact(t("Organization"), organization),
      fact(t("Language"), languageName(record.language)),
      fact(t("Also known as"), (record.aliases || []).join(", ")),
      fact(t("E-mail"), (record.emails || []).join(", ")),
      fact(t("Priority"), record.priority ? String(record.priority) : null),
    );
  } else {
    known(
      fact(t("E-mail"), (record.emails || []).join(", ")),
      fact(t("Fax mailboxes"), (record.fax_mailboxes || []).join(", ")),
      fact(t("Priority"), record.priority ? String(record.priority) : null),
    );
  }
  const sections = [
    section(t("Numbers"), record.numbers.length ? numberList(record.numbers, body.numbers_shown || []) : null, t("No numbers.")),
  ];
  if (type === "organization") {
    const removed = $("phonebook-removed").checked;
    const people = (body.contacts || []).filter((c) => removed || !c.removed_at);
    sections.push(
      section(
        t("Contacts"),
        people.length
          ? el("ul", { className: "plain-list" }, people.map((c) => el("li", {}, el("a", { href: link("contact", c.id) }, [c.first_name, c.last_name].filter(Boolean).join(" ")), c.removed_at ? el("span", { className: "tag warn" }, t("removed")) : null)))
          : null,
        t("No contacts."),
      ),
    );
  }
  sections.push(
    section(t("Assets"), body.assets && body.assets.length ? el("ul", { className: "plain-list", id: "phonebook-assets" }, body.assets.map(assetItem)) : null, t("No assets.")),
    section(t("Recent tickets"), body.recent_tickets && body.recent_tickets.length ? el("ul", { className: "plain-list", id: "phonebook-tickets" }, body.recent_tickets.map((k) => ticketRow(k))) : null, t("No tickets.")),
    section(t("Recent calls"), body.recent_calls && body.recent_calls.length ? el("ul", { className: "plain-list", id: "phonebook-calls" }, body.recent_calls.map((c) => callRow(c))) : null, t("No calls.")),
  );
  const notes = record.notes ? [el("h3", {}, t("Notes")), el("p", { className: "notes" }, record.notes)] : null;
  fill(box, head, facts.children.length ? facts : null, notes, el("div", { className: "popup-grid" }, sections));
  box.scrollIntoView({ block: "start" });
}

function section(title, content, empty) {
  return el("section", {}, el("h3", {}, title), content || el("p", { className: "muted" }, empty));
}

function languageName(code) {
  if (!code) return null;
  const known = spoken.find((l) => l.code === code);
  return known ? known.name : code;
}

function close() {
  $("phonebook-detail").hidden = true;
  opened = null;
  history.replaceState(null, "", "#phonebook");
}

// ----- the edit form ------------------------------------------------------------------------

function field(id, text, input) {
  return el("label", { htmlFor: id }, el("span", {}, text), input);
}

function input(id, value, props = {}) {
  return el("input", { id, value: value === null || value === undefined ? "" : String(value), autocomplete: "off", ...props });
}

/// The numbers' rows: a kind and the number as typed (the service reads any written form).
function numberRows(numbers, kinds) {
  const rows = el("div", { id: "pb-numbers", className: "stack" });
  const add = (n) => {
    const kind = el("select", { className: "pb-number-kind", attrs: { "aria-label": t("Kind") } }, [...new Set([...kinds, n.kind])].map((k) => el("option", { value: k }, label(KIND_LABEL, k))));
    kind.value = n.kind;
    const row = el(
      "div",
      { className: "number-row" },
      kind,
      el("input", { className: "pb-number", value: n.number, inputMode: "tel", autocomplete: "off", attrs: { "aria-label": t("Number") } }),
      el("button", { type: "button", className: "small secondary", on: { click: () => row.remove() } }, t("Remove")),
    );
    rows.append(row);
  };
  numbers.forEach(add);
  const more = el("button", { type: "button", id: "pb-add-number", className: "small secondary", on: { click: () => add({ number: "", kind: kinds[0] }) } }, t("Add a number"));
  return el("div", { className: "stack" }, rows, el("div", {}, more));
}

function split(text) {
  return text
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/// The organization a contact belongs to, chosen by name from the search's organizations.
function organizationPicker(current) {
  const options = el("datalist", { id: "pb-organizations" });
  const known = new Map(current ? [[current.name, current.id]] : []);
  const box = input("pb-organization", current ? current.name : "", { attrs: { list: "pb-organizations" }, spellcheck: false });
  let asked = 0;
  box.addEventListener("input", async () => {
    const q = box.value.trim();
    if (q.length < 2) return;
    const mine = ++asked;
    const result = await api("/api/contacts/search?limit=10&q=" + encodeURIComponent(q)).catch(() => null);
    if (!result || !result.ok || mine !== asked) return;
    const found = (result.body || []).filter((hit) => hit.type === "organization");
    for (const hit of found) known.set(hit.name, hit.id);
    fill(options, found.map((hit) => el("option", { value: hit.name })));
  });
  return { box, options, id: () => (box.value.trim() ? (known.get(box.value.trim()) ?? undefined) : null) };
}

/// The form for `record` (`organization`: the contact's, as its detail carried it).
function edit(type, record, organization = null) {
  const box = $("phonebook-detail");
  box.hidden = false;
  const routing = supervisor();
  const contact = type === "contact";
  const routingNote = routing ? null : el("p", { className: "muted" }, t("VIP, priority and fax mailboxes route calls: a supervisor changes them."));
  const error = el("p", { id: "pb-error", className: "error", role: "alert", hidden: true });
  let picker = null;
  const fields = [];
  if (contact) {
    picker = organizationPicker(organization);
    const language = el("select", { id: "pb-language" }, el("option", { value: "" }, t("not set")), spoken.map((l) => el("option", { value: l.code }, l.name)));
    if (record.language && !spoken.some((l) => l.code === record.language)) language.append(el("option", { value: record.language }, record.language));
    language.value = record.language || "";
    fields.push(
      field("pb-first-name", t("First name"), input("pb-first-name", record.first_name)),
      field("pb-last-name", t("Last name"), input("pb-last-name", record.last_name)),
      field("pb-aliases", t("Also known as"), input("pb-aliases", (record.aliases || []).join(", "))),
      field("pb-organization", t("Organization"), picker.box),
      picker.options,
      field("pb-language", t("Language"), language),
    );
  } else {
    fields.push(field("pb-name", t("Name"), input("pb-name", record.name)));
  }
  fields.push(field("pb-emails", t("E-mail"), input("pb-emails", (record.emails || []).join(", "), { type: "text", inputMode: "email" })));
  if (!contact) fields.push(field("pb-fax-mailboxes", t("Fax mailboxes"), input("pb-fax-mailboxes", (record.fax_mailboxes || []).join(", "), { disabled: !routing })));
  fields.push(
    el("label", { className: "check" }, el("input", { id: "pb-vip", type: "checkbox", checked: !!record.vip, disabled: !routing }), " ", el("span", {}, "VIP")),
    field("pb-priority", t("Priority"), input("pb-priority", record.priority || 0, { type: "number", min: "0", max: "100", disabled: !routing })),
  );
  const form = el(
    "form",
    { id: "pb-form", className: "edit-form", noValidate: true },
    el("div", { className: "filters" }, fields),
    el("h3", {}, t("Numbers")),
    numberRows(record.numbers || [], contact ? CONTACT_KINDS : ORGANIZATION_KINDS),
    field("pb-notes", t("Notes"), el("textarea", { id: "pb-notes", rows: 3, value: record.notes || "" })),
    routingNote,
    error,
    el(
      "div",
      { className: "actions" },
      el("button", { type: "submit", id: "pb-save" }, t("Save")),
      el("button", { type: "button", className: "secondary", on: { click: () => (record.id ? open(type, record.id) : close()) } }, t("Cancel")),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save(type, record, picker, error);
  });
  const title = record.id ? t("Edit {name}", { name: contact ? [record.first_name, record.last_name].filter(Boolean).join(" ") : record.name }) : contact ? t("New contact") : t("New organization");
  fill(box, el("div", { className: "card-head" }, el("h2", {}, title)), form);
  box.scrollIntoView({ block: "start" });
  const first = form.querySelector("input:not([disabled])");
  if (first) first.focus();
}

async function save(type, stored, picker, error) {
  const value = (id) => $(id).value.trim();
  const record = { ...stored };
  record.numbers = [...document.querySelectorAll("#pb-numbers .number-row")]
    .map((row) => ({ kind: row.querySelector(".pb-number-kind").value, number: row.querySelector(".pb-number").value.trim() }))
    .filter((n) => n.number);
  record.emails = split(value("pb-emails"));
  record.notes = $("pb-notes").value;
  record.vip = $("pb-vip").checked;
  record.priority = Number(value("pb-priority")) || 0;
  if (type === "contact") {
    record.first_name = value("pb-first-name");
    record.last_name = value("pb-last-name");
    record.aliases = split(value("pb-aliases"));
    record.language = value("pb-language") || null;
    const organization = picker.id();
    if (organization === undefined) {
      error.textContent = t("Choose the organization from the list, or leave it empty.");
      error.hidden = false;
      return;
    }
    record.organization_id = organization;
  } else {
    record.name = value("pb-name");
    record.fax_mailboxes = split(value("pb-fax-mailboxes"));
  }
  const base = type === "contact" ? "/api/contacts" : "/api/organizations";
  const path = record.id ? base + "/" + encodeURIComponent(record.id) : base;
  let result;
  try {
    result = await api(path, { method: record.id ? "PUT" : "POST", json: record });
  } catch {
    result = null;
  }
  if (!result || !result.ok) {
    // The service's reason (an unreadable number, a field this role may not change) beside
    // the form, which stays as typed.
    error.textContent = result ? failure(result, t("Saving")) : t("{what} failed: cannot reach switchdesk.", { what: t("Saving") });
    error.hidden = false;
    return;
  }
  notify(t("Saved."));
  const id = result.body.id;
  if (location.hash === link(type, id)) open(type, id);
  else location.hash = link(type, id);
  list();
}
