"""The exports' jobs: ``render_export`` builds the document from the database, renders it and
stores the file; the periodic ``expire_exports`` deletes files past their expiry.

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

import msgspec
from sqlalchemy import select

from render import RenderOptions, render
from server.db.models import Export
from server.events import ExportData, ExportUpdated, project_channel
from server.queue import JobFailed, job_handler

from .document import build_document
from .schemas import export_out

if TYPE_CHECKING:
    from server.queue import JobContext

__all__ = ("EXPIRE_JOB", "EXPORTS_DIR", "RENDER_JOB", "expire_exports", "render_export")

RENDER_JOB = "render_export"
EXPIRE_JOB = "expire_exports"
EXPIRE_EVERY_S = 600
EXPIRE_BATCH = 200
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
    async with ctx.session() as db:
        export = await db.get(Export, ctx.target_id)
        if export is None or export.status not in ("queued", "running"):
            return
        export.status = "failed"
        export.error = reason
        await db.commit()
    await _announce(ctx, export)


@job_handler(RENDER_JOB, time_limit_s=600, on_failure=_mark_failed)
async def render_export(ctx: JobContext) -> None:
    """Render the export ``ctx.target_id`` with the job's ``RenderOptions`` (its payload); a
    finished or expired export is left alone."""
    async with ctx.session() as db:
        export = await db.get(Export, ctx.target_id)
        if export is None or export.status not in ("queued", "running"):
            return
        export.status = "running"
        export.error = None
        await db.commit()
    await _announce(ctx, export)
    async with ctx.session() as db:
        document = await build_document(db, export.project_id)
    if document is None:
        raise JobFailed("the project no longer exists")
    delay = float(os.environ.get(TEST_DELAY_ENV, "0") or 0)
    if delay:
        await asyncio.sleep(delay)
    options = msgspec.convert(
        {"paper_size": ctx.settings.exports.paper_size, **ctx.payload}, RenderOptions
    )
    rendered = await asyncio.to_thread(render, document, export.format, options)  # type: ignore[arg-type]
    relative = f"{EXPORTS_DIR}/{export.id}.{export.format}"
    await asyncio.to_thread(
        _write_atomically, ctx.settings.app.data_dir / relative, rendered.content
    )
    if await ctx.cancelled():
        return
    async with ctx.session() as db:
        export = await db.get_one(Export, ctx.target_id)
        export.status = "completed"
        export.filename = rendered.filename
        export.content_type = rendered.content_type
        export.size_bytes = len(rendered.content)
        export.storage_path = relative
        export.expires_at = datetime.now(UTC) + timedelta(seconds=ctx.settings.exports.ttl_s)
        await db.commit()
    await _announce(ctx, export)


@job_handler(EXPIRE_JOB, time_limit_s=300, every_s=EXPIRE_EVERY_S)
async def expire_exports(ctx: JobContext) -> None:
    """Delete the files of completed exports whose ``expires_at`` has passed."""
    data_dir = ctx.settings.app.data_dir
    while True:
        async with ctx.session() as db:
            expired = (
                await db.scalars(
                    select(Export)
                    .where(Export.status == "completed", Export.expires_at < datetime.now(UTC))
                    .limit(EXPIRE_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for export in expired:
                if export.storage_path is not None:
                    await asyncio.to_thread(
                        (data_dir / export.storage_path).unlink, missing_ok=True
                    )
                export.status = "expired"
                export.storage_path = None
            await db.commit()
        for export in expired:
            await _announce(ctx, export)
        if len(expired) < EXPIRE_BATCH:
            return
