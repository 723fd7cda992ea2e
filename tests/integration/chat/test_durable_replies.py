"""A server killed with SIGKILL in the middle of a reply loses nothing: the other instance (on
one PostgreSQL and Redis), or the same server started again (no Redis), takes the turn over once
its lease has run out, stores it ``interrupted`` with the text streamed so far, tells the
session, and answers the turns that were waiting behind it; a turn that had not started is
answered in full. Real processes, a real kill."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import redis
from sqlalchemy import func, select

from server.db.models import ChatMessage, ChatSession, ChatTurn

from .conftest import free_port, open_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from pathlib import Path
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings
    from tests.fakes import FakeProviders
    from tests.integration.conftest import Account

    from .conftest import Client, Served

REDIS_DB_URL = os.environ.get("TEST_CHAT_REDIS_URL", "redis://127.0.0.1:6379/14")
LEASE_S = "4"
"""``CHAT_REPLY_LEASE`` of the instances: short, so that the test is."""
DEADLINE_S = 60
"""Generous bound for a takeover (lease and sweep are a few seconds)."""
WORDS = " ".join(f"word{n}" for n in range(120))
"""A reply that streams for about 30 s (one word every 0.25 s): killed long before its end."""


class Instance:
    """One server process (``uvicorn --factory server.app:create_app``)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "server.app:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 180
        while True:
            assert self.process.poll() is None, f"the server exited:\n{log.read_text()}"
            try:
                if httpx.get(f"{self.http}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the server did not start:\n{log.read_text()}"
            time.sleep(0.2)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat"

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, the lease is left as it was."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def instances(
    settings: Settings, clean_db: str, fake_config: Path, tmp_path: Path
) -> Iterator[Callable[..., Instance]]:
    """``instances(redis=...)`` starts one more server on the test's database."""
    started: list[Instance] = []

    def start(*, redis_url: str | None = None) -> Instance:
        n = len(started)
        data_dir = tmp_path / f"instance{n}"
        data_dir.mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": clean_db,
            "ASSISTANT_CONFIG": str(fake_config),
            "SECRET_KEY": settings.app.secret_key,
            "DATA_DIR": str(data_dir),
            "CHAT_REPLY_LEASE": LEASE_S,
        }
        env.pop("REDIS_URL", None)
        if redis_url is not None:
            env["REDIS_URL"] = redis_url
        instance = Instance(env, tmp_path / f"instance{n}.log")
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_DB_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


