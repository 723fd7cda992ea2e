"""An attempt's completion written in its handler's own last transaction.

The runner records an attempt's outcome in a transaction of its own once the handler has
returned. A handler whose last act is a transaction anyway (the documents' shared completion)
can write its job's completion in it instead, with :func:`record_completed`: one transaction
per job less, and the job is ``completed`` exactly when its work is. The attempt learns it
once that transaction has committed (``Attempt.recorded``), and the runner then leaves the
outcome alone; if it rolls back, nothing changed and the runner records as always.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import event

from server.db.direct import driver

if TYPE_CHECKING:
    from collections.abc import Sequence
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

__all__ = ("Attempt", "record_completed")

_PENDING = "queue.pending_completions"
_HOOKED = "queue.completions_hooked"

_COMPLETED = """
UPDATE jobs
SET status = 'completed', last_error = NULL, deadline_at = NULL, finished_at = now(),
    updated_at = now()
FROM unnest($1::uuid[], $2::int[]) AS attempt (job_id, number)
WHERE jobs.id = attempt.job_id AND jobs.status = 'running' AND jobs.attempts = attempt.number
RETURNING jobs.id
"""
"""The attempts' completions, each written only while the attempt still owns its job."""


@dataclass
class Attempt:
    """One attempt at a job, as its handler may end it (:func:`record_completed`)."""

    job_id: UUID
    number: int
    recorded: bool = False
    """Its completion has been committed in the handler's transaction."""


def _after_commit(db: Session) -> None:
    for attempt in db.info.pop(_PENDING, []):
        attempt.recorded = True


def _after_rollback(db: Session) -> None:
    db.info.pop(_PENDING, None)


async def record_completed(db: AsyncSession, attempts: Sequence[Attempt]) -> None:
    """Mark the jobs of ``attempts`` completed in ``db``'s transaction (those whose attempt
    still owns its job); each attempt is ``recorded`` once the transaction commits."""
    if not attempts:
        return
    rows = await (await driver(db)).fetch(
        _COMPLETED, [a.job_id for a in attempts], [a.number for a in attempts]
    )
    owned = {row["id"] for row in rows}
    sync = db.sync_session
    if not sync.info.get(_HOOKED):
        event.listen(sync, "after_commit", _after_commit)
        event.listen(sync, "after_rollback", _after_rollback)
        sync.info[_HOOKED] = True
    sync.info.setdefault(_PENDING, []).extend(a for a in attempts if a.job_id in owned)
