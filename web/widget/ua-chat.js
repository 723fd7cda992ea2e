// <ua-chat>: the Unified Assistant chat as an embeddable web component.
//
//   <script type="module" src="https://assistant.example.org/widget/ua-chat.js"></script>
//   <ua-chat project="PROJECT_ID" auth="getAssistantTokens"></ua-chat>
//
// Attributes: `server` (default: where this script came from), `project`, `session` (join an
// existing session; else a new one), `auth` (name of a global function returning a token pair
// `{access_token, refresh_token, expires_in}` or an access token), `heading`, `theme`
// (light | dark | auto). Properties: `client` (share an AssistantClient with the page) and
// `auth` (the callback itself). Every protocol event is re-dispatched as a `ua-event`
// (`detail: {event, data}`); `ua-session` tells the page which session was joined.
import { AssistantClient } from "../client/index.js";
import { escapeHtml, renderMarkdown } from "./markdown.js";
import { styles } from "./styles.js";

const SCRIPT_ORIGIN = new URL(import.meta.url).origin;
const TYPING_IDLE_MS = 2500;
const STATUS_TEXT = {
  idle: "Offline",
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

const template = document.createElement("template");
template.innerHTML = `
<style>${styles}</style>
<section class="frame" part="frame">
  <header part="header">
    <span class="title" part="title"></span>
    <span class="phase" hidden></span>
    <span class="status" data-state="idle" role="status">Offline</span>
  </header>
  <div class="log" role="log" aria-live="polite" aria-relevant="additions" tabindex="0" part="log">
    <p class="empty"><strong>Start the conversation</strong>Tell the assistant about your project; it will walk you through each phase.</p>
  </div>
  <div class="typing" aria-live="polite"></div>
  <p class="notice" role="alert" hidden></p>
  <form part="composer">
    <label class="sr-only" for="input">Message</label>
    <textarea id="input" rows="1" placeholder="Write a message…" autocomplete="off" disabled></textarea>
    <button type="button" class="secondary stop" hidden>Stop</button>
    <button type="submit" class="primary send" disabled>Send</button>
  </form>
</section>
<dialog aria-labelledby="passage-title">
  <header><span class="title" id="passage-title">Source</span><button type="button" class="secondary close">Close</button></header>
  <div class="passage" tabindex="0"></div>
</dialog>`;

function authorName(message, me, members) {
  if (message.role === "assistant") return "Assistant";
  if (me && message.author === me) return "You";
  return members.get(message.author) ?? "A collaborator";
}

export class UaChat extends HTMLElement {
  static observedAttributes = ["project", "session", "heading", "server", "theme"];

  #client = null;
  #ownClient = false;
  #auth = null;
  #me = null;
  #members = new Map();
  #offs = [];
  #streams = new Map();
  #typingUsers = new Map();
  #typingSent = 0;
  #typingTimer = null;
  #started = null;
  #citations = new Map();
  #focusWhenReady = false;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).append(template.content.cloneNode(true));
    const $ = (selector) => this.shadowRoot.querySelector(selector);
    this.ui = {
      title: $(".title"), phase: $(".phase"), status: $(".status"), log: $(".log"),
      typing: $(".typing"), notice: $(".notice"), form: $("form"), input: $("textarea"),
      send: $(".send"), stop: $(".stop"), dialog: $("dialog"), passage: $(".passage"),
      passageTitle: $("#passage-title"),
    };
    this.ui.form.addEventListener("submit", (event) => { event.preventDefault(); this.#submit(); });
    this.ui.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#submit();
      }
    });
    this.ui.input.addEventListener("input", () => { this.#grow(); this.#typing(); });
    this.ui.stop.addEventListener("click", () => this.#client?.stop());
    this.ui.log.addEventListener("click", (event) => {
      const button = event.target.closest("[data-ref]");
      if (button) this.#openCitation(button.dataset.message, button.dataset.ref);
    });
    this.shadowRoot.querySelector(".close").addEventListener("click", () => this.ui.dialog.close());
  }

  get client() { return this.#client; }
  set client(client) {
    this.#client = client;
    this.#ownClient = false;
    this.#restart();
  }

  /** Focus the message box (as soon as the chat is ready, if it is not yet). */
  focus(options) {
    if (this.ui.input.disabled) this.#focusWhenReady = true;
    else this.ui.input.focus(options);
  }

  get auth() { return this.#auth; }
  set auth(callback) {
    this.#auth = callback;
    this.#restart();
  }

  connectedCallback() {
    if (!this.hasAttribute("theme")) this.setAttribute("theme", "auto");
    this.ui.title.textContent = this.getAttribute("heading") ?? "Assistant";
    this.#restart();
  }

  disconnectedCallback() { this.#stop(); }

  attributeChangedCallback(name, previous, value) {
    if (previous === value) return;
    if (name === "heading") this.ui.title.textContent = value ?? "Assistant";
    if (name === "project" || name === "server") this.#restart();
    if (name === "session" && value && value !== this.#client?.sessionId) this.#restart();
  }

  #restart() {
    if (!this.isConnected) return;
    queueMicrotask(() => this.#start());
  }

  #stop() {
    for (const off of this.#offs) off();
    this.#offs = [];
    if (this.#ownClient) this.#client?.dispose();
    this.#started = null;
  }

  async #credentials() {
    const callback = this.#auth ?? globalThis[this.getAttribute("auth") ?? ""];
    if (typeof callback !== "function") return null;
    return await callback();
  }

  async #start() {
    const project = this.getAttribute("project");
    const key = `${project}|${this.getAttribute("session") ?? ""}|${this.#client ? "shared" : "own"}`;
    if (!project || this.#started === key) return;
    this.#stop();
    this.#started = key;
    this.#clearLog();
    try {
      if (!this.#client || this.#ownClient) {
        const credentials = await this.#credentials();
        if (!credentials) { this.#notice("Sign in to chat: no credentials were provided to the widget."); return; }
        const server = this.getAttribute("server") ?? SCRIPT_ORIGIN;
        this.#client = typeof credentials === "string"
          ? new AssistantClient({ baseUrl: server, getAccessToken: () => this.#credentials() })
          : new AssistantClient({ baseUrl: server, tokens: credentials });
        this.#ownClient = true;
      }
      this.#listen(this.#client);
      this.#me = (await this.#client.me()).id;
      await this.#loadMembers(project);
      const data = await this.#client.join(project, { sessionId: this.getAttribute("session") || null });
      this.#notice(null);
      this.#showPhase(data.phase);
      this.ui.input.disabled = false;
      this.ui.send.disabled = false;
      if (this.#focusWhenReady) {
        this.#focusWhenReady = false;
        this.ui.input.focus();
      }
      this.setAttribute("session", data.session.id);
      this.dispatchEvent(new CustomEvent("ua-session", { detail: data.session, bubbles: true, composed: true }));
    } catch (error) {
      this.#failed(error);
    }
  }

  async #loadMembers(project) {
    try {
      const members = await this.#client.request("GET", `/api/v1/projects/${project}/members`);
      this.#members = new Map(members.map((m) => [m.user_id, m.name || m.email]));
    } catch {
      this.#members = new Map();  // names are a nicety: without them people show as collaborators
    }
  }

  #failed(error) {
    if (error instanceof TypeError) {
      this.#notice("Cannot reach the assistant server. If this page is on another site, that site must be listed in the server's CORS_ORIGINS.");
    } else if (error?.status === 401 || error?.code === 4401) {
      this.#notice("Your session has expired. Sign in again.");
    } else if (error?.code === 4403 || error?.status === 403 || error?.status === 404) {
      this.#notice("This chat is not available here: the project is not yours, or this site is not allowed to connect.");
    } else {
      this.#notice(error?.message ?? "Something went wrong.");
    }
    this.ui.input.disabled = true;
    this.ui.send.disabled = true;
    if (!this.ui.log.querySelector(".msg")) this.ui.log.querySelector(".empty").hidden = true;
  }

  #listen(client) {
    const on = (event, handler) => this.#offs.push(client.on(event, handler));
    on("status", ({ state, code }) => {
      this.ui.status.dataset.state = state;
      this.ui.status.textContent = STATUS_TEXT[state] ?? state;
      if (state === "closed" && code && code !== 1000) this.#failed({ code });
    });
    on("chat:message_received", ({ message }) => this.#message(message));
    on("chat:message_delta", ({ message_id: id, delta }) => this.#delta(id, delta));
    on("chat:typing_indicator", ({ user_id: who, is_typing: typing }) => this.#typingOf(who, typing));
    on("chat:error", (error) => this.#notice(error.message));
    on("phase:updated", ({ phase }) => {
      if (phase?.number && phase.status === "in_progress") this.#showPhase(phase.number, phase.title);
    });
    on("*", ({ event, data }) => {
      this.dispatchEvent(new CustomEvent("ua-event", { detail: { event, data }, bubbles: true, composed: true }));
    });
  }

  #notice(text) {
    this.ui.notice.hidden = !text;
    this.ui.notice.textContent = text ?? "";
  }

  #showPhase(number, title) {
    if (!number) { this.ui.phase.hidden = true; return; }
    this.ui.phase.hidden = false;
    this.ui.phase.textContent = title ? `Phase ${number} · ${title}` : `Phase ${number}`;
  }

  #clearLog() {
    this.#streams.clear();
    for (const node of [...this.ui.log.querySelectorAll(".msg")]) node.remove();
    this.ui.log.querySelector(".empty").hidden = false;
  }

  #atBottom() {
    const log = this.ui.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  #append(node) {
    const stick = this.#atBottom();
    this.ui.log.querySelector(".empty").hidden = true;
    this.ui.log.append(node);
    if (stick) this.ui.log.scrollTop = this.ui.log.scrollHeight;
  }

  #bubble(role, who, id) {
    const node = document.createElement("article");
    node.className = `msg ${role}`;
    node.dataset.id = id;
    node.innerHTML = `<span class="who"></span><div class="bubble"></div>`;
    node.querySelector(".who").textContent = who;
    return node;
  }

  #delta(id, delta) {
    let stream = this.#streams.get(id);
    if (!stream) {
      if (this.ui.log.querySelector(`.msg[data-id="${CSS.escape(id)}"]:not(.streaming)`)) return;
      const node = this.#bubble("assistant", "Assistant", id);
      node.classList.add("streaming");
      node.setAttribute("aria-busy", "true");
      stream = { node, text: "" };
      this.#streams.set(id, stream);
      this.#append(node);
      this.ui.stop.hidden = false;
    }
    const stick = this.#atBottom();
    stream.text += delta;
    stream.node.querySelector(".bubble").innerHTML = renderMarkdown(stream.text);
    if (stick) this.ui.log.scrollTop = this.ui.log.scrollHeight;
  }

  #message(message) {
    const stream = this.#streams.get(message.id);
    this.#streams.delete(message.id);
    if (message.role === "user" && message.author !== this.#me && !this.#members.has(message.author)) {
      this.#loadMembers(this.#client.projectId).then(() => this.#renameAuthors());
    }
    const node = stream?.node ?? this.#bubble(message.role, authorName(message, this.#me, this.#members), message.id);
    node.dataset.author = message.author;
    node.classList.remove("streaming");
    node.removeAttribute("aria-busy");
    node.querySelector(".who").textContent = authorName(message, this.#me, this.#members);
    const citations = message.citations ?? [];
    this.#citations.set(message.id, citations);
    const bubble = node.querySelector(".bubble");
    bubble.innerHTML = message.role === "user"
      ? escapeHtml(message.content).replace(/\n/g, "<br>")
      : renderMarkdown(message.content, citations);
    for (const button of bubble.querySelectorAll("[data-ref]")) button.dataset.message = message.id;
    node.querySelector(".meta")?.remove();
    node.querySelector(".sources")?.remove();
    if (message.role === "assistant") this.#footer(node, message, citations);
    if (!stream) this.#append(node);
    if (this.#streams.size === 0) this.ui.stop.hidden = true;
  }

  #footer(node, message, citations) {
    if (citations.length) {
      const sources = document.createElement("div");
      sources.className = "sources";
      const byRef = (a, b) => a.ref.localeCompare(b.ref, undefined, { numeric: true });
      for (const cited of [...citations].sort(byRef)) {
        const link = document.createElement("button");
        link.type = "button";
        link.className = "source";
        link.dataset.ref = cited.ref;
        link.dataset.message = message.id;
        link.textContent = `${cited.ref} · ${cited.source ?? "source"}${cited.page ? ` p. ${cited.page}` : ""}`;
        sources.append(link);
      }
      node.append(sources);
    }
    const notes = [];
    if (message.status === "stopped") notes.push('<span class="warn">Stopped</span>');
    if (message.status === "interrupted") notes.push('<span class="warn">Interrupted</span>');
    if (message.status === "failed") notes.push('<span class="warn">Not answered: the reply failed</span>');
    if (message.provider) notes.push(escapeHtml(message.model ? `${message.provider} · ${message.model}` : message.provider));
    if (notes.length) {
      const meta = document.createElement("div");
      meta.className = "meta";
      meta.innerHTML = notes.join("");
      node.append(meta);
    }
  }

  #renameAuthors() {
    for (const node of this.ui.log.querySelectorAll(".msg.user")) {
      const author = node.dataset.author;
      if (author && author !== this.#me && this.#members.has(author)) {
        node.querySelector(".who").textContent = this.#members.get(author);
      }
    }
  }

  #typingOf(who, isTyping) {
    if (who === this.#me) return;
    if (isTyping) this.#typingUsers.set(who, Date.now());
    else this.#typingUsers.delete(who);
    if (isTyping && who !== "assistant" && !this.#members.has(who)) {
      this.#loadMembers(this.#client.projectId).then(() => this.#showTyping());
    }
    this.#showTyping();
  }

  #showTyping() {
    const names = [...new Set([...this.#typingUsers.keys()].map((id) => (
      id === "assistant" ? "Assistant" : this.#members.get(id) ?? "A collaborator")))];
    this.ui.typing.textContent = names.length ? `${names.join(" and ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
  }

  #typing() {
    if (!this.#client) return;
    const now = Date.now();
    if (now - this.#typingSent > TYPING_IDLE_MS / 2) {
      this.#client.typing(true);
      this.#typingSent = now;
    }
    clearTimeout(this.#typingTimer);
    this.#typingTimer = setTimeout(() => { this.#client?.typing(false); this.#typingSent = 0; }, TYPING_IDLE_MS);
  }

  #grow() {
    const input = this.ui.input;
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  #submit() {
    const content = this.ui.input.value.trim();
    if (!content || !this.#client || this.ui.input.disabled) return;
    this.#client.send(content);
    this.ui.input.value = "";
    this.#grow();
    clearTimeout(this.#typingTimer);
    this.#client.typing(false);
    this.#typingSent = 0;
  }

  async #openCitation(messageId, ref) {
    const cited = (this.#citations.get(messageId) ?? []).find((c) => c.ref === ref);
    if (!cited) return;
    const opened = this.dispatchEvent(new CustomEvent("ua-citation", {
      detail: cited, bubbles: true, composed: true, cancelable: true,
    }));
    if (!opened) return;
    this.ui.passageTitle.textContent = `${ref} · ${cited.source ?? "Source"}${cited.page ? `, page ${cited.page}` : ""}`;
    this.ui.passage.textContent = "Loading the passage…";
    this.ui.dialog.showModal();
    try {
      if (!cited.document_id) throw new Error("This source is not an uploaded document.");
      const chunks = await this.#client.documentChunks(cited.document_id);
      const chunk = chunks.find((c) => c.id === cited.chunk_id);
      this.ui.passage.textContent = chunk ? chunk.text : "The passage is no longer available.";
    } catch (error) {
      this.ui.passage.textContent = error.message;
    }
  }
}

if (!customElements.get("ua-chat")) customElements.define("ua-chat", UaChat);
