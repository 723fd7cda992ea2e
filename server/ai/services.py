"""Usage records of provider calls, the usage report, and profiles as admins see them."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import func, select

from server.db.models import UsageEvent

from .schemas import ChainLink, ProfileInfo, UsageReport, UsageRow, day_key

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql.elements import ColumnElement

    from providers import Completion, Embedder, Hop, ProvidersUnavailable

    from .config import ConfigStore
    from .schemas import UsageQuery


def _hops(hops: tuple[Hop, ...]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(hop) for hop in hops]


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 8)))


def record_completion(
    db: AsyncSession,
    completion: Completion,
    *,
    user_id: UUID | None,
    project_id: UUID | None,
    purpose: str = "chat",
    session_id: UUID | None = None,
    message_id: UUID | None = None,
) -> UsageEvent:
    """Add the usage of a routed reply to ``db`` (the caller commits).

    Tokens and cost cover every hop, a provider that failed mid-stream included.
    """
    event = UsageEvent(
        user_id=user_id,
        project_id=project_id,
        session_id=session_id,
        message_id=message_id,
        purpose=purpose,
        provider=completion.provider,
        model=completion.model,
        prompt_tokens=completion.usage.prompt_tokens,
        completion_tokens=completion.usage.completion_tokens,
        cost_usd=_decimal(completion.cost_usd),
        latency_ms=completion.latency_ms,
        hops=_hops(completion.hops),
        ok=True,
    )
    db.add(event)
    return event


def record_failure(
    db: AsyncSession,
    error: ProvidersUnavailable,
    *,
    user_id: UUID | None,
    project_id: UUID | None,
    purpose: str = "chat",
    session_id: UUID | None = None,
    message_id: UUID | None = None,
) -> UsageEvent:
    """Add a reply no provider could finish; what the providers streamed before failing is
    still billed, so its tokens and cost count."""
    last = error.hops[-1] if error.hops else None
    event = UsageEvent(
        user_id=user_id,
        project_id=project_id,
        session_id=session_id,
        message_id=message_id,
        purpose=purpose,
        provider=last.provider if last else "",
        model=last.model if last else "",
        prompt_tokens=sum(h.prompt_tokens for h in error.hops),
        completion_tokens=sum(h.completion_tokens for h in error.hops),
        cost_usd=_decimal(sum(h.cost_usd for h in error.hops)),
        latency_ms=sum(h.latency_ms for h in error.hops),
        hops=_hops(error.hops),
        ok=False,
    )
    db.add(event)
    return event


def record_embedding(
    db: AsyncSession,
    embedder: Embedder,
    *,
    tokens: int,
    latency_ms: float,
    cost_usd: float = 0.0,
    user_id: UUID | None = None,
    project_id: UUID | None = None,
    purpose: str = "embed",
    ok: bool = True,
) -> UsageEvent:
    """Add the usage of an embedding call (``tokens`` embedded, e.g. ``estimate_tokens`` of
    the texts; ``cost_usd`` from ``providers.cost_usd`` with the config's prices)."""
    event = UsageEvent(
        user_id=user_id,
        project_id=project_id,
        purpose=purpose,
        provider=embedder.provider,
        model=embedder.model,
        prompt_tokens=tokens,
        completion_tokens=0,
        cost_usd=_decimal(cost_usd),
        latency_ms=latency_ms,
        hops=[],
        ok=ok,
    )
    db.add(event)
    return event


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
