"""Fixed-window rate limits shared by HTTP handlers and the WebSocket.

Litestar's ``RateLimitConfig`` limits HTTP requests by client only; login needs a limit per
account as well, and WebSocket messages are not requests at all, so both go through this one
counter: in memory by default, in Redis (atomic ``INCR``) when ``REDIS_URL`` is set so that every
server instance shares the counts.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis


class Throttle:
    """Counts hits per key in windows of ``window_s`` seconds."""

    def __init__(self, redis: Redis | None = None) -> None:
        self._redis = redis
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, limit: int, window_s: int) -> int | None:
        """Count one hit; ``None`` if within ``limit``, else the seconds until the window ends."""
        if self._redis is not None:
            return await self._hit_redis(key, limit, window_s)
        now = time.monotonic()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= window_s:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count)
        if len(self._windows) > 100_000:
            self._prune(now, window_s)
        if count > limit:
            return max(1, math.ceil(window_s - (now - start)))
        return None

    async def _hit_redis(self, key: str, limit: int, window_s: int) -> int | None:
        assert self._redis is not None
        name = f"throttle:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_s, nx=True)
            pipe.ttl(name)
            count, _, ttl = await pipe.execute()
        if int(count) > limit:
            return max(1, int(ttl))
        return None

    def _prune(self, now: float, window_s: int) -> None:
        self._windows = {k: v for k, v in self._windows.items() if now - v[0] < window_s}
