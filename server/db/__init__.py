"""The database layer shared by the server and the workers: models, engine config, migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)

from .embedded import start_embedded, to_asyncpg_url
from .pool import FairPool  # its module also registers the pool's guards
from .tenancy import APP_ROLE

if TYPE_CHECKING:
    from server.settings import Settings

__all__ = ("HNSW_EF_SEARCH", "POOL_TIMEOUT_S", "database_url", "sqlalchemy_config")

POOL_TIMEOUT_S = 300
"""How long work waits for a free database connection before it is refused."""
POOL_RECYCLE_S = 1800
HNSW_EF_SEARCH = 200
"""Candidates HNSW keeps while searching (pgvector's default is 40); at 100,000 chunks this is
what reaches recall@10 of 0.95 against exact search (``make bench-search``). Every connection
starts with it; a search that wants more than half of it raises it for its transaction
(``server.documents.index.ef_search``). HNSW filters after the scan, so it is at least twice the
depth a search asks for."""


def database_url(settings: Settings) -> str:
    """The asyncpg URL to use: ``DATABASE_URL``, or the embedded server started on demand."""
    if settings.db.url is not None:
        return to_asyncpg_url(settings.db.url)
    return start_embedded(settings.app.data_dir)


def sqlalchemy_config(url: str, pool_size: int = 10) -> SQLAlchemyAsyncConfig:
    """The advanced-alchemy config: one session per request, committed when the response is 2xx.

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
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=False,
            pool_timeout=POOL_TIMEOUT_S,
            pool_recycle=POOL_RECYCLE_S,
            connect_args={
                "server_settings": {"role": APP_ROLE, "hnsw.ef_search": str(HNSW_EF_SEARCH)}
            },
        ),
        create_all=False,
    )
