// The executions table (on the overview and its own page) and the executions page:
// filters kept in the URL's hash, so a filtered view can be bookmarked, and paging
// by the server's cursor, so the browser never holds more than it shows.

import { $, STATUSES, api, can, debounce, el, ran, row, tenant, when } from "./lib.js";

let names = { at: 0, byId: new Map() };

/** Agent names by id, read at most every 30 s (ids are what executions carry). */
export async function agentNames() {
  if (Date.now() - names.at < 30000 || !can("agents", "view")) return names.byId;
  try {
    const agents = await api(`/${encodeURIComponent(tenant())}/api/agents`);
    names = { at: Date.now(), byId: new Map(agents.map((a) => [a.id, a.name])) };
  } catch (error) {
    console.warn(error);
  }
  return names.byId;
}

/** An execution's agent as a person reads it: its name, `local` for the server's own. */
export function agentLabel(e, byId) {
  if (!e.agentId || e.agentId === "local") return "local";
  return byId.get(e.agentId) || e.agentId;
}

export function statusCell(status) {
  return el("td", { class: "status" }, status);
}

/** One execution as a row of the executions table. */
export function executionRow(e, byId) {
  return row(
    { dataset: { id: e.id, status: e.status } },
    el("a", { href: `#/executions/${encodeURIComponent(e.id)}` }, e.jobName),
    statusCell(e.status),
    agentLabel(e, byId),
    e.trigger,
    when(e.startTime),
    ran(e),
    e.exitCode,
    lastLine(e),
  );
}

/** The last status line it printed, with its progress, else how it ended. */
export function lastLine(e) {
  const line = e.statusMessage || e.message || "";
  return e.progress != null ? `${line} (${e.progress} %)`.trim() : line;
}

/** The one executions table, moved into `section`'s slot, with `items` shown. */
export async function showTable(section, items, append = false) {
  const table = $("#executions");
  const slot = section.querySelector(".slot");
  if (table.parentElement !== slot) slot.append(table);
  table.hidden = false;
  const byId = await agentNames();
  const rows = items.map((e) => executionRow(e, byId));
  const body = table.tBodies[0];
  if (append) body.append(...rows);
  else body.replaceChildren(...rows);
  return table;
}

/** The filters the page's query names, as the API takes them. */
const FILTERS = ["status", "job", "package", "agent", "trigger", "from", "to"];

/** A `datetime-local` value for an RFC 3339 time, in this browser's zone. */
function localInput(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  const shifted = new Date(at.getTime() - at.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

/** `#/executions?...`: the history, filtered and paged. */
export async function list(section, _params, query, live) {
  const form = $("#filters");
  const status = $("#f-status");
  if (status.options.length === 1) {
    status.append(...STATUSES.map((s) => el("option", { value: s }, s)));
  }
  for (const name of FILTERS) {
    const input = form.elements[name];
    const value = query.get(name) || "";
    input.value = name === "from" || name === "to" ? (value ? localInput(value) : "") : value;
  }
  form.onsubmit = (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const name of FILTERS) {
      let value = form.elements[name].value.trim();
      if (value && (name === "from" || name === "to")) value = new Date(value).toISOString();
      if (value) chosen.set(name, value);
    }
    const hash = `#/executions${chosen.size ? `?${chosen}` : ""}`;
    if (location.hash === hash) reload();
    else location.hash = hash;
  };
  $("#f-clear").onclick = () => {
    location.hash = "#/executions";
  };

  const asked = new URLSearchParams();
  for (const name of FILTERS) if (query.get(name)) asked.set(name, query.get(name));
  let shown = 0;
  let next = null;

  async function load(before, limit = 50) {
    const page = new URLSearchParams(asked);
    page.set("limit", String(limit));
    if (before) page.set("before", before);
    return api(`/api/executions?${page}`);
  }

  function showPage(page, append) {
    if (!live()) return;
    next = page.next || null;
    shown = append ? shown + page.items.length : page.items.length;
    $("#more").hidden = !next;
    $("#empty").hidden = shown > 0;
    return showTable(section, page.items, append);
  }

  // Read again as many as are shown (the newest first), keeping the reader's place.
  async function reload() {
    await showPage(await load(null, Math.min(Math.max(shown, 50), 1000)), false);
  }

  $("#more").onclick = async () => {
    if (next) await showPage(await load(next), true);
  };
  await showPage(await load(null), false);
  const refresh = debounce(() => reload().catch((e) => console.warn(e)), 300);
  return { refresh, event: refresh };
}
