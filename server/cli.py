"""The ``assistant`` command: serve, migrate, create an admin, run a worker.

Heavy imports happen inside the commands so that ``--help`` is instant.
"""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING, NoReturn

import click

from server.documents.cli import documents

if TYPE_CHECKING:
    from types import FrameType

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


def _migrated_url(settings: Settings) -> str:
    """The database URL, after bringing its schema up to date."""
    from server.db import database_url  # noqa: PLC0415
    from server.db.migrate import upgrade  # noqa: PLC0415

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

    import uvicorn  # noqa: PLC0415

    from providers import ConfigError  # noqa: PLC0415
    from server.app import create_app  # noqa: PLC0415
    from server.db.embedded import stop_embedded  # noqa: PLC0415
    from server.observability import configure_logging  # noqa: PLC0415

    configure_logging(settings.app.debug)  # start-up (migrations, embedded database) as JSON too
    url = _migrated_url(settings)
    try:
        app = create_app(settings, url)
    except ConfigError as exc:
        _fail(f"{settings.app.config_path.name}: {exc}")
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again: with the
    # default SIGTERM action the process would die there, skipping every exit hook, and the
    # embedded PostgreSQL would be left running. These handlers turn it into a normal exit.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run(
            app,
            host=host or settings.app.host,
            port=settings.app.port if port is None else port,
            log_config=None,
            ws_ping_interval=20,
            ws_ping_timeout=20,
        )
    except KeyboardInterrupt:
        pass
    finally:
        stop_embedded()


def _exit_on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from server.db import database_url  # noqa: PLC0415
    from server.db.migrate import upgrade  # noqa: PLC0415

    upgrade(database_url(_settings()), revision)
    click.echo(f"database at {revision}")


@main.command("create-admin")
@click.option("--email", prompt=True, help="The admin's email.")
@click.option("--name", default=None, help="Display name.")
@click.password_option(help="Password (prompted when not given).")
def create_admin(email: str, name: str | None, password: str) -> None:
    """Create an administrator, or make an existing account one."""
    import asyncio  # noqa: PLC0415

    import msgspec  # noqa: PLC0415

    from server.accounts.schemas import UserCreate  # noqa: PLC0415
    from server.accounts.services import UserService  # noqa: PLC0415
    from server.db import sqlalchemy_config  # noqa: PLC0415

    try:
        data = msgspec.convert({"email": email, "password": password, "name": name}, UserCreate)
    except msgspec.ValidationError as exc:
        _fail(f"invalid input: {exc}")
    config = sqlalchemy_config(_migrated_url(_settings()))

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
