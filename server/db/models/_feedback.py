from __future__ import annotations

from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ._organisation import org_column


class MessageFeedback(UUIDv7AuditBase):
    """One user's rating of one assistant message: ``up`` or ``down``, with an optional comment.

    One row per user and message; rating again changes it (``updated_at`` says when).
    """

    __tablename__ = "message_feedback"
    __table_args__ = (
        UniqueConstraint("message_id", "user_id"),
        CheckConstraint("rating IN ('up', 'down')", name="rating"),
    )

    org_id: Mapped[UUID] = org_column(foreign_key=False)
    """The organisation this row belongs to (row-level security keys on it)."""

    message_id: Mapped[UUID] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[str] = mapped_column(String(4))
    comment: Mapped[str | None] = mapped_column(Text, default=None)
