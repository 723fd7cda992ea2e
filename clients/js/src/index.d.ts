// Types of @unified-assistant/client. The frame types come from protocol.d.ts, generated from
// the server's AsyncAPI document (clients/js/codegen.py).
import type {
  ClientEvents,
  Document,
  Export,
  Message,
  Phase,
  ServerEvents,
  SessionData,
} from "./protocol.js";

export * from "./protocol.js";

/** `{access_token, refresh_token, token_type, expires_in}` as login and refresh return it. */
export interface TokenPair {
  access_token: string;
  refresh_token?: string;
  token_type?: "bearer";
  /** Seconds the access token lives. */
  expires_in?: number;
  /** When the access token expires (ms since the epoch); computed from `expires_in` if absent. */
  expires_at?: number;
}

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface StatusEvent {
  state: ConnectionState;
  attempt?: number;
  /** Milliseconds until the next attempt (state `reconnecting`). */
  delay?: number;
  /** WebSocket close code when `closed`: 4401 signed out, 4403 forbidden (origin or project). */
  code?: number;
  reason?: string;
}

/** Events of the client: every server frame by its name, plus the client's own. */
export interface ClientEventMap extends ServerEvents {
  status: StatusEvent;
  disconnected: { code: number; reason: string };
  tokens: TokenPair;
  signed_out: { reason: string };
  "*": { event: string; data: unknown };
}

export interface ClientOptions {
  /** The server, e.g. `https://assistant.example.org` (default: the page's own origin). */
  baseUrl?: string;
  /** Tokens from login; the client refreshes them before the access token expires. */
  tokens?: TokenPair;
  /** Alternatively: a callback returning a valid access token (your app refreshes it). */
  getAccessToken?: () => string | null | Promise<string | null>;
  /** Reconnect backoff bounds (defaults 500 ms and 15 s, with jitter). */
  reconnect?: { minMs?: number; maxMs?: number };
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
  /** A `WebSocket` class to use instead of the global one (e.g. Node 20's, or `ws`). */
  WebSocket?: typeof WebSocket;
}

export interface RequestOptions {
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  /** Send without the access token (default: with). */
  auth?: boolean;
  /** Resolve with the `Response` instead of its parsed body. */
  raw?: boolean;
}

/** An HTTP error answered by the server: `{code, message}` with its status. */
export declare class ApiError extends Error {
  constructor(status: number, code: string, message: string, body?: unknown);
  readonly status: number;
  readonly code: string;
  readonly body: unknown;
}

/** Milliseconds after which a token living `lifetimeS` seconds is refreshed. */
export declare function refreshDelayMs(lifetimeS: number): number;
/** Backoff before reconnect attempt `attempt` (0-based). */
export declare function backoffMs(attempt: number, minMs?: number, maxMs?: number): number;

export declare class AssistantClient {
  constructor(options?: ClientOptions);
  readonly baseUrl: string;
  readonly state: ConnectionState;
  readonly tokens: TokenPair | null;
  readonly sessionId: string | null;
  readonly projectId: string | null;
  /** The `seq` of the last stored message delivered; the replay point after a reconnect. */
  readonly lastSeq: number;
  /** Messages sent and not yet acknowledged, oldest first (resent after a reconnect). */
  readonly pending: ReadonlyArray<ClientEvents["chat:send_message"]>;

  on<E extends keyof ClientEventMap>(event: E, listener: (data: ClientEventMap[E]) => void): () => void;
  off<E extends keyof ClientEventMap>(event: E, listener: (data: ClientEventMap[E]) => void): void;

  setTokens(pair: TokenPair | null): void;
  refresh(): Promise<TokenPair>;
  accessToken(): Promise<string | null>;
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T>;

  register(user: { email: string; password: string; name?: string }): Promise<Record<string, unknown>>;
  login(email: string, password: string): Promise<TokenPair>;
  /** New tokens working in organisation `orgId` (the user must belong to it): REST calls and
   * the next socket work there; an open socket stays where it was opened until closed. */
  switchOrg(orgId: string): Promise<TokenPair>;
  logout(): Promise<void>;
  me(): Promise<Record<string, unknown>>;
  projects(): Promise<Array<Record<string, unknown>>>;
  createProject(name: string, template?: string): Promise<Record<string, unknown> & { id: string }>;
  phases(projectId: string): Promise<Array<Phase>>;
  documents(projectId: string): Promise<Array<Document>>;
  documentChunks(documentId: string, page?: { limit?: number; offset?: number }): Promise<Array<Record<string, unknown>>>;
  uploadDocument(projectId: string, file: Blob, filename?: string): Promise<Document>;
  exports(projectId: string): Promise<Array<Export>>;
  /** Queue an export: final (default) or draft, on A4 or Letter (default: the server's). */
  createExport(
    projectId: string,
    format: Export["format"],
    options?: { mode?: "final" | "draft"; paper_size?: "A4" | "Letter" },
  ): Promise<Export>;
  downloadExport(exportId: string): Promise<Blob>;

  /** Open the socket; it reconnects by itself until `close()`. */
  connect(): Promise<void>;
  /** Join a session (a new one without `sessionId`). Stored messages then arrive, each once and
   * in order, as `chat:message_received`, the join's replay included. */
  join(projectId: string, options?: { sessionId?: string | null }): Promise<SessionData>;
  /** Send a message; returns its `client_message_id`. Acknowledged by the `chat:message_received`
   * that carries that id; until then it is resent after every reconnect. */
  send(content: string): string;
  typing(isTyping: boolean): void;
  stop(): void;
  gotoPhase(number: number): void;
  approvePhase(): void;
  regeneratePhase(number?: number): void;
  leave(): void;
  close(): void;
  dispose(): void;
}

export type { Message };
export default AssistantClient;
