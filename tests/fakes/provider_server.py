"""A fake OpenAI / Anthropic / Gemini server speaking the real wire formats, with faults.

Start it with ``with FakeProviders() as fake:`` (or the ``fake_providers`` fixture), point the
real SDKs at ``fake.openai_base_url``, ``fake.anthropic_base_url``, ``fake.gemini_base_url``,
queue what the next calls get, and read back what they sent::

    fake.openai.queue_stream("Hello there", chunk_size=1)
    fake.anthropic.queue_error(529)
    fake.gemini.queue_stream("Hi", drop_after=2)
    fake.endpoint("ollama").queue_stream("...")     # another OpenAI-compatible server
    fake.openai.requests[-1].json["messages"]

With nothing queued, a chat call streams ``script.default_text``.

Structured-output calls (OpenAI ``response_format``, an Anthropic forced tool call, Gemini's
JSON response schema) are answered from their own queue, in each API's shape::

    fake.anthropic.queue_json({"kind": "answer", "question": 2})
    fake.openai.queue_json(raw="{not json")          # an answer that does not validate
    fake.gemini.answer_json = lambda call: {...}     # chosen from the call (name, schema, prompt)
    fake.openai.answer_chat = lambda request: "..."  # a chat reply written from the request
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import uvicorn

from . import _wire

if TYPE_CHECKING:
    from collections.abc import Callable

_WORD_RE = re.compile(r"\s*\S+\s*")


@dataclass
class Reply:
    """A successful reply, optionally with faults injected."""

    text: str
    chunk_size: int = 1
    """Words per streamed chunk."""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_byte_delay: float = 0.0
    chunk_delay: float = 0.0
    drop_after: int | None = None
    """Close the connection, mid-body, after this many text chunks."""
    malformed_after: int | None = None
    """Send a chunk of broken JSON after this many text chunks."""
    error_after: int | None = None
    """Send the provider's in-stream error event after this many text chunks."""
    error_status: int = 529


@dataclass
class ErrorReply:
    """An HTTP error response with the provider's error body."""

    status: int
    message: str = "fake failure"
    retry_after: float | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Replay:
    """Bytes sent verbatim as the response body (e.g. a corpora wire file)."""

    data: bytes
    status: int = 200
    content_type: str = "text/event-stream"


@dataclass
class JsonReply:
    """A structured answer: ``value`` as JSON, or ``raw`` text verbatim."""

    value: Any = None
    raw: str | None = None


@dataclass
class StructuredCall:
    """A structured-output request as the fake saw it, for ``Script.answer_json``."""

    name: str
    """The schema's name (OpenAI), tool name (Anthropic) or schema title (Gemini)."""
    schema: dict[str, Any]
    prompt: str
    """Every message of the request, system included, joined."""
    request: RecordedRequest


Plan = Reply | ErrorReply | Replay


