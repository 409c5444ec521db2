// Jobs: their definitions, a run-now button, their schedules and file triggers, and
// their recent runs.

import { $, api, can, debounce, el, ran, row, say, when } from "./lib.js";
import { statusCell } from "./executions.js";

/** Runs a job now; shows the new execution. */
async function runNow(name) {
  try {
    const execution = await api(`/api/jobs/${encodeURIComponent(name)}/run`, { method: "POST" });
    location.hash = `#/executions/${encodeURIComponent(execution.id)}`;
  } catch (error) {
    say(error.message);
  }
}

/** `#/jobs`. */
export async function list() {
  async function show() {
    const page = await api("/api/jobs");
    const runs = can("executions", "create");
    $("#jobs").tBodies[0].replaceChildren(
      ...page.items.map((job) =>
        row(
          { dataset: { job: job.name } },
          el("a", { href: `#/jobs/${encodeURIComponent(job.name)}` }, job.name),
          job.kind,
          when(job.updatedAt),
          runs ? el("button", { type: "button", class: "run", onclick: () => runNow(job.name) }, "Run now") : "",
        ),
      ),
    );
  }
  await show();
  return { refresh: debounce(() => show().catch((e) => console.warn(e)), 300) };
}

function every(schedule) {
  return schedule.cron ? `cron ${schedule.cron}` : `every ${schedule.every}`;
}

/** `#/jobs/{name}`. */
export async function detail(section, [name]) {
  const key = encodeURIComponent(name);
  const job = await api(`/api/jobs/${key}`);
  section.dataset.job = job.name;
  $("#j-name").textContent = job.name;
  $("#definition").textContent = JSON.stringify(job.definition, null, 2);
  $("#run").hidden = !can("executions", "create");
  $("#run").onclick = () => runNow(job.name);

  const [schedules, triggers] = await Promise.all([
    can("schedules", "view") ? api(`/api/jobs/${key}/schedules`) : { items: [] },
    can("triggers", "view") ? api(`/api/jobs/${key}/triggers`) : { items: [] },
  ]);
  $("#schedules").tBodies[0].replaceChildren(
    ...schedules.items.map((s) => row({}, every(s), s.timeZone, when(s.nextFire), when(s.lastFire))),
  );
  $("#triggers").tBodies[0].replaceChildren(
    ...triggers.items.map((t) => row({}, t.directory, t.glob, t.watching ? "yes" : "no")),
  );

  async function runs() {
    const page = await api(`/api/executions?job=${encodeURIComponent(job.id)}&limit=20`);
    $("#job-runs").tBodies[0].replaceChildren(
      ...page.items.map((e) =>
        row(
          { dataset: { id: e.id, status: e.status } },
          el("a", { href: `#/executions/${encodeURIComponent(e.id)}` }, when(e.createdAt) || e.id),
          statusCell(e.status),
          when(e.startTime),
          ran(e),
          e.exitCode,
        ),
      ),
    );
  }
  await runs();
  const refresh = debounce(() => runs().catch((e) => console.warn(e)), 300);
  return { refresh, event: refresh };
}
