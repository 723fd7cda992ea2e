"""Two app instances on one PostgreSQL and a Redis this test owns: Redis is stopped for three
seconds while both sides keep chatting, then started again; every connected client ends up
with every stored message, without an app restart."""

from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
import redis
from sqlalchemy import select

from server.app import create_app
from server.db.models import ChatMessage
from server.settings import RedisSettings

from .conftest import TIMEOUT, Served, free_port, open_client, write_config

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from pathlib import Path
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings
    from tests.integration.conftest import Account

    from .conftest import Client


class OwnRedis:
    """A ``redis-server`` on a free port, no persistence; only this test stops it."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=1)
        for _ in range(200):
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def _collect(client: Client, ids: set[str], wanted: set[str]) -> None:
    """Read frames into ``ids`` (stored message ids seen) until it holds ``wanted``."""
    while not wanted <= ids:
        frame = await client.recv()
        if frame["event"] == "chat:message_received":
            ids.add(frame["data"]["message"]["id"])


async def test_fan_out_heals_after_a_redis_restart(
    settings: Settings,
    clean_db: str,
    tmp_path: Path,
    own_redis: OwnRedis,
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
    db: AsyncSession,
) -> None:
    config = write_config(tmp_path / "config.json")
    shared = replace(
        settings,
        app=replace(settings.app, config_path=config),
        redis=RedisSettings(url=own_redis.url),
    )
    instances = [Served(create_app(shared, clean_db)).start() for _ in range(2)]
    try:
        alice, bob = await make_account(), await make_account()
        project = await make_project({alice.id: "owner", bob.id: "editor"})
        async with (
            open_client(instances[0].ws, alice.token) as a,
            open_client(instances[1].ws, bob.token) as b,
        ):
            session = (await a.join(project))["data"]["session"]["id"]
            await b.join(project, session)
            await a.send("chat:send_message", {"content": "before", "client_message_id": "m1"})
            await a.until_reply()
            await b.until_reply()

            own_redis.stop()
            await a.send("chat:send_message", {"content": "during A", "client_message_id": "m2"})
            await b.send("chat:send_message", {"content": "during B", "client_message_id": "m3"})
            await asyncio.sleep(3)
            own_redis.start()

            async def stored() -> set[str]:
                rows = await db.scalars(
                    select(ChatMessage.id).where(ChatMessage.session_id == session)
                )
                return {str(r) for r in rows}

            # Both messages sent during the outage were stored and answered: 3 turns, 6 rows.
            for _ in range(int(TIMEOUT * 10)):
                if len(await stored()) == 6:
                    break
                await asyncio.sleep(0.1)
            wanted = await stored()
            assert len(wanted) == 6
            # Every connected client, on either instance, gets every stored message.
            await asyncio.wait_for(
                asyncio.gather(_collect(a, _already(a), wanted), _collect(b, _already(b), wanted)),
                TIMEOUT,
            )
            assert _already(a) >= wanted
            assert _already(b) >= wanted
    finally:
        for served in instances:
            served.stop()


def _already(client: Client) -> set[str]:
    """Ids of stored messages among the frames the client has read so far."""
    return {
        f["data"]["message"]["id"] for f in client.frames if f["event"] == "chat:message_received"
    }
