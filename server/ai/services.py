"""The usage report and profiles as admins see them (usage is recorded by ``server.metering``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from server.db.models import UsageEvent

from .schemas import ChainLink, ProfileInfo, UsageReport, UsageRow, day_key

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql.elements import ColumnElement

    from .config import ConfigStore
    from .schemas import UsageQuery


def _group_column(group_by: str) -> ColumnElement[Any]:
    if group_by == "day":
        return func.date(func.timezone("UTC", UsageEvent.created_at))
    columns: dict[str, ColumnElement[Any]] = {
        "user": UsageEvent.user_id.expression,
        "project": UsageEvent.project_id.expression,
        "provider": UsageEvent.provider.expression,
        "model": UsageEvent.model.expression,
    }
    return columns[group_by]


async def usage_report(db: AsyncSession, query: UsageQuery) -> UsageReport:
    """Calls, tokens, cost and mean latency per group, largest cost first (days in order)."""
    key = _group_column(query.group_by).label("key")
    totals = (
        func.count().label("calls"),
        func.count().filter(~UsageEvent.ok).label("failed"),
        func.coalesce(func.sum(UsageEvent.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(UsageEvent.completion_tokens), 0).label("completion_tokens"),
        func.coalesce(func.sum(UsageEvent.cost_usd), 0).label("cost_usd"),
        func.coalesce(func.avg(UsageEvent.latency_ms), 0).label("avg_latency_ms"),
    )
    conditions = []
    if query.start is not None:
        conditions.append(UsageEvent.created_at >= query.start)
    if query.end is not None:
        conditions.append(UsageEvent.created_at < query.end)
    if query.user_id is not None:
        conditions.append(UsageEvent.user_id == query.user_id)
    if query.project_id is not None:
        conditions.append(UsageEvent.project_id == query.project_id)
    order = key if query.group_by == "day" else func.sum(UsageEvent.cost_usd).desc()
    grouped = await db.execute(
        select(key, *totals).where(*conditions).group_by(key).order_by(order, key)
    )
    overall = (await db.execute(select(*totals).where(*conditions))).one()
    return UsageReport(
        group_by=query.group_by,
        rows=[_row(day_key(r.key), r) for r in grouped],
        total=_row(None, overall),
        start=query.start,
        end=query.end,
        user_id=query.user_id,
        project_id=query.project_id,
    )


def _row(key: str | None, row: Any) -> UsageRow:
    return UsageRow(
        key=key,
        calls=int(row.calls),
        failed=int(row.failed),
        prompt_tokens=int(row.prompt_tokens),
        completion_tokens=int(row.completion_tokens),
        cost_usd=float(row.cost_usd),
        avg_latency_ms=round(float(row.avg_latency_ms), 2),
    )


def profiles_of(store: ConfigStore) -> list[ProfileInfo]:
    """Every profile with its chain, and which steps can be called now and why not."""
    config, registry = store.config, store.registry
    cooling = store.router.cooldowns()
    profiles = []
    for name, profile in config.profiles.items():
        chain = []
        for step in profile.chain:
            reason = registry.skipped.get(step.provider)
            if reason is None and step.provider not in registry.chat:
                reason = "not configured"
            left = cooling.get(step.provider)
            if reason is None and left is not None:
                reason = f"cooling down, {left:.0f}s left"
            chain.append(
                ChainLink(
                    provider=step.provider,
                    model=step.model,
                    type=config.provider_type(step.provider),
                    available=reason is None,
                    reason=reason,
                    cooldown_s=round(left, 1) if left is not None else None,
                )
            )
        profiles.append(
            ProfileInfo(
                name=name,
                active=name == config.active_profile,
                chain=chain,
                available=any(link.available for link in chain),
                temperature=profile.temperature,
                max_tokens=profile.max_tokens,
                description=profile.description,
            )
        )
    return profiles
