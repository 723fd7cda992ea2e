"""The ``regenerate_stale_phases`` job: draft every stale phase of a project again, each after
the phases it depends on, one transaction per phase.

A retried attempt picks up where the last one stopped: a phase regenerated and committed is no
longer stale, so it is not drafted twice. Participants see each phase as it is stored
(``phase:updated``, and ``phase:stale`` when a new draft makes a later phase stale again).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec
from sqlalchemy import select

from providers import ProvidersUnavailable
from server.ai import ConfigStore
from server.db.models import Job, Project
from server.events import ServerFrame
from server.metering import usage_scope
from server.queue import JobFailed, enqueue, job_handler

from .commands import PhaseCommands, PhaseEnvironment
from .templates import WorkflowCatalog

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.queue import JobContext

__all__ = ("KIND", "queue_stale_regeneration", "regenerate_stale")

KIND = "regenerate_stale_phases"
TIME_LIMIT_S = 1800
_ACTIVE = ("queued", "running")
_FRAME = msgspec.json.Decoder(ServerFrame)


class _Relay:
    """Keeps the frames a phase's transaction announces and hands them to the job's context
    once it has committed (a participant who reads the phases on an event sees what it
    announced), the context logging rather than raising a failed delivery (events are a
    courtesy; the database is the truth)."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.pending: list[tuple[list[str], ServerFrame]] = []

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        """Keep the encoded frame ``data`` for ``channels`` until :meth:`committed`."""
        self.pending.append((list(channels), _FRAME.decode(data)))

    async def committed(self) -> None:
        """Deliver the frames kept since the last commit."""
        pending, self.pending = self.pending, []
        for channels, frame in pending:
            await self.ctx.emit(channels, frame)


async def queue_stale_regeneration(db: AsyncSession, project_id: UUID, user_id: UUID) -> Job:
    """The project's regeneration job: the one already queued or running, else a new one in
    the caller's transaction."""
    found = await db.scalar(
        select(Job).where(Job.kind == KIND, Job.target_id == project_id, Job.status.in_(_ACTIVE))
    )
    if found is not None:
        return found
    return await enqueue(
        db, KIND, project_id, payload={"user_id": str(user_id)}, timeout_s=TIME_LIMIT_S
    )


@job_handler(KIND, time_limit_s=TIME_LIMIT_S)
async def regenerate_stale(ctx: JobContext) -> None:
    """Draft the stale phases of project ``ctx.target_id`` as the user who asked."""
    user_id = UUID(str(ctx.payload["user_id"]))
    store = await asyncio.to_thread(ConfigStore, ctx.settings.app.config_path, meter=ctx.meter)
    relay = _Relay(ctx)
    env = PhaseEnvironment(WorkflowCatalog(store), store.embedder, relay, store)
    try:
        with usage_scope(purpose="draft", user_id=user_id, project_id=ctx.target_id):
            # Cancellation is asked before the session opens: its own look-up would need a
            # second connection while this one holds the first.
            while not await ctx.cancelled():
                async with ctx.session() as db:
                    project = await db.get(Project, ctx.target_id)
                    if project is None:
                        return
                    commands = PhaseCommands(env, db, project.id, user_id)
                    await commands.load()
                    stale = await commands.stale_in_order()
                    if not stale:
                        return
                    try:
                        await commands.draft_now(stale[0], store.router, store.profile_for(project))
                    except ProvidersUnavailable as error:
                        raise JobFailed(str(error)) from None
                    await db.commit()
                await relay.committed()
    finally:
        await store.stop()
