"""The embedded PostgreSQL 16 + pgvector, started through pgserver when ``DATABASE_URL`` is unset.

Its data lives under ``DATA_DIR/postgres`` and survives restarts; pgserver stops the server when
the last process using it exits.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

DATABASE_NAME = "assistant"


def start_embedded(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or attach to) the embedded server and return an asyncpg URL for ``database``."""
    with warnings.catch_warnings():
        # pgserver keeps its lock file in the user's runtime dir; without XDG_RUNTIME_DIR (root,
        # containers, CI) platformdirs warns and falls back to /tmp, which works just as well.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", category=UserWarning)
        from pgserver import postgres_server  # noqa: PLC0415 - heavy, only for the embedded default

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    server = postgres_server.get_server(data_dir / "postgres", cleanup_mode="stop")
    # ``database`` is ours (a constant, or a test database name), never user input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return to_asyncpg_url(server.get_uri(database))


def to_asyncpg_url(url: str) -> str:
    """``postgresql://…`` (or ``postgres://``) as the SQLAlchemy asyncpg dialect's URL."""
    scheme, _, rest = url.partition("://")
    if scheme in {"postgresql", "postgres"}:
        return f"postgresql+asyncpg://{rest}"
    return url
