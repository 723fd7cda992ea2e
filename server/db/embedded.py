"""The embedded PostgreSQL 16 + pgvector, started through pgserver when ``DATABASE_URL`` is unset.

Its data lives under ``DATA_DIR/postgres`` and survives restarts. The server stops with the last
process using it: pgserver keeps the ids of those processes in ``.handle_pids.json`` and stops
the postmaster when the last one leaves. Two things defeat that on their own, and are handled
here: a process killed with SIGKILL never removes its id, so its postmaster would outlive every
later run (:func:`start_embedded` drops the ids of processes that are gone, then attaches to the
running postmaster); and a process ended by a signal skips the exit hooks pgserver relies on
(``assistant serve`` calls :func:`stop_embedded` itself).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

DATABASE_NAME = "assistant"
_HANDLES = ".handle_pids.json"
_started: list[Any] = []
"""The pgserver handle this process holds, once started."""


def _forget_dead_handles(pgdata: Path) -> list[int]:
    """Remove the ids of processes that are gone from pgserver's handle list; the dropped ids."""
    import json  # noqa: PLC0415

    import psutil  # noqa: PLC0415
    from pgserver.postgres_server import PostgresServer  # noqa: PLC0415

    path = pgdata / _HANDLES
    with PostgresServer._lock:  # the lock pgserver edits the list under
        if not path.exists():
            return []
        pids: list[int] = json.loads(path.read_text() or "[]")
        alive = [p for p in pids if p != os.getpid() and psutil.pid_exists(p)]
        if alive != pids:
            path.write_text(json.dumps(alive))
    return [p for p in pids if p not in alive]


def start_embedded(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or attach to) the embedded server and return an asyncpg URL for ``database``."""
    from pgserver import postgres_server  # noqa: PLC0415 - heavy, only for the embedded default

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    pgdata = data_dir / "postgres"
    dropped = _forget_dead_handles(pgdata)
    if dropped:
        logging.getLogger(__name__).warning(
            "processes %s were killed while using the embedded PostgreSQL; taking it over", dropped
        )
    server = postgres_server.get_server(pgdata, cleanup_mode="stop")
    _started.append(server)
    # ``database`` is ours (a constant, or a test database name), never user input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return to_asyncpg_url(server.get_uri(database))


def stop_embedded() -> None:
    """Let go of the embedded server: it stops if no other process still uses it."""
    while _started:
        _started.pop()._cleanup()  # pgserver's own last-handle-stops logic


def to_asyncpg_url(url: str) -> str:
    """``postgresql://…`` (or ``postgres://``) as the SQLAlchemy asyncpg dialect's URL."""
    scheme, _, rest = url.partition("://")
    if scheme in {"postgresql", "postgres"}:
        return f"postgresql+asyncpg://{rest}"
    return url
