"""Which server instances are up, and their WebSockets, shared through Redis for diagnostics.

With ``REDIS_URL`` set, every instance writes its open connections, joined sessions and users
under its own key every :data:`HEARTBEAT_S` seconds, with an expiry of a few beats: an instance
that stops (or dies) drops out of the list by itself. Without Redis there is one instance and
diagnostics reads it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from redis.exceptions import RedisError

from .schemas import Instance

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = structlog.get_logger()

INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}"
"""Names the process in diagnostics: many may serve behind one load balancer."""
HEARTBEAT_S = 2.0
KEY_PREFIX = "ua-instances:"


def this_instance(chat: Any) -> Instance:
    """This process's open WebSockets, the distinct sessions they joined, and their users."""
    live = list(chat.live) if chat is not None else []
    sessions = {c.chat_session.id for c in live if c.chat_session is not None}
    users = {c.user.id for c in live}
    return Instance(INSTANCE_ID, len(live), len(sessions), len(users), datetime.now(UTC))


class Presence:
    """This instance's heartbeat in Redis (nothing to do without Redis)."""

    def __init__(self, redis: Redis | None, chat: Any) -> None:
        self._redis = redis
        self._chat = chat
        self._task: asyncio.Task[None] | None = None

    async def _beat(self, redis: Redis) -> None:
        key = KEY_PREFIX + INSTANCE_ID
        while True:
            try:
                encoded = msgspec.json.encode(this_instance(self._chat))
                await redis.set(key, encoded, ex=int(HEARTBEAT_S * 5))
            except RedisError as exc:  # Redis down: diagnostics shows fewer instances
                logger.warning("presence heartbeat failed", error=str(exc))
            await asyncio.sleep(HEARTBEAT_S)

    def start(self) -> None:
        """Write this instance's heartbeat every :data:`HEARTBEAT_S` seconds."""
        if self._redis is not None:
            self._task = asyncio.create_task(self._beat(self._redis))

    async def stop(self) -> None:
        """Stop the heartbeat and remove this instance's entry."""
        if self._task is None or self._redis is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(RedisError):
            await self._redis.delete(KEY_PREFIX + INSTANCE_ID)


async def instances(redis: Redis | None, chat: Any) -> list[Instance]:
    """Every live instance, this one first (read now, not from its last heartbeat)."""
    here = this_instance(chat)
    found = [here]
    if redis is None:
        return found
    try:
        keys = [key async for key in redis.scan_iter(match=KEY_PREFIX + "*", count=500)]
        values = await redis.mget(keys) if keys else []
    except RedisError as exc:
        logger.warning("presence read failed", error=str(exc))
        return found
    others = [msgspec.json.decode(v, type=Instance) for v in values if v is not None]
    found += sorted((i for i in others if i.id != here.id), key=lambda i: i.id)
    return found
