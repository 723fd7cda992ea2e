"""Enqueue and cancel jobs. The job row is the truth; the broker message only carries its id.

``enqueue`` adds the row to the caller's session, so it commits or rolls back with the request
that asked for the work. The message is sent once that transaction has committed (so a worker
never looks for a row that is not there yet); if the broker cannot be reached the job stays
``queued`` and the periodic sweep sends it later.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, update
from uuid_utils.compat import uuid7

from server.db.models import Job

from ._runtime import runtime_for

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

__all__ = ("cancel", "enqueue")

_PENDING = "queue.pending_jobs"
_HOOKED = "queue.commit_hooked"
DEFAULT_GRACE_S = 60


def _after_commit(db: Session) -> None:
    pending: list[UUID] = db.info.pop(_PENDING, [])
    if not pending:
        return
    runtime = runtime_for(db.get_bind().engine)
    if runtime is not None:
        runtime.send_soon(pending)


def _after_rollback(db: Session) -> None:
    db.info.pop(_PENDING, None)


def _send_after_commit(db: AsyncSession, job_id: UUID) -> None:
    sync = db.sync_session
    if not sync.info.get(_HOOKED):
        event.listen(sync, "after_commit", _after_commit)
        event.listen(sync, "after_rollback", _after_rollback)
        sync.info[_HOOKED] = True
    sync.info.setdefault(_PENDING, []).append(job_id)


async def enqueue(
    db: AsyncSession,
    kind: str,
    target_id: UUID,
    *,
    payload: dict[str, Any] | None = None,
    timeout_s: int = 900,
    max_attempts: int = 5,
) -> Job:
    """Queue a job of ``kind`` for ``target_id`` in the caller's transaction.

    ``timeout_s`` is how long one attempt may run before it is cancelled and retried (a
    worker that dies is noticed sooner, by its lease: ``QUEUE_LEASE``); ``max_attempts``
    bounds tries (failures and lost attempts alike).
    """
    runtime = runtime_for(db.sync_session.get_bind().engine)
    grace = runtime.env.settings.queue.queued_grace_s if runtime is not None else DEFAULT_GRACE_S
    job = Job(
        id=uuid7(),
        kind=kind,
        target_id=target_id,
        payload=payload or {},
        status="queued",
        attempts=0,
        max_attempts=max_attempts,
        timeout_s=timeout_s,
        deadline_at=datetime.now(UTC) + timedelta(seconds=grace),
    )
    # Written with the caller's next flush (at the latest, its commit: an upload's goes with
    # its audit row), not one of its own.
    db.add(job)
    _send_after_commit(db, job.id)
    return job


async def cancel(db: AsyncSession, kind: str, target_id: UUID) -> None:
    """Mark the queued and running jobs of ``kind`` for ``target_id`` cancelled.

    A running handler sees it through ``ctx.cancelled()``; its result is not recorded.
    """
    now = datetime.now(UTC)
    await db.execute(
        update(Job)
        .where(
            Job.kind == kind,
            Job.target_id == target_id,
            Job.status.in_(("queued", "running")),
        )
        .values(status="cancelled", finished_at=now, updated_at=now, deadline_at=None)
        .execution_options(synchronize_session=False)
    )
