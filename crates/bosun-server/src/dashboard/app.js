// bosun's dashboard: log in with an API token, see the tenant's executions, live.
//
// The token is kept in this tab's sessionStorage and sent as `Authorization: Bearer`,
// never in a URL. Live updates come from `GET /api/events` (server-sent events, read
// with fetch so the token goes in a header); each event re-reads the first page, at
// most every 300 ms. A dropped feed (a server restart) is reconnected with backoff.

const KEY = "bosun.token";
const $ = (selector) => document.querySelector(selector);

function token() {
  return sessionStorage.getItem(KEY);
}

async function api(path) {
  const answer = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (answer.status === 401) {
    logOut("The token was refused: log in again.");
    throw new Error("unauthorized");
  }
  if (!answer.ok) throw new Error(`${path}: ${answer.status}`);
  return answer.json();
}

function logOut(message) {
  sessionStorage.removeItem(KEY);
  $("#who").hidden = true;
  $("#overview").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
}

function duration(seconds) {
  if (seconds == null) return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "";
  if (className) td.className = className;
}

function render(page, summary) {
  const body = $("#executions tbody");
  const rows = [];
  for (const e of page.items) {
    const row = document.createElement("tr");
    row.dataset.id = e.id;
    row.dataset.status = e.status;
    cell(row, e.jobName);
    cell(row, e.status, "status");
    cell(row, e.agentId || "local");
    cell(row, e.startTime ? new Date(e.startTime).toLocaleString() : "");
    const started = e.startTime ? Date.parse(e.startTime) : null;
    const ended = e.endTime ? Date.parse(e.endTime) : started ? Date.now() : null;
    cell(row, started && ended ? duration((ended - started) / 1000) : "");
    cell(row, e.exitCode);
    cell(row, e.statusMessage || e.message);
    rows.push(row);
  }
  body.replaceChildren(...rows);
  $("#counts").textContent =
    summary.counts.map((c) => `${c.status}: ${c.count}`).join(" · ") || "No executions yet.";
}

// The first page of executions and the tenant's counts, shown.
async function show() {
  const [page, summary] = await Promise.all([
    api("/api/executions?limit=50"),
    api("/api/executions/summary"),
  ]);
  render(page, summary);
}

let pending = null;
function refresh() {
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    try {
      await show();
    } catch (error) {
      console.warn(error);
    }
  }, 300);
}

// Reads the event feed until it ends, then reconnects with backoff.
async function follow() {
  let wait = 500;
  while (token()) {
    try {
      const answer = await fetch("/api/events", {
        headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" },
      });
      if (answer.status === 401) return logOut("The token was refused: log in again.");
      if (!answer.ok || !answer.body) throw new Error(`events: ${answer.status}`);
      $("#live").textContent = "live";
      wait = 500;
      refresh();
      const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (/^(event|data):/m.test(event)) refresh();
        }
      }
    } catch (error) {
      console.warn(error);
    }
    $("#live").textContent = "reconnecting…";
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 15000);
  }
}

async function start() {
  const me = await api("/api/me");
  $("#tenant").textContent = me.tenant.slug;
  $("#login").hidden = true;
  $("#who").hidden = false;
  $("#overview").hidden = false;
  await show();
  follow();
}

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("#token").value.trim());
  $("#token").value = "";
  try {
    await start();
  } catch (error) {
    if (error.message !== "unauthorized") $("#login-error").textContent = String(error);
  }
});
$("#logout").addEventListener("click", () => logOut());

if (token()) start().catch((error) => console.warn(error));
