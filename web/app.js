// The switchdesk dashboard: sign-in, then the live event-socket state polled from /api/status
// once a second. Everything shown comes from the API; text is set with textContent only.

const REFRESH_MS = 1000;

const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat();

let timer = null;
let generation = 0; // bumped on every start/stop, so a poll still in flight cannot revive an old loop
let previous = null; // { at, events } from the last poll, for per-second rates

async function api(path, options = {}) {
  const init = { credentials: "same-origin", ...options, headers: { Accept: "application/json", ...(options.headers || {}) } };
  const response = await fetch(path, init);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, ok: response.ok, body };
}

function showLogin(message) {
  stopPolling();
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  const error = $("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("login-name").focus();
}

function showApp(me) {
  $("who-name").textContent = me.name;
  $("who-role").textContent = me.role;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  startPolling();
}

async function login(event) {
  event.preventDefault();
  const name = $("login-name").value.trim();
  const password = $("login-password").value;
  if (!name || !password) {
    showLogin("Enter your name and password.");
    return;
  }
  const button = $("login-submit");
  button.disabled = true;
  try {
    const result = await api("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, password }),
    });
    if (result.ok) {
      $("login-password").value = "";
      showApp(result.body);
    } else {
      showLogin((result.body && result.body.error) || "Sign-in failed.");
    }
  } catch {
    showLogin("Cannot reach switchdesk.");
  } finally {
    button.disabled = false;
  }
}

async function logout() {
  try {
    await api("/api/logout", { method: "POST" });
  } catch {
    // Unreachable service: the cookie expires on its own; show the sign-in form anyway.
  }
  previous = null;
  showLogin("");
}

function startPolling() {
  stopPolling();
  poll(generation);
}

function stopPolling() {
  generation += 1;
  if (timer !== null) {
    clearTimeout(timer);
    timer = null;
  }
}

async function poll(loop) {
  try {
    const result = await api("/api/status");
    if (loop !== generation) return;
    if (result.status === 401) {
      showLogin("Your session has ended. Please sign in again.");
      return;
    }
    $("stale").hidden = result.ok;
    if (result.ok) render(result.body);
  } catch {
    if (loop !== generation) return;
    $("stale").hidden = false;
  }
  timer = setTimeout(() => poll(loop), REFRESH_MS);
}

function render(status) {
  const esl = status.esl || {};
  const pill = $("esl-state");
  pill.textContent = esl.connected ? "connected" : "disconnected";
  pill.className = "pill " + (esl.connected ? "ok" : "bad");
  $("events-total").textContent = number.format(esl.events_total || 0);
  $("reconnects").textContent = number.format(esl.reconnects || 0);
  $("events-shed").textContent = number.format(esl.events_shed || 0);
  $("events-shed").classList.toggle("warn", (esl.events_shed || 0) > 0);

  const now = performance.now();
  const events = status.events || {};
  const seconds = previous ? (now - previous.at) / 1000 : 0;
  const rows = Object.entries(events).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const body = $("events");
  body.replaceChildren(
    ...rows.map(([name, count]) => {
      const before = previous && previous.events[name] !== undefined ? previous.events[name] : count;
      const rate = seconds > 0 ? Math.max(0, count - before) / seconds : 0;
      return row(name, number.format(count), rate >= 10 ? number.format(Math.round(rate)) : rate.toFixed(1));
    }),
  );
  $("no-events").hidden = rows.length > 0;
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  previous = { at: now, events };
}

function row(...cells) {
  const tr = document.createElement("tr");
  cells.forEach((text, i) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (i > 0) td.className = "num";
    tr.append(td);
  });
  return tr;
}

async function start() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  try {
    const me = await api("/api/me");
    if (me.ok) showApp(me.body);
    else showLogin("");
  } catch {
    showLogin("Cannot reach switchdesk.");
  }
}

start();
