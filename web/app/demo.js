// The demo page: sign in, pick or create a project, and work in it. The chat is the <ua-chat>
// widget sharing this page's AssistantClient; the panels follow the same client's events.
import { AssistantClient } from "/client/index.js";

const $ = (selector) => document.querySelector(selector);
const store = {
  get(key) { try { return JSON.parse(localStorage.getItem(`ua.${key}`)); } catch { return null; } },
  set(key, value) {
    if (value == null) localStorage.removeItem(`ua.${key}`);
    else localStorage.setItem(`ua.${key}`, JSON.stringify(value));
  },
};
const STATUS_LABEL = {
  not_started: "Not started", in_progress: "In progress", completed: "Done", stale: "Needs update",
  uploaded: "Queued", processing: "Processing", failed: "Failed", cancelled: "Cancelled",
  queued: "Queued", running: "Rendering", expired: "Expired",
};

const client = new AssistantClient({ tokens: store.get("tokens") ?? undefined });
const chat = $("#chat");
const state = { projects: [], projectId: null, phases: new Map(), documents: new Map(), exports: new Map() };

// ---- theme ---------------------------------------------------------------------------------

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  chat.setAttribute("theme", theme);
  const next = theme === "dark" ? "light" : "dark";
  $("#theme-toggle").setAttribute("aria-label", `Switch to ${next} theme`);
}
applyTheme(store.get("theme") ?? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
$("#theme-toggle").addEventListener("click", () => {
  const theme = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  store.set("theme", theme);
  applyTheme(theme);
});

// ---- views ---------------------------------------------------------------------------------

function show(view) {
  for (const id of ["auth-view", "project-view", "workspace"]) $(`#${id}`).hidden = id !== view;
  const signedIn = view !== "auth-view";
  $(".account").hidden = !signedIn;
  $(".project-nav").hidden = !signedIn || state.projects.length === 0;
}

function showError(id, error) {
  const node = $(`#${id}`);
  node.hidden = !error;
  node.textContent = error ? (error.message ?? String(error)) : "";
}

client.on("tokens", (tokens) => store.set("tokens", tokens));
client.on("signed_out", () => {
  store.set("tokens", null);
  setAuthMode(false);
  show("auth-view");
});

// ---- sign in / register --------------------------------------------------------------------

let registering = false;
function setAuthMode(register) {
  registering = register;
  $("#tab-login").setAttribute("aria-selected", String(!register));
  $("#tab-register").setAttribute("aria-selected", String(register));
  $("#tab-login").tabIndex = register ? -1 : 0;  // one tab stop for the tab list (arrows move)
  $("#tab-register").tabIndex = register ? 0 : -1;
  for (const node of document.querySelectorAll(".register-only")) node.hidden = !register;
  $("#auth-submit").textContent = register ? "Create account" : "Sign in";
  $("#auth-form [name=password]").autocomplete = register ? "new-password" : "current-password";
  showError("auth-error", null);
}
$("#tab-login").addEventListener("click", () => setAuthMode(false));
$("#tab-register").addEventListener("click", () => setAuthMode(true));
$(".tabs").addEventListener("keydown", (event) => {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  setAuthMode(!registering);
  (registering ? $("#tab-register") : $("#tab-login")).focus();
});

$("#auth-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const email = String(form.get("email")).trim();
  const password = String(form.get("password"));
  const button = $("#auth-submit");
  button.disabled = true;
  try {
    if (registering) await client.register({ email, password, name: String(form.get("name") ?? "").trim() || undefined });
    await client.login(email, password);
    event.target.reset();
    await signedIn();
    if (!$("#workspace").hidden) chat.focus();  // signed in: the next keystrokes go to the chat
  } catch (error) {
    showError("auth-error", error);
  } finally {
    button.disabled = false;
  }
});

$("#sign-out").addEventListener("click", async () => {
  chat.removeAttribute("project");
  await client.logout().catch(() => {});
});

async function signedIn() {
  const me = await client.me();
  $("#account-email").textContent = me.email;
  await renderOrgSelect();
  state.projects = await client.projects();
  renderProjectSelect();
  const remembered = store.get("project");
  const project = state.projects.find((p) => p.id === remembered) ?? state.projects[0];
  if (project) await openProject(project.id);
  else newProject();
}

// ---- organisations -------------------------------------------------------------------------

/** The organisations the user belongs to; a token (and so the page) works in one at a time. */
async function renderOrgSelect() {
  const orgs = await client.request("GET", "/api/v1/orgs");
  const select = $("#org-select");
  select.replaceChildren(...orgs.map((o) => new Option(o.personal ? `${o.name} (personal)` : o.name, o.id, false, o.active)));
  select.hidden = orgs.length < 2;
}

