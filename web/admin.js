// The admin pages: users and roles, queues and agents, the blocklist, the phone book
// import with its per-line report, and the audit log. Every form posts JSON to the API and shows the server's
// error as it is.

import { $, el, fill, act, ask, loadInto, notify, failure, table, cells, when, count, dateMs, DASH } from "./lib.js";

const ROLES = ["agent", "supervisor", "manager", "admin"];
const STRATEGIES = ["longest-idle", "round-robin", "ring-all", "fewest-calls", "least-talk-time", "linear", "random"];

let shown = false;
let queueViews = []; // GET /api/queues, for the queue and agent lists
let queueRefresh = null;

export function init() {}

export function show() {
  shown = true;
  renderUsersCard();
  renderQueuesCard();
  renderAgentsCard();
  renderBlocklistCard();
  renderPhonebookCard();
  loadUsers();
  loadQueues();
  loadBlocklist();
  // The audit log (its own block at the end of this file).
  renderAuditCard();
  loadAudit();
}

export function hide() {
  shown = false;
  clearTimeout(queueRefresh);
}

/// Queue changes come on the wallboard feed; the lists follow them, at most once a second.
export function onFeed(message) {
  if (!shown || (message.type !== "snapshot" && message.type !== "queue")) return;
  if (queueRefresh !== null) return;
  queueRefresh = setTimeout(() => {
    queueRefresh = null;
    loadQueues();
  }, 1000);
}

function head(title, note) {
  return el("div", { className: "card-head" }, el("h2", {}, title), note ? el("span", { className: "muted" }, note) : null);
}

function field(label, input) {
  return el("label", {}, label, input);
}

function select(id, options, value) {
  const node = el("select", { id, name: id }, options.map((o) => (Array.isArray(o) ? el("option", { value: o[0] }, o[1]) : el("option", { value: o }, o))));
  if (value !== undefined) node.value = value;
  return node;
}

// Users

function renderUsersCard() {
  const form = el(
    "form",
    { id: "user-form", className: "filters" },
    field("Name", el("input", { id: "user-name", required: true, autocomplete: "off", spellcheck: false })),
    field("Role", select("user-role", ROLES, "agent")),
    field("Password", el("input", { id: "user-password", type: "password", required: true, autocomplete: "new-password", minLength: 8 })),
    el("button", { type: "submit" }, "Add the user"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await act("Adding the user", "/api/users", {
      method: "POST",
      json: { name: $("user-name").value.trim(), role: $("user-role").value, password: $("user-password").value },
    });
    if (result && result.ok) {
      form.reset();
      notify("User " + result.body.name + " added.");
      loadUsers();
    }
  });
  $("admin-users").replaceChildren(
    head("Users and roles", "an agent user works the ACD agent of the same name"),
    el("div", { id: "users-list", className: "scroll" }),
    form,
  );
}

async function loadUsers() {
  const body = await loadInto($("users-list"), "/api/users", "Loading users");
  if (!shown || body === null) return;
  $("users-list").replaceChildren(
    table(
      ["Name", "Role", "State", "Since", ""],
      body.map((u) => el("tr", { dataset: { user: u.name } }, ...cells([u.name, u.role, u.disabled ? "disabled" : "active", when(u.created_at)]), el("td", {}, userActions(u)))),
    ),
  );
}

