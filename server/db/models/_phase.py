from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ._organisation import org_column


class Phase(UUIDv7AuditBase):
    """One phase of a project's document, created from the project's workflow template.

    Status: ``not_started → in_progress → completed``, and ``stale`` when a phase it depends on
    got a new version after this one was drafted.
    """

    __tablename__ = "phases"
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    org_id: Mapped[UUID] = org_column(foreign_key=False)
    """The organisation this row belongs to (row-level security keys on it)."""

    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="not_started")
    depends_on: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    current_version: Mapped[int | None] = mapped_column(Integer, default=None)
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    """``[{question, answer, message_id?, answered_at}]`` in the order the questions are asked."""


class PhaseVersion(UUIDv7AuditBase):
    """Every draft and edit of a phase, never overwritten; restoring one writes a new one."""

    __tablename__ = "phase_versions"
    __table_args__ = (UniqueConstraint("phase_id", "number"),)

    phase_id: Mapped[UUID] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"))
    project_id: Mapped[UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )

    org_id: Mapped[UUID] = org_column(foreign_key=False)
    """The organisation this row belongs to (row-level security keys on it)."""
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    author_kind: Mapped[str] = mapped_column(String(16))
    """``user`` or ``assistant``."""
    author_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    provider: Mapped[str | None] = mapped_column(String(100), default=None)
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    based_on: Mapped[int | None] = mapped_column(Integer, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    """What the draft was built from (phases, passages), as reconstructed at drafting time."""
    prompts: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    """The prompt versions (``{name, hash, label}``) a draft was written with; empty for edits."""
