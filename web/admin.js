// The admin pages: users and roles, API tokens, queues and agents (every setting of a queue), the blocklist, the phone book
// import with its per-line report, and the audit log. Every form posts JSON to the API and shows the server's
// error as it is.

import { $, api, el, fill, act, ask, loadInto, notify, failure, table, cells, when, count, dateMs, label, t, N_, ROLE_LABEL, STRATEGY_LABEL, DASH } from "./lib.js";

const ROLES = ["agent", "supervisor", "manager", "admin"].map((role) => [role, ROLE_LABEL[role]]);
const STRATEGIES = Object.entries(STRATEGY_LABEL);

let shown = false;
let queueViews = []; // GET /api/queues, for the queue and agent lists
let queueRefresh = null;

export function init() {}

export function show() {
  shown = true;
  renderUsersCard();
  renderTokensCard();
  renderQueuesCard();
  renderAgentsCard();
  renderBlocklistCard();
  renderPhonebookCard();
  loadUsers();
  loadTokens();
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
  // Options are values, or [value, label] with the label's English (marked N_ where written).
  const node = el("select", { id, name: id }, options.map((o) => (Array.isArray(o) ? el("option", { value: o[0] }, t(o[1])) : el("option", { value: o }, o))));
  if (value !== undefined) node.value = value;
  return node;
}

// Users

function renderUsersCard() {
  const form = el(
    "form",
    { id: "user-form", className: "filters" },
    field(t("Name"), el("input", { id: "user-name", required: true, autocomplete: "off", spellcheck: false })),
    field(t("Role"), select("user-role", ROLES, "agent")),
    field(t("Password"), el("input", { id: "user-password", type: "password", required: true, autocomplete: "new-password", minLength: 8 })),
    el("button", { type: "submit" }, t("Add the user")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await act(t("Adding the user"), "/api/users", {
      method: "POST",
      json: { name: $("user-name").value.trim(), role: $("user-role").value, password: $("user-password").value },
    });
    if (result && result.ok) {
      form.reset();
      notify(t("User {name} added.", { name: result.body.name }));
      loadUsers();
    }
  });
  $("admin-users").replaceChildren(
    head(t("Users and roles"), t("an agent user works the ACD agent of the same name")),
    el("div", { id: "users-list", className: "scroll" }),
    form,
  );
}

async function loadUsers() {
  const body = await loadInto($("users-list"), "/api/users", t("Loading users"));
  if (!shown || body === null) return;
  $("users-list").replaceChildren(
    table(
      [t("Name"), t("Role"), t("State"), t("Since"), ""],
      body.map((u) => el("tr", { dataset: { user: u.name } }, ...cells([u.name, label(ROLE_LABEL, u.role), u.disabled ? t("disabled") : t("active"), when(u.created_at)]), el("td", {}, userActions(u)))),
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
    done(
      await act(t("Changing the role of {name}", { name: user.name }), path, { method: "PATCH", json: { role: role.value } }),
      t("{name} is now {role}.", { name: user.name, role: label(ROLE_LABEL, role.value) }),
    );
  });
  const access = el("button", { type: "button", className: "small secondary", dataset: { action: "access" } }, user.disabled ? t("Enable") : t("Disable"));
  access.addEventListener("click", async () => {
    const disabled = !user.disabled;
    done(
      await act(t(disabled ? N_("Disabling {name}") : N_("Enabling {name}"), { name: user.name }), path, { method: "PATCH", json: { disabled } }),
      t(disabled ? N_("{name} is disabled and signed out everywhere.") : N_("{name} may sign in again."), { name: user.name }),
    );
  });
  const password = el("button", { type: "button", className: "small secondary" }, t("New password"));
  password.addEventListener("click", async () => {
    const answer = await ask(t("New password for {name}", { name: user.name }), [{ name: "password", label: t("Password (at least 8 characters)"), type: "password" }], t("Set it"));
    if (!answer) return;
    done(
      await act(t("Setting the password of {name}", { name: user.name }), path + "/password", { method: "POST", json: answer }),
      t("The password of {name} is set; their sessions have ended.", { name: user.name }),
    );
  });
  const remove = el("button", { type: "button", className: "small danger" }, t("Delete"));
  remove.addEventListener("click", async () => {
    if (!confirm(t("Delete user {name}? They are signed out everywhere.", { name: user.name }))) return;
    done(await act(t("Deleting {name}", { name: user.name }), path, { method: "DELETE" }), t("{name} deleted.", { name: user.name }));
  });
  return el("span", { className: "actions" }, role, access, password, remove);
}

