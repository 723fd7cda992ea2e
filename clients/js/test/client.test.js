// The client against the real server (started by tests/integration/web/test_js_client.py, which
// passes its address in UA_BASE_URL): streaming, reconnect with replay, resend of what the server
// never acknowledged, and token refresh. The "network" here is a WebSocket class whose sockets
// the test can make deaf or cut, the way a flaky connection would.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { AssistantClient, ApiError, backoffMs, refreshDelayMs } from "../src/index.js";

const BASE = process.env.UA_BASE_URL;
const PASSWORD = "correct horse battery staple";
const TIMEOUT_MS = 30000;

/** A WebSocket class whose sockets the test can cut (`close`) or make deaf (incoming frames
 * dropped, as on a connection that died one way); one class per client, to tell them apart. */
function flakyNetwork() {
  return class FlakySocket extends WebSocket {
    static opened = [];

    constructor(url) {
      super(url);
      this.deaf = false;
      FlakySocket.opened.push(this);
    }

    set onmessage(listener) {
      super.onmessage = (event) => { if (!this.deaf) listener(event); };
    }

    get onmessage() { return super.onmessage; }

    static current() { return FlakySocket.opened.findLast((s) => s.readyState === WebSocket.OPEN); }
  };
}

function nextEvent(client, event, predicate = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${event} in time`)); }, TIMEOUT_MS);
    const off = client.on(event, (data) => {
      if (!predicate(data)) return;
      clearTimeout(timer);
      off();
      resolve(data);
    });
  });
}

async function until(check, what) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function signedIn() {
  const network = flakyNetwork();
  const client = new AssistantClient({ baseUrl: BASE, WebSocket: network, reconnect: { minMs: 50, maxMs: 400 } });
  client.network = network;
  const email = `js-${Math.random().toString(36).slice(2)}@example.org`;
  await client.register({ email, password: PASSWORD, name: "JS client" });
  await client.login(email, PASSWORD);
  return client;
}

function assistantReplyTo(client, clientMessageId) {
  let userMessageId = null;
  return nextEvent(client, "chat:message_received", ({ message }) => {
    if (message.client_message_id === clientMessageId) userMessageId = message.id;
    return message.role === "assistant" && userMessageId !== null && message.reply_to === userMessageId;
  });
}

async function storedMessages(client, sessionId) {
  return await client.request("GET", `/api/v1/chat/sessions/${sessionId}/messages?limit=500`);
}

describe("AssistantClient against the real server", { timeout: 120000 }, () => {
  let client;
  let projectId;

  before(async () => {
    assert.ok(BASE, "UA_BASE_URL must name the server under test");
    client = await signedIn();
    projectId = (await client.createProject("JS client project")).id;
  });

  after(() => client?.dispose());

  test("a message is answered, the reply streamed before it is stored", async () => {
    const session = await client.join(projectId);
    assert.equal(client.sessionId, session.session.id);
    const deltas = [];
    const off = client.on("chat:message_delta", (data) => deltas.push(data.delta));
    const replied = assistantReplyTo(client, client.send("We sell hand-made bicycles in Lyon."));
    const { message } = await replied;
    off();
    assert.ok(deltas.length > 0, "deltas arrive before the stored reply");
    assert.equal(deltas.join(""), message.content);
    assert.deepEqual(client.pending, []);
  });

  test("after a cut connection the client rejoins and gets what it missed, once", async () => {
    const other = await signedIn();
    const invitation = await client.request("POST", `/api/v1/projects/${projectId}/invitations`, {
      json: { role: "editor" },
    });
    const accepted = await other.request("POST", "/api/v1/invitations/accept", {
      json: { token: invitation.token },
    });
    await other.switchOrg(accepted.org_id);  // the project's organisation, not their own
    await other.join(projectId, { sessionId: client.sessionId });
    const seen = [];
    client.on("chat:message_received", ({ message }) => seen.push(message.seq));
    const before = client.lastSeq;
    const socket = client.network.current();
    socket.deaf = true;  // from here on this client hears nothing
    await assistantReplyTo(other, other.send("Our customers are commuters."));
    assert.deepEqual(seen, [], "nothing heard while deaf");
    const rejoined = nextEvent(client, "chat:session_joined");
    socket.close();
    await rejoined;
    const stored = await storedMessages(client, client.sessionId);
    const missed = stored.filter((m) => m.seq > before).map((m) => m.seq);
    assert.ok(missed.length >= 2, "the other user's message and its reply");
    await until(() => seen.length >= missed.length, "the missed messages");
    assert.deepEqual(seen, missed, "every missed message exactly once, in order");
    assert.equal(client.lastSeq, missed.at(-1));
    other.dispose();
  });

  test("a message whose acknowledgement was lost is resent and stored once", async () => {
    const socket = client.network.current();
    socket.deaf = true;
    const sessionId = client.sessionId;
    const replied = new Promise((resolve) => {
      const off = client.on("chat:message_received", ({ message }) => {
        if (message.role === "assistant") { off(); resolve(message); }
      });
    });
    const id = client.send("We need a loan of 40 000 euros.");
    await until(async () => (await storedMessages(client, sessionId)).some((m) => m.client_message_id === id), "the message stored");
    assert.equal(client.pending.length, 1, "not acknowledged: the acknowledgement never arrived");
    socket.close();
    await until(() => client.pending.length === 0, "the resent message acknowledged");
    await replied;
    const stored = await storedMessages(client, sessionId);
    const mine = stored.filter((m) => m.client_message_id === id);
    assert.equal(mine.length, 1, "stored once");
    assert.equal(stored.filter((m) => m.reply_to === mine[0].id).length, 1, "answered once");
  });

  test("the access token is refreshed before it expires, and the socket keeps working", async () => {
    const fresh = await signedIn();
    const first = fresh.tokens;
    assert.ok(first.expires_in <= 10, "the server under test issues short-lived tokens");
    const refreshed = await nextEvent(fresh, "tokens");
    assert.notEqual(refreshed.access_token, first.access_token);
    assert.notEqual(refreshed.refresh_token, first.refresh_token);
    await until(() => Date.now() > first.expires_at + 500, "the first token to expire");
    const me = await fresh.me();
    assert.ok(me.email);
    const project = await fresh.createProject("Refreshed");
    await fresh.join(project.id);
    const replied = assistantReplyTo(fresh, fresh.send("Still here after the token changed."));
    await replied;
    fresh.dispose();
  });

  test("an export asked for as a draft on Letter paper is rendered and named as one", async () => {
    const asked = await client.createExport(projectId, "md", { mode: "draft", paper_size: "Letter" });
    assert.equal(asked.status, "queued");
    const done = await until(async () => {
      const now = (await client.exports(projectId)).find((e) => e.id === asked.id);
      return ["completed", "failed"].includes(now?.status) ? now : null;
    }, "the export");
    assert.equal(done.status, "completed");
    assert.equal(done.filename, "js-client-project-draft.md");
    const text = await (await client.downloadExport(done.id)).text();
    assert.match(text, /^# JS client project\n/);
    await assert.rejects(client.createExport(projectId, "pdf", { paper_size: "A3" }), (error) => {
      assert.equal(error.status, 422);
      assert.equal(error.code, "invalid");
      return true;
    });
  });

  test("a bad password is an ApiError with the server's code", async () => {
    const stranger = new AssistantClient({ baseUrl: BASE });
    await assert.rejects(stranger.login("nobody@example.org", "wrong password 123"), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 401);
      assert.equal(typeof error.code, "string");
      return true;
    });
  });

  test("backoff doubles up to its cap and refresh comes before expiry", () => {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const delay = backoffMs(attempt, 100, 1000);
      assert.ok(delay >= Math.min(1000, 100 * 2 ** attempt) / 2 && delay <= 1000);
    }
    assert.equal(refreshDelayMs(900), 840000);
    assert.equal(refreshDelayMs(4), 3000);
  });
});