/// Per user: change the role, disable or enable, set a new password, delete. Each ends at the
/// server's answer (which refuses locking out the last admin) and reloads the list.
function userActions(user) {
  const path = "/api/users/" + encodeURIComponent(user.name);
  const done = async (result, message) => {
    if (result && result.ok) {
      notify(message);
      loadUsers();
    }
  };
  const role = select("role-" + user.name, ROLES, user.role);
  role.addEventListener("change", async () => {
    done(await act("Changing " + user.name + "'s role", path, { method: "PATCH", json: { role: role.value } }), user.name + " is now " + role.value + ".");
  });
  const access = el("button", { type: "button", className: "small secondary", dataset: { action: "access" } }, user.disabled ? "Enable" : "Disable");
  access.addEventListener("click", async () => {
    const disabled = !user.disabled;
    done(await act((disabled ? "Disabling " : "Enabling ") + user.name, path, { method: "PATCH", json: { disabled } }), user.name + (disabled ? " is disabled and signed out everywhere." : " may sign in again."));
  });
  const password = el("button", { type: "button", className: "small secondary" }, "New password");
  password.addEventListener("click", async () => {
    const answer = await ask("New password for " + user.name, [{ name: "password", label: "Password (at least 8 characters)", type: "password" }], "Set it");
    if (!answer) return;
    done(await act("Setting " + user.name + "'s password", path + "/password", { method: "POST", json: answer }), user.name + "'s password is set; their sessions have ended.");
  });
  const remove = el("button", { type: "button", className: "small danger" }, "Delete");
  remove.addEventListener("click", async () => {
    if (!confirm("Delete user " + user.name + "? They are signed out everywhere.")) return;
    done(await act("Deleting " + user.name, path, { method: "DELETE" }), user.name + " deleted.");
  });
  return el("span", { className: "actions" }, role, access, password, remove);
}

// Queues and agents

function renderQueuesCard() {
  const settings = el("textarea", {
    id: "queue-settings",
    rows: 5,
    spellcheck: false,
    placeholder: '{"ring_timeout_secs": 20, "wrap_up_secs": 10, "service_level_secs": 20}',
  });
  const form = el(
    "form",
    { id: "queue-form", className: "stack" },
    el(
      "div",
      { className: "filters" },
      field("Queue", el("input", { id: "queue-name", required: true, autocomplete: "off", spellcheck: false, pattern: "[A-Za-z0-9._\\-]{1,64}" })),
      field("Strategy", select("queue-strategy", STRATEGIES, "longest-idle")),
    ),
    el("label", { htmlFor: "queue-settings" }, "Other settings as JSON (the keys of a [[queues]] entry; Edit fills in every stored one; keys left out take their defaults)"),
    settings,
    el("div", { className: "actions" }, el("button", { type: "submit" }, "Save the queue")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let body = {};
    const text = settings.value.trim();
    if (text) {
      try {
        body = JSON.parse(text);
      } catch (error) {
        notify("The settings are not JSON: " + error.message, "bad");
        return;
      }
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        notify("The settings must be a JSON object.", "bad");
        return;
      }
    }
    body.strategy = $("queue-strategy").value;
    const name = $("queue-name").value.trim();
    const result = await act("Saving queue " + name, "/api/queues/" + encodeURIComponent(name), { method: "PUT", json: body });
    if (result && result.ok) {
      notify("Queue " + name + " saved.");
      loadQueues();
    }
  });
  $("admin-queues").replaceChildren(head("Queues"), el("div", { id: "queues-list", className: "scroll" }), form);
}

function renderAgentsCard() {
  const form = el(
    "form",
    { id: "agent-form", className: "filters" },
    field("Agent", el("input", { id: "agent-form-name", required: true, autocomplete: "off", spellcheck: false })),
    field("Endpoint", el("input", { id: "agent-form-endpoint", required: true, autocomplete: "off", spellcheck: false, placeholder: "user/1001@default" })),
    field("Queues (queue:tier:position, …)", el("input", { id: "agent-form-queues", autocomplete: "off", spellcheck: false, placeholder: "support:1:1, sales:2" })),
    el("button", { type: "submit" }, "Save the agent"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("agent-form-name").value.trim();
    const queues = [];
    for (const part of $("agent-form-queues").value.split(",").map((p) => p.trim()).filter(Boolean)) {
      const [queue, tier, position] = part.split(":").map((p) => p.trim());
      const membership = { queue };
      if (tier) membership.tier = Number(tier);
      if (position) membership.position = Number(position);
      if (!queue || Number.isNaN(membership.tier) || Number.isNaN(membership.position)) {
        notify("Write each queue as name, name:tier or name:tier:position.", "bad");
        return;
      }
      queues.push(membership);
    }
    const result = await act("Saving agent " + name, "/api/agents/" + encodeURIComponent(name), {
      method: "PUT",
      json: { endpoint: $("agent-form-endpoint").value.trim(), queues },
    });
    if (result && result.ok) {
      notify("Agent " + name + " saved.");
      loadQueues();
    }
  });
  $("admin-agents").replaceChildren(head("Agents", "their state is on the wallboard"), el("div", { id: "agents-list", className: "scroll" }), form);
}

