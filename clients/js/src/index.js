// @unified-assistant/client: the typed JavaScript client of the Unified Assistant server.
// It owns the hard parts of the chat protocol: tickets instead of tokens in URLs, reconnection
// with backoff and `after_seq` replay, idempotent resend of unacknowledged messages, one ordered
// stream of stored messages, and access-token refresh before expiry. Types: index.d.ts.

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 15000;
const SOCKET_UNAUTHORIZED = 4401;
const SOCKET_FORBIDDEN = 4403;

/** An HTTP error answered by the server: `{code, message}` with its status. */
export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

function newId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function defaultBaseUrl() {
  return globalThis.location ? globalThis.location.origin : "http://127.0.0.1:8000";
}

/** When to refresh a token that lives `lifetimeS` seconds: a minute before it expires, or at
 * three quarters of its life when that is shorter. */
export function refreshDelayMs(lifetimeS) {
  const seconds = lifetimeS > 240 ? lifetimeS - 60 : lifetimeS * 0.75;
  return Math.max(0, Math.round(seconds * 1000));
}

/** Backoff before reconnect attempt `attempt` (0-based): doubling, capped, with jitter. */
export function backoffMs(attempt, minMs = RECONNECT_MIN_MS, maxMs = RECONNECT_MAX_MS) {
  const ceiling = Math.min(maxMs, minMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export class AssistantClient {
  #baseUrl;
  #fetch;
  #WebSocket;
  #getAccessToken;
  #reconnect;
  #tokens = null;
  #refreshTimer = null;
  #refreshing = null;
  #listeners = new Map();
  #socket = null;
  #state = "idle";
  #wanted = false;
  #attempt = 0;
  #retryTimer = null;
  #joined = null;
  #joinWaiters = new Map();
  #lastSeq = 0;
  #pending = new Map();

  constructor(options = {}) {
    this.#baseUrl = (options.baseUrl ?? defaultBaseUrl()).replace(/\/+$/, "");
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.#getAccessToken = options.getAccessToken ?? null;
    this.#reconnect = { minMs: RECONNECT_MIN_MS, maxMs: RECONNECT_MAX_MS, ...options.reconnect };
    if (options.tokens) this.setTokens(options.tokens);
  }

  get baseUrl() { return this.#baseUrl; }
  get state() { return this.#state; }
  get tokens() { return this.#tokens ? { ...this.#tokens } : null; }
  get sessionId() { return this.#joined?.sessionId ?? null; }
  get projectId() { return this.#joined?.projectId ?? null; }
  get lastSeq() { return this.#lastSeq; }
  /** Messages sent but not yet acknowledged by the server, oldest first. */
  get pending() { return [...this.#pending.values()].map((p) => ({ ...p })); }

  // ---- events ------------------------------------------------------------------------------

  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return () => this.off(event, listener);
  }

  off(event, listener) { this.#listeners.get(event)?.delete(listener); }

  #emit(event, data) {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try { listener(data); } catch (error) { console.error(error); }
    }
    for (const listener of [...(this.#listeners.get("*") ?? [])]) {
      try { listener({ event, data }); } catch (error) { console.error(error); }
    }
  }

  #setState(state, detail = {}) {
    this.#state = state;
    this.#emit("status", { state, ...detail });
  }

  // ---- tokens and REST ---------------------------------------------------------------------

  setTokens(pair) {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    if (!pair) { this.#tokens = null; return; }
    const expiresIn = pair.expires_in ?? 900;
    this.#tokens = { ...pair, expires_at: pair.expires_at ?? Date.now() + expiresIn * 1000 };
    const lifetimeS = (this.#tokens.expires_at - Date.now()) / 1000;
    if (this.#tokens.refresh_token) {
      this.#refreshTimer = setTimeout(() => {
        this.refresh().catch(() => {});
      }, refreshDelayMs(lifetimeS));
      this.#refreshTimer.unref?.();
    }
  }

  /** Trade the refresh token for a new pair (one request however many callers ask at once). */
  refresh() {
    if (this.#refreshing) return this.#refreshing;
    const refreshToken = this.#tokens?.refresh_token;
    if (!refreshToken) return Promise.reject(new ApiError(401, "unauthorized", "not signed in"));
    this.#refreshing = (async () => {
      try {
        const pair = await this.#call("POST", "/api/v1/auth/refresh", {
          json: { refresh_token: refreshToken }, auth: false,
        });
        this.setTokens(pair);
        this.#emit("tokens", this.tokens);
        return this.tokens;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          this.setTokens(null);
          this.#emit("signed_out", { reason: error.message });
        }
        throw error;
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  async accessToken() {
    if (this.#getAccessToken) return await this.#getAccessToken();
    if (!this.#tokens) return null;
    if (this.#tokens.refresh_token && Date.now() > this.#tokens.expires_at - 5000) {
      await this.refresh();
    }
    return this.#tokens?.access_token ?? null;
  }

  async #call(method, path, { json, body, headers = {}, auth = true, raw = false } = {}) {
    const init = { method, headers: { ...headers } };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers["Content-Type"] = "application/json";
    } else if (body !== undefined) {
      init.body = body;
    }
    if (auth) {
      const token = await this.accessToken();
      if (token) init.headers.Authorization = `Bearer ${token}`;
    }
    const response = await this.#fetch(this.#baseUrl + path, init);
    if (response.ok) {
      if (raw) return response;
      if (response.status === 204) return null;
      const type = response.headers.get("content-type") ?? "";
      return type.includes("json") ? await response.json() : await response.text();
    }
    let payload = null;
    try { payload = await response.json(); } catch { payload = null; }
    throw new ApiError(
      response.status,
      payload?.code ?? "http_" + response.status,
      payload?.message ?? response.statusText ?? "request failed",
      payload,
    );
  }

  /** A REST call with the access token; a 401 refreshes the token once and tries again. */
  async request(method, path, options = {}) {
    try {
      return await this.#call(method, path, options);
    } catch (error) {
      const retriable = error instanceof ApiError && error.status === 401
        && options.auth !== false && this.#tokens?.refresh_token && !this.#getAccessToken;
      if (!retriable) throw error;
      await this.refresh();
      return await this.#call(method, path, options);
    }
  }

  async register({ email, password, name }) {
    return await this.#call("POST", "/api/v1/auth/register", {
      json: { email, password, ...(name ? { name } : {}) }, auth: false,
    });
  }

  async login(email, password) {
    const pair = await this.#call("POST", "/api/v1/auth/login", {
      json: { email, password }, auth: false,
    });
    this.setTokens(pair);
    this.#emit("tokens", this.tokens);
    return this.tokens;
  }

  /** Work in another organisation the user belongs to (one an accepted invitation added them
   * to, say): new tokens for it. REST calls and the next socket work there; a socket already
   * open stays in the organisation it was opened in until it is closed. */
  async switchOrg(orgId) {
    const pair = await this.#call("POST", "/api/v1/auth/switch-org", { json: { org_id: orgId } });
    this.setTokens(pair);
    this.#emit("tokens", this.tokens);
    return this.tokens;
  }

  async logout() {
    const refreshToken = this.#tokens?.refresh_token;
    try {
      if (refreshToken) {
        await this.#call("POST", "/api/v1/auth/logout", { json: { refresh_token: refreshToken } });
      }
    } finally {
      this.close();
      this.setTokens(null);
      this.#emit("signed_out", { reason: "logout" });
    }
  }

  me() { return this.request("GET", "/api/v1/auth/me"); }
  projects() { return this.request("GET", "/api/v1/projects"); }
  createProject(name, template) {
    return this.request("POST", "/api/v1/projects", { json: { name, ...(template ? { template } : {}) } });
  }
  phases(projectId) { return this.request("GET", `/api/v1/projects/${projectId}/phases`); }
  documents(projectId) { return this.request("GET", `/api/v1/projects/${projectId}/documents`); }
  documentChunks(documentId, { limit = 500, offset = 0 } = {}) {
    return this.request("GET", `/api/v1/documents/${documentId}/chunks?limit=${limit}&offset=${offset}`);
  }

  /** Upload a file (a `Blob`/`File`) to a project; progress then arrives as `document:updated`. */
  uploadDocument(projectId, file, filename) {
    const form = new FormData();
    form.append("project_id", projectId);
    form.append("file", file, filename ?? file.name ?? "document");
    return this.request("POST", "/api/v1/documents", { body: form });
  }

  exports(projectId) { return this.request("GET", `/api/v1/projects/${projectId}/exports`); }
  /** Queue an export; `options` may set `mode` ("final" or "draft") and `paper_size` ("A4" or
   * "Letter"), else the server's defaults apply. */
  createExport(projectId, format, options = {}) {
    return this.request("POST", `/api/v1/projects/${projectId}/exports`, { json: { format, ...options } });
  }
  /** The rendered file of a ready export, as a `Blob`. */
  async downloadExport(exportId) {
    const response = await this.request("GET", `/api/v1/exports/${exportId}/download`, { raw: true });
    return await response.blob();
  }

  // ---- the chat socket ---------------------------------------------------------------------

  /** Open the socket (and keep it open, reconnecting, until `close()`). */
  connect() {
    this.#wanted = true;
    if (this.#socket || this.#state === "connecting") return this.#opened();
    this.#open();
    return this.#opened();
  }

  #opened() {
    if (this.#state === "open") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const off = this.on("status", ({ state, code, reason }) => {
        if (state === "open") { off(); resolve(); }
        if (state === "closed") { off(); reject(new ApiError(code ?? 0, "closed", reason ?? "closed")); }
      });
    });
  }

  async #open() {
    clearTimeout(this.#retryTimer);
    this.#setState(this.#attempt === 0 ? "connecting" : "reconnecting", { attempt: this.#attempt });
    let ticket;
    try {
      ({ ticket } = await this.request("POST", "/api/v1/auth/ws-ticket"));
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        this.#giveUp(SOCKET_UNAUTHORIZED, error.message);
      } else {
        this.#retry();
      }
      return;
    }
    if (!this.#wanted) return;
    const url = this.#baseUrl.replace(/^http/, "ws") + "/ws/chat?ticket=" + encodeURIComponent(ticket);
    const socket = new this.#WebSocket(url);
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      this.#attempt = 0;
      this.#setState("open");
      if (this.#joined?.sessionId) this.#sendJoin(newId());
    };
    socket.onmessage = (message) => {
      if (this.#socket === socket) this.#receive(message.data);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#closed(event.code, event.reason);
    };
    socket.onerror = () => {};
  }

  async #closed(code, reason) {
    this.#emit("disconnected", { code, reason });
    if (!this.#wanted) { this.#setState("closed", { code, reason }); return; }
    if (code === SOCKET_FORBIDDEN) { this.#giveUp(code, reason || "forbidden"); return; }
    if (code === SOCKET_UNAUTHORIZED && this.#tokens?.refresh_token) {
      try { await this.refresh(); } catch { this.#giveUp(code, reason); return; }
    } else if (code === SOCKET_UNAUTHORIZED && !this.#getAccessToken) {
      this.#giveUp(code, reason);
      return;
    }
    this.#retry();
  }

  #retry() {
    if (!this.#wanted) return;
    const delay = backoffMs(this.#attempt, this.#reconnect.minMs, this.#reconnect.maxMs);
    this.#attempt += 1;
    this.#setState("reconnecting", { attempt: this.#attempt, delay });
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  #giveUp(code, reason) {
    this.#wanted = false;
    for (const waiter of this.#joinWaiters.values()) waiter.reject(new ApiError(code, "closed", reason));
    this.#joinWaiters.clear();
    this.#setState("closed", { code, reason });
  }

  /** Stop: close the socket and do not reconnect. */
  close() {
    this.#wanted = false;
    clearTimeout(this.#retryTimer);
    const socket = this.#socket;
    this.#socket = null;
    if (socket) socket.close(1000, "bye");
    if (this.#state !== "idle") this.#setState("closed", { code: 1000, reason: "closed by client" });
  }

  /** Stop refreshing tokens and close the socket (frees every timer). */
  dispose() {
    this.close();
    clearTimeout(this.#refreshTimer);
    this.#listeners.clear();
  }

  #frame(event, data, ref) {
    const socket = this.#socket;
    if (!socket || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(ref ? { event, data, ref } : { event, data }));
    return true;
  }

  /** Join a session of a project (a new one without `sessionId`); resolves with its data. */
  async join(projectId, { sessionId = null } = {}) {
    if (this.#joined?.sessionId !== sessionId || this.#joined?.projectId !== projectId) {
      this.#lastSeq = 0;
      this.#pending.clear();
    }
    this.#joined = { projectId, sessionId };
    await this.connect();
    const ref = newId();
    const joined = new Promise((resolve, reject) => this.#joinWaiters.set(ref, { resolve, reject }));
    this.#sendJoin(ref);
    return await joined;
  }

  #sendJoin(ref) {
    const { projectId, sessionId } = this.#joined;
    const data = { project_id: projectId };
    if (sessionId) { data.session_id = sessionId; data.after_seq = this.#lastSeq; }
    this.#frame("chat:join_session", data, ref);
  }

  /** Send a message; it is resent with the same `client_message_id` until acknowledged. */
  send(content) {
    const clientMessageId = newId();
    this.#pending.set(clientMessageId, { client_message_id: clientMessageId, content });
    if (this.#joined?.sessionId) {
      this.#frame("chat:send_message", { content, client_message_id: clientMessageId });
    }
    return clientMessageId;
  }

  typing(isTyping) { this.#frame("chat:typing", { is_typing: Boolean(isTyping) }); }
  stop() { this.#frame("chat:stop", {}); }
  gotoPhase(number) { this.#frame("phase:goto", { number }); }
  approvePhase() { this.#frame("phase:approve", {}); }
  regeneratePhase(number) { this.#frame("phase:regenerate", number == null ? {} : { number }); }
  leave() {
    this.#frame("chat:leave_session", {});
    this.#joined = null;
    this.#lastSeq = 0;
    this.#pending.clear();
  }

  #receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch { return; }
    const { event, data, ref } = frame;
    if (event === "chat:session_created" || event === "chat:session_joined") {
      this.#joinedSession(event, data, ref);
      return;
    }
    if (event === "chat:message_received") {
      this.#stored(data.message);
      return;
    }
    if (event === "chat:resync") {
      this.#lastSeq = Math.min(this.#lastSeq, data.after_seq ?? 0);
      if (this.#joined?.sessionId) this.#sendJoin(newId());
      return;
    }
    if (event === "chat:error" && ref && this.#joinWaiters.has(ref)) {
      this.#joinWaiters.get(ref).reject(new ApiError(0, data.code, data.message, data));
      this.#joinWaiters.delete(ref);
    }
    this.#emit(event, data);
  }

  #joinedSession(event, data, ref) {
    this.#joined = { projectId: data.session.project_id, sessionId: data.session.id };
    const replay = data.messages ?? [];
    this.#emit(event, data);
    for (const message of replay) this.#stored(message);
    for (const item of this.#pending.values()) {
      this.#frame("chat:send_message", item);  // unacknowledged: the server ignores repeats
    }
    const waiter = ref ? this.#joinWaiters.get(ref) : null;
    if (waiter) { this.#joinWaiters.delete(ref); waiter.resolve(data); }
  }

  #stored(message) {
    if (message.client_message_id) this.#pending.delete(message.client_message_id);
    if (message.seq <= this.#lastSeq) return;  // already delivered: every message exactly once
    this.#lastSeq = message.seq;
    this.#emit("chat:message_received", { message });
  }
}

export default AssistantClient;
