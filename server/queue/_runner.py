"""Run one job: claim its row atomically, run its handler with a time limit, record the outcome.

Every message is safe to deliver twice: the claim only succeeds for a job that is ``queued``
(or ``running`` past its deadline, i.e. lost), and an attempt records its outcome only while it
still owns the job (same status and attempt number). A completed, failed or cancelled job's
message is a no-op.

A running job holds a short lease (``deadline_at``, ``QUEUE_LEASE`` seconds ahead) that its
attempt renews every third of the lease while the handler runs; a worker that dies (``kill -9``)
stops renewing, and the sweep of any process takes the job over once the lease has run out. The
handler's own time limit (``timeout_s``) is enforced by the attempt, not by the lease.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import structlog
from sqlalchemy import func, update

from server.db import session
from server.db.direct import driver
from server.db.models import Job
from server.db.tenancy import all_orgs, org_context

from ._context import JobContext
from ._handlers import HANDLERS, JobFailed

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from sqlalchemy.ext.asyncio import AsyncSession

    from ._context import JobEnvironment
    from ._handlers import HandlerSpec

__all__ = ("backoff_ms", "fail_for_good", "run_job")

logger = structlog.get_logger()

RETRY_MIN_S = 2.0
RETRY_MAX_S = 300.0


def backoff_ms(attempt: int) -> int:
    """Delay before retrying after ``attempt`` failed: exponential, capped, with jitter."""
    base = min(RETRY_MAX_S, RETRY_MIN_S * 2 ** (attempt - 1))
    return int(base * random.uniform(0.75, 1.0) * 1000)  # noqa: S311 - jitter, not secrecy


_CLAIM = """
UPDATE jobs
SET status = 'running', attempts = attempts + 1, started_at = now(),
    deadline_at = now() + make_interval(secs => $2), updated_at = now(), finished_at = NULL
WHERE id = $1 AND attempts < max_attempts
  AND (status = 'queued' OR (status = 'running' AND deadline_at < now()))
RETURNING id, kind, target_id, payload, attempts, max_attempts, timeout_s, org_id
"""

_RECORD = """
UPDATE jobs
SET status = $3::text, last_error = $4, deadline_at = $5, updated_at = now(),
    finished_at = CASE WHEN $3::text = 'queued' THEN finished_at ELSE now() END
WHERE id = $1 AND status = 'running' AND attempts = $2
RETURNING id
"""
"""An attempt's outcome, written only while the attempt still owns the job; a job that ends
(anything but ``queued`` again for a retry) gets its ``finished_at``."""


async def _claim(db: AsyncSession, job_id: UUID, lease_s: int) -> Job | None:
    """The job, now ``running`` for this attempt, or None when it is not claimable.

    Sent on the driver's connection (see :mod:`server.db.direct`): every job runs it."""
    row = await (await driver(db)).fetchrow(_CLAIM, job_id, float(lease_s))
    if row is None:
        return None
    return Job(
        id=row["id"],
        kind=row["kind"],
        target_id=row["target_id"],
        payload=row["payload"],
        status="running",
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        timeout_s=row["timeout_s"],
        org_id=row["org_id"],
    )


async def _record(
    env: JobEnvironment,
    job: Job,
    status: str,
    last_error: str | None,
    deadline_at: datetime | None = None,
) -> bool:
    """Write the attempt's outcome if it still owns the job; False when it no longer does."""
    async with session(env.alchemy) as db:
        owned = await (await driver(db)).fetchval(
            _RECORD, job.id, job.attempts, status, last_error, deadline_at
        )
        await db.commit()
    return owned is not None


async def fail_for_good(
    env: JobEnvironment, job: Job, spec: HandlerSpec | None, reason: str
) -> None:
    """Run the handler's failure hook for a job that has just been marked failed."""
    logger.warning("job failed", job_id=str(job.id), kind=job.kind, reason=reason)
    if spec is None or spec.on_failure is None:
        return
    try:
        with org_context(job.org_id):  # the job's organisation (row-level security)
            await spec.on_failure(JobContext(env, job), reason)
    except Exception:
        logger.exception("failure hook raised", job_id=str(job.id), kind=job.kind)


class _LeaseLost(Exception):  # noqa: N818 - a state, not an error of the job
    """Another process took the job over (or it was cancelled): this attempt stops."""


