"""The ``render_export`` job: build the document from the database, render it, store the file.

The file is written under ``DATA_DIR/exports/<export id>.<ext>`` through a temporary file and a
rename, so a reader never sees half a file and a retried attempt simply overwrites it.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from server.db.models import Export
from server.events import ExportData, ExportUpdated, project_channel
from server.exports.schemas import export_out
from tasks._document import build_document
from tasks.jobs import JobFailed, job_handler
from tasks.renderers import render

if TYPE_CHECKING:
    from tasks.jobs import JobContext

__all__ = ("EXPORTS_DIR", "KIND", "render_export")

KIND = "render_export"
EXPORTS_DIR = "exports"
TEST_DELAY_ENV = "ASSISTANT_TEST_EXPORT_DELAY_S"
"""Test-only: seconds each rendering waits first, so a fault test can kill its worker mid-way."""


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def _announce(ctx: JobContext, export: Export) -> None:
    await ctx.emit(
        [project_channel(export.project_id)], ExportUpdated(ExportData(export_out(export)))
    )


async def _mark_failed(ctx: JobContext, reason: str) -> None:
    async with ctx.session() as session:
        export = await session.get(Export, ctx.target_id)
        if export is None or export.status not in ("queued", "running"):
            return
        export.status = "failed"
        export.error = reason
        await session.commit()
    await _announce(ctx, export)


@job_handler(KIND, time_limit_s=600, on_failure=_mark_failed)
async def render_export(ctx: JobContext) -> None:
    """Render the export ``ctx.target_id``; a finished or expired export is left alone."""
    async with ctx.session() as session:
        export = await session.get(Export, ctx.target_id)
        if export is None or export.status not in ("queued", "running"):
            return
        export.status = "running"
        export.error = None
        await session.commit()
    await _announce(ctx, export)
    async with ctx.session() as session:
        document = await build_document(session, export.project_id)
    if document is None:
        raise JobFailed("the project no longer exists")
    delay = float(os.environ.get(TEST_DELAY_ENV, "0") or 0)
    if delay:
        await asyncio.sleep(delay)
    rendered = await asyncio.to_thread(render, document, export.format)  # type: ignore[arg-type]
    relative = f"{EXPORTS_DIR}/{export.id}.{export.format}"
    await asyncio.to_thread(
        _write_atomically, ctx.settings.app.data_dir / relative, rendered.content
    )
    if await ctx.cancelled():
        return
    async with ctx.session() as session:
        export = await session.get_one(Export, ctx.target_id)
        export.status = "completed"
        export.filename = rendered.filename
        export.content_type = rendered.content_type
        export.size_bytes = len(rendered.content)
        export.storage_path = relative
        export.expires_at = datetime.now(UTC) + timedelta(seconds=ctx.settings.exports.ttl_s)
        await session.commit()
    await _announce(ctx, export)