// API tokens: for scrapers and scripts. The secret is shown once, when the token is made.

function renderTokensCard() {
  const form = el(
    "form",
    { id: "token-form", className: "filters" },
    field(t("Name"), el("input", { id: "token-name", required: true, autocomplete: "off", spellcheck: false })),
    field(t("Role"), select("token-role", ROLES, "supervisor")),
    el("button", { type: "submit" }, t("Create the token")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("token-name").value.trim();
    const result = await act(t("Creating token {name}", { name }), "/api/tokens", { method: "POST", json: { name, role: $("token-role").value } });
    if (result && result.ok) {
      form.reset();
      $("token-role").value = "supervisor";
      showTokenSecret(result.body);
      loadTokens();
    }
  });
  $("admin-tokens").replaceChildren(
    head(t("API tokens"), t("Authorization: Bearer <token>")),
    el("div", { id: "tokens-list", className: "scroll" }),
    el("div", { id: "token-created", hidden: true }),
    form,
  );
}

/// The new token's secret: shown here once, never again.
function showTokenSecret(created) {
  const place = $("token-created");
  fill(
    place,
    el("p", {}, t("Token"), " ", el("strong", {}, created.name), " (" + label(ROLE_LABEL, created.role) + "). ", t("Copy it now: it is not shown again.")),
    el("code", { id: "token-secret" }, created.token),
    " ",
    el("button", { type: "button", className: "small secondary", on: { click: () => (place.hidden = true) } }, t("Done")),
  );
  place.hidden = false;
}

async function loadTokens() {
  const body = await loadInto($("tokens-list"), "/api/tokens", t("Loading tokens"));
  if (!shown || body === null) return;
  $("tokens-list").replaceChildren(
    table(
      [t("Name"), t("Role"), t("Created"), t("Last used"), t("State"), ""],
      body.map((token) =>
        el(
          "tr",
          { dataset: { token: token.name } },
          ...cells([token.name, label(ROLE_LABEL, token.role), when(token.created_at), token.last_used_at ? when(token.last_used_at) : t("never"), token.revoked ? t("revoked") : t("active")]),
          el("td", { className: "num" }, token.revoked ? null : el("button", { type: "button", className: "small danger", dataset: { action: "revoke" }, on: { click: () => revokeToken(token.name) } }, t("Revoke"))),
        ),
      ),
    ),
  );
}

async function revokeToken(name) {
  if (!confirm(t("Revoke token {name}? Whatever uses it is refused from now on.", { name }))) return;
  const result = await act(t("Revoking token {name}", { name }), "/api/tokens/" + encodeURIComponent(name), { method: "DELETE" });
  if (result && result.ok) {
    notify(t("Token {name} revoked.", { name }));
    loadTokens();
  }
}

// Queues and agents

