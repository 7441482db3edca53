// The call log: calls filtered by period, queue, agent, outcome and caller number (any written
// form, as GET /api/calls reads it), newest first, a page at a time; a call's recording plays
// in the page (GET /api/calls/{id}/recording, ranges for seeking).

import { $, el, act, api, table, callRow, dateMs, t, label, OUTCOME_LABEL } from "./lib.js";

const PAGE = 50;
const OUTCOMES = ["answered", "abandoned", "voicemail", "fax", "fax_failed", "missed"];

let shown = false;
let offset = 0;

export function init() {
  $("calls-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    load();
  });
  $("calls-newer").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    load();
  });
  $("calls-older").addEventListener("click", () => {
    offset += PAGE;
    load();
  });
  const outcome = $("calls-outcome");
  outcome.replaceChildren(el("option", { value: "" }, t("any")), ...OUTCOMES.map((o) => el("option", { value: o }, label(OUTCOME_LABEL, o))));
}

export async function show() {
  shown = true;
  await loadQueues();
  load();
}

export function hide() {
  shown = false;
}

async function loadQueues() {
  try {
    const result = await api("/api/queues");
    if (!result.ok || !Array.isArray(result.body)) return;
    const select = $("calls-queue");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, t("any")), ...result.body.map((q) => el("option", { value: q.name }, q.name)));
    select.value = chosen;
  } catch {
    // The filter stays "any".
  }
}

function query() {
  const params = new URLSearchParams();
  const value = (id) => $(id).value.trim();
  for (const [id, key] of [["calls-queue", "queue"], ["calls-agent", "agent"], ["calls-outcome", "outcome"], ["calls-number", "caller_number"]]) {
    if (value(id)) params.set(key, value(id));
  }
  const from = dateMs(value("calls-from"));
  const to = dateMs(value("calls-to"), 1); // the whole "to" day
  if (from !== null) params.set("from", String(from));
  if (to !== null) params.set("to", String(to));
  // One more than a page: whether there are older ones.
  params.set("limit", String(PAGE + 1));
  params.set("offset", String(offset));
  return params;
}

async function load() {
  const result = await act(t("Loading calls"), "/api/calls?" + query());
  if (!shown || !result || !result.ok) return;
  const calls = (result.body || []).slice(0, PAGE);
  const more = (result.body || []).length > PAGE;
  $("calls-list").replaceChildren(
    calls.length
      ? table(
          [t("Started"), t("Caller"), t("Outcome"), t("Agent"), t("Queue"), t("Wait"), t("Talk"), t("Hangup cause"), t("Recording")],
          calls.map((call) => callRow(call, { as: "tr" })),
          { numeric: [5, 6], id: "calls-table" },
        )
      : el("p", { className: "muted" }, t("No calls match.")),
  );
  $("calls-page").textContent = calls.length ? t("calls {from}–{to}", { from: offset + 1, to: offset + calls.length }) : "";
  $("calls-newer").disabled = offset === 0;
  $("calls-older").disabled = !more;
}
