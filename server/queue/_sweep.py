"""Find lost jobs and send them again; keep periodic jobs scheduled.

A job is lost when its message was never sent or never arrived (``queued`` past its deadline,
e.g. Redis was down at request time) or its worker died mid-attempt (``running`` past its
deadline, e.g. ``kill -9``). Lost running attempts count as attempts: a job that keeps killing
its worker fails once ``max_attempts`` are used up.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import structlog
from sqlalchemy import and_, exists, func, or_, select, update

from server.db import session
from server.db.models import Job

from ._enqueue import enqueue
from ._handlers import HANDLERS
from ._runner import fail_for_good

if TYPE_CHECKING:
    from ._runtime import JobRuntime

__all__ = ("PERIODIC_TARGET", "sweep", "sweep_forever")

logger = structlog.get_logger()

BATCH = 500
PERIODIC_TARGET = UUID(int=0)
"""The ``target_id`` of periodic jobs, which work on no one object."""


async def _schedule_periodic(runtime: JobRuntime) -> None:
    async with session(runtime.env.alchemy) as db:
        for spec in HANDLERS.values():
            if spec.every_s is None:
                continue
            since = datetime.now(UTC) - timedelta(seconds=spec.every_s)
            recent = await db.scalar(
                select(
                    exists().where(
                        Job.kind == spec.kind,
                        or_(Job.status.in_(("queued", "running")), Job.created_at > since),
                    )
                )
            )
            if not recent:
                await enqueue(db, spec.kind, PERIODIC_TARGET, timeout_s=spec.time_limit_s)
        await db.commit()


async def sweep(runtime: JobRuntime) -> int:
    """Fail exhausted lost jobs, re-send the others; returns how many messages were sent."""
    now = datetime.now(UTC)
    lost = and_(Job.status.in_(("queued", "running")), Job.deadline_at < now)
    async with session(runtime.env.alchemy) as db:
        exhausted = (
            await db.scalars(
                update(Job)
                .where(lost, Job.attempts >= Job.max_attempts)
                .values(
                    status="failed",
                    last_error=func.concat("lost after ", Job.attempts, " attempts"),
                    finished_at=now,
                    updated_at=now,
                    deadline_at=None,
                )
                .returning(Job)
                .execution_options(synchronize_session=False)
            )
        ).all()
        candidates = (
            select(Job.id)
            .where(lost)
            .order_by(Job.deadline_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        ids = (
            await db.scalars(
                update(Job)
                .where(Job.id.in_(candidates), lost)
                .values(
                    status="queued",
                    deadline_at=now + timedelta(seconds=runtime.env.settings.queue.queued_grace_s),
                    updated_at=now,
                )
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
        await db.commit()
    for job in exhausted:
        await fail_for_good(runtime.env, job, HANDLERS.get(job.kind), job.last_error or "lost")
    if ids:
        logger.info("re-sending lost jobs", count=len(ids))
    return await runtime.send_async(ids) if ids else 0


async def sweep_forever(runtime: JobRuntime) -> None:
    """Sweep and schedule periodic jobs now and then every ``QUEUE_SWEEP_INTERVAL`` seconds."""
    while True:
        try:
            await sweep(runtime)
            await _schedule_periodic(runtime)
        except Exception:
            logger.exception("queue sweep failed; trying again at the next interval")
        await asyncio.sleep(runtime.env.settings.queue.sweep_interval_s)
