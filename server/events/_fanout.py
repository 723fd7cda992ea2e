"""Fan-out of server frames to WebSocket (and SSE) clients, across server instances.

Frames travel as ready-to-send JSON over Litestar channels: the memory backend in the embedded
default, Redis pub/sub when ``REDIS_URL`` is set, so that a worker process or another server
instance reaches every connected client. Channel names: ``project:<id>`` for project-wide events
(documents, exports, phases) and ``session:<id>`` for one chat session's messages, deltas and
typing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend

if TYPE_CHECKING:
    from collections.abc import Iterable
    from uuid import UUID

    from litestar.channels.backends.base import ChannelsBackend

    from ._frames import ServerFrame

KEY_PREFIX = "ua-events"


def project_channel(project_id: UUID | str) -> str:
    """Channel of project-wide events."""
    return f"project:{project_id}"


def session_channel(session_id: UUID | str) -> str:
    """Channel of one chat session's events."""
    return f"session:{session_id}"


def channels_backend(redis_url: str | None) -> ChannelsBackend:
    """Redis pub/sub when a Redis URL is configured, else in-process memory."""
    if redis_url is None:
        return MemoryChannelsBackend()
    from redis.asyncio import Redis  # noqa: PLC0415

    return RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url), key_prefix=KEY_PREFIX)


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
        """Queue ``data`` for ``channels`` and wait until the backend has it."""
        await self._plugin.wait_published(data, list(channels))


async def emit(publisher: Publisher, channels: Iterable[str], frame: ServerFrame) -> None:
    """Send ``frame`` to every client subscribed to ``channels``: the one way events leave."""
    await publisher.publish(msgspec.json.encode(frame), channels)
