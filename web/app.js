// The switchdesk dashboard: sign-in, then one view chosen by role and the URL's hash
// (#wallboard, #agent, #phonebook, #manager, #calls, #agent-stats, #faxes, #admin, #status) fed by the live feed (/ws) or, while it is
// down, by polling the API. Text is set with textContent only; nothing is inlined (strict CSP).

import { $, act, api, ask, el, notify, whenSessionEnds, t, N_, label, ROLE_LABEL, setCurrency } from "./lib.js";
import { lang, languages, preferred, use } from "./i18n.js";
import { unlock } from "./ring.js";
import { Feed } from "./feed.js";
import * as wallboard from "./wallboard.js";
import * as agent from "./agent.js";
import * as manager from "./manager.js";
import * as admin from "./admin.js";
import * as calls from "./calls.js";
import * as faxes from "./faxes.js";
import * as phonebook from "./phonebook.js";
import * as agentStats from "./agentstats.js";
import * as status from "./status.js";

const RANK = { agent: 0, supervisor: 1, manager: 2, admin: 3 };

/// Every view: its hash, root element, who may open it, and which feed it listens to (none
/// for the status view, which polls /api/status itself).
const VIEWS = [
  { hash: "wallboard", label: N_("Wallboard"), root: "wallboard", min: "supervisor", feed: "wallboard", module: wallboard },
  { hash: "agent", label: N_("Agent desktop"), root: "agent-desktop", min: "agent", feed: "agent", module: agent },
  { hash: "phonebook", label: N_("Phone book"), root: "phonebook", min: "agent", feed: null, module: phonebook },
  { hash: "manager", label: N_("Tickets & reports"), root: "manager", min: "manager", feed: "wallboard", module: manager },
  { hash: "calls", label: N_("Calls"), root: "calls", min: "supervisor", feed: null, module: calls },
  { hash: "agent-stats", label: N_("Agent statistics"), root: "agent-stats", min: "supervisor", feed: null, module: agentStats },
  { hash: "faxes", label: N_("Faxes and mail"), root: "faxes", min: "supervisor", feed: null, module: faxes },
  { hash: "admin", label: N_("Admin"), root: "admin", min: "admin", feed: "wallboard", module: admin },
  { hash: "status", label: N_("Event socket"), root: "status", min: "supervisor", feed: null, module: status },
];

let me = null;
let current = null; // the view shown
let feed = null; // the open feed, shared by views that listen to the same one
let available = []; // the languages there are: [{code, name}]

function allowed(view) {
  return me && (RANK[me.role] ?? -1) >= RANK[view.min];
}

function landing() {
  if (me.role === "agent") return "agent";
  if (me.role === "supervisor") return "wallboard";
  return "manager";
}

function showLogin(message) {
  leaveView();
  closeFeed();
  me = null;
  delete document.body.dataset.view;
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  const error = $("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("login-name").focus();
}

async function showApp(user) {
  me = user;
  setCurrency(me.currency);
  // The user's own choice, else what the browser asks for (the server read Accept-Language).
  if (me.language && me.language !== lang()) await use(me.language);
  fillLanguages();
  $("who-name").textContent = me.name;
  $("who-role").textContent = label(ROLE_LABEL, me.role);
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("nav").replaceChildren(
    ...VIEWS.filter(allowed).map((view) => el("a", { href: "#" + view.hash, dataset: { view: view.hash } }, t(view.label))),
  );
  route();
}

/// Shows the view the hash names, if the role may open it; else the role's landing view.
/// What follows the view's name (`#manager/ticket/42`) goes to the view's `route`, if it has one.
function route() {
  if (!me) return;
  const [wanted, ...rest] = location.hash.replace(/^#/, "").split("/");
  let place = rest.join("/");
  let view = VIEWS.find((v) => v.hash === wanted && allowed(v));
  if (view && current === view) {
    if (place && view.module.route) view.module.route(place);
    return;
  }
  if (!view) {
    place = "";
    view = VIEWS.find((v) => v.hash === landing());
    if (location.hash !== "#" + view.hash) {
      history.replaceState(null, "", "#" + view.hash);
    }
  }
  if (current === view) return;
  leaveView();
  current = view;
  for (const v of VIEWS) $(v.root).hidden = v !== view;
  for (const link of $("nav").children) link.classList.toggle("active", link.dataset.view === view.hash);
  document.body.dataset.view = view.hash;
  view.module.show(me);
  if (place && view.module.route) view.module.route(place);
  if (view.feed) openFeed(view.feed);
  else closeFeed();
}

function leaveView() {
  if (current) current.module.hide();
  current = null;
}

/// A view gets a feed of its own, opened afresh so it starts from the server's snapshot.
function openFeed(kind) {
  closeFeed();
  feed = new Feed(kind, me, (message, live) => {
    if (current && current.feed === kind && current.module.onFeed) current.module.onFeed(message, live);
  });
}

function closeFeed() {
  if (feed) feed.stop();
  feed = null;
}

async function login(event) {
  event.preventDefault();
  const name = $("login-name").value.trim();
  const password = $("login-password").value;
  if (!name || !password) {
    showLogin(t("Enter your name and password."));
    return;
  }
  const button = $("login-submit");
  button.disabled = true;
  try {
    const result = await api("/api/login", { method: "POST", json: { name, password } });
    if (result.ok) {
      $("login-password").value = "";
      await showApp(result.body);
    } else {
      showLogin((result.body && result.body.error) || t("Sign-in failed."));
    }
  } catch {
    showLogin(t("Cannot reach switchdesk."));
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
  showLogin("");
}

/// The signed-in user changes their own password; their other sessions end.
async function changePassword() {
  const answer = await ask(
    t("Change your password"),
    [
      { name: "current", label: t("Current password"), type: "password" },
      { name: "password", label: t("New password (at least 8 characters)"), type: "password" },
    ],
    t("Change it"),
  );
  if (!answer) return;
  const result = await act(t("Changing your password"), "/api/me/password", { method: "POST", json: answer });
  if (result && result.ok) notify(t("Password changed; your other sessions have ended."));
}

/// The language menu of the top bar: every language there is, the one shown selected.
function fillLanguages() {
  const menu = $("language");
  menu.replaceChildren(...available.map(({ code, name }) => el("option", { value: code }, name)));
  menu.value = lang();
}

/// The user picks a language: it is stored as theirs (every browser they sign in on shows it),
/// then the page starts again in it.
async function chooseLanguage() {
  const code = $("language").value;
  const result = await act(t("Changing the language"), "/api/me/language", { method: "PUT", json: { language: code } });
  if (result && result.ok) location.reload();
  else fillLanguages();
}

async function start() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("change-password").addEventListener("click", changePassword);
  $("language").addEventListener("change", chooseLanguage);
  // Browsers let a page make sound (the agent's ring, the wallboard's alert) only after a click.
  document.addEventListener("pointerdown", unlock, { once: true });
  $("ask-cancel").addEventListener("click", () => $("ask").close());
  window.addEventListener("hashchange", route);
  whenSessionEnds(() => {
    if (me) showLogin(t("Your session has ended. Please sign in again."));
  });
  available = await languages();
  let result = null;
  try {
    result = await api("/api/me");
  } catch {
    result = null;
  }
  await use((result && result.ok && result.body.language) || preferred(available.map((l) => l.code)));
  for (const view of VIEWS) view.module.init();
  if (result && result.ok) await showApp(result.body);
  else showLogin(result ? "" : t("Cannot reach switchdesk."));
}

start();
