from __future__ import annotations

from typing import Literal
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

MemberRole = Literal["owner", "editor", "viewer"]
ROLE_RANK: dict[str, int] = {"viewer": 1, "editor": 2, "owner": 3}
"""Each role can do everything the roles ranked below it can."""


class Project(UUIDv7AuditBase):
    """A document being written, with its members."""

    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(100))
    profile: Mapped[str | None] = mapped_column(String(100), default=None)
    """AI profile overriding the active one for this project."""
    created_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class ProjectMember(UUIDv7AuditBase):
    """A user's role in a project."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
