// Where things run and what they run: the stuck list (seed 002's monitor), the
// tenant's agents with what each is running now, and bot packages with upload.

import { $, api, can, debounce, duration, el, row, say, tenant, when } from "./lib.js";

const seed = (path) => `/${encodeURIComponent(tenant())}/api/${path}`;
const link = (id, text) => el("a", { href: `#/executions/${encodeURIComponent(id)}` }, text);

/** `#/stuck`: running executions over their time or silence limit, and why. */
export async function stuck() {
  async function show() {
    const page = await api("/api/monitor/stuck");
    $("#stuck").tBodies[0].replaceChildren(
      ...page.items.map((s) =>
        row(
          { dataset: { id: s.executionId } },
          link(s.executionId, s.executionId.slice(0, 8)),
          s.jobName,
          duration(s.runningSeconds),
          s.statusMessage,
          el("td", { class: "reason" }, s.reason),
        ),
      ),
    );
    $("#stuck-empty").hidden = page.items.length > 0;
  }
  await show();
  const refresh = debounce(() => show().catch((e) => console.warn(e)), 500);
  // Being stuck is a matter of time passing, so it is looked at again every 15 s too.
  const tick = setInterval(refresh, 15000);
  return { refresh, event: refresh, leave: () => clearInterval(tick) };
}

/** `#/agents`: each agent's status, heartbeat, machine and current execution. */
export async function agents() {
  async function show() {
    const [list, running] = await Promise.all([
      api(seed("agents")),
      api("/api/executions?status=Running&limit=1000"),
    ]);
    const current = new Map();
    for (const e of running.items) {
      const agent = e.agentId || "local";
      if (!current.has(agent)) current.set(agent, []);
      current.get(agent).push(e);
    }
    $("#agents").tBodies[0].replaceChildren(
      ...list.map((a) =>
        row(
          { dataset: { id: a.id, status: a.isActive ? a.status : "Deactivated" } },
          a.name,
          el("td", { class: "status" }, a.isActive ? a.status : "deactivated"),
          a.machineName,
          when(a.lastHeartbeat),
          el("td", {}, ...(current.get(a.id) || []).flatMap((e, i) => [i ? ", " : "", link(e.id, e.jobName)])),
        ),
      ),
    );
  }
  await show();
  const refresh = debounce(() => show().catch((e) => console.warn(e)), 300);
  return { refresh, event: refresh };
}

/** `#/packages`: packages and their versions; upload for tokens that may. */
export async function packages() {
  const form = $("#upload");
  form.hidden = !can("packages", "create");

  async function show() {
    const page = await api(seed("packages"));
    $("#packages").tBodies[0].replaceChildren(
      ...page.items.map((p) => {
        const latest = p.versions.map((v) => v.uploadedAt).sort().pop();
        return row({ dataset: { name: p.name } }, p.name, p.versions.map((v) => v.version).join(", "), when(latest), p.description);
      }),
    );
  }

  form.onsubmit = async (event) => {
    event.preventDefault();
    const file = $("#package-file").files[0];
    if (!file) return;
    const body = new FormData();
    body.append("file", file);
    $("#upload-button").disabled = true;
    try {
      const stored = await api(seed("packages/upload"), { method: "POST", body });
      const version = stored.versions.map((v) => v.version).pop();
      say(`Uploaded ${stored.name} ${version || ""}.`, false);
      form.reset();
      await show();
    } catch (error) {
      say(error.message);
    } finally {
      $("#upload-button").disabled = false;
    }
  };
  await show();
  return { refresh: debounce(() => show().catch((e) => console.warn(e)), 300) };
}
