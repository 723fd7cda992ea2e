"""Chat over WebSocket: turns/s, server-added latency to the first delta, and memory per idle
connection, beside a bare Litestar WebSocket handler measured in the same run.

Both servers run as their own uvicorn processes on this machine. The chat server uses the
embedded PostgreSQL and a zero-latency provider that streams ``TOKENS`` tokens, so what is
measured is our code: auth, frame decoding, storage of both messages, the planner (recent
window, document search and recall with the local embedder), fan-out over channels, and the
final store. The baseline is a bare ``@websocket`` handler that answers each frame with
``TOKENS`` frames: the floor for streaming that many frames through Litestar and uvicorn.

Run: ``uv run python -m bench.bench_chat`` (``make bench-chat``). Writes
bench/results/chat.json.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from litestar import Litestar, WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from websockets.asyncio.client import connect

from server.app import services_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from providers import ChatRequest, StreamEnd, TextDelta

TOKENS = 100
SESSIONS = 40
TURNS = 8
IDLE_CONNECTIONS = 1000
SECRET = "bench-secret-key-" + "x" * 32
RESULTS = Path(__file__).resolve().parent / "results" / "chat.json"


class ZeroLatencyChat:
    """A provider that streams ``TOKENS`` tokens at once (no network, no model)."""

    name = "local"

    async def stream(
        self, request: ChatRequest, model: str
    ) -> AsyncIterator[TextDelta | StreamEnd]:
        from providers import StreamEnd, TextDelta, Usage  # noqa: PLC0415

        for n in range(TOKENS):
            yield TextDelta(text=f"t{n} ", provider=self.name)
        yield StreamEnd(usage=Usage(10, TOKENS), finish_reason="stop")


def serve_chat(port: int) -> None:
    """The app with the zero-latency provider in place of ``local``."""
    from server.app import create_app  # noqa: PLC0415

    app = create_app()

    async def zero_latency(app: Litestar) -> None:
        registry = services_of(app).config_store.registry
        registry.chat = {**registry.chat, "local": ZeroLatencyChat()}

    app.on_startup.append(zero_latency)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@websocket("/ws/echo")
async def echo(socket: WebSocket[Any, Any, Any]) -> None:
    """Answer every text frame with ``TOKENS`` frames."""
    await socket.accept()
    try:
        while True:
            text = await socket.receive_text()
            for n in range(TOKENS):
                await socket.send_text(f"{text}:{n}")
    except WebSocketDisconnect:
        return


def serve_echo(port: int) -> None:
    """The bare Litestar baseline."""
    uvicorn.run(Litestar([echo]), host="127.0.0.1", port=port, log_level="warning")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _spawn(kind: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bench.bench_chat", kind, str(port)]
    return subprocess.Popen(command, env=env)  # noqa: S603 - our own module, fixed arguments


def _wait(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{path} server exited")
        try:
            httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
        else:
            return
    raise RuntimeError(f"{path} server did not start")


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _database(root: Path) -> tuple[str, str, uuid.UUID]:
    """A migrated database with one user in one project: (url, token, project id)."""
    from sqlalchemy import text  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from server.accounts.security import encode_access_token  # noqa: PLC0415
    from server.db.embedded import start_embedded  # noqa: PLC0415
    from server.db.migrate import upgrade  # noqa: PLC0415
    from server.db.models import Project, ProjectMember, User  # noqa: PLC0415

    admin = start_embedded(root, "postgres")
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text('CREATE DATABASE "bench_chat"'))
    await engine.dispose()
    url = admin.replace("/postgres?", "/bench_chat?", 1)
    await asyncio.to_thread(upgrade, url)
    engine = create_async_engine(url)
    from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: PLC0415

    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        # An account nobody logs in to: the token is minted below.
        user = User(email="bench@example.org", password_hash="-", role="user")  # noqa: S106
        project = Project(name="Bench", template="business-plan")
        db.add_all([user, project])
        await db.flush()
        db.add(ProjectMember(project_id=project.id, user_id=user.id, role="owner"))
        await db.commit()
    await engine.dispose()
    return url, encode_access_token(user.id, uuid.uuid4(), 3600, SECRET), project.id


async def _chat_session(url: str, token: str, project: uuid.UUID, turns: int) -> list[float]:
    """One session: ``turns`` messages, each waited for; seconds to the first delta of each."""
    latencies = []
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(
            json.dumps({"event": "chat:join_session", "data": {"project_id": str(project)}})
        )
        while json.loads(await ws.recv())["event"] != "chat:session_created":
            pass
        for n in range(turns):
            frame = {
                "content": f"message {n} about the bakery plan",
                "client_message_id": uuid.uuid4().hex,
            }
            started = time.perf_counter()
            await ws.send(json.dumps({"event": "chat:send_message", "data": frame}))
            first = None
            while True:
                got = json.loads(await ws.recv())
                if got["event"] == "chat:message_delta" and first is None:
                    first = time.perf_counter() - started
                if (
                    got["event"] == "chat:message_received"
                    and got["data"]["message"]["role"] == "assistant"
                ):
                    break
            assert first is not None
            latencies.append(first)
    return latencies


async def _echo_session(url: str, turns: int) -> list[float]:
    latencies = []
    async with connect(url) as ws:
        for n in range(turns):
            started = time.perf_counter()
            await ws.send(f"m{n}")
            first = None
            for _ in range(TOKENS):
                await ws.recv()
                if first is None:
                    first = time.perf_counter() - started
            assert first is not None
            latencies.append(first)
    return latencies


async def _turns(run: Any) -> dict[str, float]:
    started = time.perf_counter()
    results = await asyncio.gather(*(run() for _ in range(SESSIONS)))
    wall = time.perf_counter() - started
    latencies = sorted(x for r in results for x in r)
    return {
        "turns": len(latencies),
        "turns_per_s": round(len(latencies) / wall, 1),
        "first_delta_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "first_delta_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


async def _idle_memory(pid: int, open_one: Any) -> dict[str, float]:
    """Server RSS growth per connection with ``IDLE_CONNECTIONS`` idle connections open."""
    gc.collect()
    await asyncio.sleep(1)
    before = _rss_kib(pid)
    conns = []
    for start in range(0, IDLE_CONNECTIONS, 100):
        conns.extend(await asyncio.gather(*(open_one(i) for i in range(start, start + 100))))
    await asyncio.sleep(2)
    after = _rss_kib(pid)
    for conn in conns:
        await conn.close()
    return {
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "kib_per_connection": round((after - before) / IDLE_CONNECTIONS, 1),
    }


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        root = Path(tmp)
        (root / "pg").mkdir()
        db_url, token, project = await _database(root / "pg")
        config = root / "config.json"
        config.write_text(
            json.dumps(
                {
                    "providers": {"local": {"type": "local"}},
                    "profiles": {"bench": {"chain": [{"provider": "local"}]}},
                    "active_profile": "bench",
                }
            )
        )
        (root / "data").mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "SECRET_KEY": SECRET,
            "DATA_DIR": str(root / "data"),
            "ASSISTANT_CONFIG": str(config),
            "CHAT_MAX_CONNECTIONS": "100000",
            "CHAT_MESSAGES_PER_MINUTE": "1000000",
            "CHAT_IDLE_TIMEOUT": "3600",
        }
        env.pop("REDIS_URL", None)
        chat_port, echo_port = _free_port(), _free_port()
        chat, bare = _spawn("serve-chat", chat_port, env), _spawn("serve-echo", echo_port, env)
        try:
            _wait(chat_port, "/health", chat)
            _wait(echo_port, "/", bare)
            chat_url, echo_url = (
                f"ws://127.0.0.1:{chat_port}/ws/chat",
                f"ws://127.0.0.1:{echo_port}/ws/echo",
            )
            await _chat_session(chat_url, token, project, 2)  # warm up
            await _echo_session(echo_url, 2)
            results: dict[str, Any] = {
                "tokens_per_reply": TOKENS,
                "sessions": SESSIONS,
                "turns_per_session": TURNS,
            }
            results["chat"] = await _turns(lambda: _chat_session(chat_url, token, project, TURNS))
            results["echo"] = await _turns(lambda: _echo_session(echo_url, TURNS))
            headers = {"Authorization": f"Bearer {token}"}
            session_ids: list[str] = []

            async def open_chat(i: int) -> Any:
                ws = await connect(chat_url, additional_headers=headers)
                data: dict[str, Any] = {"project_id": str(project)}
                if session_ids:
                    data["session_id"] = session_ids[i % len(session_ids)]
                await ws.send(json.dumps({"event": "chat:join_session", "data": data}))
                joined = json.loads(await ws.recv())
                if not session_ids:
                    session_ids.append(joined["data"]["session"]["id"])
                return ws

            await open_chat(0)
            results["chat"].update(await _idle_memory(chat.pid, open_chat))
            results["echo"].update(await _idle_memory(bare.pid, lambda _i: connect(echo_url)))
        finally:
            for process in (chat, bare):
                process.terminate()
                process.wait(timeout=30)
    _report(results)


def _report(results: dict[str, Any]) -> None:
    rows = [
        ("turns/s", "turns_per_s"),
        ("first delta p50 (ms)", "first_delta_p50_ms"),
        ("first delta p99 (ms)", "first_delta_p99_ms"),
        (f"KiB per idle connection ({IDLE_CONNECTIONS})", "kib_per_connection"),
    ]
    print(f"{SESSIONS} concurrent sessions x {TURNS} turns, {TOKENS} tokens per reply")
    print(f"{'':34} {'chat (ours)':>14} {'bare echo':>14}")
    for label, key in rows:
        print(f"{label:34} {results['chat'][key]:>14} {results['echo'][key]:>14}")
    added = results["chat"]["first_delta_p50_ms"] - results["echo"]["first_delta_p50_ms"]
    results["server_added_first_delta_p50_ms"] = round(added, 2)
    print(f"server-added latency to first delta (p50, chat - echo): {added:.2f} ms")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve-chat":
        serve_chat(int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "serve-echo":
        serve_echo(int(sys.argv[2]))
    else:
        asyncio.run(main())
