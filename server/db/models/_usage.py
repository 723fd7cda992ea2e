from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import JsonB
from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from ._organisation import org_column


class UsageEvent(UUIDv7AuditBase):
    """One call to an AI provider (or a routed chain of them): tokens, cost, latency, hops.

    No foreign keys: usage is an account of money spent and outlives the users, projects and
    sessions it names.
    """

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_created_at", "created_at"),)

    user_id: Mapped[UUID | None] = mapped_column(index=True, default=None)
    project_id: Mapped[UUID | None] = mapped_column(index=True, default=None)
    session_id: Mapped[UUID | None] = mapped_column(default=None)
    message_id: Mapped[UUID | None] = mapped_column(default=None)
    purpose: Mapped[str] = mapped_column(String(20))
    """What the call was for: ``chat``, ``draft``, ``embed``..."""
    provider: Mapped[str] = mapped_column(String(100))
    """The provider that answered; for a failed chain, the last one tried."""
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(16, 8), default=Decimal(0))
    latency_ms: Mapped[float] = mapped_column(default=0.0)
    hops: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    """Every provider tried, in order, with its own tokens, cost, latency and error."""
    ok: Mapped[bool] = mapped_column(default=True)

    org_id: Mapped[UUID | None] = org_column(foreign_key=False, nullable=True)
    """The organisation billed; no foreign key, like the other ids here. None for server-wide
    work (``assistant documents reembed``), seen only by cross-organisation reads."""
