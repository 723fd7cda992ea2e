"""Fixtures for chat tests: the app served by uvicorn on a free port, config files for the
offline (`local`) and fake-OpenAI profiles, and a small WebSocket client."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
import pytest
import uvicorn
from websockets.asyncio.client import connect

from server.app import create_app
from server.settings import ChatSettings
from tests.fakes.fixtures import fake_providers

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from websockets.asyncio.client import ClientConnection

    from server.settings import Settings
    from tests.fakes import FakeProviders

__all__ = ["fake_providers"]

TIMEOUT = 20.0


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(
    path: Path, providers: dict[str, Any] | None = None, chain: list[dict[str, Any]] | None = None
) -> Path:
    """A config.json whose active profile ``chat`` is ``chain`` (default: the local provider)."""
    config = {
        "providers": providers or {"local": {"type": "local"}},
        "profiles": {"chat": {"chain": chain or [{"provider": "local"}], "max_tokens": 512}},
        "active_profile": "chat",
        "embeddings": {"provider": "local", "model": "wordllama-l2_supercat", "dimensions": 256},
    }
    path.write_text(json.dumps(config))
    return path


class Served:
    """An app running under uvicorn in a thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat"

    def start(self) -> Served:
        self.thread.start()
        for _ in range(400):
            if self.server.started:
                return self
            threading.Event().wait(0.025)
        raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def serve(settings: Settings, clean_db: str, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start the app on a free port: ``serve(config=path, **chat_settings)``."""
    started: list[Served] = []

    def start(config: Path | None = None, **chat: Any) -> Served:
        config = config or write_config(tmp_path / "config.json")
        app_settings = replace(
            settings, app=replace(settings.app, config_path=config), chat=ChatSettings(**chat)
        )
        app = create_app(app_settings, clean_db)
        served = Served(app).start()
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def fake_config(
    fake_providers: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A config whose active profile streams from the fake OpenAI server."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return write_config(
        tmp_path / "fake-config.json",
        fake_providers.providers_section(),
        [{"provider": "openai", "model": "gpt-4o"}],
    )


class Client:
    """A WebSocket chat client that keeps every frame it received."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.frames: list[dict[str, Any]] = []

    async def send(
        self, event: str, data: dict[str, Any] | None = None, ref: str | None = None
    ) -> None:
        frame: dict[str, Any] = {"event": event, "data": data if data is not None else {}}
        if ref is not None:
            frame["ref"] = ref
        await self.conn.send(json.dumps(frame, default=str))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv(), timeout)
        frame: dict[str, Any] = msgspec.json.decode(raw)
        self.frames.append(frame)
        return frame

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
    ) -> list[dict[str, Any]]:
        """Frames received up to and including the first that matches (``timeout``: the
        longest silence allowed between two frames)."""
        got = []
        while True:
            frame = await self.recv(timeout)
            got.append(frame)
            if predicate(frame):
                return got

    async def until_event(self, event: str) -> dict[str, Any]:
        frames = await self.until(lambda f: f["event"] == event)
        return frames[-1]

    async def until_reply(self) -> list[dict[str, Any]]:
        """Frames up to the stored assistant message (or an error)."""
        return await self.until(
            lambda f: (
                f["event"] == "chat:error"
                or (
                    f["event"] == "chat:message_received"
                    and f["data"]["message"]["role"] == "assistant"
                )
            )
        )

    async def join(
        self, project_id: Any, session_id: Any = None, after_seq: int | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"project_id": str(project_id)}
        if session_id is not None:
            data["session_id"] = str(session_id)
        if after_seq is not None:
            data["after_seq"] = after_seq
        await self.send("chat:join_session", data, ref="join")
        return await self.until_event(
            "chat:session_created" if session_id is None else "chat:session_joined"
        )

    async def close(self) -> None:
        await self.conn.close()


async def ws_ticket(ws_url: str, token: str) -> str:
    """A single-use ticket from ``POST /api/v1/auth/ws-ticket`` of the server at ``ws_url``."""
    base = ws_url.replace("ws://", "http://", 1).removesuffix("/ws/chat")
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        response = await http.post(
            "/api/v1/auth/ws-ticket", headers={"Authorization": f"Bearer {token}"}
        )
    response.raise_for_status()
    ticket: str = response.json()["ticket"]
    return ticket


def open_client(url: str, token: str, *, query: bool = False) -> Any:
    """``async with open_client(...) as client``: a connected :class:`Client`."""

    class _Ctx:
        async def __aenter__(self) -> Client:
            if query:  # a browser's way: trade the token for a ticket, put only that in the URL
                ticket = await ws_ticket(url, token)
                self.conn = await connect(f"{url}?ticket={ticket}", open_timeout=TIMEOUT)
            else:
                self.conn = await connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    open_timeout=TIMEOUT,
                )
            return Client(self.conn)

        async def __aexit__(self, *exc: object) -> None:
            await self.conn.close()

    return _Ctx()
