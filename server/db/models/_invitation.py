from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ._organisation import org_column


class Invitation(UUIDv7AuditBase):
    """An invitation to join a project (``project_id`` set, a project role) or an organisation
    (no ``project_id``, an organisation role), redeemed with a secret token (stored hashed)."""

    __tablename__ = "invitations"

    org_id: Mapped[UUID] = org_column()
    """The organisation this row belongs to (row-level security keys on it)."""

    project_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True, default=None
    )
    role: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    """When set, only the user with this email may accept."""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    accepted_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