async function loadQueues() {
  const body = await loadInto($("queues-list"), "/api/queues", "Loading queues");
  if (!shown || body === null) return;
  queueViews = body;
  $("queues-list").replaceChildren(
    table(
      ["Queue", "Strategy", "Waiting", "Agents", "Offered", ""],
      queueViews.map((q) =>
        el(
          "tr",
          { dataset: { queue: q.name } },
          ...cells([q.name, q.strategy, count(q.waiting.length), count(q.agents.length), count(q.counters.offered)], [2, 3, 4]),
          el(
            "td",
            { className: "num" },
            el("button", { type: "button", className: "small secondary", on: { click: () => editQueue(q) } }, "Edit"),
            " ",
            el("button", { type: "button", className: "small danger", on: { click: () => deleteQueue(q.name) } }, "Delete"),
          ),
        ),
      ),
      { numeric: [2, 3, 4] },
    ),
  );
  // An agent appears once per queue it serves: gather its memberships.
  const agents = new Map();
  for (const q of queueViews) {
    for (const a of q.agents) {
      const agent = agents.get(a.name) || { name: a.name, endpoint: a.endpoint, queues: [] };
      agent.queues.push({ queue: q.name, tier: a.tier, position: a.position });
      agents.set(a.name, agent);
    }
  }
  $("agents-list").replaceChildren(
    table(
      ["Agent", "Endpoint", "Queues", ""],
      [...agents.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((a) =>
          el(
            "tr",
            { dataset: { agent: a.name } },
            ...cells([a.name, a.endpoint, membershipText(a.queues)]),
            el(
              "td",
              { className: "num" },
              el("button", { type: "button", className: "small secondary", on: { click: () => editAgent(a) } }, "Edit"),
              " ",
              el("button", { type: "button", className: "small danger", on: { click: () => deleteAgent(a.name) } }, "Delete"),
            ),
          ),
        ),
    ),
  );
}

function membershipText(queues) {
  return queues.map((m) => m.queue + ":" + m.tier + ":" + m.position).join(", ");
}

// Fills the form with every stored setting, so that saving it changes only what was edited.
async function editQueue(queue) {
  const result = await act("Reading queue " + queue.name, "/api/queues/" + encodeURIComponent(queue.name) + "/settings");
  if (!result || !result.ok) return;
  const { name, strategy, ...rest } = result.body;
  $("queue-name").value = name;
  $("queue-strategy").value = strategy;
  $("queue-settings").value = JSON.stringify(rest, null, 1);
  $("queue-name").focus();
}

function editAgent(agent) {
  $("agent-form-name").value = agent.name;
  $("agent-form-endpoint").value = agent.endpoint;
  $("agent-form-queues").value = membershipText(agent.queues);
  $("agent-form-name").focus();
}

async function deleteQueue(name) {
  if (!confirm("Remove queue " + name + "? Only an empty queue can be removed.")) return;
  const result = await act("Removing queue " + name, "/api/queues/" + encodeURIComponent(name), { method: "DELETE" });
  if (result && result.ok) {
    notify("Queue " + name + " removed.");
    loadQueues();
  }
}

async function deleteAgent(name) {
  if (!confirm("Remove agent " + name + "?")) return;
  const result = await act("Removing agent " + name, "/api/agents/" + encodeURIComponent(name), { method: "DELETE" });
  if (result && result.ok) {
    notify("Agent " + name + " removed.");
    loadQueues();
  }
}

// Blocklist

function renderBlocklistCard() {
  const form = el(
    "form",
    { id: "block-form", className: "filters" },
    el("input", { id: "block-id", type: "hidden" }),
    field("Match", select("block-type", [["number", "number"], ["prefix", "prefix"], ["name", "caller-ID name"]], "number")),
    field("Value", el("input", { id: "block-value", required: true, autocomplete: "off", spellcheck: false, placeholder: "+1 555 0100, +882 or *casino*" })),
    field("Direction", select("block-direction", ["inbound", "outbound", "both"], "inbound")),
    field("Treatment", select("block-treatment", [["reject", "reject"], ["busy", "busy"], ["prompt", "prompt (file)"], ["transfer", "transfer (extension)"]], "reject")),
    field("Cause / file / extension", el("input", { id: "block-param", autocomplete: "off", spellcheck: false, placeholder: "CALL_REJECTED" })),
    field("Expires", el("input", { id: "block-expires", type: "date" })),
    field("Reason", el("input", { id: "block-reason", autocomplete: "off" })),
    el("button", { type: "submit", id: "block-submit" }, "Add to the blocklist"),
    el("button", { type: "button", className: "secondary", on: { click: resetBlockForm } }, "Clear"),
  );
  form.addEventListener("submit", saveBlock);
  $("admin-blocklist").replaceChildren(head("Blocklist", "blocked callers are never answered"), el("div", { id: "blocklist", className: "scroll" }), form);
}

function resetBlockForm() {
  $("block-form").reset();
  $("block-id").value = "";
  $("block-submit").textContent = "Add to the blocklist";
}

function treatmentText(t) {
  if (!t) return DASH;
  if (t.type === "reject") return "reject " + (t.cause || "");
  if (t.type === "prompt") return "prompt " + t.file;
  if (t.type === "transfer") return "transfer to " + t.extension;
  return t.type;
}

async function loadBlocklist() {
  const body = await loadInto($("blocklist"), "/api/blocklist", "Loading the blocklist");
  if (!shown || body === null) return;
  const entries = body;
  $("blocklist").replaceChildren(
    entries.length
      ? table(
          ["Match", "Direction", "Treatment", "Expires", "Reason", "By", "Hits", "Last hit", ""],
          entries.map((e) =>
            el(
              "tr",
              { dataset: { block: String(e.id) } },
              ...cells(
                [e.match.type + " " + e.match.value, e.direction, treatmentText(e.treatment), e.expires_at ? when(e.expires_at) : "never", e.reason || DASH, e.added_by || DASH, count(e.hits), e.last_hit_at ? when(e.last_hit_at) : DASH],
                [6],
              ),
              el(
                "td",
                { className: "num" },
                el("button", { type: "button", className: "small secondary", on: { click: () => editBlock(e) } }, "Edit"),
                " ",
                el("button", { type: "button", className: "small danger", on: { click: () => deleteBlock(e) } }, "Delete"),
              ),
            ),
          ),
          { numeric: [6] },
        )
      : el("p", { className: "muted" }, "Nobody is blocked."),
  );
}

function editBlock(entry) {
  $("block-id").value = String(entry.id);
  $("block-type").value = entry.match.type;
  $("block-value").value = entry.match.value;
  $("block-direction").value = entry.direction;
  $("block-treatment").value = entry.treatment.type;
  $("block-param").value = entry.treatment.cause || entry.treatment.file || entry.treatment.extension || "";
  $("block-expires").value = entry.expires_at ? new Date(entry.expires_at).toISOString().slice(0, 10) : "";
  $("block-reason").value = entry.reason || "";
  $("block-submit").textContent = "Save entry #" + entry.id;
  $("block-value").focus();
}

async function saveBlock(event) {
  event.preventDefault();
  const param = $("block-param").value.trim();
  const type = $("block-treatment").value;
  const treatment = { type };
  if (type === "reject" && param) treatment.cause = param;
  if (type === "prompt") treatment.file = param;
  if (type === "transfer") treatment.extension = param;
  const expires = $("block-expires").value;
  const entry = {
    match: { type: $("block-type").value, value: $("block-value").value.trim() },
    direction: $("block-direction").value,
    treatment,
    expires_at: expires ? new Date(expires + "T23:59:59").getTime() : null,
    reason: $("block-reason").value.trim(),
  };
  const id = $("block-id").value;
  const result = id
    ? await act("Saving blocklist entry #" + id, "/api/blocklist/" + encodeURIComponent(id), { method: "PUT", json: entry })
    : await act("Adding to the blocklist", "/api/blocklist", { method: "POST", json: entry });
  if (result && result.ok) {
    notify(id ? "Entry #" + id + " saved." : "Blocked " + result.body.match.value + ".");
    resetBlockForm();
    loadBlocklist();
  }
}

async function deleteBlock(entry) {
  if (!confirm("Remove the block on " + entry.match.value + "?")) return;
  const result = await act("Removing blocklist entry #" + entry.id, "/api/blocklist/" + entry.id, { method: "DELETE" });
  if (result && result.ok) loadBlocklist();
}

// Phone book import

function renderPhonebookCard() {
  const form = el(
    "form",
    { id: "import-form", className: "filters" },
    field("Kind", select("import-kind", ["contacts", "organizations", "assets"], "contacts")),
    field("Format", select("import-format", [["", "by the file"], ["csv", "CSV"], ["vcard", "vCard"]], "")),
    field("File", el("input", { id: "import-file", type: "file", required: true, accept: ".csv,.vcf,text/csv,text/vcard" })),
    field(
      "Column map",
      el("input", {
        id: "import-map",
        type: "text",
        placeholder: "email=emails, company=organization",
        title: "The file's names for columns, as FILE_COLUMN=COLUMN, comma-separated (CSV only)",
      }),
    ),
    el("button", { type: "submit", id: "import-submit" }, "Import"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("import-file").files[0];
    if (!file) return;
    const params = new URLSearchParams({ kind: $("import-kind").value });
    if ($("import-format").value) params.set("format", $("import-format").value);
    if ($("import-map").value.trim()) params.set("map", $("import-map").value.trim());
    $("import-submit").disabled = true;
    $("import-report").replaceChildren(el("p", { className: "muted" }, "Importing " + file.name + "…"));
    const result = await act("Importing " + file.name, "/api/phonebook/import?" + params, {
      method: "POST",
      body: file,
      headers: { "Content-Type": file.type || "application/octet-stream" },
    });
    $("import-submit").disabled = false;
    if (!result) return;
    if (!result.ok) {
      $("import-report").replaceChildren(el("p", { className: "error" }, failure(result, "The import")));
      return;
    }
    renderImportReport(result.body);
  });
  $("admin-phonebook").replaceChildren(
    head("Phone book import", "CSV or vCard; larger books with switchdesk phonebook import"),
    form,
    el("div", { id: "import-report" }),
  );
}

function renderImportReport(report) {
  const summary = [
    ["Rows", report.rows],
    ["Saved", report.saved],
    ["Created", report.created],
    ["Updated", report.updated],
    ["Without external id", report.without_external_id],
    ["Organizations created", report.organizations_created],
    ["Failed", report.failed],
    ["Saved with warnings", report.warned],
  ];
  const ignored = report.ignored_columns || [];
  const warnings = report.warnings || [];
  fill(
    $("import-report"),
    el("dl", { className: "facts" }, summary.map(([label, value]) => el("div", {}, el("dt", {}, label), el("dd", {}, count(value))))),
    ignored.length
      ? el("p", { id: "import-ignored", className: "warning" }, "Columns not read (give them a column map to read them): " + ignored.join(", "))
      : null,
    report.failures && report.failures.length
      ? table(
          ["Line", "Reason"],
          report.failures.map((f) => el("tr", { dataset: { line: String(f.line) } }, ...cells([String(f.line), f.reason], [0]))),
          { numeric: [0], id: "import-failures" },
        )
      : el("p", { className: "muted" }, "Every row was saved."),
    report.failed > (report.failures || []).length ? el("p", { className: "muted" }, "Only the first " + report.failures.length + " failures are listed.") : null,
    warnings.length
      ? el(
          "div",
          {},
          el("h3", {}, "Saved with something left out"),
          table(
            ["Line", "Left out"],
            warnings.map((w) => el("tr", { dataset: { line: String(w.line) } }, ...cells([String(w.line), w.reason], [0]))),
            { numeric: [0], id: "import-warnings" },
          ),
        )
      : null,
    report.warned > warnings.length ? el("p", { className: "muted" }, "Only the first " + warnings.length + " warnings are listed.") : null,
  );
}

// ---------------------------------------------------------------------------------------------
// Audit log: who changed what, newest first, with filters (GET /api/audit). Rows are
// `tr[data-audit=ID]` with `data-kind`, `data-action` and `data-target`; "Older" reads the
// next page from the last answer's `next_before`.

const AUDIT_KINDS = ["", "queue", "agent", "user", "token", "blocklist", "contact", "organization", "asset", "billing_rate", "ticket", "login"];

let auditNext = null; // `next_before` of the last page shown

function renderAuditCard() {
  const form = el(
    "form",
    { id: "audit-form", className: "filters" },
    field("Kind", select("audit-kind", AUDIT_KINDS.map((k) => [k, k || "any"]), "")),
    field("Who", el("input", { id: "audit-actor", autocomplete: "off", spellcheck: false, placeholder: "user or token:NAME" })),
    field("Record", el("input", { id: "audit-target", autocomplete: "off", spellcheck: false, placeholder: "name or id" })),
    field("From", el("input", { id: "audit-from", type: "date" })),
    field("To", el("input", { id: "audit-to", type: "date" })),
    el("button", { type: "submit", id: "audit-submit" }, "Show"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadAudit();
  });
  const more = el("button", { type: "button", id: "audit-more", className: "secondary", hidden: true, on: { click: () => loadAudit(auditNext) } }, "Older");
  $("admin-audit").replaceChildren(head("Audit log", "every change and sign-in, newest first"), form, el("div", { id: "audit-list", className: "scroll" }), more);
}

/// The filters as query parameters; dates are whole local days (To included).
function auditQuery(before) {
  const params = new URLSearchParams({ limit: "100" });
  const text = (id) => $(id).value.trim();
  if (text("audit-kind")) params.set("kind", text("audit-kind"));
  if (text("audit-actor")) params.set("actor", text("audit-actor"));
  if (text("audit-target")) params.set("target", text("audit-target"));
  const from = dateMs($("audit-from").value);
  const to = dateMs($("audit-to").value, 1);
  if (from !== null) params.set("from", String(from));
  if (to !== null) params.set("to", String(to));
  if (before) params.set("before", String(before));
  return params;
}

async function loadAudit(before = null) {
  const list = $("audit-list");
  const body = await loadInto(list, "/api/audit?" + auditQuery(before), "Loading the audit log");
  if (!shown || body === null) return;
  auditNext = body.next_before;
  $("audit-more").hidden = !auditNext;
  const rows = body.entries.map((e) =>
    el(
      "tr",
      { dataset: { audit: String(e.id), kind: e.kind, action: e.action, target: e.target } },
      ...cells([when(e.at), e.actor + (e.actor_role ? " (" + e.actor_role + ")" : ""), e.kind, e.action, e.target || DASH, changeText(e.before, e.after), e.peer || DASH]),
    ),
  );
  if (before && list.querySelector("tbody")) {
    list.querySelector("tbody").append(...rows);
    return;
  }
  list.replaceChildren(rows.length ? table(["When", "Who", "Kind", "Action", "Record", "Before → after", "From"], rows, { id: "audit-table" }) : el("p", { className: "muted" }, "Nothing recorded for these filters."));
}

/// A value as short text: strings as they are, anything else as compact JSON, cut at 80.
function shortText(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text === undefined ? DASH : text.length > 80 ? text.slice(0, 79) + "…" : text;
}

/// `before → after` in a line: for an update of a record only the fields that changed; a
/// record created or deleted is shown field by field (the action says which).
function changeText(before, after) {
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const fields = (record) => Object.entries(record).map(([k, v]) => k + ": " + shortText(v)).join("; ");
  if (before == null && after == null) return DASH;
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    const changed = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    return changed.map((k) => k + ": " + shortText(before[k]) + " → " + shortText(after[k])).join("; ") || DASH;
  }
  if (before == null && isObject(after)) return fields(after);
  if (after == null && isObject(before)) return fields(before);
  return shortText(before ?? undefined) + " → " + shortText(after ?? undefined);
}
