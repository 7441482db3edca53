// The wallboard's charts over time and its promise figure, from `GET /api/stats/history`:
// per queue, the callers waiting (average per interval, with the most at once), the queue's
// agents by state (average per interval, stacked) and the service level per interval, drawn
// as small inline SVG with lib.js's `svg` builder (the report's chart is drawn with it too);
// and the median error of today's announced expected waits. Fetched when the wallboard
// opens, when the span changes and every minute; each queue's block is kept between the
// wallboard's redraws of the queue, which move it into the new card.

import { $, el, svg, api, count, percent, t, readSetting, writeSetting, STATUS_LABEL, ACTIVITY_LABEL, DASH } from "./lib.js";
import { localeTag } from "./i18n.js";

const HOURS_KEY = "switchdesk.history-hours";
const OPEN_KEY = "switchdesk.history-open";
const REFRESH_MS = 60000;
const HOURS = [2, 4, 8, 12, 24];

/// The chart's drawing area (viewBox units).
const W = 360;
const H = 80;
const PAD = { left: 36, right: 6, top: 7, bottom: 14 };

/// Agents' states, stacked from the bottom, with what each is called.
const STATES = [
  ["in_call", ACTIVITY_LABEL.in_call],
  ["wrap_up", ACTIVITY_LABEL.wrap_up],
  ["ringing", ACTIVITY_LABEL.ringing],
  ["available", STATUS_LABEL.available],
  ["on_break", STATUS_LABEL.on_break],
];

const blocks = new Map(); // queue → {history: details element, promise: counter element}
let data = null; // the API's last answer
let timer = null;

export function init() {
  $("history-hours").addEventListener("change", (event) => {
    writeSetting(HOURS_KEY, event.target.value);
    load();
  });
}

export function start() {
  // Filled here, not at init: the user's own language may be set after the views' init.
  const select = $("history-hours");
  select.replaceChildren(...HOURS.map((h) => el("option", { value: String(h) }, t("last {n} h", { n: h }))));
  select.value = readSetting(HOURS_KEY, "4");
  if (!select.value) select.value = "4";
  clearInterval(timer);
  timer = setInterval(load, REFRESH_MS);
  load();
}

export function stop() {
  clearInterval(timer);
  timer = null;
}

/// The charts of `queue`, to put in its card (the same element each time).
export function historyOf(queue) {
  return blockOf(queue).history;
}

/// The median error of `queue`'s announced waits today, as one of its counters.
export function promiseOf(queue) {
  return blockOf(queue).promise;
}

function blockOf(queue) {
  let block = blocks.get(queue);
  if (!block) {
    const history = el("details", { className: "queue-history", dataset: { queue } }, el("summary", {}, t("Over time")), el("div", { className: "history-charts" }));
    history.open = readSetting(OPEN_KEY, window.matchMedia("(max-width: 40rem)").matches ? "false" : "true") === "true";
    // The person's choice only (a click), not the default just set.
    history.querySelector("summary").addEventListener("click", () => writeSetting(OPEN_KEY, String(!history.open)));
    const promise = el("div", { className: "counter", dataset: { key: "promise_error" } }, el("dt", {}, t("Wait promise error")), el("dd", { dataset: { counter: "promise_error" } }, DASH));
    block = { history, promise };
    blocks.set(queue, block);
    draw(queue, block);
  }
  return block;
}

async function load() {
  const hours = $("history-hours").value || "4";
  try {
    const result = await api("/api/stats/history?hours=" + encodeURIComponent(hours));
    if (!result.ok || !result.body || !Array.isArray(result.body.queues) || timer === null) return;
    data = result.body;
    for (const [queue, block] of blocks) draw(queue, block);
  } catch {
    // The next minute tries again; the charts shown stay.
  }
}

