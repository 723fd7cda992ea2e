"""What ``GET /api/v1/admin/diagnostics`` gathers: queue, chat turns, documents, index, sockets,
providers.

Job rows are read with SQL against the models (the queue engine is not imported: the rows are
the truth, whichever process runs them). Everything here may scan tables and the file store,
which is why it is an admin endpoint and ``/status`` stays a cheap probe.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text

from server.db.models import ChatMessage, ChatTurn, Chunk, Document, Job
from server.documents.consistency import check
from server.documents.storage import file_store

from .presence import instances
from .schemas import (
    ChatTurns,
    Diagnostics,
    Embeddings,
    EmbeddingSpaceCount,
    HnswIndex,
    Orphans,
    Pool,
    ProviderHealth,
    QueueKind,
    StuckJob,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager

    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from server.settings import Settings

    SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]

STUCK_LIMIT = 50


async def queue_by_kind(db: AsyncSession, since: datetime) -> list[QueueKind]:
    """Queued and running jobs per kind, the oldest queued one, failures since ``since``."""
    rows = await db.execute(
        select(
            Job.kind,
            func.count().filter(Job.status == "queued").label("queued"),
            func.count().filter(Job.status == "running").label("running"),
            func.min(Job.created_at).filter(Job.status == "queued").label("oldest"),
            func.count().filter(Job.status == "failed", Job.finished_at >= since).label("failed"),
        )
        .where((Job.status.in_(("queued", "running"))) | (Job.finished_at >= since))
        .group_by(Job.kind)
        .order_by(Job.kind)
    )
    return [QueueKind(r.kind, r.queued, r.running, r.oldest, r.failed) for r in rows]


async def stuck_jobs(db: AsyncSession, now: datetime) -> list[StuckJob]:
    """Queued or running jobs past their deadline, most overdue first."""
    rows = await db.scalars(
        select(Job)
        .where(Job.status.in_(("queued", "running")), Job.deadline_at < now)
        .order_by(Job.deadline_at)
        .limit(STUCK_LIMIT)
    )
    return [
        StuckJob(
            id=job.id,
            kind=job.kind,
            status=job.status,
            attempts=job.attempts,
            deadline_at=job.deadline_at,
            overdue_s=round((now - job.deadline_at).total_seconds(), 1),
            last_error=job.last_error,
        )
        for job in rows
        if job.deadline_at is not None
    ]


async def chat_turns(db: AsyncSession, now: datetime, since: datetime) -> ChatTurns:
    """Turns owed an answer by state, and the replies stored ``interrupted`` since ``since``."""
    running = ChatTurn.status == "running"
    row = (
        await db.execute(
            select(
                func.count().filter(ChatTurn.status == "queued").label("waiting"),
                func.count().filter(running, ChatTurn.lease_until >= now).label("answering"),
                func.count().filter(running, ChatTurn.lease_until < now).label("expired"),
                func.min(ChatTurn.created_at).label("oldest"),
            )
        )
    ).one()
    interrupted = await db.scalar(
        select(func.count()).where(
            ChatMessage.status == "interrupted", ChatMessage.created_at >= since
        )
    )
    return ChatTurns(row.waiting, row.answering, row.expired, row.oldest, interrupted or 0)


async def documents_by_status(db: AsyncSession) -> dict[str, int]:
    """How many documents are in each status."""
    rows = await db.execute(select(Document.status, func.count()).group_by(Document.status))
    return dict(rows.tuples().all())


async def embeddings(db: AsyncSession, space: str) -> Embeddings:
    """Chunks per embedding space, chunks outside ``space``, projects that mix spaces."""
    rows = await db.execute(
        select(Chunk.embedding_space, func.count())
        .group_by(Chunk.embedding_space)
        .order_by(Chunk.embedding_space)
    )
    spaces = [EmbeddingSpaceCount(s, n, s == space) for s, n in rows.tuples()]
    per_project = (
        select(Chunk.project_id)
        .where(Chunk.embedding_space.is_not(None))
        .group_by(Chunk.project_id)
        .having(func.count(Chunk.embedding_space.distinct()) > 1)
        .subquery()
    )
    mixed = await db.scalar(select(func.count()).select_from(per_project))
    foreign = sum(s.chunks for s in spaces if s.space is not None and s.space != space)
    return Embeddings(space, spaces, foreign, int(mixed or 0))


async def hnsw_indexes(db: AsyncSession) -> list[HnswIndex]:
    """Every HNSW index of ``chunks`` with the space its predicate names and its size."""
    rows = await db.execute(
        text(
            "SELECT i.indexname AS name, i.indexdef AS definition, "
            "pg_relation_size(to_regclass(quote_ident(i.indexname))) AS size "
            "FROM pg_indexes i WHERE i.tablename = 'chunks' AND i.indexdef ILIKE '%USING hnsw%' "
            "ORDER BY i.indexname"
        )
    )
    found = []
    for row in rows:
        _, _, predicate = row.definition.partition("embedding_space)::text = '")
        found.append(HnswIndex(row.name, predicate.split("'", 1)[0] or None, int(row.size)))
    return found


async def providers(
    db: AsyncSession, since: datetime, cooldowns: dict[str, float]
) -> list[ProviderHealth]:
    """Per provider: calls tried and failed since ``since`` and the cool-down left now.

    Every hop of a routed call counts as a call to its provider (a fallback that succeeded
    still shows the provider that failed before it); hops skipped without a call do not.
    """
    rows = await db.execute(
        text(
            """
            WITH calls AS (
                SELECT h->>'provider' AS provider, (h->>'ok')::boolean AS ok,
                       h->>'error_kind' AS kind
                FROM usage_events u CROSS JOIN jsonb_array_elements(u.hops) h
                WHERE u.created_at >= :since AND coalesce((h->>'attempts')::int, 1) > 0
                UNION ALL
                SELECT u.provider, u.ok, NULL FROM usage_events u
                WHERE u.created_at >= :since AND jsonb_array_length(u.hops) = 0
            )
            SELECT provider, ok, kind, count(*) AS n FROM calls GROUP BY provider, ok, kind
            """
        ),
        {"since": since},
    )
    health = {
        name: ProviderHealth(name, round(left, 1), 0, 0, 0.0, {})
        for name, left in cooldowns.items()
    }
    for row in rows:
        entry = health.setdefault(row.provider, ProviderHealth(row.provider, 0.0, 0, 0, 0.0, {}))
        entry.calls += row.n
        if not row.ok:
            entry.failed += row.n
            kind = row.kind or "unknown"
            entry.errors_by_kind[kind] = entry.errors_by_kind.get(kind, 0) + row.n
    for entry in health.values():
        entry.error_rate = round(entry.failed / entry.calls, 4) if entry.calls else 0.0
    return sorted(health.values(), key=lambda p: p.provider)


def pool(engine: AsyncEngine) -> Pool:
    """Connections of this instance's pool: open, in use, over the pool size."""
    sync_pool: Any = engine.sync_engine.pool
    return Pool(
        size=sync_pool.size(),
        checked_out=sync_pool.checkedout(),
        overflow=max(sync_pool.overflow(), 0),
        max_overflow=getattr(sync_pool, "_max_overflow", 0),
        status=sync_pool.status(),
    )


async def gather(
    db: AsyncSession,
    *,
    sessions: SessionFactory,
    engine: AsyncEngine,
    settings: Settings,
    space: str,
    chat: Any,
    redis: Redis | None,
    cooldowns: dict[str, float],
    window_s: int,
) -> Diagnostics:
    """The whole report, as of now."""
    now = datetime.now(UTC)
    since = now - timedelta(seconds=window_s)
    live = await instances(redis, chat)
    consistency = await check(sessions, file_store(settings.app.data_dir), space)
    return Diagnostics(
        generated_at=now,
        window_s=window_s,
        queue=await queue_by_kind(db, since),
        stuck_jobs=await stuck_jobs(db, now),
        chat_turns=await chat_turns(db, now, since),
        documents_by_status=await documents_by_status(db),
        embeddings=await embeddings(db, space),
        orphans=Orphans(consistency.orphan_files, consistency.missing_files),
        hnsw_indexes=await hnsw_indexes(db),
        instance=live[0],
        instances=live,
        providers=await providers(db, since, cooldowns),
        database_pool=pool(engine),
    )