async def _renew(env: JobEnvironment, job: Job, lease_s: int) -> bool:
    """Push the attempt's lease ``lease_s`` ahead; False when the attempt no longer owns it."""
    async with session(env.alchemy) as db:
        renewed = await db.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == "running", Job.attempts == job.attempts)
            .values(deadline_at=func.now() + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
        await db.commit()
    return bool(getattr(renewed, "rowcount", 0))


async def _heartbeat(env: JobEnvironment, job: Job, lease_s: int) -> None:
    """Renew the lease every third of it until cancelled; raise :class:`_LeaseLost` when the
    job was taken over. A renewal that fails (the database away) is tried again at the next
    beat: the lease has two more beats of slack."""
    while True:
        await asyncio.sleep(lease_s / 3)
        try:
            owned = await _renew(env, job, lease_s)
        except Exception as exc:
            logger.warning("job lease not renewed", job_id=str(job.id), error=str(exc)[:300])
            continue
        if not owned:
            raise _LeaseLost


async def _leased(env: JobEnvironment, job: Job, work: Awaitable[None], lease_s: int) -> None:
    """Run ``work`` while renewing the job's lease; cancel it when the lease is lost."""
    running = asyncio.ensure_future(work)
    beating = asyncio.ensure_future(_heartbeat(env, job, lease_s))
    try:
        await asyncio.wait({running, beating}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        running.cancel()
        beating.cancel()
        await asyncio.gather(running, beating, return_exceptions=True)
    if running.done() and not running.cancelled():
        running.result()
        return
    failure = beating.exception() if not beating.cancelled() else None
    raise failure or _LeaseLost


async def _run_handler(
    env: JobEnvironment, spec: HandlerSpec, ctx: JobContext, job: Job, limit_s: int
) -> str | None:
    """None on success, else why the attempt failed; JobFailed and _LeaseLost pass through."""
    try:
        # The handler's sessions work in the job's organisation (row-level security); a
        # periodic job is server maintenance (expiring exports...) across every organisation.
        scope = (
            all_orgs(f"periodic job {spec.kind}", log=False)
            if spec.every_s is not None
            else org_context(ctx.org_id)
        )
        with scope:
            async with asyncio.timeout(limit_s):
                await _leased(env, job, spec.handler(ctx), env.settings.queue.lease_s)
    except (JobFailed, _LeaseLost):
        raise
    except TimeoutError:
        return f"timed out after {limit_s} s"
    except Exception as exc:
        logger.exception("job attempt failed", job_id=str(ctx.job_id), kind=ctx.kind)
        return f"{type(exc).__name__}: {exc}"[:2000]
    return None


async def run_job(env: JobEnvironment, job_id: str) -> int | None:
    """Claim and run the job ``job_id`` (a message's only argument).

    Returns the delay in milliseconds after which the job's message must be sent again (a
    failed attempt with attempts left), else None.
    """
    async with session(env.alchemy) as db:
        job = await _claim(db, UUID(job_id), env.settings.queue.lease_s)
        await db.commit()
    if job is None:
        return None
    spec = HANDLERS.get(job.kind)
    if spec is None:
        reason = f"no handler is registered for job kind {job.kind!r}"
        if await _record(env, job, "failed", reason):
            await fail_for_good(env, job, None, reason)
        return None
    log = logger.bind(job_id=job_id, kind=job.kind, attempt=job.attempts)
    log.info("job started")
    ctx = JobContext(env, job)
    try:
        error = await _run_handler(env, spec, ctx, job, min(spec.time_limit_s, job.timeout_s))
    except _LeaseLost:
        log.warning("job lease lost; another attempt owns the job now")
        return None
    except JobFailed as exc:
        if await _record(env, job, "failed", exc.reason):
            await fail_for_good(env, job, spec, exc.reason)
        return None
    if error is None:
        if not ctx.current.recorded:
            await _record(env, job, "completed", None)
        log.info("job completed")
        return None
    if job.attempts >= job.max_attempts:
        reason = f"gave up after {job.attempts} attempts: {error}"
        if await _record(env, job, "failed", reason):
            await fail_for_good(env, job, spec, reason)
        return None
    delay = backoff_ms(job.attempts)
    grace = timedelta(seconds=env.settings.queue.queued_grace_s)
    deadline = datetime.now(UTC) + timedelta(milliseconds=delay) + grace
    if not await _record(env, job, "queued", error, deadline):
        return None
    log.info("job will be retried", delay_ms=delay, error=error)
    return delay
