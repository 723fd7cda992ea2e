"""``assistant documents reembed`` and ``assistant documents check [--repair]``.

Heavy imports happen inside the commands so that ``assistant --help`` stays instant.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

    from providers import Registry
    from server.settings import Settings

    from .consistency import Report


@dataclass(frozen=True)
class _Context:
    settings: Settings
    database: SQLAlchemyAsyncConfig
    registry: Registry

    async def close(self) -> None:
        await self.registry.aclose()
        await self.database.get_engine().dispose()


def _context() -> _Context:
    """Settings, the migrated database and the providers of config.json."""
    from providers import build_registry, parse_config  # noqa: PLC0415
    from server.console import migrated_url, settings_or_exit  # noqa: PLC0415
    from server.db import sqlalchemy_config  # noqa: PLC0415

    settings = settings_or_exit()
    database = sqlalchemy_config(migrated_url(settings))
    registry = build_registry(parse_config(settings.app.config_path.read_bytes()))
    return _Context(settings, database, registry)


@click.group("documents")
def documents() -> None:
    """Document index maintenance."""


@documents.command("reembed")
def reembed_command() -> None:
    """Embed every chunk again with the configured embedding model (after it changed)."""
    import asyncio  # noqa: PLC0415

    from providers import embedding_space  # noqa: PLC0415

    from .consistency import reembed  # noqa: PLC0415

    context = _context()

    def report(done: int, total: int) -> None:
        click.echo(f"\r{done}/{total} chunks", nl=False)

    async def run() -> tuple[str, int]:
        try:
            embedder = context.registry.embedder()
            count = await reembed(context.database.get_session, embedder, progress=report)
        finally:
            await context.close()
        return embedding_space(embedder), count

    space, count = asyncio.run(run())
    click.echo(f"\n{count} chunks re-embedded into {space}")


@documents.command("check")
@click.option("--repair", is_flag=True, help="Fix what is found, not only report it.")
def check_command(repair: bool) -> None:
    """Report files without rows, rows without files and chunks of another embedding space.

    Exits 1 when something is inconsistent and ``--repair`` was not given.
    """
    import asyncio  # noqa: PLC0415

    from providers import embedding_space  # noqa: PLC0415

    from .consistency import check  # noqa: PLC0415
    from .storage import file_store  # noqa: PLC0415

    context = _context()

    async def run() -> Report:
        try:
            return await check(
                context.database.get_session,
                file_store(context.settings.app.data_dir),
                embedding_space(context.registry.embedder()),
                repair=repair,
            )
        finally:
            await context.close()

    result = asyncio.run(run())
    click.echo(f"embedding space: {result.space}")
    click.echo(f"files without a document: {len(result.orphan_files)}")
    for sha256 in result.orphan_files:
        click.echo(f"  {sha256}")
    click.echo(f"documents without a file: {len(result.missing_files)}")
    for document_id in result.missing_files:
        click.echo(f"  {document_id}")
    click.echo(f"chunks of another embedding space: {result.foreign_chunks}")
    if result.clean:
        click.echo("all consistent")
    elif result.repaired:
        click.echo("repaired; run `assistant documents reembed` to refill cleared vectors")
    else:
        click.echo("inconsistent; run again with --repair to fix")
        sys.exit(1)
