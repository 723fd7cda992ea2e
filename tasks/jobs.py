"""Job handlers: the registry the queue's runner dispatches on, and what a handler is given.

A handler is ``async def handler(ctx: JobContext) -> None`` registered for one job kind with
:func:`job_handler`. It may run more than once for the same job (a retry, a worker killed
mid-way), so it must be idempotent: derive everything from the database and overwrite, never
append. Raising :class:`JobFailed` fails the job at once; any other exception is retried with
backoff until the job's ``max_attempts`` are used up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from server import events
from server.db.models import Job

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from contextlib import AbstractAsyncContextManager
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.events import ServerFrame
    from server.settings import Settings
    from tasks._runtime import JobRuntime

    Handler = Callable[["JobContext"], Awaitable[None]]
    FailureHook = Callable[["JobContext", str], Awaitable[None]]

__all__ = ("HANDLERS", "HandlerSpec", "JobContext", "JobFailed", "job_handler")

logger = structlog.get_logger()


class JobFailed(Exception):  # noqa: N818 - the name other modules code against
    """A permanent failure: the job is marked failed with this reason and not retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class HandlerSpec:
    """A registered handler and how the runner treats it."""

    kind: str
    handler: Handler
    time_limit_s: int
    on_failure: FailureHook | None
    every_s: int | None
    """When set, the sweeper keeps one job of this kind scheduled every ``every_s`` seconds."""


HANDLERS: dict[str, HandlerSpec] = {}


def job_handler(
    kind: str,
    *,
    time_limit_s: int = 900,
    on_failure: FailureHook | None = None,
    every_s: int | None = None,
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for jobs of ``kind``.

    ``time_limit_s`` bounds one attempt (the job's own ``timeout_s`` bounds it too).
    ``on_failure(ctx, reason)`` runs once when the job fails for good, e.g. to mark the
    object it works on failed. ``every_s`` makes it a periodic job with no target.
    """

    def register(handler: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind].handler is not handler:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        HANDLERS[kind] = HandlerSpec(kind, handler, time_limit_s, on_failure, every_s)
        return handler

    return register


class JobContext:
    """What a handler gets: the job's identity and payload, a database, and event fan-out."""

    def __init__(self, runtime: JobRuntime, job: Job) -> None:
        self._runtime = runtime
        self.job_id: UUID = job.id
        self.kind: str = job.kind
        self.target_id: UUID = job.target_id
        self.payload: dict[str, Any] = dict(job.payload or {})
        self.attempt: int = job.attempts
        self.max_attempts: int = job.max_attempts

    @property
    def settings(self) -> Settings:
        """The settings of the process running the job."""
        return self._runtime.settings

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A new database session; the handler commits what it wants kept."""
        return self._runtime.alchemy.get_session()

    async def cancelled(self) -> bool:
        """Whether the job was cancelled (or taken over) since this attempt started."""
        async with self.session() as session:
            row = await session.execute(
                select(Job.status, Job.attempts).where(Job.id == self.job_id)
            )
            found = row.one_or_none()
        return found is None or found.status != "running" or found.attempts != self.attempt

    async def emit(self, channels: list[str], frame: ServerFrame) -> None:
        """Send ``frame`` to every client subscribed to ``channels``, on every server.

        A failure to deliver is logged, never raised: events are a courtesy on top of the
        database, which clients can always read.
        """
        try:
            await events.emit(self._runtime.publisher, channels, frame)
        except Exception:
            logger.warning(
                "event not delivered", frame=type(frame).__name__, job_id=str(self.job_id)
            )
