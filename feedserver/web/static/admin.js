// feedserver admin page: a thin client of /admin/api/. The token lives in sessionStorage (this
// tab only, gone when it closes) and goes out as a Bearer header: no cookie, so no CSRF.
// Every text from the server is inserted with textContent, never as HTML.
"use strict";

const API = "/admin/api";
const KEY = "feedserverAdminToken";
let editing = null; // {id, etag} while editing an existing source

// What the kind settings box suggests while it is empty, per bridged kind.
const EXAMPLES = {
  html: '[html]\n# no events key: the page\'s structured data (JSON-LD, microdata) is read\n' +
        'events = "div.event"     # or a recipe: one event block…\ntitle = "h3"\n' +
        'when = ".date"           # …and where its fields are\n\n[follow]\npages = 1',
  json: '[json]\npreset = "localist"\n# or: items = "data.items" and a [json.fields] table\n\n' +
        '[follow]\npages = 10',
  csv: '[csv.columns]\ntitle = "Title"\ndate = "Date"\nstart_time = "Start Time"\n' +
       'end_time = "End Time"',
};
// Problems about the kind settings start with their key: follow.pages, html.labels.X, [json]…
const SETTINGS_PROBLEM = /^(settings_toml\b|\[?(follow|html|json|csv)\b)/;

const $ = (id) => document.getElementById(id);

function show(messages, kind) {
  const list = $("messages");
  list.className = kind || "";
  list.replaceChildren(...messages.map((m) => {
    const li = document.createElement("li");
    li.textContent = m;
    return li;
  }));
}

async function call(method, path, body, headers) {
  const response = await fetch(API + path, {
    method,
    headers: {
      "Authorization": "Bearer " + sessionStorage.getItem(KEY),
      ...(body ? {"Content-Type": "application/json"} : {}),
      ...(headers || {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({ok: false, error: response.statusText}));
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    signedIn(false);
  }
  return {status: response.status, etag: response.headers.get("ETag"), data};
}

function errors(data) {
  return data.errors && data.errors.length ? data.errors : [data.error || "request failed"];
}

function fillList(id, items) {
  $(id).replaceChildren(...items.map((m) => {
    const li = document.createElement("li");
    li.textContent = m;
    return li;
  }));
}

// The editor's problems: those of the kind settings next to them, the others at the top.
function showProblems(data) {
  const all = errors(data);
  const near = data.status === 400 && bridged() ? all.filter((m) => SETTINGS_PROBLEM.test(m)) : [];
  const rest = all.filter((m) => !near.includes(m));
  fillList("settings-errors", near);
  if (rest.length) show(rest);
  else show([`the kind settings have ${near.length} problem(s): see below them`]);
}

function bridged() {
  return $("f-kind").value !== "ics";
}

function showKind() {
  const kind = $("f-kind").value;
  for (const el of document.querySelectorAll(".bridge")) el.hidden = !bridged();
  $("settings-kind").textContent = bridged() ? kind : "html";
  $("f-settings").placeholder = EXAMPLES[kind] || "";
}

function signedIn(yes) {
  $("login").hidden = yes;
  $("main").hidden = !yes;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function button(td, label, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", action);
  td.append(b, " ");
}

async function loadSources() {
  const {status, data} = await call("GET", "/sources");
  if (status !== 200) {
    show(errors(data));
    return false;
  }
  signedIn(true);
  const body = $("sources").tBodies[0];
  body.replaceChildren();
  for (const s of data.sources) {
    const row = body.insertRow();
    row.id = "row-" + s.id;
    const st = s.status;
    const state = !s.enabled ? "disabled" : st.ok ? "ok" : st.last_attempt ? "failing" : "new";
    cell(row, s.id);
    cell(row, s.name);
    cell(row, s.kind);
    cell(row, s.calendar);
    cell(row, state, state === "ok" ? "ok" : state === "failing" ? "failing" : "off");
    cell(row, st.events);
    cell(row, st.last_success ? new Date(st.last_success).toLocaleString() : "—");
    cell(row, st.last_error, "error");
    const actions = cell(row, "");
    button(actions, "Edit", () => edit(s.id));
    button(actions, "Refresh", () => refresh(s.id));
    button(actions, "Remove", () => remove(s.id, s.etag));
  }
  if (data.config_problems.length) {
    show(["The configuration on disk has problems; the last good one is in force:",
          ...data.config_problems]);
  }
  return true;
}

function formValues() {
  const f = $("editor");
  const values = {
    name: f.name.value.trim() || null,
    kind: f.kind.value,
    url: f.url.value.trim() || null,
    path: f.path.value.trim() || null,
    calendar: f.calendar.value,
    types: [...f.querySelectorAll("input[name=types]:checked")].map((c) => c.value),
    categories: {},
    refresh: f.refresh.value.trim() || null,
    timezone: f.timezone.value.trim() || null,
    online_links: f.online_links.value,
    enabled: f.enabled.checked,
  };
  const bad = [];
  f.categories.value.split("\n").forEach((line, n) => {
    if (!line.trim()) return;
    const at = line.lastIndexOf("=");
    if (at < 1) bad.push(`categories line ${n + 1}: expected Upstream name=type-slug, got '${line}'`);
    else values.categories[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  });
  if (bad.length) throw bad;
  // Unset keys are left out: the server applies its defaults, and the file stays short.
  for (const k of Object.keys(values)) if (values[k] === null) delete values[k];
  if (!values.types.length) delete values.types;
  if (!Object.keys(values.categories).length) delete values.categories;
  if (values.online_links === "include") delete values.online_links;
  if (values.enabled) delete values.enabled;
  // A bridged source's [follow] and kind table, as TOML text: the server reads and checks it.
  if (bridged()) values.settings_toml = f.settings_toml.value;
  return values;
}

function openEditor(title) {
  $("editor-title").textContent = title;
  $("editor").hidden = false;
  $("preview").hidden = true;
  fillList("settings-errors", []);
  showKind();
  show([]);
}

function newSource() {
  editing = null;
  $("editor").reset();
  $("f-id").disabled = false;
  openEditor("Add a source");
}

async function edit(id) {
  const {status, etag, data} = await call("GET", "/sources/" + encodeURIComponent(id));
  if (status !== 200) return show(errors(data));
  const f = $("editor");
  f.reset();
  const s = data.source;
  editing = {id, etag};
  f.id.value = id;
  $("f-id").disabled = true;
  f.name.value = s.name || "";
  f.kind.value = s.kind || "ics";
  f.url.value = s.url || "";
  f.path.value = s.path || "";
  f.calendar.value = s.calendar || "";
  for (const c of f.querySelectorAll("input[name=types]")) c.checked = (s.types || []).includes(c.value);
  f.categories.value = Object.entries(s.categories || {}).map(([k, v]) => `${k}=${v}`).join("\n");
  f.refresh.value = s.refresh || "";
  f.timezone.value = s.timezone || "";
  f.online_links.value = s.online_links || "include";
  f.enabled.checked = s.enabled !== false;
  f.settings_toml.value = data.settings_toml || "";
  openEditor("Edit " + id);
}

function renderPreview(p) {
  $("preview").hidden = false;
  const types = Object.entries(p.types).map(([t, n]) => `${t || "(no type)"} ${n}`).join(", ");
  $("preview-summary").textContent =
    `${p.location}: ${p.events} events (${p.recurring} recurring)` +
    (p.http_status ? `, HTTP ${p.http_status}` : "") + (types ? `; types: ${types}` : "");
  $("preview-events").replaceChildren(...p.upcoming.map((e) => {
    const li = document.createElement("li");
    li.textContent = `${e.when}  ${e.summary}` + (e.types.length ? `  [${e.types.join(", ")}]` : "");
    return li;
  }));
  $("preview-warnings").replaceChildren(...p.warnings.map((w) => {
    const li = document.createElement("li");
    li.textContent = "warning: " + w;
    return li;
  }));
}

async function test() {
  let values;
  try { values = formValues(); } catch (bad) { return show(bad); }
  show(["testing…"], "info");
  const {status, data} = await call("POST", "/sources/test", values);
  if (status !== 200) {
    $("preview").hidden = true;
    return showProblems(data);
  }
  fillList("settings-errors", []);
  show([`test fetch ok: ${data.preview.events} events`], "info");
  renderPreview(data.preview);
}

async function save(event) {
  event.preventDefault();
  let values;
  try { values = formValues(); } catch (bad) { return show(bad); }
  show(["saving…"], "info");
  const id = editing ? editing.id : $("f-id").value.trim();
  const result = editing
    ? await call("PUT", "/sources/" + encodeURIComponent(id), values, {"If-Match": editing.etag})
    : await call("POST", "/sources", {id, ...values});
  if (result.status !== 200 && result.status !== 201) return showProblems(result.data);
  const r = result.data.refresh;
  show([`saved ${id}` + (r ? `; refresh: ${r.status}, ${r.events} events` : "")], "info");
  $("editor").hidden = true;
  editing = null;
  await loadSources();
}

async function refresh(id) {
  show([`refreshing ${id}…`], "info");
  const {status, data} = await call("POST", `/sources/${encodeURIComponent(id)}/refresh`);
  if (status !== 200) show(errors(data));
  else show([`refreshed ${id}: ${data.refresh ? data.refresh.status : "disabled"}`], "info");
  await loadSources();
}

async function remove(id, etag) {
  if (!confirm(`Remove source ${id}? Its events leave the feeds.`)) return;
  const {status, data} = await call("DELETE", "/sources/" + encodeURIComponent(id), null,
                                    etag ? {"If-Match": etag} : {});
  if (status !== 200) return show(errors(data));
  show([`removed ${id}`], "info");
  await loadSources();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("token").value);
    if (await loadSources()) show([]);
  });
  $("logout-button").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    signedIn(false);
  });
  $("new-button").addEventListener("click", newSource);
  $("cancel-button").addEventListener("click", () => { $("editor").hidden = true; });
  $("test-button").addEventListener("click", test);
  $("f-kind").addEventListener("change", showKind);
  $("editor").addEventListener("submit", save);
  if (sessionStorage.getItem(KEY)) loadSources();
});
