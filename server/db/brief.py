"""What a chat turn needs of its project, read once a database session."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from .direct import driver

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("ProjectBrief", "brief_join", "forget_brief", "keep_brief", "project_brief")


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
_FIELDS = len(ProjectBrief.__struct_fields__)


def brief_join(project: str) -> str:
    """A ``LEFT JOIN LATERAL`` adding the brief of the project ``project`` (an SQL expression)
    as the statement's last columns, for `keep_brief`: another statement of the turn brings
    the brief with it instead of a round trip of its own."""
    lateral = _BRIEF.replace("$1", project)
    return f"LEFT JOIN LATERAL ({lateral}) AS brief ON true"


def keep_brief(db: AsyncSession, project_id: UUID, row: Sequence[Any]) -> None:
    """Keep in ``db`` the brief of ``project_id`` read by a `brief_join` (the last columns of
    ``row``), for `project_brief`."""
    values = row[-_FIELDS:]
    db.info[(_BRIEF, project_id)] = None if values[0] is None else ProjectBrief(*values)


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
