// One execution: its facts, status timeline and arguments, its log streaming live while
// it runs (`/api/executions/{id}/logs/follow`), and cancel, run-again and download.
//
// The log shown is bounded: past LOG_LIMIT characters the oldest are dropped (the
// download has them all), so a job that prints without end cannot fill the tab.

import { $, ACTIVE, api, can, debounce, el, ran, readEvents, say, when } from "./lib.js";
import { agentLabel, agentNames, lastLine } from "./executions.js";

const LOG_LIMIT = 1 << 20;

function show(section, detail, byId) {
  // The detail is the execution's own fields, with `durationSeconds` and `events`.
  const e = detail;
  section.dataset.id = e.id;
  section.dataset.status = e.status;
  $("#e-id").textContent = e.id;
  const job = $("#e-job");
  job.textContent = e.jobName;
  job.href = `#/jobs/${encodeURIComponent(e.jobName)}`;
  $("#e-status").textContent = e.status;
  $("#e-agent").textContent = agentLabel(e, byId);
  $("#e-trigger").textContent = [e.trigger, e.triggerDetail].filter(Boolean).join(": ");
  $("#e-start").textContent = when(e.startTime);
  $("#e-duration").textContent = ran(e);
  $("#e-exit").textContent = e.exitCode ?? "";
  $("#e-progress").textContent = lastLine(e);
  $("#arguments").textContent = JSON.stringify(e.arguments || [], null, 2);
  $("#timeline").replaceChildren(
    ...detail.events.map((event) =>
      el(
        "li",
        { dataset: { status: event.status } },
        el("time", { datetime: event.at }, when(event.at)),
        " ",
        el("strong", {}, event.status),
        event.message ? ` — ${event.message}` : "",
      ),
    ),
  );
  $("#cancel").hidden = !(ACTIVE.includes(e.status) && can("executions", "update"));
  $("#rerun").hidden = !can("executions", "create");
}

/** Appends log text, dropping the oldest past the limit. */
function append(text) {
  const log = $("#log");
  const follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(text);
  if (log.textContent.length > LOG_LIMIT) {
    const kept = log.textContent.slice(-LOG_LIMIT);
    log.textContent = `[… earlier lines left out: download the log for all of it]\n${kept.slice(kept.indexOf("\n") + 1)}`;
  }
  if (follow) log.scrollTop = log.scrollHeight;
}

/** `#/executions/{id}`. */
export async function detail(section, [id], _query, live) {
  const path = `/api/executions/${encodeURIComponent(id)}`;
  const byId = await agentNames();
  let shown = null;
  let following = null;
  let stream = "stdout";

  async function load() {
    const found = await api(path);
    if (!live()) return;
    shown = found;
    show(section, shown, byId);
    if (!ACTIVE.includes(shown.status)) $("#log-state").textContent = "";
  }

  /** Shows the chosen stream from its start, then live until the execution ends. */
  function follow() {
    following?.abort();
    const stop = new AbortController();
    following = stop;
    $("#log").textContent = "";
    $("#log").dataset.stream = stream;
    for (const b of section.querySelectorAll("button[data-stream]")) {
      b.setAttribute("aria-pressed", String(b.dataset.stream === stream));
    }
    $("#log-state").textContent = ACTIVE.includes(shown.status) ? "(live)" : "";
    readEvents(
      `${path}/logs/follow?stream=${stream}`,
      (name, data) => {
        if (!live()) return;
        if (name === "log") append(JSON.parse(data));
        if (name === "end") {
          $("#log-state").textContent = "";
          load().catch((e) => console.warn(e));
        }
      },
      stop.signal,
    ).catch((error) => {
      if (error.name !== "AbortError") $("#log-state").textContent = `(stopped: ${error.message})`;
    });
  }

  $("#log-state").textContent = "";
  await load();
  follow();
  for (const b of section.querySelectorAll("button[data-stream]")) {
    b.onclick = () => {
      if (b.dataset.stream === stream) return;
      stream = b.dataset.stream;
      follow();
    };
  }
  // While it runs, its duration counts up with the clock.
  const tick = setInterval(() => {
    if (shown && shown.status === "Running") $("#e-duration").textContent = ran(shown);
  }, 1000);

  $("#cancel").onclick = async () => {
    try {
      await api(`${path}/cancel`, { method: "POST" });
      say("Cancel requested.", false);
      await load();
    } catch (error) {
      say(error.message);
    }
  };
  $("#rerun").onclick = async () => {
    try {
      const again = await api(`${path}/rerun`, { method: "POST" });
      location.hash = `#/executions/${encodeURIComponent(again.id)}`;
    } catch (error) {
      say(error.message);
    }
  };
  $("#download").onclick = async () => {
    try {
      const answer = await api(`${path}/logs?stream=${stream}`, { raw: true });
      const url = URL.createObjectURL(await answer.blob());
      const link = el("a", { href: url, download: `${id}.${stream}.log` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      say(error.message);
    }
  };

  const refresh = debounce(() => load().catch((e) => console.warn(e)), 200);
  return {
    // After a reconnect: read it again, and the log again if it was cut off.
    refresh: () => {
      refresh();
      if ($("#log-state").textContent.startsWith("(stopped")) follow();
    },
    event: (name, payload) => {
      if (name === "ExecutionStatusUpdate" && payload?.executionId === id) refresh();
    },
    leave: () => {
      following?.abort();
      clearInterval(tick);
    },
  };
}
