"""The database layer shared by the server and the workers: models, engine config, migrations."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)

from .embedded import start_embedded, to_asyncpg_url
from .pool import FairPool  # its module also registers the pool's guards
from .tenancy import APP_ROLE, TenantConnection

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings

__all__ = ("HNSW_EF_SEARCH", "POOL_TIMEOUT_S", "database_url", "session", "sqlalchemy_config")

POOL_TIMEOUT_S = 300
"""How long work waits for a free database connection before it is refused."""
POOL_RECYCLE_S = 1800
HNSW_EF_SEARCH = 400
"""Candidates HNSW keeps while searching (pgvector's default is 40); at 100,000 chunks and 12
neighbours a node (`server.documents.index.HNSW_M`) this reaches recall@10 of 0.97 against exact
search, 200 only 0.95 (``make bench-search``). Every connection starts with it; a search that
wants more than half of it raises it for its transaction (``server.documents.index.ef_search``).
HNSW filters after the scan, so it is at least twice the depth a search asks for."""


def database_url(settings: Settings) -> str:
    """The asyncpg URL to use: ``DATABASE_URL``, or the embedded server started on demand."""
    if settings.db.url is not None:
        return to_asyncpg_url(settings.db.url)
    return start_embedded(settings.app.data_dir)


def sqlalchemy_config(url: str, pool_size: int = 10) -> SQLAlchemyAsyncConfig:
    """The advanced-alchemy config: one session per request, committed when the response is 2xx.

    Up to ``pool_size`` connections, opened when needed and kept open until recycled.
    No pre-ping: it cost a rollback-only transaction on every checkout. A connection the
    server dropped fails its first statement once; SQLAlchemy then invalidates every connection
    of the pool that is older, so the next checkouts reconnect (``pool_recycle`` also retires
    connections after half an hour). Under load, work waits up to :data:`POOL_TIMEOUT_S` for a
    connection instead of failing, in the order it asked (:class:`~.pool.FairPool`); past that
    it is ``rate_limited`` (server/errors.py).

    Every connection works as :data:`~server.db.tenancy.APP_ROLE` from its start (the ``role``
    startup parameter, which ``RESET ROLE`` returns to): row-level security holds for everything
    the application runs, whatever role ``url`` logs in as (the owner, who runs migrations).
    """
    return SQLAlchemyAsyncConfig(
        connection_string=url,
        before_send_handler="autocommit",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=EngineConfig(
            poolclass=FairPool,
            # Every connection kept open once opened, none as overflow: SQLAlchemy closes an
            # overflow connection the moment it comes back, and under a load around the pool's
            # size that opened a new one (a new PostgreSQL backend, its caches cold, every
            # statement prepared again) every dozen checkouts.
            pool_size=pool_size,
            max_overflow=0,
            pool_pre_ping=False,
            pool_timeout=POOL_TIMEOUT_S,
            pool_recycle=POOL_RECYCLE_S,
            connect_args={
                "server_settings": {"role": APP_ROLE, "hnsw.ef_search": str(HNSW_EF_SEARCH)},
                "connection_class": TenantConnection,
            },
        ),
        create_all=False,
    )


@asynccontextmanager
async def session(alchemy: SQLAlchemyAsyncConfig) -> AsyncIterator[AsyncSession]:
    """A new session for work outside an HTTP request (whose session the plugin gives), closed
    when the block ends: the one way the server opens one.

    ``alchemy.get_session()`` closes its session in SQLAlchemy's ``AsyncSession.__aexit__``,
    which runs the close in a task of its own, so that a cancellation cannot abandon it halfway.
    That costs the caller two turns of the event loop even when nothing is left to do, and under
    load a turn of the loop is long: 30 ms at 40 chat sessions, before a reply could start. A
    session whose transaction has ended (committed or rolled back) holds no connection, and its
    close neither waits nor can be interrupted, so it is closed at once; one still inside a
    transaction (the block raised, or never committed) is rolled back and closed in a task that
    a cancellation cannot abandon, as SQLAlchemy does.
    """
    db = alchemy.create_session_maker()()
    try:
        yield db
    finally:
        if db.in_transaction():
            # Rolling back needs the database: SQLAlchemy's own exit, which finishes the close
            # even when this task is cancelled meanwhile.
            await db.__aexit__(None, None, None)
        else:
            await db.close()
