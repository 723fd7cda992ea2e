"""Which database a process uses, so that the CLI never writes silently to another one.

The server answers every ``/health`` with ``X-Database-Id``, a fingerprint of its database (the
embedded one's ``DATA_DIR``, or ``DATABASE_URL`` without credentials). A CLI command computes the
same fingerprint from its own settings and compares: a server on ``HOST:PORT`` serving another
database is named before the command writes anything.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:
    from server.settings import Settings

DATABASE_ID_HEADER = "X-Database-Id"
_PROBE_TIMEOUT_S = 1.0


def describe_database(settings: Settings) -> str:
    """The database these settings name, as a person reads it (never with a password)."""
    if settings.db.url is None:
        return f"embedded PostgreSQL in DATA_DIR={settings.app.data_dir}"
    parts = urlsplit(settings.db.url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"DATABASE_URL={parts.scheme}://{host}{port}{parts.path}"


def database_id(settings: Settings) -> str:
    """A short fingerprint of :func:`describe_database`, safe to show on a public endpoint."""
    return hashlib.sha256(describe_database(settings).encode()).hexdigest()[:16]


def server_url(settings: Settings, host: str | None = None, port: int | None = None) -> str:
    """Where a client on this machine reaches the server at ``host:port`` (default: the
    settings' ``HOST:PORT``)."""
    host = settings.app.host if host is None else host
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - a comparison, not a bind
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.app.port if port is None else port}"


@dataclass(frozen=True)
class ServerProbe:
    """What answers at :func:`server_url`: nobody, another program, or our server with a
    database that is (``same``) or is not (``other``) the one these settings name."""

    url: str
    verdict: Literal["none", "unknown", "same", "other"]


def probe_server(settings: Settings, url: str | None = None) -> ServerProbe:
    """Ask ``/health`` at ``url`` (default ``HOST:PORT``) which database the server there uses."""
    url = url or server_url(settings)
    try:
        answer = httpx.get(f"{url}/health", timeout=_PROBE_TIMEOUT_S)
    except httpx.HTTPError:
        return ServerProbe(url, "none")
    served = answer.headers.get(DATABASE_ID_HEADER)
    if served is None:
        return ServerProbe(url, "unknown")
    return ServerProbe(url, "same" if served == database_id(settings) else "other")
