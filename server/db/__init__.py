"""The database layer shared by the server and the workers: models, engine config, migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)

from .embedded import start_embedded, to_asyncpg_url
from .tenancy import APP_ROLE

if TYPE_CHECKING:
    from server.settings import Settings

__all__ = ("database_url", "sqlalchemy_config")


def database_url(settings: Settings) -> str:
    """The asyncpg URL to use: ``DATABASE_URL``, or the embedded server started on demand."""
    if settings.db.url is not None:
        return to_asyncpg_url(settings.db.url)
    return start_embedded(settings.app.data_dir)


def sqlalchemy_config(url: str, pool_size: int = 10) -> SQLAlchemyAsyncConfig:
    """The advanced-alchemy config: one session per request, committed when the response is 2xx.

    Every connection works as :data:`~server.db.tenancy.APP_ROLE` from its start (the ``role``
    startup parameter, which ``RESET ROLE`` returns to): row-level security holds for everything
    the application runs, whatever role ``url`` logs in as (the owner, who runs migrations).
    """
    return SQLAlchemyAsyncConfig(
        connection_string=url,
        before_send_handler="autocommit",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=EngineConfig(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args={"server_settings": {"role": APP_ROLE}},
        ),
        create_all=False,
    )
