"""Fan-out of server frames to WebSocket (and SSE) clients, across server instances.

Frames travel as ready-to-send JSON over Litestar channels: the memory backend in the embedded
default, Redis pub/sub when ``REDIS_URL`` is set, so that a worker process or another server
instance reaches every connected client. Channel names: ``project:<id>`` for project-wide events
(documents, exports, phases) and ``session:<id>`` for one chat session's messages, deltas and
typing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
import structlog
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.exceptions import RedisError

from ._frames import Resync, ResyncData

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Iterable
    from uuid import UUID

    from litestar.channels.backends.base import ChannelsBackend

    from ._frames import ServerFrame

KEY_PREFIX = "ua-events"
RESYNC = msgspec.json.encode(Resync(ResyncData(after_seq=-1)))
"""Delivered on every channel after the subscription to Redis was lost and restored: frames
published meanwhile are gone, so a subscriber catches up from the database (the chat socket
replays the messages after the last one it sent; ``after_seq`` -1 means "the subscriber's
own")."""
MIN_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0
logger = structlog.get_logger()


def project_channel(project_id: UUID | str) -> str:
    """Channel of project-wide events."""
    return f"project:{project_id}"


def session_channel(session_id: UUID | str) -> str:
    """Channel of one chat session's events."""
    return f"session:{session_id}"


class HealingRedisBackend(RedisChannelsPubSubBackend):
    """Redis pub/sub that survives Redis going away.

    Litestar's backend ends its event stream at the first connection error, and with it every
    subscription of the process, for good. This one waits (with backoff, 0.1 s doubling to 5 s),
    opens a new pub/sub connection, subscribes again to every channel it had, and then delivers
    :data:`RESYNC` on each of them so that subscribers catch up from the database.
    """

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        """Events of the subscribed channels, across Redis restarts."""
        delay = MIN_BACKOFF_S
        while True:
            try:
                async for event in super().stream_events():
                    delay = MIN_BACKOFF_S
                    yield event
            except (RedisError, OSError) as error:
                logger.warning("redis subscription lost", error=str(error), retry_in_s=delay)
            channels = self._subscribed_channels()
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                try:
                    await self._reconnect(channels)
                    break
                except (RedisError, OSError) as error:
                    logger.warning("redis still away", error=str(error), retry_in_s=delay)
            logger.info("redis subscription restored", channels=len(channels))
            for channel in channels:
                yield channel, RESYNC

    def _subscribed_channels(self) -> list[str]:
        pub_sub = self._pub_sub
        live = pub_sub.channels.keys() - pub_sub.pending_unsubscribe_channels
        return [c.decode() if isinstance(c, bytes) else str(c) for c in live]

    async def _reconnect(self, channels: list[str]) -> None:
        old = self._pub_sub
        self._RedisChannelsPubSubBackend__pub_sub = None  # a fresh PubSub on a new connection
        try:
            await old.aclose()  # type: ignore[no-untyped-call]
        except (RedisError, OSError):
            logger.debug("closing the lost pub/sub failed", exc_info=True)
        if channels:
            await self.subscribe(channels)


def channels_backend(redis_url: str | None) -> ChannelsBackend:
    """Redis pub/sub (healing, see :class:`HealingRedisBackend`) when a Redis URL is configured,
    else in-process memory."""
    if redis_url is None:
        return MemoryChannelsBackend()
    from redis.asyncio import Redis  # noqa: PLC0415

    return HealingRedisBackend(redis=Redis.from_url(redis_url), key_prefix=KEY_PREFIX)


def channels_plugin(redis_url: str | None) -> ChannelsPlugin:
    """The app's channels plugin; subscribers that fall behind drop their oldest frames."""
    return ChannelsPlugin(
        backend=channels_backend(redis_url),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=1000,
        subscriber_backlog_strategy="dropleft",
    )


class Publisher(Protocol):
    """Something that delivers frames to channels: the app's plugin or a worker's backend."""

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        """Deliver ``data`` to every subscriber of ``channels``."""
        ...


class PluginPublisher:
    """Publishes through the app's ``ChannelsPlugin`` (in-process workers and handlers)."""

    def __init__(self, plugin: ChannelsPlugin) -> None:
        self._plugin = plugin

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        """Hand ``data`` to the backend for ``channels``.

        When Redis is away the frame is dropped (and logged), never the work that made it: what
        it announced is in the database, and subscribers catch up when Redis is back.
        """
        try:
            await self._plugin.wait_published(data, list(channels))
        except (RedisError, OSError) as error:
            logger.warning("event not fanned out: redis is away", error=str(error))


async def emit(publisher: Publisher, channels: Iterable[str], frame: ServerFrame) -> None:
    """Send ``frame`` to every client subscribed to ``channels``: the one way events leave."""
    await publisher.publish(msgspec.json.encode(frame), channels)
