"""Two server processes sharing PostgreSQL and Redis: a user on one and a collaborator on the
other see the same messages, deltas, typing and phase events, in the same order."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import redis

from tests.conftest import ROOT

from .conftest import free_port, open_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from pathlib import Path
    from uuid import UUID

    from server.settings import Settings
    from tests.fakes import FakeProviders
    from tests.integration.conftest import Account

REDIS_DB_URL = os.environ.get("TEST_CHAT_REDIS_URL", "redis://127.0.0.1:6379/14")


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_DB_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _start(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "server.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env=env)


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


@pytest.fixture
def two_servers(
    settings: Settings, clean_db: str, fake_config: Path, tmp_path: Path
) -> Iterator[tuple[int, int]]:
    """Two ``uvicorn`` processes of the app on one database and one Redis."""
    if not _redis_up():
        pytest.skip(f"Redis is not reachable at {REDIS_DB_URL}")
    # The repository's workflow templates, so that projects get phases and phase events.
    config = json.loads(fake_config.read_text())
    config["workflows"] = json.loads((ROOT / "config.json").read_text())["workflows"]
    fake_config.write_text(json.dumps(config))
    ports = (free_port(), free_port())
    processes = []
    for n, port in enumerate(ports):
        data_dir = tmp_path / f"instance{n}"
        data_dir.mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": clean_db,
            "REDIS_URL": REDIS_DB_URL,
            "ASSISTANT_CONFIG": str(fake_config),
            "SECRET_KEY": settings.app.secret_key,
            "DATA_DIR": str(data_dir),
        }
        processes.append(_start(port, env))
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_healthy(port, process)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


async def test_participants_on_two_instances_see_the_same_events(
    two_servers: tuple[int, int],
    fake_providers: FakeProviders,
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    fake_providers.openai.queue_stream(
        "alpha beta gamma delta epsilon zeta eta theta", chunk_delay=0.02
    )
    fake_providers.openai.queue_stream("second reply from the other instance", chunk_delay=0.02)
    alice, bob = await make_account(), await make_account()
    project = await make_project({alice.id: "owner", bob.id: "editor"})
    url_a, url_b = (f"ws://127.0.0.1:{port}/ws/chat" for port in two_servers)

    def reply_done(content: str) -> Callable[[dict[str, Any]], bool]:
        return lambda f: (
            f["event"] == "chat:message_received" and f["data"]["message"]["content"] == content
        )

    async with open_client(url_a, alice.token) as a, open_client(url_b, bob.token) as b:
        session = (await a.join(project))["data"]["session"]
        await b.join(project, session["id"])
        await b.send("chat:typing", {"is_typing": True})
        typing = await a.until_event("chat:typing_indicator")
        assert typing["data"] == {"user_id": str(bob.id), "is_typing": True}
        await b.until_event("chat:typing_indicator")

        await a.send("chat:send_message", {"content": "From instance A", "client_message_id": "a1"})
        first = "alpha beta gamma delta epsilon zeta eta theta"
        frames_a = await a.until(reply_done(first))
        frames_b = await b.until(reply_done(first))
        assert frames_a == frames_b
        # Streamed, not one lump: eight words 20 ms apart (the 60 Hz delta pacer may join two
        # that arrive together when the machine stalls, so not necessarily eight frames).
        assert sum(f["event"] == "chat:message_delta" for f in frames_b) >= 4

        await b.send("chat:send_message", {"content": "From instance B", "client_message_id": "b1"})
        second = "second reply from the other instance"
        frames_b = await b.until(reply_done(second))
        frames_a = await a.until(reply_done(second))
        assert frames_a == frames_b
        seqs = [
            f["data"]["message"]["seq"] for f in frames_a if f["event"] == "chat:message_received"
        ]
        assert seqs == [3, 4]

    async with open_client(url_b, alice.token) as late:
        joined = await late.join(project, session["id"], after_seq=0)
        assert [m["seq"] for m in joined["data"]["messages"]] == [1, 2, 3, 4]
    assert len(fake_providers.openai.requests) == 2


async def test_phase_events_reach_both_instances_in_the_same_order(
    two_servers: tuple[int, int], make_account: Callable[..., Awaitable[Account]]
) -> None:
    alice, bob = await make_account(), await make_account()
    http_a, http_b = (f"http://127.0.0.1:{port}" for port in two_servers)
    async with httpx.AsyncClient(timeout=30) as http:
        created = await http.post(
            f"{http_a}/api/v1/projects",
            json={"name": "Shared plan", "template": "business-plan"},
            headers=alice.headers,
        )
        assert created.status_code == 201, created.text
        project = created.json()["id"]
        invited = await http.post(
            f"{http_a}/api/v1/projects/{project}/invitations",
            json={"role": "editor"},
            headers=alice.headers,
        )
        accepted = await http.post(
            f"{http_b}/api/v1/invitations/accept",
            json={"token": invited.json()["token"]},
            headers=bob.headers,
        )
        assert accepted.status_code == 200, accepted.text
    url_a, url_b = (f"ws://127.0.0.1:{port}/ws/chat" for port in two_servers)

    def phase_events(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [f for f in frames if f["event"].startswith("phase:")]

    def reply_to_goto(f: dict[str, Any]) -> bool:
        message = f["data"].get("message", {})
        return f["event"] == "chat:message_received" and message.get("role") == "assistant"

    async with open_client(url_a, alice.token) as a, open_client(url_b, bob.token) as b:
        session = (await a.join(project))["data"]["session"]
        await b.join(project, session["id"])
        await b.send("phase:goto", {"number": 3}, ref="goto")
        frames_b = await b.until(reply_to_goto)
        frames_a = await a.until(reply_to_goto)
        moved = phase_events(frames_a)
        assert moved, frames_a
        assert moved == phase_events(frames_b)
        assert any(f["data"]["phase"]["number"] == 3 for f in moved)


async def test_diagnostics_list_every_instance_with_its_websockets(
    two_servers: tuple[int, int],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    alice, bob = await make_account(), await make_account()
    admin = await make_account(role="admin")
    project = await make_project({alice.id: "owner", bob.id: "editor"})
    http_a, http_b = (f"http://127.0.0.1:{port}" for port in two_servers)
    url_a, url_b = (f"ws://127.0.0.1:{port}/ws/chat" for port in two_servers)

    async def diagnostics(base: str) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            r = await http.get("/api/v1/admin/diagnostics", headers=admin.headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async with (
        open_client(url_a, alice.token) as a,
        open_client(url_b, bob.token) as b1,
        open_client(url_b, bob.token) as b2,
    ):
        session = (await a.join(project))["data"]["session"]
        await b1.join(project, session["id"])
        await b2.join(project)
        id_b = (await diagnostics(http_b))["instance"]["id"]
        for _ in range(100):  # instances write a heartbeat every 2 s
            report = await diagnostics(http_a)
            by_id = {i["id"]: i for i in report["instances"]}
            if by_id.get(id_b, {}).get("sessions") == 2:
                break
            await asyncio.sleep(0.2)
        here = report["instance"]
        assert report["instances"][0] == here
        assert (here["websocket_connections"], here["sessions"], here["users"]) == (1, 1, 1)
        there = by_id[id_b]
        assert (there["websocket_connections"], there["sessions"], there["users"]) == (2, 2, 1)
