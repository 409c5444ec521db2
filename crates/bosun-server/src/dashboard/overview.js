// The overview: how many executions are in each state, a chart of runs and failures
// over the last hour or day, and the latest executions; all kept current by the feed.

import { $, api, debounce, el, say } from "./lib.js";
import { showTable } from "./executions.js";

/** The states a person watches, in the order shown; the rest add to the total only. */
const SHOWN = [
  ["Running", "running"],
  ["Pending", "pending"],
  ["CompletedSuccessfully", "succeeded"],
  ["Failed", "failed"],
  ["Cancelled", "cancelled"],
];

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function showCounts(summary) {
  const by = new Map(summary.counts.map((c) => [c.status, c.count]));
  const timedOut = by.get("TimedOut") || 0;
  $("#counts").replaceChildren(
    ...SHOWN.map(([status, label]) => {
      const n = (by.get(status) || 0) + (status === "Failed" ? timedOut : 0);
      const link = el("a", { href: `#/executions?status=${status}` }, el("span", { class: "n" }, n), " ", label);
      return el("li", { dataset: { status } }, link);
    }),
    el("li", { class: "total" }, el("span", { class: "n" }, summary.total), " in all"),
  );
}

function clock(iso, window) {
  const at = new Date(iso);
  return window === "hour"
    ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
}

/** The activity chart: a bar a bucket, runs in grey with their failures over them. */
function showChart(activity) {
  const chart = $("#activity");
  const buckets = activity.buckets;
  const width = 720;
  const height = 160;
  const top = Math.max(1, ...buckets.map((b) => b.total));
  const step = width / Math.max(1, buckets.length);
  const bar = Math.max(1, step - 2);
  const y = (n) => height - (n / top) * (height - 14);
  chart.replaceChildren(
    svg("line", { x1: 0, x2: width, y1: height - 0.5, y2: height - 0.5, class: "base" }),
    svg("text", { x: 2, y: 11, class: "scale" }, `${top}`),
    ...buckets.map((b, i) => {
      const x = i * step + 1;
      const title = `${clock(b.start, activity.window)}: ${b.total} run${b.total === 1 ? "" : "s"}, ${b.failed} failed`;
      return svg(
        "g",
        { "data-start": b.start, "data-total": b.total, "data-failed": b.failed },
        svg("title", {}, title),
        svg("rect", { class: "total", x, width: bar, y: y(b.total), height: height - y(b.total) }),
        svg("rect", { class: "failed", x, width: bar, y: y(b.failed), height: height - y(b.failed) }),
      );
    }),
  );
  const first = buckets[0];
  $("#activity-axis").textContent = first
    ? `${clock(first.start, activity.window)} → now · a bar is ${activity.bucketSeconds / 60} min · red: failed`
    : "";
}

let span = "hour";

/** `#/`: counts, the chart and the latest executions. */
export async function overview(section, _params, _query, live) {
  const buttons = section.querySelectorAll("button[data-window]");

  async function show() {
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.window === span));
    // Each part shows what it could read; one that fails says why and spoils no other.
    const [summary, activity, page] = await Promise.allSettled([
      api("/api/executions/summary"),
      api(`/api/executions/activity?window=${span}`),
      api("/api/executions?limit=50"),
    ]);
    if (!live()) return;
    if (summary.status === "fulfilled") showCounts(summary.value);
    if (activity.status === "fulfilled") showChart(activity.value);
    if (page.status === "fulfilled") await showTable(section, page.value.items);
    const failed = [summary, activity, page].find((part) => part.status === "rejected");
    say(failed ? failed.reason.message : "");
  }

  for (const b of buttons) {
    b.onclick = () => {
      span = b.dataset.window;
      show().catch((e) => console.warn(e));
    };
  }
  await show();
  const refresh = debounce(() => show().catch((e) => console.warn(e)), 300);
  // The chart's last bar moves on with the clock, events or not.
  const tick = setInterval(refresh, 60000);
  return { refresh, event: refresh, leave: () => clearInterval(tick) };
}
