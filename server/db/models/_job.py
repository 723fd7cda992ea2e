from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ._organisation import org_column


class Job(UUIDv7AuditBase):
    """Queued work. The row is the truth; a broker message only carries its id.

    Written in the same transaction as the request that asks for the work; a job left
    ``queued`` or ``running`` past its deadline is enqueued again, so losing the broker (or a
    worker) loses no work.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_deadline", "status", "deadline_at"),)

    kind: Mapped[str] = mapped_column(String(50))
    """The actor that runs it, e.g. ``ingest_document`` or ``render_export``."""
    target_id: Mapped[UUID] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    """``queued``, ``running``, ``completed``, ``failed`` or ``cancelled``."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    timeout_s: Mapped[int] = mapped_column(Integer, default=900, server_default="900")
    """How long one attempt may run before it is cancelled (and retried)."""
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    deadline_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When a queued or running job is considered lost and enqueued again: for a running job,
    its lease, renewed by the worker while the handler runs (``QUEUE_LEASE``)."""
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    org_id: Mapped[UUID | None] = org_column(foreign_key=False, nullable=True)
    """The organisation the work runs for (the worker sets it as the job's context); the
    queue itself is server-wide, so job rows are not behind row-level security."""
