"""What the running app is made of: one typed object built once by ``create_app``.

Handlers ask for what they need by name through Litestar's dependency injection (``settings``,
``publisher``, ``chat``, ...); the few places that run outside a handler's signature (the auth
middleware, the guard, lifespan hooks) read the same object with :func:`runtime_of`. Nothing of
ours is kept in ``app.state`` beyond this one typed entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from server.db import session
from server.metering import Meter
from server.observability import Check

if TYPE_CHECKING:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar import Litestar
    from litestar.channels import ChannelsPlugin
    from redis.asyncio import Redis

    from server.events import Publisher
    from server.limits import Throttle
    from server.settings import Settings

__all__ = ("RUNTIME_KEY", "Runtime", "StatusCheck", "runtime_of")

RUNTIME_KEY = "runtime"


StatusCheck = Callable[[], Awaitable[Check]]
"""A ``/status`` probe: cheap, never raising."""


class Runtime:
    """The server's infrastructure: settings, database, usage meter, fan-out, Redis, rate
    limits, checks.

    A plain class, not a dataclass: Litestar validates injected dataclasses field by field.
    """

    __slots__ = (
        "alchemy",
        "channels",
        "meter",
        "publisher",
        "redis",
        "settings",
        "status_checks",
        "throttle",
    )

    def __init__(
        self,
        *,
        settings: Settings,
        alchemy: SQLAlchemyAsyncConfig,
        channels: ChannelsPlugin,
        publisher: Publisher,
        redis: Redis | None,
        throttle: Throttle,
    ) -> None:
        self.settings = settings
        self.alchemy = alchemy
        self.meter = Meter(partial(session, alchemy))
        """Where every provider call of this process is recorded."""
        self.channels = channels
        self.publisher = publisher
        self.redis = redis
        self.throttle = throttle
        self.status_checks: dict[str, StatusCheck] = {}
        """Extra ``/status`` checks by name (providers, broker), added by their owners."""


def runtime_of(app: Litestar | Any) -> Runtime:
    """The app's runtime (for code that cannot take it as a dependency)."""
    runtime: Runtime = app.state[RUNTIME_KEY]
    return runtime