function draw(queue, block) {
  const shown = data && data.queues.find((q) => q.queue === queue);
  const figures = (shown && shown.promises_today) || {};
  block.promise.querySelector("dd").textContent = percent(figures.median_error);
  block.promise.title = t("Median error of the expected waits announced today: |actual − announced| / announced, over {n} answered callers who were told one (actual: from the first announcement to the answer).", { n: count(figures.promises || 0) });
  const charts = block.history.querySelector(".history-charts");
  if (!shown) {
    charts.replaceChildren(el("p", { className: "muted empty" }, data ? t("No history for this queue yet.") : t("Loading…")));
    return;
  }
  block.history.querySelector("summary").textContent = t("Over time, last {n} h", { n: data.hours });
  const points = shown.points || [];
  const span = { from: data.from, to: data.to, half: (data.interval_ms || 0) / 2 };
  const stacked = points.map((p) => {
    let below = 0;
    return STATES.map(([key]) => {
      const at = { low: below, high: below + (p.agents[key] || 0) };
      below = at.high;
      return at;
    });
  });
  charts.replaceChildren(
    chartFigure(
      "waiting",
      t("Callers waiting"),
      [[t("average"), "line-waiting"], [t("most at once"), "line-peak"]],
      plot(span, points, {
        top: Math.max(1, ...points.map((p) => p.peak_waiting)),
        format: (v) => count(Math.round(v)),
        series: [
          { className: "line-peak", value: (p) => p.peak_waiting, title: (p) => t("{time}: at most {n} waiting", { time: clock(p.start), n: count(p.peak_waiting) }) },
          { className: "line-waiting", value: (p) => p.waiting, title: (p) => t("{time}: {n} waiting on average", { time: clock(p.start), n: decimal(p.waiting) }) },
        ],
      }),
    ),
    chartFigure(
      "agents",
      t("Agents by state"),
      STATES.map(([key, name]) => [t(name), "area-" + key]),
      plot(span, points, {
        top: Math.max(1, ...stacked.map((s) => s[s.length - 1].high)),
        format: (v) => count(Math.round(v)),
        areas: STATES.map(([key, name], i) => ({
          className: "area-" + key,
          low: (p, n) => stacked[n][i].low,
          high: (p, n) => stacked[n][i].high,
          name,
        })),
        title: (p) => clock(p.start) + ": " + STATES.map(([key, name]) => t(name) + " " + decimal(p.agents[key] || 0)).join(", "),
      }),
    ),
    chartFigure(
      "service-level",
      t("Service level per interval"),
      [[t("answered within the threshold"), "line-sl"]],
      plot(span, points, {
        top: 1,
        format: percent,
        series: [{ className: "line-sl", value: (p) => p.service_level, title: (p) => t("{time}: service level {sl} of {n} answered", { time: clock(p.start), sl: percent(p.service_level), n: count(p.answered) }) }],
      }),
    ),
  );
}

function chartFigure(kind, caption, legend, chart) {
  return el(
    "figure",
    { className: "history-chart", dataset: { chart: kind } },
    el("figcaption", {}, el("span", { className: "chart-title" }, caption), " ", legend.map(([name, className]) => el("span", { className: "key" }, el("i", { className: "swatch " + className }), name))),
    chart,
  );
}

/// One chart over the span: the y axis from 0 to `top`, lines (`series`, a point per interval
/// that has a value) or stacked areas (`areas`), the span's ends on the x axis.
function plot(span, points, { top, format, series = [], areas = [], title }) {
  const width = W - PAD.left - PAD.right;
  const height = H - PAD.top - PAD.bottom;
  const x = (start) => PAD.left + (Math.min(start + span.half, span.to) - span.from) / Math.max(1, span.to - span.from) * width;
  const y = (value) => PAD.top + height - (Math.max(0, value) / top) * height;
  const children = [
    svg("line", { x1: PAD.left, y1: PAD.top + height, x2: W - PAD.right, y2: PAD.top + height, class: "axis" }),
    svg("line", { x1: PAD.left, y1: PAD.top, x2: W - PAD.right, y2: PAD.top, class: "grid" }),
    svg("text", { x: PAD.left - 3, y: PAD.top + 4, "text-anchor": "end", class: "muted-text" }, format(top)),
    svg("text", { x: PAD.left - 3, y: PAD.top + height + 1, "text-anchor": "end", class: "muted-text" }, format(0)),
    svg("text", { x: PAD.left, y: H - 3, class: "muted-text" }, clock(span.from)),
    svg("text", { x: W - PAD.right, y: H - 3, "text-anchor": "end", class: "muted-text" }, clock(span.to)),
  ];
  for (const area of areas) {
    if (points.length === 0) break;
    const upper = points.map((p, n) => x(p.start) + "," + y(area.high(p, n)));
    const lower = points.map((p, n) => x(p.start) + "," + y(area.low(p, n))).reverse();
    children.push(svg("polygon", { points: upper.concat(lower).join(" "), class: "area " + area.className }));
  }
  if (title) {
    // A hover target per interval, with all its figures.
    for (const p of points) {
      children.push(svg("circle", { cx: x(p.start), cy: PAD.top + height, r: 2.5, class: "point", "data-start": p.start }, svg("title", {}, title(p))));
    }
  }
  for (const line of series) {
    const known = points.filter((p) => line.value(p) !== null && line.value(p) !== undefined);
    if (known.length > 1) children.push(svg("polyline", { points: known.map((p) => x(p.start) + "," + y(line.value(p))).join(" "), class: "line " + line.className }));
    for (const p of known) {
      children.push(svg("circle", { cx: x(p.start), cy: y(line.value(p)), r: 2.5, class: "point " + line.className, "data-start": p.start }, svg("title", {}, line.title(p))));
    }
  }
  return svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart history", role: "img", preserveAspectRatio: "xMidYMid meet" }, children);
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString(localeTag(), { hour: "2-digit", minute: "2-digit" });
}

function decimal(value) {
  return new Intl.NumberFormat(localeTag(), { maximumFractionDigits: 1 }).format(value || 0);
}
