"""The periodic ``expire_exports`` job: delete export files past their expiry, mark them so."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from server.db.models import Export
from server.events import ExportData, ExportUpdated, project_channel
from server.exports.schemas import export_out
from tasks.jobs import job_handler

if TYPE_CHECKING:
    from tasks.jobs import JobContext

__all__ = ("CLEANUP_EVERY_S", "KIND", "expire_exports")

KIND = "expire_exports"
CLEANUP_EVERY_S = 600
BATCH = 200


@job_handler(KIND, time_limit_s=300, every_s=CLEANUP_EVERY_S)
async def expire_exports(ctx: JobContext) -> None:
    """Delete the files of completed exports whose ``expires_at`` has passed."""
    data_dir = ctx.settings.app.data_dir
    while True:
        async with ctx.session() as session:
            expired = (
                await session.scalars(
                    select(Export)
                    .where(Export.status == "completed", Export.expires_at < datetime.now(UTC))
                    .limit(BATCH)
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
            await session.commit()
        for export in expired:
            await ctx.emit(
                [project_channel(export.project_id)], ExportUpdated(ExportData(export_out(export)))
            )
        if len(expired) < BATCH:
            return
