"""``/health`` (is the process up) and ``/status`` (can it reach what it depends on)."""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import PUBLIC
from server.db.identity import DATABASE_ID_HEADER, database_id
from server.observability import Check
from server.runtime import Runtime


class Status(msgspec.Struct):
    """Overall state: ``ok`` only when every enabled dependency is."""

    status: Literal["ok", "degraded"]
    checks: dict[str, Check]


async def _timed(probe: Any) -> Check:
    started = time.perf_counter()
    try:
        await probe()
    except Exception as exc:
        return Check("error", detail=f"{type(exc).__name__}: {exc}"[:300])
    return Check("ok", latency_ms=round((time.perf_counter() - started) * 1000, 2))


class SystemController(Controller):
    """Liveness and readiness."""

    tags = ["system"]

    @get("/health", opt=PUBLIC, operation_id="health")
    async def health(self, runtime: NamedDependency[Runtime]) -> Response[dict[str, str]]:
        """Liveness: the process answers. ``X-Database-Id`` names its database for the CLI."""
        headers = {DATABASE_ID_HEADER: database_id(runtime.settings)}
        return Response({"status": "ok"}, headers=headers)

    @get("/status", opt=PUBLIC, operation_id="status")
    async def status(
        self, runtime: NamedDependency[Runtime], db_session: NamedDependency[AsyncSession]
    ) -> Response[Status]:
        """Readiness: database, Redis (when configured) and the configured providers."""

        async def database() -> None:
            await db_session.execute(text("SELECT 1"))

        checks = {"database": await _timed(database)}
        redis = runtime.redis
        checks["redis"] = await _timed(redis.ping) if redis is not None else Check("disabled")
        for name, check in runtime.status_checks.items():
            checks[name] = await check()
        ok = all(c.status != "error" for c in checks.values())
        return Response(Status("ok" if ok else "degraded", checks), status_code=200 if ok else 503)
