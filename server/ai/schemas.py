"""Wire schemas of profiles, the loaded config and usage reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from server.orgs.budget import BudgetStatus

GroupBy = Literal["user", "project", "provider", "model", "day"]


class ChainLink(msgspec.Struct):
    """One step of a profile's chain and whether it can be called now."""

    provider: str
    model: str | None
    type: str
    available: bool
    reason: str | None = None
    """Why it is skipped (no API key, cooling down)."""
    cooldown_s: float | None = None


class ProfileInfo(msgspec.Struct):
    """A profile of config.json."""

    name: str
    active: bool
    chain: list[ChainLink]
    available: bool
    """Whether at least one step of the chain can be called now."""
    temperature: float | None = None
    max_tokens: int | None = None
    description: str | None = None


class ActiveProfile(msgspec.Struct, forbid_unknown_fields=True):
    """Switch the active profile."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class LoadedConfig(msgspec.Struct):
    """config.json as loaded, secrets redacted, and how the last reload went."""

    path: str
    loaded_at: datetime
    active_profile: str
    config: dict[str, Any]
    last_error: str | None = None
    """Why the newest version of the file was rejected (the previous one stays in force)."""
    last_error_at: datetime | None = None


class UsageRow(msgspec.Struct):
    """Totals for one group; ``key`` is a user or project id, provider, model or ISO day."""

    key: str | None
    calls: int
    failed: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    avg_latency_ms: float


class UsageReport(msgspec.Struct):
    """Usage grouped one way over a period, with the grand total."""

    group_by: GroupBy
    rows: list[UsageRow]
    total: UsageRow
    start: datetime | None = None
    end: datetime | None = None
    user_id: UUID | None = None
    project_id: UUID | None = None
    budget: BudgetStatus | None = None
    """The organisation's spend this month against its budgets (for its administrators)."""


class UsageQuery(msgspec.Struct, frozen=True):
    """Filters of a usage report; ``start`` inclusive, ``end`` exclusive."""

    group_by: GroupBy = "day"
    start: datetime | None = None
    end: datetime | None = None
    user_id: UUID | None = None
    project_id: UUID | None = None


def day_key(value: date | str | UUID | None) -> str | None:
    """The wire form of a group key."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)
