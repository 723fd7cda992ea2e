"""What a chat turn needs of its project, read once a database session."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from .direct import driver

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("ProjectBrief", "forget_brief", "project_brief")


class ProjectBrief(msgspec.Struct, frozen=True):
    """A project's name, template and AI profile overrides (its own and its organisation's:
    what ``ConfigStore.profile_for`` reads), and whether its organisation has a monthly AI
    budget (whose spend is then checked before a message is answered)."""

    name: str
    template: str
    profile: str | None
    org_profile: str | None
    budgeted: bool


_BRIEF = """
SELECT projects.name, projects.template, projects.profile, organisations.profile,
       coalesce(organisations.monthly_token_budget IS NOT NULL
                OR organisations.monthly_cost_budget_usd IS NOT NULL, false)
FROM projects LEFT JOIN organisations ON organisations.id = projects.org_id
WHERE projects.id = $1
"""


async def project_brief(db: AsyncSession, project_id: UUID) -> ProjectBrief | None:
    """The project's brief (None when it is gone or hidden), kept in ``db`` once read: a turn
    needs it for the budget check, when it plans, in the phase flow and for its reply's
    profile."""
    key = (_BRIEF, project_id)
    if key not in db.info:
        row = await (await driver(db)).fetchrow(_BRIEF, project_id)
        db.info[key] = None if row is None else ProjectBrief(*row)
    brief: ProjectBrief | None = db.info[key]
    return brief


def forget_brief(db: AsyncSession, project_id: UUID) -> None:
    """Drop the brief ``db`` keeps of the project (after changing the project in it)."""
    db.info.pop((_BRIEF, project_id), None)
