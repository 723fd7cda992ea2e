"""Monthly token and cost budgets of organisations: what was spent, and the check before a reply.

Spend is read from ``usage_events`` (every provider call is recorded there with its tokens and
cost) for the current calendar month in UTC. A reply cannot know its size before it is written,
so the check refuses a new reply once the month's spend has *reached* a budget: the reply that
crosses the line is the last one, and the overshoot is at most one reply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec
from sqlalchemy import func, select

from server.db.models import Organisation, UsageEvent
from server.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("BudgetStatus", "budget_status", "check_budget", "month_start")


class BudgetStatus(msgspec.Struct):
    """An organisation's spend this month against its budgets (None: no limit)."""

    org_id: UUID
    month_start: datetime
    tokens_used: int
    cost_used_usd: float
    token_budget: int | None
    cost_budget_usd: float | None
    exceeded: bool


def month_start(now: datetime | None = None) -> datetime:
    """Midnight UTC on the first day of ``now``'s month."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def budget_status(db: AsyncSession, org_id: UUID) -> BudgetStatus:
    """Spend of ``org_id`` this month against its budgets (``db`` works for ``org_id``)."""
    org = await db.get(Organisation, org_id)
    start = month_start()
    row = (
        await db.execute(
            select(
                func.coalesce(func.sum(UsageEvent.prompt_tokens + UsageEvent.completion_tokens), 0),
                func.coalesce(func.sum(UsageEvent.cost_usd), Decimal(0)),
            ).where(UsageEvent.org_id == org_id, UsageEvent.created_at >= start)
        )
    ).one()
    tokens, cost = int(row[0]), Decimal(row[1])
    token_budget = None if org is None else org.monthly_token_budget
    cost_budget = None if org is None else org.monthly_cost_budget_usd
    exceeded = (token_budget is not None and tokens >= token_budget) or (
        cost_budget is not None and cost >= cost_budget
    )
    return BudgetStatus(
        org_id=org_id,
        month_start=start,
        tokens_used=tokens,
        cost_used_usd=float(cost),
        token_budget=token_budget,
        cost_budget_usd=None if cost_budget is None else float(cost_budget),
        exceeded=exceeded,
    )


async def check_budget(db: AsyncSession, org_id: UUID | None) -> None:
    """``budget_exceeded`` when ``org_id`` has spent its monthly token or cost budget (the
    caller asks only for an organisation that has one: see ``ProjectBrief.budgeted``)."""
    if org_id is None:
        return
    status = await budget_status(db, org_id)
    if status.exceeded:
        raise DomainError(
            "budget_exceeded",
            "this organisation has used its AI budget for the month; an organisation "
            "administrator can see the spend in /api/v1/usage",
            tokens_used=status.tokens_used,
            token_budget=status.token_budget,
            cost_used_usd=status.cost_used_usd,
            cost_budget_usd=status.cost_budget_usd,
        )