@dataclass
class RecordedRequest:
    """A request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any
    completed: bool = False
    """Every byte of the response was sent."""
    disconnected: bool = False
    """The client went away before the response was complete."""


class Script:
    """What one fake endpoint answers next, and what it was asked."""

    def __init__(self, wire: str, default_text: str) -> None:
        self.wire = wire
        self.default_text = default_text
        self.requests: list[RecordedRequest] = []
        self._chat: deque[Plan] = deque()
        self._embed: deque[ErrorReply] = deque()
        self._json: deque[JsonReply | ErrorReply] = deque()
        self.answer_json: Callable[[StructuredCall], Any] | None = None
        """Answers structured calls when nothing is queued for them."""
        self.answer_chat: Callable[[RecordedRequest], str] | None = None
        """Writes the text of chat calls when nothing is queued (else ``default_text``)."""
        self.embed_delay = 0.0
        """Seconds every embedding call waits before it answers (a slow provider)."""
        self._lock = threading.Lock()
        self.done = threading.Condition(self._lock)

    def queue(self, *plans: Plan) -> Script:
        """Queue plans for the next chat calls, in order."""
        with self._lock:
            self._chat.extend(plans)
        return self

    def queue_stream(self, text: str, **options: Any) -> Script:
        """Queue a reply of ``text``; ``options`` are ``Reply`` fields (faults included)."""
        return self.queue(Reply(text, **options))

    def queue_error(self, status: int, **options: Any) -> Script:
        """Queue an HTTP error; ``options`` are ``ErrorReply`` fields."""
        return self.queue(ErrorReply(status, **options))

    def queue_replay(self, path: Path | str, status: int = 200) -> Script:
        """Queue the verbatim bytes of a file as the next response body."""
        return self.queue(Replay(Path(path).read_bytes(), status))

    def queue_json(self, value: Any = None, *, raw: str | None = None) -> Script:
        """Queue the next structured answer: ``value`` as JSON, or ``raw`` text as is."""
        with self._lock:
            self._json.append(JsonReply(value, raw))
        return self

    def queue_json_error(self, status: int, **options: Any) -> Script:
        """Queue an HTTP error for the next structured call."""
        with self._lock:
            self._json.append(ErrorReply(status, **options))
        return self

    def next_json(self, call: StructuredCall) -> JsonReply | ErrorReply:
        with self._lock:
            if self._json:
                return self._json.popleft()
        if self.answer_json is None:
            return ErrorReply(500, f"no structured answer queued for {call.name}")
        return JsonReply(self.answer_json(call))

    def queue_embed_error(self, status: int, **options: Any) -> Script:
        """Queue an HTTP error for the next embedding call."""
        with self._lock:
            self._embed.append(ErrorReply(status, **options))
        return self

    def next_chat(self, request: RecordedRequest) -> Plan:
        with self._lock:
            if self._chat:
                return self._chat.popleft()
        if self.answer_chat is not None:
            return Reply(self.answer_chat(request))
        return Reply(self.default_text)

    def next_embed(self) -> ErrorReply | None:
        with self._lock:
            return self._embed.popleft() if self._embed else None

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def settle(self, request: RecordedRequest, *, completed: bool) -> None:
        with self._lock:
            request.completed = completed
            request.disconnected = not completed
            self.done.notify_all()

    def wait_settled(self, request: RecordedRequest, timeout: float = 10.0) -> bool:
        """Block until ``request``'s response has ended one way or the other."""
        with self._lock:
            return self.done.wait_for(lambda: request.completed or request.disconnected, timeout)


class _DroppedError(Exception):
    """Raised inside the app to make uvicorn cut the connection mid-body."""


