from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import BigInteger, ForeignKey, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

OrgRole = Literal["org_admin", "member"]
ORG_ROLES: tuple[str, ...] = ("member", "org_admin")

CURRENT_ORG = "nullif(current_setting('app.org_id', true), '')::uuid"
"""The organisation of the transaction (``SET LOCAL app.org_id``), NULL when unset: the default
of every ``org_id`` column, so that rows are written into the organisation at work."""


def org_column(*, foreign_key: bool = True, nullable: bool = False) -> Any:
    """``org_id``: the organisation a tenant row belongs to, filled in by the database.

    Rows of a project reference ``(project_id, org_id)`` of ``projects`` (migration ``0010``)
    instead of a key of their own to ``organisations``: their organisation is their project's.
    """
    args = [ForeignKey("organisations.id", ondelete="CASCADE")] if foreign_key else []
    return mapped_column(*args, index=True, nullable=nullable, server_default=text(CURRENT_ORG))


class Organisation(UUIDv7AuditBase):
    """A team with its own projects, documents, chats, usage and audit trail, isolated from
    every other one by row-level security; with its own AI profile and monthly budgets."""

    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(200))
    personal: Mapped[bool] = mapped_column(default=False)
    """Created with an account at registration, for its owner alone to start with."""
    profile: Mapped[str | None] = mapped_column(String(100), default=None)
    """AI profile overriding the active one for this organisation's projects."""
    monthly_token_budget: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Prompt + completion tokens allowed per calendar month (UTC); None: no limit."""
    monthly_cost_budget_usd: Mapped[Decimal | None] = mapped_column(Numeric(16, 4), default=None)
    """Provider cost allowed per calendar month (UTC); None: no limit."""


class OrganisationMember(UUIDv7AuditBase):
    """A user's role in an organisation: ``org_admin`` or ``member``."""

    __tablename__ = "organisation_members"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)

    org_id: Mapped[UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
