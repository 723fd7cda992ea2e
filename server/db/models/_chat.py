from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ._organisation import org_column


class ChatSession(UUIDv7AuditBase):
    """A conversation in a project; members join it from any number of connections."""

    __tablename__ = "chat_sessions"

    org_id: Mapped[UUID] = org_column(foreign_key=False)
    """The organisation this row belongs to (row-level security keys on it)."""

    project_id: Mapped[UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    title: Mapped[str | None] = mapped_column(String(200), default=None)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    """The ``seq`` of the newest message; incremented under a row lock to number messages."""
    phase_number: Mapped[int | None] = mapped_column(Integer, default=None)
    """The phase this conversation is working on."""


class ChatMessage(UUIDv7AuditBase):
    """One stored message. ``seq`` orders a session's messages without gaps or duplicates."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_chat_messages_session_seq"),
        UniqueConstraint(
            "session_id", "client_message_id", name="uq_chat_messages_session_client_message"
        ),
        Index("ix_chat_messages_project_created", "project_id", "created_at"),
    )

    org_id: Mapped[UUID] = org_column(foreign_key=False)
    """The organisation this row belongs to (row-level security keys on it)."""

    session_id: Mapped[UUID] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    """``user``, ``assistant`` or ``system``."""
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="complete")
    """``complete``; ``stopped`` for a reply the user stopped and ``interrupted`` for one whose
    server died mid-way (their partial text is kept)."""
    client_message_id: Mapped[str | None] = mapped_column(String(100), default=None)
    author_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    reply_to: Mapped[UUID | None] = mapped_column(default=None)
    phase_number: Mapped[int | None] = mapped_column(Integer, default=None)
    provider: Mapped[str | None] = mapped_column(String(100), default=None)
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    usage: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    """Tokens, cost, latency and the provider hops of an assistant reply."""
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    prompts: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    """The prompt versions (``{name, hash, label}``) a reply was written with."""
    profile: Mapped[str | None] = mapped_column(String(100), default=None)
    """The AI profile a reply was routed through."""
    context: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    """The passages sent with the request of a reply (``{ref, source, text, ...}``), kept so
    that rated exchanges can be exported with the context the model saw."""