// Every setting of a queue (src/acd/config.rs), by its path in GET /api/queues/{name}/settings,
// grouped as the form shows them. `lines` are prompt lists, one entry a line.
const QUEUE_FIELDSETS = [
  [N_("Routing"), [
    { path: "strategy", label: N_("Strategy"), kind: "select", options: STRATEGIES },
    { path: "ring_timeout_secs", label: N_("Ring an agent for (s)"), kind: "number", min: 1 },
    { path: "wrap_up_secs", label: N_("Wrap-up (s)"), kind: "number" },
    { path: "tier_wait_secs", label: N_("Next tier opens after (s)"), kind: "number" },
    { path: "service_level_secs", label: N_("Service level threshold (s)"), kind: "number" },
    { path: "resume_secs", label: N_("A caller who calls again keeps the place for (s)"), kind: "number" },
  ]],
  [N_("Agents who miss a call"), [
    { path: "reject_delay_secs", label: N_("Skip after a reject (s)"), kind: "number" },
    { path: "busy_delay_secs", label: N_("Skip after busy (s)"), kind: "number" },
    { path: "no_answer_delay_secs", label: N_("Skip after no answer (s)"), kind: "number" },
    { path: "max_missed_offers", label: N_("Pause after missed offers in a row (0: never)"), kind: "number" },
  ]],
  [N_("Waiting and overflow"), [
    { path: "max_wait_secs", label: N_("Max wait (s, 0: no limit)"), kind: "number" },
    { path: "no_agents", label: N_("When nobody is logged in"), kind: "select", options: [["wait", N_("wait anyway")], ["overflow", N_("overflow at once")]] },
    { path: "overflow", label: N_("Overflow to"), kind: "overflow" },
    { path: "exit_key", label: N_("Exit key"), kind: "key" },
    { path: "exit_extension", label: N_("Exit to extension"), kind: "text", placeholder: "voicemail" },
  ]],
  [N_("Prompts"), [
    { path: "prompts.hold_music", label: N_("Hold music"), kind: "text", placeholder: "local_stream://moh" },
    { path: "prompts.language", label: N_("Language"), kind: "text", placeholder: "en" },
    { path: "prompts.position", label: N_("Position (one a line; {position})"), kind: "lines" },
    { path: "prompts.expected_wait", label: N_("Expected wait (one a line; {wait_minutes})"), kind: "lines" },
    { path: "prompts.callback_accepted", label: N_("Callback accepted (one a line)"), kind: "lines" },
  ]],
  [N_("Survey after the call"), [
    { path: "survey", label: N_("Ask the caller for a rating (1 to 5) when the agent hangs up"), kind: "check", default: false },
    { path: "survey_timeout_secs", label: N_("Time to press a key (s, 1-60)"), kind: "number", min: 1 },
    { path: "survey_tries", label: N_("Times the question is asked (1-5)"), kind: "number", min: 1 },
    { path: "prompts.survey", label: N_("Question"), kind: "text", placeholder: "switchdesk/survey.wav" },
    { path: "prompts.survey_invalid", label: N_("No key or a wrong one"), kind: "text", placeholder: "ivr/ivr-that_was_an_invalid_entry.wav" },
    { path: "prompts.survey_thanks", label: N_("Thanks for a rating"), kind: "text", placeholder: "ivr/ivr-thank_you.wav" },
  ]],
  [N_("Announcements"), [
    { path: "announcements.on_entry", label: N_("On entry"), kind: "check" },
    { path: "announcements.on_change", label: N_("When the position changes"), kind: "check" },
    { path: "announcements.expected_wait", label: N_("Say the expected wait"), kind: "check" },
    { path: "announcements.min_gap_secs", label: N_("At most every (s)"), kind: "number" },
    { path: "announcements.periodic_secs", label: N_("Repeat every (s, 0: never)"), kind: "number" },
  ]],
  [N_("Wallboard alerts"), [
    { path: "alerts.service_level_amber", label: N_("Amber when the service level is at or below (%)"), kind: "number" },
    { path: "alerts.service_level_red", label: N_("Red when the service level is at or below (%)"), kind: "number" },
    { path: "alerts.wait_amber_secs", label: N_("Amber when a caller waits (s, 0: never)"), kind: "number" },
    { path: "alerts.wait_red_secs", label: N_("Red when a caller waits (s, 0: never)"), kind: "number" },
    { path: "alerts.waiting_amber", label: N_("Amber when callers wait (0: never)"), kind: "number" },
    { path: "alerts.waiting_red", label: N_("Red when callers wait (0: never)"), kind: "number" },
  ]],
  [N_("Callbacks"), [
    { path: "callbacks.key", label: N_("Callback key (empty: no callbacks)"), kind: "key" },
    { path: "callbacks.dial", label: N_("Dial string ({number})"), kind: "text", placeholder: "sofia/gateway/pstn/{number}" },
    { path: "callbacks.caller_id_number", label: N_("Caller id number"), kind: "text" },
    { path: "callbacks.caller_id_name", label: N_("Caller id name"), kind: "text" },
    { path: "callbacks.attempts", label: N_("Attempts"), kind: "number" },
    { path: "callbacks.retry_secs", label: N_("Retry after (s)"), kind: "number" },
    { path: "callbacks.ring_secs", label: N_("Ring the customer for (s)"), kind: "number" },
  ]],
];

const QUEUE_FIELDS = QUEUE_FIELDSETS.flatMap(([, fields]) => fields);

function queueFieldId(path) {
  return "queue-" + path.replace(/[._]/g, "-");
}