async def _partial_saved(db: AsyncSession, turn_id: str) -> str:
    """Wait until the turn's partial text has been saved at least once; return it."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        db.expire_all()
        partial = await db.scalar(select(ChatTurn.partial).where(ChatTurn.id == turn_id))
        await db.commit()
        if partial:
            return partial
        await asyncio.sleep(0.2)
    raise AssertionError("the reply's partial text was never saved")


async def _reply(client: Client, reply_id: str) -> dict[str, Any]:
    """The stored message ``reply_id``, however long the takeover takes (within the deadline)."""

    def stored(frame: dict[str, Any]) -> bool:
        return (
            frame["event"] == "chat:message_received" and frame["data"]["message"]["id"] == reply_id
        )

    # Nothing arrives while the lease runs out: the deadline bounds the silence too.
    frames = await asyncio.wait_for(client.until(stored, timeout=DEADLINE_S), DEADLINE_S)
    message: dict[str, Any] = frames[-1]["data"]["message"]
    return message


async def _stored_replies(db: AsyncSession, session_id: str) -> list[ChatMessage]:
    db.expire_all()
    rows = await db.scalars(
        select(ChatMessage)
        .where(ChatMessage.session_id == session_id, ChatMessage.role == "assistant")
        .order_by(ChatMessage.seq)
    )
    return list(rows)


async def test_the_other_instance_takes_over_a_reply_whose_instance_was_killed(
    instances: Callable[..., Instance],
    fake_providers: FakeProviders,
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
    db: AsyncSession,
) -> None:
    if not _redis_up():
        pytest.skip(f"Redis is not reachable at {REDIS_DB_URL}")
    fake_providers.openai.queue_stream(WORDS, chunk_delay=0.25)
    fake_providers.openai.queue_stream("the answer to the waiting question")
    alice, bob = await make_account(), await make_account()
    project = await make_project({alice.id: "owner", bob.id: "editor"})
    doomed, survivor = instances(redis_url=REDIS_DB_URL), instances(redis_url=REDIS_DB_URL)

    async with open_client(doomed.ws, alice.token) as a, open_client(survivor.ws, bob.token) as b:
        session = (await a.join(project))["data"]["session"]
        await b.join(project, session["id"])
        await a.send("chat:send_message", {"content": "Tell me all", "client_message_id": "a1"})
        delta = await b.until_event("chat:message_delta")
        reply_id = delta["data"]["message_id"]
        partial = await _partial_saved(db, reply_id)
        # Bob asks on the other instance while the reply streams: his turn waits behind it.
        await b.send("chat:send_message", {"content": "And then?", "client_message_id": "b1"})
        asked = await b.until(
            lambda f: (
                f["event"] == "chat:message_received"
                and f["data"]["message"]["content"] == "And then?"
            )
        )
        question_id = asked[-1]["data"]["message"]["id"]

        doomed.kill()

        interrupted = await _reply(b, reply_id)
        assert interrupted["status"] == "interrupted"
        assert interrupted["content"].startswith(partial)
        assert WORDS.startswith(interrupted["content"])
        answered = await asyncio.wait_for(b.until_reply(), DEADLINE_S)
        answer = answered[-1]["data"]["message"]
        assert answer["content"] == "the answer to the waiting question"
        assert answer["status"] == "complete"
        assert answer["reply_to"] == question_id

    replies = await _stored_replies(db, session["id"])
    assert [(str(r.id), r.status) for r in replies] == [
        (reply_id, "interrupted"),
        (answer["id"], "complete"),
    ]
    assert await db.scalar(select(func.count()).select_from(ChatTurn)) == 0
    assert len(fake_providers.openai.requests) == 2


async def test_a_restarted_server_takes_over_the_reply_it_was_killed_in(
    instances: Callable[..., Instance],
    fake_providers: FakeProviders,
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
    db: AsyncSession,
) -> None:
    fake_providers.openai.queue_stream(WORDS, chunk_delay=0.25)
    fake_providers.openai.queue_stream("after the restart")
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    first = instances()  # no Redis: in-memory channels and queue

    async with open_client(first.ws, alice.token) as client:
        session = (await client.join(project))["data"]["session"]
        await client.send("chat:send_message", {"content": "Go on", "client_message_id": "1"})
        delta = await client.until_event("chat:message_delta")
        reply_id = delta["data"]["message_id"]
        partial = await _partial_saved(db, reply_id)
        first.kill()

    again = instances()
    async with open_client(again.ws, alice.token) as client:
        joined = await client.join(project, session["id"], after_seq=0)
        stored = [m for m in joined["data"]["messages"] if m["id"] == reply_id]
        interrupted = stored[0] if stored else await _reply(client, reply_id)
        assert interrupted["status"] == "interrupted"
        assert interrupted["content"].startswith(partial)
        # The session goes on: the next message is answered in full.
        await client.send("chat:send_message", {"content": "Again", "client_message_id": "2"})
        answered = await client.until_reply()
        assert answered[-1]["data"]["message"]["content"] == "after the restart"

    replies = await _stored_replies(db, session["id"])
    assert [r.status for r in replies] == ["interrupted", "complete"]
    assert await db.scalar(select(func.count()).select_from(ChatTurn)) == 0


async def test_a_turn_whose_instance_died_before_answering_is_answered_in_full(
    serve: Callable[..., Served],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
    db: AsyncSession,
) -> None:
    # What an instance killed between claiming a turn and planning it leaves behind: a stored
    # question and its turn, held by an owner that is gone, lease run out, nothing started.
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    chat_session = ChatSession(project_id=project, created_by=alice.id, last_seq=1)
    db.add(chat_session)
    await db.flush()
    question = ChatMessage(
        session_id=chat_session.id,
        project_id=project,
        seq=1,
        role="user",
        content="What should the plan cover?",
        client_message_id="q",
        author_id=alice.id,
    )
    db.add(question)
    await db.flush()
    turn = ChatTurn(
        session_id=chat_session.id,
        project_id=project,
        user_id=alice.id,
        message_id=question.id,
        status="running",
        started=False,
        owner="gone:1:00000000",
        lease_until=datetime.now(UTC) - timedelta(seconds=1),
        partial="",
        attempts=1,
    )
    db.add(turn)
    await db.commit()

    served = serve()  # its first sweep runs as it starts
    async with open_client(served.ws, alice.token) as client:
        joined = await client.join(project, chat_session.id, after_seq=0)
        stored = [m for m in joined["data"]["messages"] if m["role"] == "assistant"]
        reply = stored[0] if stored else await _reply(client, str(turn.id))

    assert reply["id"] == str(turn.id)
    assert reply["status"] == "complete"
    assert reply["reply_to"] == str(question.id)
    assert reply["content"]
    assert await db.scalar(select(func.count()).select_from(ChatTurn)) == 0
