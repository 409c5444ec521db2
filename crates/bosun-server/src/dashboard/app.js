// bosun's dashboard: the shell. Logs in with an API token, routes the URL's hash to a
// page, and keeps the tenant's live event feed open for whichever page shows.
//
// The token is kept in this tab's sessionStorage and sent as `Authorization: Bearer`,
// never in a URL. Live updates come from `GET /api/events` (server-sent events, read
// with fetch so the token goes in a header); each page decides what an event changes.
// A dropped feed (a server restart) is reconnected with backoff, and the page shown is
// read again once it is back.

import { $, api, can, onRefused, readEvents, say, setPermissions, setTenant, setToken, token } from "./lib.js";
import * as overview from "./overview.js";
import * as executions from "./executions.js";
import * as execution from "./execution.js";
import * as jobs from "./jobs.js";
import * as fleet from "./fleet.js";

/** Each page: the hash it answers (`#/name/param`) and the module that shows it. */
const PAGES = [
  { path: /^$/, view: "overview", page: overview.overview },
  { path: /^executions$/, view: "executions", page: executions.list },
  { path: /^executions\/(.+)$/, view: "execution", page: execution.detail },
  { path: /^jobs$/, view: "jobs", page: jobs.list },
  { path: /^jobs\/(.+)$/, view: "job", page: jobs.detail },
  { path: /^stuck$/, view: "stuck", page: fleet.stuck },
  { path: /^agents$/, view: "agents", page: fleet.agents },
  { path: /^packages$/, view: "packages", page: fleet.packages },
];

/** The page showing: what it returned from `show` (its `event`, `refresh`, `leave`). */
let current = null;

function logOut(message) {
  setToken(null);
  leave();
  for (const view of document.querySelectorAll("section.view")) view.hidden = true;
  $("#who").hidden = true;
  $("#nav").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
  say("");
}

function leave() {
  current?.leave?.();
  current = null;
}

/**
 * How many times a page was asked for. A page is given `live()`, true while it is the
 * one shown: an answer that arrives after it was left (a late load or refresh) must
 * not change what another page shows.
 */
let visits = 0;

/** Shows the page the hash names. */
async function route() {
  if (!token()) return;
  const visit = ++visits;
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  const query = new URLSearchParams(search || "");
  const found = PAGES.map((p) => ({ ...p, match: p.path.exec(path) })).find((p) => p.match);
  leave();
  say("");
  for (const view of document.querySelectorAll("section.view")) view.hidden = true;
  for (const link of document.querySelectorAll("#nav a")) {
    const target = link.getAttribute("href").slice(2);
    link.toggleAttribute("aria-current", target === path || (target && path.startsWith(`${target}/`)));
  }
  if (!found) {
    say(`No page ${location.hash}: pick one above.`);
    return;
  }
  const section = document.querySelector(`section[data-view="${found.view}"]`);
  section.hidden = false;
  const params = found.match.slice(1).map(decodeURIComponent);
  // What happens while the page loads (its execution starting, say) is not lost: the
  // page reads everything again once it is up.
  let missed = false;
  current = { event: () => (missed = true), refresh: () => (missed = true) };
  try {
    const live = () => visit === visits;
    const shown = (await found.page(section, params, query, live)) || {};
    if (visit !== visits) {
      shown.leave?.();
      return;
    }
    current = shown;
    if (missed) current.refresh?.();
  } catch (error) {
    if (visit !== visits) return;
    if (error.status !== 401) say(error.message);
    // Shown again once the feed is back, in case the server was away.
    current = { refresh: () => route() };
  }
}

/** Reads the event feed until logged out, reconnecting with backoff. */
async function follow() {
  let wait = 500;
  while (token()) {
    try {
      await readEvents("/api/events", (name, data) => {
        if (name === "open") {
          $("#live").textContent = "live";
          wait = 500;
          // Anything may have changed while the feed was down.
          current?.refresh?.();
          return;
        }
        let payload = null;
        try {
          payload = data ? JSON.parse(data) : null;
        } catch {
          // `lagged` carries a count, not JSON.
        }
        if (name === "lagged") current?.refresh?.();
        else current?.event?.(name, payload);
      });
    } catch (error) {
      if (error.status === 401) return;
      console.warn(error);
    }
    if (!token()) return;
    $("#live").textContent = "reconnecting…";
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 15000);
  }
}

async function start() {
  const me = await api("/api/me");
  setPermissions(me.permissions);
  setTenant(me.tenant.slug);
  $("#tenant").textContent = me.tenant.slug;
  $("#login").hidden = true;
  $("#who").hidden = false;
  $("#nav").hidden = false;
  // Pages a token cannot read are left out of the menu.
  const needs = { executions: "executions", jobs: "jobs", stuck: "monitor", agents: "agents", packages: "packages" };
  for (const link of document.querySelectorAll("#nav a")) {
    const resource = needs[link.getAttribute("href").slice(2)];
    link.hidden = resource ? !can(resource, "view") : false;
  }
  await route();
  follow();
}

onRefused(logOut);
window.addEventListener("hashchange", route);
$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  setToken($("#token").value.trim());
  $("#token").value = "";
  try {
    await start();
  } catch (error) {
    if (error.status !== 401) $("#login-error").textContent = error.message;
  }
});
$("#logout").addEventListener("click", () => logOut());

if (token()) start().catch((error) => console.warn(error));
