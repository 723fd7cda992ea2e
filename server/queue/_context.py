"""What a job handler is given: the job's identity and payload, a database, and event fan-out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from server import events
from server.db import session
from server.db.models import Job

from ._outcome import Attempt

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager
    from uuid import UUID

    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.events import Publisher, ServerFrame
    from server.metering import Meter
    from server.settings import Settings

__all__ = ("JobContext", "JobEnvironment")

logger = structlog.get_logger()


@dataclass(frozen=True)
class JobEnvironment:
    """What every job run by one process works with."""

    settings: Settings
    alchemy: SQLAlchemyAsyncConfig
    publisher: Publisher
    meter: Meter


class JobContext:
    """One attempt at one job, as its handler sees it."""

    def __init__(self, env: JobEnvironment, job: Job) -> None:
        self._env = env
        self.job_id: UUID = job.id
        self.kind: str = job.kind
        self.target_id: UUID = job.target_id
        self.payload: dict[str, Any] = dict(job.payload or {})
        self.attempt: int = job.attempts
        self.max_attempts: int = job.max_attempts
        self.org_id: UUID | None = job.org_id
        """The organisation the job was queued in; its handler's sessions work in it."""
        self.current = Attempt(job.id, job.attempts)
        """This attempt, which the handler may complete in its own last transaction
        (:func:`server.queue.record_completed`)."""

    @property
    def settings(self) -> Settings:
        """The settings of the process running the job."""
        return self._env.settings

    @property
    def meter(self) -> Meter:
        """Where the job's provider calls are recorded."""
        return self._env.meter

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A new database session; the handler commits what it wants kept."""
        return session(self._env.alchemy)

    async def cancelled(self) -> bool:
        """Whether the job was cancelled (or taken over) since this attempt started."""
        async with self.session() as db:
            row = await db.execute(select(Job.status, Job.attempts).where(Job.id == self.job_id))
            found = row.one_or_none()
        return found is None or found.status != "running" or found.attempts != self.attempt

    async def emit(self, channels: list[str], frame: ServerFrame) -> None:
        """Send ``frame`` to every client subscribed to ``channels``, on every server.

        A failure to deliver is logged, never raised: events are a courtesy on top of the
        database, which clients can always read.
        """
        try:
            await events.emit(self._env.publisher, channels, frame)
        except Exception:
            logger.warning(
                "event not delivered", frame=type(frame).__name__, job_id=str(self.job_id)
            )