function queueInput(f) {
  const id = queueFieldId(f.path);
  switch (f.kind) {
    case "select":
      return field(t(f.label), select(id, f.options));
    case "check":
      return el("label", { className: "check" }, el("input", { id, name: id, type: "checkbox" }), " " + t(f.label));
    case "number":
      return field(t(f.label), el("input", { id, name: id, type: "number", min: f.min ?? 0, step: 1, required: true }));
    case "key":
      return field(t(f.label), el("input", { id, name: id, maxLength: 1, size: 2, pattern: "[0-9*#]?", autocomplete: "off" }));
    case "lines":
      return field(t(f.label), el("textarea", { id, name: id, rows: 3, spellcheck: false }));
    case "overflow":
      return el(
        "span",
        { className: "filters" },
        field(t(f.label), select("queue-overflow-to", [["hangup", N_("hang up")], ["queue", N_("another queue")], ["extension", N_("an extension")]], "hangup")),
        field(t("Queue"), el("select", { id: "queue-overflow-queue", name: "queue-overflow-queue" })),
        field(t("Extension"), el("input", { id: "queue-overflow-extension", name: "queue-overflow-extension", autocomplete: "off", spellcheck: false, placeholder: "voicemail" })),
      );
    default:
      return field(t(f.label), el("input", { id, name: id, autocomplete: "off", spellcheck: false, placeholder: f.placeholder || "" }));
  }
}

function renderQueuesCard() {
  const form = el(
    "form",
    { id: "queue-form", className: "stack" },
    el("div", { className: "filters" }, field(t("Queue"), el("input", { id: "queue-name", required: true, autocomplete: "off", spellcheck: false, pattern: "[A-Za-z0-9._\\-]{1,64}" }))),
    ...QUEUE_FIELDSETS.map(([legend, fields]) => el("fieldset", { className: "filters" }, el("legend", {}, t(legend)), ...fields.map(queueInput))),
    el("p", { id: "queue-form-error", className: "error", role: "alert", hidden: true }),
    el(
      "div",
      { className: "actions" },
      el("button", { type: "submit" }, t("Save the queue")),
      el("button", { type: "button", className: "secondary", on: { click: () => fillQueueForm(null) } }, t("New queue")),
    ),
  );
  form.addEventListener("submit", saveQueue);
  $("admin-queues").replaceChildren(head(t("Queues")), el("div", { id: "queues-list", className: "scroll" }), form);
  $("queue-overflow-to").addEventListener("change", showOverflowTarget);
  fillQueueForm(null);
}

/// The other queues, as overflow targets.
function overflowQueues(except, chosen) {
  const names = queueViews.map((q) => q.name).filter((n) => n !== except);
  if (chosen && !names.includes(chosen)) names.push(chosen);
  fill($("queue-overflow-queue"), names.map((n) => el("option", { value: n }, n)));
  if (chosen) $("queue-overflow-queue").value = chosen;
}

/// Puts `settings` (as GET settings answers them) into the form; null clears it for a new
/// queue, with the defaults a new queue gets filled in by the server on save.
function fillQueueForm(settings) {
  $("queue-form-error").hidden = true;
  $("queue-name").value = settings ? settings.name : "";
  $("queue-name").readOnly = Boolean(settings);
  const s = settings || {};
  for (const f of QUEUE_FIELDS) {
    if (f.kind === "overflow") continue;
    const value = f.path.split(".").reduce((v, k) => (v == null ? undefined : v[k]), s);
    const input = $(queueFieldId(f.path));
    if (f.kind === "check") input.checked = value === undefined ? f.default !== false : Boolean(value);
    else if (f.kind === "lines") input.value = (value || []).join("\n");
    else if (f.kind === "select") input.value = value ?? (Array.isArray(f.options[0]) ? f.options[0][0] : f.options[0]);
    else input.value = value ?? "";
  }
  // A new queue's blank numbers take their defaults; a stored queue's are all filled in.
  for (const f of QUEUE_FIELDS.filter((f) => f.kind === "number")) $(queueFieldId(f.path)).required = Boolean(settings);
  const overflow = s.overflow || { to: "hangup" };
  $("queue-overflow-to").value = overflow.to;
  overflowQueues(s.name, overflow.to === "queue" ? overflow.target : null);
  $("queue-overflow-extension").value = overflow.to === "extension" ? overflow.target : "";
  showOverflowTarget();
}

/// Only the overflow target the chosen kind needs: a queue, or an extension.
function showOverflowTarget() {
  const to = $("queue-overflow-to").value;
  $("queue-overflow-queue").parentElement.hidden = to !== "queue";
  $("queue-overflow-extension").parentElement.hidden = to !== "extension";
}

