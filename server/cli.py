"""The ``assistant`` command: serve, migrate, create an admin, run a worker.

Heavy imports happen inside the commands so that ``--help`` is instant.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import click

from server.documents.cli import documents

if TYPE_CHECKING:
    from server.settings import Settings


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _settings() -> Settings:
    from server.settings import SettingsError, get_settings  # noqa: PLC0415

    try:
        return get_settings()
    except SettingsError as exc:
        _fail(str(exc))


def _announce_database(settings: Settings) -> None:
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


def _refuse_busy_address(settings: Settings, host: str, port: int) -> None:
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
        _fail(
            f"a Unified Assistant server already answers at {url} (on {database}); "
            "stop it first, or serve on another PORT"
        )
    _fail(f"{host}:{port} is already in use by another program; stop it, or choose another PORT")


def _refuse_unreachable_redis(settings: Settings) -> None:
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
        _fail(
            f"REDIS_URL={where} cannot be reached ({exc}); start Redis, "
            "or unset REDIS_URL to run the queue and fan-out in this process"
        )
    finally:
        client.close()


def _migrated_url(settings: Settings, *, announce: bool = True) -> str:
    """The database URL, after bringing its schema up to date; ``announce`` says which it is."""
    from server.db import database_url  # noqa: PLC0415
    from server.db.migrate import upgrade  # noqa: PLC0415

    if announce:
        _announce_database(settings)
    try:
        url = database_url(settings)
        upgrade(url)
    except (OSError, ConnectionError) as exc:
        _fail(f"cannot reach the database: {exc}")
    return url


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Unified Assistant: a chat server that writes long documents with you."""


@main.command()
@click.option("--host", default=None, help="Address to bind (default: HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Migrate the database, then serve the app."""
    # Settings first: a bad one must end in one line, before any import has had a chance to log.
    settings = _settings()

    import structlog  # noqa: PLC0415
    import uvicorn  # noqa: PLC0415

    from providers import ConfigError  # noqa: PLC0415
    from server.app import create_app  # noqa: PLC0415
    from server.db.embedded import detach_on_sigterm  # noqa: PLC0415
    from server.db.identity import describe_database  # noqa: PLC0415
    from server.observability import configure_logging  # noqa: PLC0415

    bind_host, bind_port = host or settings.app.host, settings.app.port if port is None else port
    _refuse_unreachable_redis(settings)
    _refuse_busy_address(settings, bind_host, bind_port)
    configure_logging(settings.app.debug)  # start-up (migrations, embedded database) as JSON too
    detach_on_sigterm()
    structlog.get_logger().info("starting", database=describe_database(settings))
    url = _migrated_url(settings, announce=False)
    try:
        app = create_app(settings, url)
    except ConfigError as exc:
        _fail(f"{settings.app.config_path.name}: {exc}")
    uvicorn.run(
        app,
        host=bind_host,
        port=bind_port,
        log_config=None,
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from server.db import database_url  # noqa: PLC0415
    from server.db.migrate import upgrade  # noqa: PLC0415

    settings = _settings()
    _announce_database(settings)
    upgrade(database_url(settings), revision)
    click.echo(f"database at {revision}")


@main.command("create-admin")
@click.option("--email", prompt=True, envvar="ADMIN_EMAIL", help="The admin's email.")
@click.option("--name", default=None, help="Display name.")
@click.password_option(envvar="ADMIN_PASSWORD", help="Password, 8 characters or more.")
def create_admin(email: str, name: str | None, password: str) -> None:
    """Create an administrator, or make an existing account one."""
    import asyncio  # noqa: PLC0415

    import msgspec  # noqa: PLC0415

    from server.accounts.schemas import UserCreate  # noqa: PLC0415
    from server.accounts.services import UserService  # noqa: PLC0415
    from server.db import sqlalchemy_config  # noqa: PLC0415
    from server.db.identity import server_url  # noqa: PLC0415

    try:
        data = msgspec.convert({"email": email, "password": password, "name": name}, UserCreate)
    except msgspec.ValidationError as exc:
        _fail(f"invalid input: {exc}")
    settings = _settings()
    config = sqlalchemy_config(_migrated_url(settings))

    async def run() -> str:
        async with config.get_session() as session, UserService.new(session=session) as users:
            existing = await users.get_one_or_none(email=data.email.lower())
            if existing is not None:
                await users.update({"role": "admin"}, item_id=existing.id)
                verb = "promoted"
            else:
                await users.register(data, role="admin")
                verb = "created"
            await session.commit()
        await config.get_engine().dispose()
        return verb

    click.echo(f"admin {asyncio.run(run())}: {data.email.lower()}")
    login = f"{server_url(settings)}/api/v1/auth/login"
    click.echo(f"sign in: POST {login} with this email and password")


@main.command()
@click.option("--threads", type=int, default=None, help="Worker threads (default: WORKER_THREADS).")
def worker(threads: int | None) -> None:
    """Run queued jobs (exports, document indexing) from Redis until stopped; needs REDIS_URL."""
    from dataclasses import replace  # noqa: PLC0415

    from tasks.lifecycle import run_worker  # noqa: PLC0415

    settings = _settings()
    if settings.redis.url is None:
        _fail("REDIS_URL is not set; without Redis the server runs jobs itself")
    if threads is not None:
        settings = replace(settings, queue=replace(settings.queue, worker_threads=max(1, threads)))
    run_worker(settings, _migrated_url(settings))


main.add_command(documents)
