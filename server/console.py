"""What every command-line command needs: settings with a one-line error, a migrated database.

Shared by the ``assistant`` command group (:mod:`server.cli`) and the domains' own command groups
(``assistant documents …``), which it sits below. Heavy imports happen inside the functions so
that ``assistant --help`` stays instant.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from server.settings import Settings

__all__ = (
    "announce_database",
    "fail",
    "migrated_url",
    "refuse_busy_address",
    "refuse_unreachable_redis",
    "settings_or_exit",
)


def fail(message: str) -> NoReturn:
    """Print ``error: message`` to stderr and exit with status 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def settings_or_exit() -> Settings:
    """The settings from the environment, or a one-line error and exit 2 when one is invalid."""
    from server.settings import SettingsError, get_settings  # noqa: PLC0415

    try:
        return get_settings()
    except SettingsError as exc:
        fail(str(exc))


def migrated_url(settings: Settings, *, announce: bool = True) -> str:
    """The database URL, after bringing its schema up to date; ``announce`` says which it is."""
    from server.db import database_url  # noqa: PLC0415
    from server.db.migrate import upgrade  # noqa: PLC0415

    if announce:
        announce_database(settings)
    try:
        url = database_url(settings)
        upgrade(url)
    except (OSError, ConnectionError) as exc:
        fail(f"cannot reach the database: {exc}")
    return url


def announce_database(settings: Settings) -> None:
    """Say which database the command opens, and whether the server on HOST:PORT uses it."""
    from server.db.identity import describe_database, probe_server  # noqa: PLC0415

    click.echo(f"database: {describe_database(settings)}", err=True)
    probe = probe_server(settings)
    if probe.verdict == "same":
        click.echo(f"the server at {probe.url} uses this database", err=True)
    elif probe.verdict == "other":
        click.echo(
            f"warning: the server at {probe.url} uses another database: it will not see what "
            "this command writes. Run the command with that server's DATA_DIR (or DATABASE_URL).",
            err=True,
        )


def refuse_busy_address(settings: Settings, host: str, port: int) -> None:
    """Stop with one clear line when something already listens on ``host:port``."""
    import errno  # noqa: PLC0415
    import socket  # noqa: PLC0415

    from server.db.identity import probe_server, server_url  # noqa: PLC0415

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe_socket:
        probe_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe_socket.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return  # not ours to judge: uvicorn reports it
        else:
            return
    url = server_url(settings, host, port)
    verdict = probe_server(settings, url).verdict
    if verdict in {"same", "other"}:
        database = "this database" if verdict == "same" else "another database"
        fail(
            f"a Unified Assistant server already answers at {url} (on {database}); "
            "stop it first, or serve on another PORT"
        )
    fail(f"{host}:{port} is already in use by another program; stop it, or choose another PORT")


def refuse_unreachable_redis(settings: Settings) -> None:
    """Stop with one line when ``REDIS_URL`` is set and nothing answers there: the server cannot
    start its channels without it (once running, it rides out a Redis outage)."""
    if settings.redis.url is None:
        return
    from urllib.parse import urlsplit  # noqa: PLC0415

    from redis import Redis  # noqa: PLC0415
    from redis.exceptions import RedisError  # noqa: PLC0415

    client = Redis.from_url(settings.redis.url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except RedisError as exc:
        parts = urlsplit(settings.redis.url)
        where = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()  # no password
        fail(
            f"REDIS_URL={where} cannot be reached ({exc}); start Redis, "
            "or unset REDIS_URL to run the queue and fan-out in this process"
        )
    finally:
        client.close()