class FakeProviders:
    """The fake server: uvicorn on a free port in a background thread."""

    def __init__(self) -> None:
        self.openai = Script("openai", "Hello from the fake OpenAI.")
        self.anthropic = Script("anthropic", "Hello from the fake Anthropic.")
        self.gemini = Script("gemini", "Hello from the fake Gemini.")
        self._tenants: dict[str, Script] = {"openai": self.openai}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def endpoint(self, name: str) -> Script:
        """The script of an OpenAI-compatible endpoint served under ``/{name}/v1``."""
        if name not in self._tenants:
            self._tenants[name] = Script("openai", f"Hello from the fake {name}.")
        return self._tenants[name]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/openai/v1"

    def compatible_base_url(self, name: str) -> str:
        """Base URL of the OpenAI-compatible endpoint ``name``."""
        self.endpoint(name)
        return f"{self.url}/{name}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"{self.url}/anthropic"

    @property
    def gemini_base_url(self) -> str:
        return f"{self.url}/gemini"

    def providers_section(self, timeout_s: float = 5.0) -> dict[str, Any]:
        """A config.json ``providers`` section pointing every provider at this server."""
        return {
            "openai": {
                "type": "openai",
                "api_key_env": "OPENAI_API_KEY",
                "base_url": self.openai_base_url,
                "timeout_s": timeout_s,
            },
            "anthropic": {
                "type": "anthropic",
                "api_key_env": "ANTHROPIC_API_KEY",
                "base_url": self.anthropic_base_url,
                "timeout_s": timeout_s,
            },
            "gemini": {
                "type": "gemini",
                "api_key_env": "GEMINI_API_KEY",
                "base_url": self.gemini_base_url,
                "timeout_s": timeout_s,
            },
            "ollama": {
                "type": "openai_compatible",
                "base_url": self.compatible_base_url("ollama"),
                "timeout_s": timeout_s,
            },
            "local": {"type": "local"},
        }

    def start(self) -> FakeProviders:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            interface="asgi3",
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake provider server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- ASGI --------------------------------------------------------------------------------

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path: str = scope["path"]
        request = RecordedRequest(
            method=scope["method"],
            path=path,
            query=parse_qs(scope.get("query_string", b"").decode()),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            json=json.loads(body) if body else None,
        )
        script, route, model = self._route(path)
        if script is None:
            await _send(send, 404, {"error": {"message": f"no route {path}"}})
            return
        script.record(request)
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        completed = False
        try:
            if route == "embed":
                await self._embed(script, request, model, send)
            else:
                await self._chat(script, request, route, model, send, watcher)
            completed = not watcher.done()
        finally:
            watcher.cancel()
            script.settle(request, completed=completed)

    def _route(self, path: str) -> tuple[Script | None, str, str]:
        if path == "/anthropic/v1/messages":
            return self.anthropic, "chat", ""
        if match := re.fullmatch(r"/gemini/v1(?:beta)?/models/([^:]+):(\w+)", path):
            model, method = match.groups()
            if method in {"batchEmbedContents", "embedContent"}:
                return self.gemini, "embed", model
            return self.gemini, "stream" if method == "streamGenerateContent" else "chat", model
        if match := re.fullmatch(r"/([\w-]+)/v1/(chat/completions|embeddings)", path):
            tenant, kind = match.groups()
            script = self._tenants.get(tenant)
            return script, "embed" if kind == "embeddings" else "chat", ""
        return None, "", ""

    async def _chat(
        self,
        script: Script,
        request: RecordedRequest,
        route: str,
        model: str,
        send: Any,
        watcher: asyncio.Future[None],
    ) -> None:
        call = _structured_call(script.wire, request)
        if call is not None:
            await _answer_json(script, call, model, send)
            return
        plan = script.next_chat(request)
        if isinstance(plan, ErrorReply):
            headers = dict(plan.headers)
            if plan.retry_after is not None:
                headers["retry-after"] = f"{plan.retry_after:g}"
            body = plan.body or _wire.error_body(script.wire, plan.status, plan.message)
            await _send(send, plan.status, body, headers)
            return
        if isinstance(plan, Replay):
            await send(_start(plan.status, plan.content_type))
            await send({"type": "http.response.body", "body": plan.data})
            return
        payload = request.json or {}
        model = model or payload.get("model", "fake-model")
        chunks = _chunks(plan.text, plan.chunk_size)
        prompt = plan.prompt_tokens
        if prompt is None:
            prompt = _prompt_words(payload)
        completion = plan.completion_tokens if plan.completion_tokens is not None else len(chunks)
        if plan.first_byte_delay:
            await asyncio.sleep(plan.first_byte_delay)
        streaming = route == "stream" or bool(payload.get("stream"))
        if not streaming:
            finish = plan.finish_reason or "stop"
            await _send(
                send, 200, _wire.openai_completion(model, plan.text, prompt, completion, finish)
            )
            return
        await send(_start(200, "text/event-stream"))
        renderer = _RENDERERS[script.wire]
        events = renderer(model, chunks, prompt, completion, plan, payload)
        for item in events:
            if watcher.done():
                return
            if isinstance(item, _Fault):
                if item.kind == "drop":
                    raise _DroppedError
                await _body(send, item.data)
                if item.kind == "error":
                    break
                continue
            await _body(send, item)
            if plan.chunk_delay:
                await asyncio.sleep(plan.chunk_delay)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _embed(self, script: Script, request: RecordedRequest, model: str, send: Any) -> None:
        if script.embed_delay:
            await asyncio.sleep(script.embed_delay)
        failure = script.next_embed()
        if failure is not None:
            headers = {"retry-after": f"{failure.retry_after:g}"} if failure.retry_after else {}
            body = failure.body or _wire.error_body(script.wire, failure.status, failure.message)
            await _send(send, failure.status, body, headers)
            return
        payload = request.json or {}
        if script.wire == "gemini":
            items = payload.get("requests") or [payload]
            vectors = []
            for item in items:
                dims = (item.get("outputDimensionality") or 8) if isinstance(item, dict) else 8
                text = " ".join(p.get("text", "") for p in item["content"]["parts"])
                vectors.append({"values": _wire.fake_vector(text, dims)})
            body = {"embeddings": vectors} if "requests" in payload else {"embedding": vectors[0]}
            await _send(send, 200, body)
            return
        texts = payload["input"] if isinstance(payload["input"], list) else [payload["input"]]
        dims = payload.get("dimensions") or 8
        data = []
        for i, text in enumerate(texts):
            vector = _wire.fake_vector(str(text), dims)
            encoded: Any = vector
            if payload.get("encoding_format") == "base64":
                encoded = _wire.base64_vector(vector)
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
        await _send(
            send, 200, {"object": "list", "data": data, "model": payload["model"], "usage": usage}
        )


