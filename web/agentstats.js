// Agent statistics: per agent over a period (today, yesterday, the last 7 days), from the
// stored intervals (GET /api/reports/agents, one row per agent for the whole period): calls
// answered, talk time, time on a break, occupancy, average handle time and the share of the
// agent's calls answered within their queue's service level. The figures are the report's
// own (stats::report); this screen only sorts and formats them. The same rows as CSV.

import { $, el, fill, act, count, percent, duration, isoDate, t, N_, DASH } from "./lib.js";

const PERIODS = { today: N_("Today"), yesterday: N_("Yesterday"), week: N_("Last 7 days") };

/// The table's columns: what each shows, the API's field it sorts by, how it is written.
const COLUMNS = [
  { title: N_("Agent"), key: "agent", show: (r) => r.agent },
  { title: N_("Calls answered"), key: "calls_answered", show: (r) => count(r.calls_answered), numeric: true },
  { title: N_("Talk time"), key: "talk_secs", show: (r) => duration(r.talk_secs), numeric: true },
  { title: N_("Break time"), key: "break_secs", show: (r) => duration(r.break_secs), numeric: true },
  {
    title: N_("Occupancy"),
    key: "occupancy",
    show: (r) => percent(r.occupancy),
    numeric: true,
    explain: N_("Time in calls and wrap-up over that time plus the time available or ringing (breaks left out)."),
  },
  {
    title: N_("Average handle time"),
    key: "average_handle_time_secs",
    show: (r) => duration(r.average_handle_time_secs),
    numeric: true,
    explain: N_("Time in calls and wrap-up per call answered."),
  },
  {
    title: N_("SL contribution"),
    key: "service_level",
    show: (r) => percent(r.service_level),
    numeric: true,
    explain: N_("The share of the agent's answered calls answered within their queue's service-level threshold."),
  },
  { title: N_("Ratings"), key: "ratings", show: (r) => count(r.ratings), numeric: true },
  {
    title: N_("Average rating"),
    key: "average_rating",
    show: (r) => (r.average_rating === null || r.average_rating === undefined ? DASH : r.average_rating.toFixed(1)),
    numeric: true,
    explain: N_("The callers' ratings of the agent's calls (1 to 5, the survey after a call)."),
  },
];

let shown = false;
let rows = [];
let sort = { key: "calls_answered", descending: true };

export function init() {
  const period = $("agent-stats-period");
  fill(period, Object.entries(PERIODS).map(([value, text]) => el("option", { value }, t(text))));
  period.addEventListener("change", load);
}

export function show() {
  shown = true;
  load();
}

export function hide() {
  shown = false;
}

/// The period as the report reads it: dates are whole days as the service's day start counts
/// them, a `to` date included; no `to` means until now.
function period() {
  const today = new Date();
  const day = (back) => isoDate(new Date(today.getFullYear(), today.getMonth(), today.getDate() - back));
  switch ($("agent-stats-period").value) {
    case "yesterday":
      return { from: day(1), to: day(1) };
    case "week":
      return { from: day(6) };
    default:
      return { from: day(0) };
  }
}

async function load() {
  const params = new URLSearchParams(period());
  $("agent-stats-csv").href = "/api/reports/agents?" + params + "&format=csv";
  const result = await act(t("Loading agent statistics"), "/api/reports/agents?" + params);
  if (!shown || !result || !result.ok) return;
  rows = (result.body && result.body.agents) || [];
  draw();
}

function compare(a, b) {
  const x = a[sort.key];
  const y = b[sort.key];
  // Figures with nothing to divide by (null) go last whichever way the column is sorted.
  if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
  if (y === null || y === undefined) return -1;
  const order = typeof x === "string" ? x.localeCompare(y) : x - y;
  return sort.descending ? -order : order;
}

function draw() {
  const sorted = [...rows].sort(compare);
  const head = COLUMNS.map((column) => {
    const active = sort.key === column.key;
    const button = el(
      "button",
      {
        type: "button",
        className: "sort",
        title: column.explain ? t(column.explain) : null,
        on: {
          click: () => {
            sort = { key: column.key, descending: active ? !sort.descending : column.key !== "agent" };
            draw();
          },
        },
      },
      t(column.title),
      active ? (sort.descending ? " ▼" : " ▲") : "",
    );
    return el(
      "th",
      { scope: "col", className: column.numeric ? "num" : "", dataset: { key: column.key }, attrs: { "aria-sort": active ? (sort.descending ? "descending" : "ascending") : "none" } },
      button,
    );
  });
  fill(
    $("agent-stats-table"),
    sorted.length
      ? el(
          "table",
          { id: "agent-stats-rows" },
          el("thead", {}, el("tr", {}, head)),
          el(
            "tbody",
            {},
            sorted.map((row) =>
              el(
                "tr",
                { dataset: { agent: row.agent } },
                COLUMNS.map((column) =>
                  el("td", { className: column.numeric ? "num" : "", dataset: { key: column.key, label: t(column.title) } }, column.show(row) ?? DASH),
                ),
              ),
            ),
          ),
        )
      : el("p", { className: "muted" }, t("No agent was logged in during this period.")),
  );
}
