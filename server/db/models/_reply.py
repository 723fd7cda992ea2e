from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column


class ChatTurn(UUIDv7AuditBase):
    """A turn the server owes an answer: stored with the user's message (or the phase command)
    that asks for it, deleted in the transaction that stores its reply.

    Its ``id`` is the id the reply will be stored under, so a turn can be answered only once.
    A turn being answered holds a short lease (``owner``, ``lease_until``) renewed while the
    reply streams; a turn whose lease ran out is taken over by any server instance.
    """

    __tablename__ = "chat_turns"
    __table_args__ = (
        Index(
            "uq_chat_turns_session_running",
            "session_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_chat_turns_status_lease", "status", "lease_until"),
    )

    session_id: Mapped[UUID] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    """Who asked."""
    message_id: Mapped[UUID | None] = mapped_column(default=None)
    """The user's message answered; ``None`` for a phase command."""
    command: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    """The phase frame (``{"event", "data"}``) of a command turn."""
    status: Mapped[str] = mapped_column(String(16), default="queued")
    """``queued`` (behind another turn of its session) or ``running`` (one per session)."""
    started: Mapped[bool] = mapped_column(Boolean, default=False)
    """Its plan is committed and its reply may have reached clients: a takeover stores it as
    ``interrupted`` rather than answering it a second time."""
    owner: Mapped[str | None] = mapped_column(String(64), default=None)
    """The server instance answering it."""
    lease_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    partial: Mapped[str] = mapped_column(Text, default="")
    """The reply streamed so far, saved at most every few seconds while it streams."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