$("#org-select").addEventListener("change", async (event) => {
  chat.removeAttribute("project");
  client.close();  // a socket works in the organisation it was opened in: the next one in the new
  await client.switchOrg(event.target.value);
  store.set("project", null);
  await signedIn();
});

// ---- projects ------------------------------------------------------------------------------

function renderProjectSelect() {
  const select = $("#project-select");
  select.replaceChildren(...state.projects.map((p) => new Option(p.name, p.id, false, p.id === state.projectId)));
}

function newProject() {
  $("#project-cancel").hidden = state.projects.length === 0;
  show("project-view");
  $("#project-form [name=name]").focus();
}
$("#new-project").addEventListener("click", newProject);
$("#project-cancel").addEventListener("click", () => show("workspace"));
$("#project-select").addEventListener("change", (event) => openProject(event.target.value));

$("#project-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = String(new FormData(event.target).get("name")).trim();
  try {
    const project = await client.createProject(name);
    state.projects.unshift(project);
    event.target.reset();
    showError("project-error", null);
    await openProject(project.id);
  } catch (error) {
    showError("project-error", error);
  }
});

async function openProject(projectId) {
  state.projectId = projectId;
  store.set("project", projectId);
  renderProjectSelect();
  show("workspace");
  if (chat.client !== client) chat.client = client;
  // A remembered session, else the project's latest one (where collaborators already talk).
  const session = store.get(`session.${projectId}`)
    ?? (await client.request("GET", `/api/v1/projects/${projectId}/chat/sessions`))[0]?.id;
  if (session) chat.setAttribute("session", session);
  else chat.removeAttribute("session");
  chat.setAttribute("project", projectId);
  const [phases, documents, exports] = await Promise.all([
    client.phases(projectId), client.documents(projectId), client.exports(projectId),
  ]);
  state.phases = new Map(phases.map((p) => [p.number, p]));
  state.documents = new Map(documents.map((d) => [d.id, d]));
  state.exports = new Map(exports.map((e) => [e.id, e]));
  renderPhases();
  renderDocuments();
  renderExports();
}

chat.addEventListener("ua-session", (event) => {
  if (state.projectId) store.set(`session.${state.projectId}`, event.detail.id);
  currentPhase = event.detail.phase_number;
  renderPhases();
});

// ---- live updates --------------------------------------------------------------------------

let currentPhase = null;
chat.addEventListener("ua-event", ({ detail: { event, data } }) => {
  if (event === "phase:updated" && data.phase?.number) {
    state.phases.set(data.phase.number, { ...state.phases.get(data.phase.number), ...data.phase });
    if (data.phase.status === "in_progress") currentPhase = data.phase.number;
    renderPhases();
  } else if (event === "phase:stale") {
    for (const number of data.numbers) {
      const phase = state.phases.get(number);
      if (phase) state.phases.set(number, { ...phase, status: "stale" });
    }
    renderPhases();
  } else if (event === "document:updated" && data.document?.project_id === state.projectId) {
    keepLatest(state.documents, data.document);
    renderDocuments();
  } else if (event === "export:updated" && data.export?.project_id === state.projectId) {
    keepLatest(state.exports, data.export);
    renderExports();
  }
});

// A document or export can finish (and its event arrive) before the response that created it:
// what the map holds is replaced only by a state at least as recent.
function keepLatest(map, item) {
  const known = map.get(item.id);
  if (!known || Date.parse(item.updated_at) >= Date.parse(known.updated_at)) map.set(item.id, item);
}

// ---- phases --------------------------------------------------------------------------------

function renderPhases() {
  const list = $("#phase-list");
  const items = [...state.phases.values()].sort((a, b) => a.number - b.number).map((phase) => {
    const item = document.createElement("li");
    item.dataset.status = phase.status;
    item.dataset.number = phase.number;
    if (phase.number === currentPhase) item.classList.add("current");
    const button = document.createElement("button");
    button.type = "button";
    button.title = `Go to phase ${phase.number}`;
    if (phase.number === currentPhase) button.setAttribute("aria-current", "step");
    button.innerHTML = '<span class="phase-num"></span><span class="phase-title"></span><span class="badge"></span>';
    button.querySelector(".phase-num").textContent = phase.status === "completed" ? "✓" : phase.number;
    button.querySelector(".phase-title").textContent = phase.title;
    const badge = button.querySelector(".badge");
    if (phase.status !== "not_started") badge.textContent = STATUS_LABEL[phase.status] ?? phase.status;
    badge.classList.add(phase.status);
    button.addEventListener("click", () => {
      client.gotoPhase(phase.number);
      currentPhase = phase.number;
      renderPhases();
    });
    item.append(button);
    return item;
  });
  list.replaceChildren(...items);
}