@dataclass
class _Fault:
    kind: str
    data: bytes = b""


def _chunks(text: str, size: int) -> list[str]:
    words = _WORD_RE.findall(text) or ([text] if text else [])
    return ["".join(words[i : i + size]) for i in range(0, len(words), max(1, size))]


def _structured_call(wire: str, request: RecordedRequest) -> StructuredCall | None:
    payload = request.json or {}
    texts: list[str] = []
    if isinstance(payload.get("system"), str):
        texts.append(payload["system"])
    for message in payload.get("messages", []):
        content = message.get("content")
        texts.append(content if isinstance(content, str) else json.dumps(content))
    instruction = payload.get("systemInstruction") or payload.get("system_instruction") or {}
    for content in [instruction, *payload.get("contents", [])]:
        if isinstance(content, dict):
            texts.extend(p.get("text", "") for p in content.get("parts", []))
    prompt = "\n\n".join(texts)
    if wire == "openai" and (response_format := payload.get("response_format")):
        spec = response_format["json_schema"]
        return StructuredCall(spec["name"], spec["schema"], prompt, request)
    if wire == "anthropic" and (choice := payload.get("tool_choice")):
        tool = next(t for t in payload["tools"] if t["name"] == choice["name"])
        return StructuredCall(tool["name"], tool["input_schema"], prompt, request)
    config = payload.get("generationConfig") or {}
    if wire == "gemini" and config.get("responseMimeType") == "application/json":
        schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
        return StructuredCall(str(schema.get("title", "")), schema, prompt, request)
    return None


async def _answer_json(script: Script, call: StructuredCall, model: str, send: Any) -> None:
    reply = script.next_json(call)
    if isinstance(reply, ErrorReply):
        headers = {"retry-after": f"{reply.retry_after:g}"} if reply.retry_after else {}
        body = reply.body or _wire.error_body(script.wire, reply.status, reply.message)
        await _send(send, reply.status, body, headers)
        return
    text = reply.raw if reply.raw is not None else json.dumps(reply.value)
    prompt, completion = len(call.prompt.split()), len(text.split())
    model = model or (call.request.json or {}).get("model", "fake-model")
    if script.wire == "anthropic":
        value = reply.value if reply.raw is None else {"raw": reply.raw}
        await _send(
            send, 200, _wire.anthropic_tool_use(model, call.name, value, prompt, completion)
        )
    elif script.wire == "gemini":
        await _send(send, 200, _wire.gemini_response(model, text, prompt, completion))
    else:
        await _send(send, 200, _wire.openai_completion(model, text, prompt, completion, "stop"))


