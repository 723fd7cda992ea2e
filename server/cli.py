"""The ``assistant`` command: serve, migrate, create an admin, run a worker.

Heavy imports happen inside the commands so that ``--help`` is instant.
"""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import TypedDict

import click

from server.console import (
    announce_database,
    fail,
    migrated_url,
    refuse_busy_address,
    refuse_unreachable_redis,
    settings_or_exit,
)
from server.documents.cli import documents, evaluation


class WebSocketOptions(TypedDict):
    """uvicorn's WebSocket keyword arguments."""

    ws_ping_interval: float
    ws_ping_timeout: float
    ws_per_message_deflate: bool


WEBSOCKET_OPTIONS = WebSocketOptions(
    ws_ping_interval=20, ws_ping_timeout=20, ws_per_message_deflate=False
)
"""uvicorn's WebSocket options for ``serve``. No permessage-deflate: it keeps a zlib compressor
and decompressor per connection (35 KiB together, measured by ``make bench-chat``) and compresses
every frame, while most frames are deltas of a few dozen bytes."""


GC_THRESHOLDS = (50_000, 50, 100)
"""The cyclic garbage collector's thresholds in a served process (Python's: 700, 10, 10). A chat
turn allocates thousands of short-lived objects (ORM rows, frames, prompt pieces) that plain
reference counting frees; counting 700 allocations between collections made the collector run
dozens of times a turn over everything still alive. With these and start-up's objects frozen
out of its way (``gc.freeze``), a turn costs about 7 % less CPU (``make bench-chat``)."""


def _freeze_startup(_app: object) -> None:
    """Move what start-up made (modules, mappers, the embedding model) out of the collector's
    way: it is never garbage, and every full collection would walk it again."""
    gc.collect()
    gc.freeze()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Unified Assistant: a chat server that writes long documents with you."""


@main.command()
@click.option("--host", default=None, help="Address to bind (default: HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Migrate the database, then serve the app."""
    # Settings first: a bad one must end in one line, before any import has had a chance to log.
    settings = settings_or_exit()

    import structlog  # noqa: PLC0415
    import uvicorn  # noqa: PLC0415

    from providers import ConfigError  # noqa: PLC0415
    from server.app import create_app  # noqa: PLC0415
    from server.db.embedded import detach_on_sigterm  # noqa: PLC0415
    from server.db.identity import describe_database  # noqa: PLC0415
    from server.observability import configure_logging  # noqa: PLC0415

    bind_host, bind_port = host or settings.app.host, settings.app.port if port is None else port
    refuse_unreachable_redis(settings)
    refuse_busy_address(settings, bind_host, bind_port)
    configure_logging(settings.app.debug)  # start-up (migrations, embedded database) as JSON too
    detach_on_sigterm()
    structlog.get_logger().info("starting", database=describe_database(settings))
    url = migrated_url(settings, announce=False)
    try:
        app = create_app(settings, url)
    except ConfigError as exc:
        fail(f"{settings.app.config_path.name}: {exc}")
    gc.set_threshold(*GC_THRESHOLDS)
    app.on_startup.append(_freeze_startup)
    uvicorn.run(
        app,
        host=bind_host,
        port=bind_port,
        log_config=None,
        **WEBSOCKET_OPTIONS,
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

    settings = settings_or_exit()
    announce_database(settings)
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

    from server.accounts.password_policy import PasswordPolicy  # noqa: PLC0415
    from server.accounts.schemas import UserCreate  # noqa: PLC0415
    from server.accounts.services import UserService  # noqa: PLC0415
    from server.db import session, sqlalchemy_config  # noqa: PLC0415
    from server.db.identity import server_url  # noqa: PLC0415
    from server.errors import DomainError  # noqa: PLC0415
    from server.orgs.services import OrganisationService  # noqa: PLC0415

    try:
        data = msgspec.convert({"email": email, "password": password, "name": name}, UserCreate)
    except msgspec.ValidationError as exc:
        fail(f"invalid input: {exc}")
    settings = settings_or_exit()
    policy = PasswordPolicy.from_settings(settings.auth)
    config = sqlalchemy_config(migrated_url(settings))

    async def run() -> str:
        async with session(config) as db, UserService.new(session=db) as users:
            existing = await users.get_one_or_none(email=data.email.lower())
            if existing is not None:
                await users.update({"role": "admin"}, item_id=existing.id)
                verb = "promoted"
            else:
                user = await users.register(data, policy, role="admin")
                await OrganisationService(session=db).create_personal(user)
                verb = "created"
            await db.commit()
        return verb

    async def run_once() -> str:
        try:
            return await run()
        finally:
            await config.get_engine().dispose()

    try:
        verb = asyncio.run(run_once())
    except DomainError as exc:
        fail(exc.message)
    click.echo(f"admin {verb}: {data.email.lower()}")
    login = f"{server_url(settings)}/api/v1/auth/login"
    click.echo(f"sign in: POST {login} with this email and password")


@main.command()
@click.option("--threads", type=int, default=None, help="Worker threads (default: WORKER_THREADS).")
def worker(threads: int | None) -> None:
    """Run queued jobs (exports, document indexing) from Redis until stopped; needs REDIS_URL."""
    from server.app import JOB_MODULES  # noqa: PLC0415
    from server.queue import run_worker  # noqa: PLC0415

    settings = settings_or_exit()
    if settings.redis.url is None:
        fail("REDIS_URL is not set; without Redis the server runs jobs itself")
    if threads is not None:
        settings = replace(settings, queue=replace(settings.queue, worker_threads=max(1, threads)))
    run_worker(settings, migrated_url(settings), JOB_MODULES)


main.add_command(documents)
main.add_command(evaluation)
