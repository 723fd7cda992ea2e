from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import JsonB
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ._organisation import org_column


class AuditEntry(UUIDv7AuditBase):
    """Who changed what, when, in which request. Rows are never updated or deleted by the app."""

    __tablename__ = "audit_log"

    org_id: Mapped[UUID | None] = org_column(foreign_key=False, nullable=True)
    """The organisation of the request; None for server-level events (no organisation
    at work, e.g. a failed sign-in). No foreign key: the trail outlives organisations."""

    actor_id: Mapped[UUID | None] = mapped_column(index=True, default=None)
    """No foreign key: the trail outlives the users it names."""
    action: Mapped[str] = mapped_column(String(100), index=True)
    target_type: Mapped[str | None] = mapped_column(String(50), default=None)
    target_id: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    project_id: Mapped[UUID | None] = mapped_column(index=True, default=None)
    request_id: Mapped[str | None] = mapped_column(String(100), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
