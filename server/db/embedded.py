"""The embedded PostgreSQL 16 + pgvector, started through pgserver when ``DATABASE_URL`` is unset.

Its data lives under ``DATA_DIR/postgres`` and survives restarts; pgserver stops the server when
the last process using it exits. pgserver learns that through a list of the processes using it
(``.handle_pids.json``), from which each removes itself at exit; a process killed outright stays
listed and the PostgreSQL would then outlive every later user, so dead ones are struck off before
attaching, and ``serve`` detaches on SIGTERM too (which skips ``atexit``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path
    from types import FrameType

DATABASE_NAME = "assistant"


class EmbeddedDatabaseError(ConnectionError):
    """The embedded PostgreSQL could not be started or reached."""


_HANDLES = ".handle_pids.json"
_attached: dict[Path, Any] = {}
"""pgserver's handle of each embedded server this process uses, by data folder."""


def start_embedded(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or attach to) the embedded server and return an asyncpg URL for ``database``."""
    with warnings.catch_warnings():
        # pgserver keeps its lock file in the user's runtime dir; without XDG_RUNTIME_DIR (root,
        # containers, CI) platformdirs warns and falls back to /tmp, which works just as well.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", category=UserWarning)
        from pgserver import postgres_server  # noqa: PLC0415 - heavy, only for the embedded default

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    pgdata = data_dir / "postgres"
    # pgserver's own inter-process lock: another process may be attaching to the same server.
    with postgres_server.PostgresServer._lock:
        _forget_dead_users(pgdata)
        _remove_stale_lock(pgdata)
    try:
        server = postgres_server.get_server(pgdata, cleanup_mode="stop")
        _attached[pgdata] = server
        # ``database`` is ours (a constant, or a test database name), never user input.
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
    except subprocess.CalledProcessError as exc:
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL in {pgdata} did not start; its log is {pgdata / 'log'}"
        ) from exc
    return to_asyncpg_url(server.get_uri(database))


def _forget_dead_users(pgdata: Path) -> None:
    """Strike processes that no longer exist off pgserver's list of the server's users."""
    path = pgdata / _HANDLES
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if _exists(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def _remove_stale_lock(pgdata: Path) -> None:
    """Remove ``postmaster.pid`` when the process it names is not a PostgreSQL.

    After a crash or a reboot the file can name a PID that another program now has: PostgreSQL
    then refuses to start ("lock file already exists"), and pgserver, taking that program for
    the postmaster, would try to stop it at exit.
    """
    lock = pgdata / "postmaster.pid"
    try:
        pid = int(lock.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    if not _exists(pid):
        return  # PostgreSQL itself replaces the lock of a process that is gone
    name = subprocess.run(  # noqa: S603 - fixed arguments
        ["ps", "-o", "comm=", "-p", str(pid)],  # noqa: S607 - ps, wherever the system keeps it
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if name and "postgres" not in name:
        logging.getLogger(__name__).warning(
            "removing a stale postmaster.pid naming process %s (%s)", pid, name
        )
        lock.unlink(missing_ok=True)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def detach_on_sigterm() -> None:
    """On SIGTERM, detach from the embedded servers (the last user stops its PostgreSQL), then
    die of the signal as before. uvicorn handles SIGTERM itself while serving, restores this
    handler once it has shut down, and raises the signal again."""

    def detach(signum: int, frame: FrameType | None) -> None:
        for server in _attached.values():
            with contextlib.suppress(Exception):
                server.cleanup()
        _attached.clear()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, detach)


def to_asyncpg_url(url: str) -> str:
    """``postgresql://…`` (or ``postgres://``) as the SQLAlchemy asyncpg dialect's URL."""
    scheme, _, rest = url.partition("://")
    if scheme in {"postgresql", "postgres"}:
        return f"postgresql+asyncpg://{rest}"
    return url
