"""What one turn costs the database, counted with SQLAlchemy's engine events on the served app:
at most two transactions (store the message with its turn and plan; store the reply with its
memory), none of them rollback-only; and a pool whose connections are all busy queues work,
then refuses it as ``rate_limited``, never ``internal``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import create_async_engine

from server.app import services_of
from server.db import POOL_TIMEOUT_S, sqlalchemy_config
from server.errors import POOL_BUSY_RETRY_S, domain_error_of

from .conftest import open_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from tests.integration.conftest import Account

    from .conftest import Served

BACKGROUND = ("chat-access-watch", "chat-reply-sweep", "queue-sweep", "job:")
"""Tasks that run on their own clock whatever the clients do (access re-checks, sweeps, jobs)."""


class Transactions:
    """Begin, commit and rollback events of an engine, with the task each came from."""

    def __init__(self) -> None:
        self.recording = False
        self.events: list[tuple[str, str]] = []

    def listener(self, kind: str) -> Callable[..., None]:
        def record(*_: Any) -> None:
            if not self.recording:
                return
            task = asyncio.current_task()
            self.events.append((kind, task.get_name() if task is not None else "-"))

        return record

    def of_the_turn(self, kind: str) -> list[str]:
        """The tasks that emitted ``kind`` events, leaving out the background loops."""
        return [
            task for seen, task in self.events if seen == kind and not task.startswith(BACKGROUND)
        ]


async def test_a_turn_costs_at_most_two_transactions_and_no_rollback(
    serve: Callable[..., Served],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    served = serve()
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    engine = services_of(served.app).runtime.alchemy.get_engine().sync_engine
    counted = Transactions()
    for kind in ("begin", "commit", "rollback"):
        event.listen(engine, kind, counted.listener(kind))
    async with open_client(served.ws, alice.token) as client:
        await client.join(project)
        # A first turn creates what is created once (the memory's vector index).
        await client.send("chat:send_message", {"content": "Hello there", "client_message_id": "1"})
        first = await client.until_reply()
        assert first[-1]["event"] == "chat:message_received", first[-1]

        counted.recording = True
        await client.send(
            "chat:send_message",
            {"content": "What did I say before?", "client_message_id": "2"},
        )
        frames = await client.until_reply()
        counted.recording = False

    reply = frames[-1]
    assert reply["event"] == "chat:message_received", reply
    assert reply["data"]["message"]["status"] == "complete"
    assert any(f["event"] == "chat:message_delta" for f in frames)
    begins = counted.of_the_turn("begin")
    assert len(begins) <= 2, counted.events
    assert len(counted.of_the_turn("commit")) == len(begins), counted.events
    assert counted.of_the_turn("rollback") == [], counted.events


async def test_a_pool_busy_past_its_timeout_is_rate_limited_not_internal(clean_db: str) -> None:
    """Every connection of a (one-connection) pool held: the next checkout waits out the pool's
    timeout and becomes ``rate_limited`` with a retry delay, which the socket and the HTTP
    handler send as such."""
    config = sqlalchemy_config(clean_db, pool_size=1)
    engine = create_async_engine(clean_db, pool_size=1, max_overflow=0, pool_timeout=0.5)
    try:
        async with engine.connect():
            with pytest.raises(PoolTimeout) as waited:
                async with engine.connect():
                    pass
    finally:
        await engine.dispose()
    refused = domain_error_of(waited.value)
    assert refused is not None
    assert (refused.code, refused.retry_after) == ("rate_limited", POOL_BUSY_RETRY_S)
    engine_config = config.engine_config
    assert engine_config.pool_pre_ping is False
    assert engine_config.pool_timeout == POOL_TIMEOUT_S
