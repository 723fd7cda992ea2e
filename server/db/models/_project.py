from __future__ import annotations

from typing import Literal
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from ._organisation import Organisation, org_column

MemberRole = Literal["owner", "editor", "viewer"]
ROLE_RANK: dict[str, int] = {"viewer": 1, "editor": 2, "owner": 3}
"""Each role can do everything the roles ranked below it can."""


class Project(UUIDv7AuditBase):
    """A document being written, with its members."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("id", "org_id", name="uq_projects_id_org_id"),)

    org_id: Mapped[UUID] = org_column()
    """The organisation this row belongs to (row-level security keys on it)."""

    name: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(100))
    profile: Mapped[str | None] = mapped_column(String(100), default=None)
    """AI profile overriding the active one for this project."""
    created_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    org_profile: Mapped[str | None] = column_property(
        select(Organisation.profile).where(Organisation.id == org_id).scalar_subquery()
    )
    """The organisation's AI profile override, loaded with the project (read-only)."""


class ProjectMember(UUIDv7AuditBase):
    """A user's role in a project."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    org_id: Mapped[UUID] = org_column(foreign_key=False)
    """The organisation this row belongs to (row-level security keys on it)."""