// ---- documents -----------------------------------------------------------------------------

function documentProgress(doc) {
  if (doc.status === "completed") return 100;
  if (doc.status === "uploaded") return 5;
  if (doc.chunks_total > 0) return 50 + Math.round((50 * doc.chunks_done) / doc.chunks_total);
  if (doc.page_count > 0) return Math.round((50 * doc.pages_done) / doc.page_count);
  return null;
}

function renderDocuments() {
  const docs = [...state.documents.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
  $("#document-list").replaceChildren(...docs.map((doc) => {
    const item = document.createElement("li");
    item.className = "item";
    item.dataset.id = doc.id;
    item.dataset.status = doc.status;
    item.innerHTML = '<div class="line"><span class="name"></span><span class="state"></span></div>';
    item.querySelector(".name").textContent = doc.title || doc.filename;
    item.querySelector(".name").title = doc.filename;
    const stateLabel = item.querySelector(".state");
    stateLabel.textContent = STATUS_LABEL[doc.status] ?? doc.status;
    stateLabel.classList.add(doc.status);
    if (doc.status !== "failed" && doc.status !== "cancelled") {
      const bar = document.createElement("progress");
      bar.max = 100;
      const value = documentProgress(doc);
      if (value !== null) bar.value = value;
      bar.setAttribute("aria-label", `Progress of ${doc.filename}`);
      item.append(bar);
    }
    if (doc.error) {
      const error = document.createElement("div");
      error.className = "error-text";
      error.textContent = doc.error;
      item.append(error);
    }
    return item;
  }));
}

async function upload(files) {
  showError("upload-error", null);
  for (const file of files) {
    try {
      const doc = await client.uploadDocument(state.projectId, file);
      keepLatest(state.documents, doc);
      renderDocuments();
    } catch (error) {
      showError("upload-error", new Error(`${file.name}: ${error.message}`));
    }
  }
}
$("#file-input").addEventListener("change", async (event) => {
  await upload([...event.target.files]);
  event.target.value = "";
});
const dropzone = $("#dropzone");
dropzone.addEventListener("dragover", (event) => { event.preventDefault(); dropzone.classList.add("over"); });
dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropzone.classList.remove("over");
  upload([...event.dataTransfer.files]);
});

// ---- exports -------------------------------------------------------------------------------

function renderExports() {
  const items = [...state.exports.values()].sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, 8);
  $("#export-list").replaceChildren(...items.map((exp) => {
    const item = document.createElement("li");
    item.className = "item";
    item.dataset.id = exp.id;
    item.dataset.status = exp.status;
    item.innerHTML = '<div class="line"><span class="name"></span><span class="state"></span></div>';
    item.querySelector(".name").textContent = exp.filename ?? `${exp.format.toUpperCase()} export`;
    const stateLabel = item.querySelector(".state");
    stateLabel.textContent = STATUS_LABEL[exp.status] ?? exp.status;
    stateLabel.classList.add(exp.status);
    if (exp.status === "completed") {
      stateLabel.textContent = exp.size_bytes ? `${Math.max(1, Math.round(exp.size_bytes / 1024))} KB` : "Ready";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "primary";
      button.textContent = "Download";
      button.addEventListener("click", () => download(exp));
      item.querySelector(".line").append(button);
    } else if (exp.status === "queued" || exp.status === "running") {
      const bar = document.createElement("progress");
      bar.setAttribute("aria-label", "Rendering");
      item.append(bar);
    }
    if (exp.error) {
      const error = document.createElement("div");
      error.className = "error-text";
      error.textContent = exp.error;
      item.append(error);
    }
    return item;
  }));
}

async function download(exp) {
  try {
    const blob = await client.downloadExport(exp.id);
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = exp.filename ?? `export.${exp.format}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (error) {
    showError("export-error", error);
  }
}

$("#export-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("export-error", null);
  try {
    const mode = $("#export-draft").checked ? "draft" : "final";
    const exp = await client.createExport(state.projectId, $("#export-format").value, { mode });
    keepLatest(state.exports, exp);
    renderExports();
  } catch (error) {
    showError("export-error", error);
  }
});

// ---- start ---------------------------------------------------------------------------------

setAuthMode(false);
if (client.tokens) {
  signedIn().catch(() => { store.set("tokens", null); show("auth-view"); });
} else {
  show("auth-view");
}