def _prompt_words(payload: dict[str, Any]) -> int:
    texts: list[str] = []
    for message in payload.get("messages", []):
        content = message.get("content")
        texts.append(content if isinstance(content, str) else json.dumps(content))
    for content in payload.get("contents", []):
        texts.extend(p.get("text", "") for p in content.get("parts", []))
    if isinstance(payload.get("system"), str):
        texts.append(payload["system"])
    return sum(len(t.split()) for t in texts)


def _faults(plan: Reply, index: int, wire: str) -> _Fault | None:
    if plan.drop_after is not None and index == plan.drop_after:
        return _Fault("drop")
    if plan.malformed_after is not None and index == plan.malformed_after:
        event = b"event: content_block_delta\n" if wire == "anthropic" else b""
        return _Fault("malformed", event + b'data: {"choices": [{"delta": {"content": "oops\n\n')
    if plan.error_after is not None and index == plan.error_after:
        body = _wire.error_body(wire, plan.error_status, "Overloaded")
        if wire == "anthropic":
            return _Fault("error", _wire.sse(body, "error"))
        if wire == "gemini":
            return _Fault("error", json.dumps(body, indent=2).encode() + b"\n")
        return _Fault("error", _wire.sse(body))
    return None


def _with_faults(plan: Reply, wire: str, pieces: list[bytes]) -> list[bytes | _Fault]:
    out: list[bytes | _Fault] = []
    for index, piece in enumerate(pieces):
        if (fault := _faults(plan, index, wire)) is not None:
            out.append(fault)
            if fault.kind != "malformed":
                return out
        out.append(piece)
    if (fault := _faults(plan, len(pieces), wire)) is not None:
        out.append(fault)
        if fault.kind != "malformed":
            return out
    return out


def _openai_events(
    model: str, chunks: list[str], prompt: int, completion: int, plan: Reply, payload: dict
) -> list[bytes | _Fault]:
    head = [
        _wire.sse(_wire.openai_chunk(model, {"role": "assistant", "content": "", "refusal": None}))
    ]
    body = [_wire.sse(_wire.openai_chunk(model, {"content": c})) for c in chunks]
    tail = [_wire.sse(_wire.openai_chunk(model, {}, plan.finish_reason or "stop"))]
    if (payload.get("stream_options") or {}).get("include_usage"):
        tail.append(_wire.sse(_wire.openai_usage_chunk(model, prompt, completion)))
    tail.append(b"data: [DONE]\n\n")
    return [*head, *_with_faults(plan, "openai", body), *tail]


def _anthropic_events(
    model: str, chunks: list[str], prompt: int, completion: int, plan: Reply, payload: dict
) -> list[bytes | _Fault]:
    body = [_wire.anthropic_delta(c) for c in chunks]
    tail = _wire.anthropic_end(completion, plan.finish_reason or "end_turn")
    return [*_wire.anthropic_start(model, prompt), *_with_faults(plan, "anthropic", body), *tail]


def _gemini_events(
    model: str, chunks: list[str], prompt: int, completion: int, plan: Reply, payload: dict
) -> list[bytes | _Fault]:
    last = len(chunks) - 1
    body = [
        _wire.sse(
            _wire.gemini_chunk(
                model,
                c,
                prompt,
                completion if i == last else 0,
                (plan.finish_reason or "STOP") if i == last else None,
            )
        ).replace(b"\n", b"\r\n")
        for i, c in enumerate(chunks)
    ]
    return _with_faults(plan, "gemini", body)


_RENDERERS = {"openai": _openai_events, "anthropic": _anthropic_events, "gemini": _gemini_events}


async def _wait_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _start(status: int, content_type: str, headers: dict[str, str] | None = None) -> dict:
    raw = [(b"content-type", content_type.encode())]
    raw.extend((k.encode(), v.encode()) for k, v in (headers or {}).items())
    return {"type": "http.response.start", "status": status, "headers": raw}


async def _body(send: Any, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _send(send: Any, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    await send(_start(status, "application/json", headers))
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


__all__ = [
    "ErrorReply",
    "FakeProviders",
    "JsonReply",
    "RecordedRequest",
    "Replay",
    "Reply",
    "Script",
    "StructuredCall",
]