/// The form as settings: every field, in the shape PUT takes. For a new queue, blank fields
/// are left out and take their defaults; for a stored one, a blank field clears the setting.
function queueFormSettings() {
  const creating = !$("queue-name").readOnly;
  const settings = {};
  const put = (path, value) => {
    const keys = path.split(".");
    let at = settings;
    for (const k of keys.slice(0, -1)) at = at[k] = at[k] || {};
    at[keys[keys.length - 1]] = value;
  };
  for (const f of QUEUE_FIELDS) {
    if (f.kind === "overflow") continue;
    const input = $(queueFieldId(f.path));
    const text = f.kind === "check" ? "" : input.value.trim();
    if (creating && text === "" && f.kind !== "check" && f.kind !== "select") continue;
    if (f.kind === "check") put(f.path, input.checked);
    else if (f.kind === "number") {
      if (text !== "") put(f.path, Number(text));
    } else if (f.kind === "lines") put(f.path, text.split("\n").map((l) => l.trim()).filter(Boolean));
    else if (f.kind === "key") put(f.path, text === "" ? null : text);
    else if (f.kind === "select") put(f.path, input.value);
    else if (text !== "" || f.path === "exit_extension" || f.path.startsWith("callbacks.caller_id")) put(f.path, text);
    // Hold music, language and the dial string left blank take their defaults.
  }
  const to = $("queue-overflow-to").value;
  if (to === "queue") settings.overflow = { to, target: $("queue-overflow-queue").value };
  else if (to === "extension") settings.overflow = { to, target: $("queue-overflow-extension").value.trim() };
  else settings.overflow = { to: "hangup" };
  return settings;
}

async function saveQueue(event) {
  event.preventDefault();
  const name = $("queue-name").value.trim();
  const error = $("queue-form-error");
  error.hidden = true;
  const result = await act(t("Saving queue {name}", { name }), "/api/queues/" + encodeURIComponent(name), { method: "PUT", json: queueFormSettings() });
  if (result && result.ok) {
    notify(t("Queue {name} saved.", { name }));
    loadQueues();
    const stored = await act(t("Reading queue {name}", { name }), "/api/queues/" + encodeURIComponent(name) + "/settings");
    if (stored && stored.ok) fillQueueForm(stored.body);
  } else if (result) {
    error.textContent = failure(result, t("Saving queue {name}", { name }));
    error.hidden = false;
  }
}

function renderAgentsCard() {
  const form = el(
    "form",
    { id: "agent-form", className: "filters" },
    field(t("Agent"), el("input", { id: "agent-form-name", required: true, autocomplete: "off", spellcheck: false })),
    field(t("Endpoint"), el("input", { id: "agent-form-endpoint", required: true, autocomplete: "off", spellcheck: false, placeholder: "user/1001@default" })),
    field(t("Queues (queue:tier:position, …)"), el("input", { id: "agent-form-queues", autocomplete: "off", spellcheck: false, placeholder: "support:1:1, sales:2" })),
    el("button", { type: "submit" }, t("Save the agent")),
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
        notify(t("Write each queue as name, name:tier or name:tier:position."), "bad");
        return;
      }
      queues.push(membership);
    }
    const result = await act(t("Saving agent {name}", { name }), "/api/agents/" + encodeURIComponent(name), {
      method: "PUT",
      json: { endpoint: $("agent-form-endpoint").value.trim(), queues },
    });
    if (result && result.ok) {
      notify(t("Agent {name} saved.", { name }));
      loadQueues();
    }
  });
  $("admin-agents").replaceChildren(head(t("Agents"), t("their state is on the wallboard")), el("div", { id: "agents-list", className: "scroll" }), form);
}

