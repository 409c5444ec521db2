// What every page of the dashboard shares: the token, API calls, the permission check,
// building elements (always as text, never as HTML) and formatting.

const KEY = "bosun.token";

export const $ = (selector, root = document) => root.querySelector(selector);

/** The token this tab logged in with, or null. */
export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

/** An API error: the server's `{code, message}`, with the HTTP status. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let refused = () => {};
/** What to do when the server refuses the token (401): log out. */
export function onRefused(handler) {
  refused = handler;
}

/** Calls the API with the token; the answer's JSON (or the Response when `raw`). */
export async function api(path, { method = "GET", body, raw = false } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${token()}` } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const answer = await fetch(path, init);
  if (answer.status === 401) {
    refused("The token was refused: log in again.");
    throw new ApiError(401, "unauthorized", "the token was refused");
  }
  if (!answer.ok) {
    let code = String(answer.status);
    let message = `${method} ${path} answered ${answer.status}`;
    try {
      const error = await answer.json();
      code = error.code || code;
      message = error.message || message;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiError(answer.status, code, message);
  }
  if (raw) return answer;
  return answer.status === 204 ? null : answer.json();
}

let slug = "";
/** The token's tenant's slug, which seed 000's `/{tenant}/api/...` routes take. */
export function tenant() {
  return slug;
}
export function setTenant(value) {
  slug = value;
}

let permissions = [];
export function setPermissions(list) {
  permissions = list || [];
}

/** Whether the token may `action` on `resource`, as the server decides (`*`, `jobs:*`). */
export function can(resource, action) {
  return permissions.some(
    (p) => p === "*" || p === `${resource}:*` || p === `${resource}:${action}`,
  );
}

/** Shows one line: an action's error or result. */
export function say(text, isError = true) {
  const line = $("#message");
  line.textContent = text || "";
  line.classList.toggle("ok", !isError);
}

/** An element with attributes and children; strings become text, never markup. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A table row of cells. */
export function row(attributes, ...cells) {
  return el("tr", attributes, ...cells.map((c) => (c instanceof Node && c.tagName === "TD" ? c : el("td", {}, c))));
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function duration(seconds) {
  if (seconds == null || Number.isNaN(seconds)) return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** An execution's run time so far (or in all, once ended). */
export function ran(execution) {
  const started = execution.startTime ? Date.parse(execution.startTime) : null;
  if (!started) return "";
  const ended = execution.endTime ? Date.parse(execution.endTime) : Date.now();
  return duration((ended - started) / 1000);
}

export const ACTIVE = ["Pending", "Running"];
export const STATUSES = [
  "Pending",
  "Running",
  "CompletedSuccessfully",
  "Failed",
  "Cancelled",
  "TimedOut",
];

/** Calls `fn` at most once per `ms`, after the last call of a burst. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, ms);
  };
}

/**
 * Reads a server-sent event stream with fetch (so the token stays in a header):
 * calls `onEvent(name, data)` for each event until the stream ends or `signal` aborts.
 */
export async function readEvents(path, onEvent, signal) {
  const answer = await fetch(path, {
    headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" },
    signal,
  });
  if (answer.status === 401) {
    refused("The token was refused: log in again.");
    throw new ApiError(401, "unauthorized", "the token was refused");
  }
  if (!answer.ok || !answer.body) throw new ApiError(answer.status, "events", `${path}: ${answer.status}`);
  onEvent("open", null);
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, data.join("\n"));
    }
  }
}