async function loadQueues() {
  const body = await loadInto($("queues-list"), "/api/queues", t("Loading queues"));
  if (!shown || body === null) return;
  queueViews = body;
  $("queues-list").replaceChildren(
    table(
      [t("Queue"), t("Strategy"), t("Waiting"), t("Agents"), t("Offered"), ""],
      queueViews.map((q) =>
        el(
          "tr",
          { dataset: { queue: q.name } },
          ...cells([q.name, label(STRATEGY_LABEL, q.strategy), count(q.waiting.length), count(q.agents.length), count(q.counters.offered)], [2, 3, 4]),
          el(
            "td",
            { className: "num" },
            el("button", { type: "button", className: "small secondary", on: { click: () => editQueue(q) } }, t("Edit")),
            " ",
            el("button", { type: "button", className: "small danger", on: { click: () => deleteQueue(q.name) } }, t("Delete")),
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
      [t("Agent"), t("Endpoint"), t("Queues"), ""],
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
              el("button", { type: "button", className: "small secondary", on: { click: () => editAgent(a) } }, t("Edit")),
              " ",
              el("button", { type: "button", className: "small danger", on: { click: () => deleteAgent(a.name) } }, t("Delete")),
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
  const result = await act(t("Reading queue {name}", { name: queue.name }), "/api/queues/" + encodeURIComponent(queue.name) + "/settings");
  if (!result || !result.ok) return;
  fillQueueForm(result.body);
  $("queue-strategy").focus();
}

function editAgent(agent) {
  $("agent-form-name").value = agent.name;
  $("agent-form-endpoint").value = agent.endpoint;
  $("agent-form-queues").value = membershipText(agent.queues);
  $("agent-form-name").focus();
}

async function deleteQueue(name) {
  if (!confirm(t("Remove queue {name}?", { name }))) return;
  const path = "/api/queues/" + encodeURIComponent(name);
  let result = await act(t("Removing queue {name}", { name }), path, { method: "DELETE" });
  if (result && result.status === 409) {
    // In use: its callers, agents and the queues overflowing to it may go to another queue.
    const listed = await api("/api/queues").catch(() => null);
    const others = listed && listed.ok ? listed.body.map((q) => q.name).filter((q) => q !== name) : [];
    if (others.length === 0) return;
    const answer = await ask(
      t("Queue {name} is in use. Move its waiting callers, its agents and the queues overflowing to it to:", { name }),
      [{ name: "move_to", label: t("Queue"), options: others.map((q) => [q, q]) }],
      t("Move and remove"),
    );
    if (!answer) return;
    result = await act(t("Removing queue {name}", { name }), path + "?move_to=" + encodeURIComponent(answer.move_to), { method: "DELETE" });
    if (result && result.ok) notify(t("Queue {name} removed; its callers, agents and overflows now go to {other}.", { name, other: answer.move_to }));
  } else if (result && result.ok) {
    notify(t("Queue {name} removed.", { name }));
  }
  if (result && result.ok) loadQueues();
}

async function deleteAgent(name) {
  if (!confirm(t("Remove agent {name}?", { name }))) return;
  const result = await act(t("Removing agent {name}", { name }), "/api/agents/" + encodeURIComponent(name), { method: "DELETE" });
  if (result && result.ok) {
    notify(t("Agent {name} removed.", { name }));
    loadQueues();
  }
}

// Blocklist

function renderBlocklistCard() {
  const form = el(
    "form",
    { id: "block-form", className: "filters" },
    el("input", { id: "block-id", type: "hidden" }),
    field(t("Match"), select("block-type", [["number", N_("number")], ["prefix", N_("prefix")], ["name", N_("caller-ID name")]], "number")),
    field(t("Value"), el("input", { id: "block-value", required: true, autocomplete: "off", spellcheck: false, placeholder: "+1 555 0100, +882 or *casino*" })),
    field(t("Direction"), select("block-direction", DIRECTIONS, "inbound")),
    field(t("Treatment"), select("block-treatment", [["reject", N_("reject")], ["busy", N_("busy")], ["prompt", N_("prompt (file)")], ["transfer", N_("transfer (extension)")]], "reject")),
    field(t("Cause / file / extension"), el("input", { id: "block-param", autocomplete: "off", spellcheck: false, placeholder: "CALL_REJECTED" })),
    field(t("Expires"), el("input", { id: "block-expires", type: "date" })),
    field(t("Reason"), el("input", { id: "block-reason", autocomplete: "off" })),
    el("button", { type: "submit", id: "block-submit" }, t("Add to the blocklist")),
    el("button", { type: "button", className: "secondary", on: { click: resetBlockForm } }, t("Clear")),
  );
  form.addEventListener("submit", saveBlock);
  $("admin-blocklist").replaceChildren(head(t("Blocklist"), t("blocked callers are never answered")), el("div", { id: "blocklist", className: "scroll" }), form);
}

function resetBlockForm() {
  $("block-form").reset();
  $("block-id").value = "";
  $("block-submit").textContent = t("Add to the blocklist");
}

const DIRECTIONS = [["inbound", N_("inbound")], ["outbound", N_("outbound")], ["both", N_("both")]];
const MATCH_LABEL = { number: N_("number"), prefix: N_("prefix"), name: N_("caller-ID name") };

function treatmentText(treatment) {
  if (!treatment) return DASH;
  if (treatment.type === "reject") return t("reject {cause}", { cause: treatment.cause || "" }).trim();
  if (treatment.type === "prompt") return t("prompt {file}", { file: treatment.file });
  if (treatment.type === "transfer") return t("transfer to {extension}", { extension: treatment.extension });
  if (treatment.type === "busy") return t("busy");
  return treatment.type;
}

async function loadBlocklist() {
  const body = await loadInto($("blocklist"), "/api/blocklist", t("Loading the blocklist"));
  if (!shown || body === null) return;
  const entries = body;
  $("blocklist").replaceChildren(
    entries.length
      ? table(
          [t("Match"), t("Direction"), t("Treatment"), t("Expires"), t("Reason"), t("By"), t("Hits"), t("Last hit"), ""],
          entries.map((e) =>
            el(
              "tr",
              { dataset: { block: String(e.id) } },
              ...cells(
                [label(MATCH_LABEL, e.match.type) + " " + e.match.value, label(Object.fromEntries(DIRECTIONS), e.direction), treatmentText(e.treatment), e.expires_at ? when(e.expires_at) : t("never"), e.reason || DASH, e.added_by || DASH, count(e.hits), e.last_hit_at ? when(e.last_hit_at) : DASH],
                [6],
              ),
              el(
                "td",
                { className: "num" },
                el("button", { type: "button", className: "small secondary", on: { click: () => editBlock(e) } }, t("Edit")),
                " ",
                el("button", { type: "button", className: "small danger", on: { click: () => deleteBlock(e) } }, t("Delete")),
              ),
            ),
          ),
          { numeric: [6] },
        )
      : el("p", { className: "muted" }, t("Nobody is blocked.")),
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
  $("block-submit").textContent = t("Save entry #{id}", { id: entry.id });
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
    ? await act(t("Saving blocklist entry #{id}", { id }), "/api/blocklist/" + encodeURIComponent(id), { method: "PUT", json: entry })
    : await act(t("Adding to the blocklist"), "/api/blocklist", { method: "POST", json: entry });
  if (result && result.ok) {
    notify(id ? t("Entry #{id} saved.", { id }) : t("Blocked {value}.", { value: result.body.match.value }));
    resetBlockForm();
    loadBlocklist();
  }
}

async function deleteBlock(entry) {
  if (!confirm(t("Remove the block on {value}?", { value: entry.match.value }))) return;
  const result = await act(t("Removing blocklist entry #{id}", { id: entry.id }), "/api/blocklist/" + entry.id, { method: "DELETE" });
  if (result && result.ok) loadBlocklist();
}

// Phone book import

function renderPhonebookCard() {
  const form = el(
    "form",
    { id: "import-form", className: "filters" },
    field(t("Kind"), select("import-kind", [["contacts", N_("contacts")], ["organizations", N_("organizations")], ["assets", N_("assets")]], "contacts")),
    field(t("Format"), select("import-format", [["", N_("by the file")], ["csv", "CSV"], ["vcard", "vCard"]], "")),
    field(t("File"), el("input", { id: "import-file", type: "file", required: true, accept: ".csv,.vcf,text/csv,text/vcard" })),
    field(
      t("Column map"),
      el("input", {
        id: "import-map",
        type: "text",
        placeholder: "email=emails, company=organization",
        title: t("The file's names for columns, as FILE_COLUMN=COLUMN, comma-separated (CSV only)"),
      }),
    ),
    el("button", { type: "submit", id: "import-submit" }, t("Import")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("import-file").files[0];
    if (!file) return;
    const params = new URLSearchParams({ kind: $("import-kind").value });
    if ($("import-format").value) params.set("format", $("import-format").value);
    if ($("import-map").value.trim()) params.set("map", $("import-map").value.trim());
    $("import-submit").disabled = true;
    $("import-report").replaceChildren(el("p", { className: "muted" }, t("Importing {file}…", { file: file.name })));
    const result = await act(t("Importing {file}", { file: file.name }), "/api/phonebook/import?" + params, {
      method: "POST",
      body: file,
      headers: { "Content-Type": file.type || "application/octet-stream" },
    });
    $("import-submit").disabled = false;
    if (!result) return;
    if (!result.ok) {
      $("import-report").replaceChildren(el("p", { className: "error" }, failure(result, t("The import"))));
      return;
    }
    renderImportReport(result.body);
  });
  $("admin-phonebook").replaceChildren(
    head(t("Phone book import"), t("CSV or vCard; larger books with switchdesk phonebook import")),
    form,
    el("div", { id: "import-report" }),
  );
}

function renderImportReport(report) {
  const summary = [
    [t("Rows"), report.rows],
    [t("Saved"), report.saved],
    [t("Created"), report.created],
    [t("Updated"), report.updated],
    [t("Without external id"), report.without_external_id],
    [t("Organizations created"), report.organizations_created],
    [t("Failed"), report.failed],
    [t("Saved with warnings"), report.warned],
  ];
  const ignored = report.ignored_columns || [];
  const warnings = report.warnings || [];
  fill(
    $("import-report"),
    el("dl", { className: "facts" }, summary.map(([name, value]) => el("div", {}, el("dt", {}, name), el("dd", {}, count(value))))),
    ignored.length
      ? el("p", { id: "import-ignored", className: "warning" }, t("Columns not read (give them a column map to read them): {columns}", { columns: ignored.join(", ") }))
      : null,
    report.failures && report.failures.length
      ? table(
          [t("Line"), t("Reason")],
          report.failures.map((f) => el("tr", { dataset: { line: String(f.line) } }, ...cells([String(f.line), f.reason], [0]))),
          { numeric: [0], id: "import-failures" },
        )
      : el("p", { className: "muted" }, t("Every row was saved.")),
    report.failed > (report.failures || []).length ? el("p", { className: "muted" }, t("Only the first {n} failures are listed.", { n: report.failures.length })) : null,
    warnings.length
      ? el(
          "div",
          {},
          el("h3", {}, t("Saved with something left out")),
          table(
            [t("Line"), t("Left out")],
            warnings.map((w) => el("tr", { dataset: { line: String(w.line) } }, ...cells([String(w.line), w.reason], [0]))),
            { numeric: [0], id: "import-warnings" },
          ),
        )
      : null,
    report.warned > warnings.length ? el("p", { className: "muted" }, t("Only the first {n} warnings are listed.", { n: warnings.length })) : null,
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
    field(t("Kind"), select("audit-kind", AUDIT_KINDS.map((k) => [k, k ? k.replace(/_/g, " ") : N_("any")]), "")),
    field(t("Who"), el("input", { id: "audit-actor", autocomplete: "off", spellcheck: false, placeholder: "user or token:NAME" })),
    field(t("Record"), el("input", { id: "audit-target", autocomplete: "off", spellcheck: false, placeholder: "name or id" })),
    field(t("From"), el("input", { id: "audit-from", type: "date" })),
    field(t("To"), el("input", { id: "audit-to", type: "date" })),
    el("button", { type: "submit", id: "audit-submit" }, t("Show")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadAudit();
  });
  const more = el("button", { type: "button", id: "audit-more", className: "secondary", hidden: true, on: { click: () => loadAudit(auditNext) } }, t("Older"));
  $("admin-audit").replaceChildren(head(t("Audit log"), t("every change and sign-in, newest first")), form, el("div", { id: "audit-list", className: "scroll" }), more);
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
  const body = await loadInto(list, "/api/audit?" + auditQuery(before), t("Loading the audit log"));
  if (!shown || body === null) return;
  auditNext = body.next_before;
  $("audit-more").hidden = !auditNext;
  const rows = body.entries.map((e) =>
    el(
      "tr",
      { dataset: { audit: String(e.id), kind: e.kind, action: e.action, target: e.target } },
      ...cells([when(e.at), e.actor + (e.actor_role ? " (" + label(ROLE_LABEL, e.actor_role) + ")" : ""), e.kind, e.action, e.target || DASH, changeText(e.before, e.after), e.peer || DASH]),
    ),
  );
  if (before && list.querySelector("tbody")) {
    list.querySelector("tbody").append(...rows);
    return;
  }
  list.replaceChildren(rows.length ? table([t("When"), t("Who"), t("Kind"), t("Action"), t("Record"), t("Before → after"), t("From")], rows, { id: "audit-table" }) : el("p", { className: "muted" }, t("Nothing recorded for these filters.")));
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
