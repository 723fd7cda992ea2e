"""Exports: created with their rendering job in one transaction, read, and served as files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import select

from server.db.models import Export
from server.errors import DomainError, conflict
from server.queue import enqueue

from .jobs import RENDER_JOB

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from uuid import UUID

    from render import RenderOptions

__all__ = ("ExportService",)


class ExportService(SQLAlchemyAsyncRepositoryService[Export]):
    """Export rows and their jobs."""

    class Repo(SQLAlchemyAsyncRepository[Export]):
        model_type = Export

    repository_type = Repo

    async def request(
        self,
        project_id: UUID,
        fmt: str,
        requested_by: UUID,
        *,
        options: RenderOptions,
        timeout_s: int,
    ) -> Export:
        """A queued export and its job, in the caller's transaction; the job carries the
        rendering ``options``."""
        export = await self.create(
            Export(project_id=project_id, format=fmt, status="queued", requested_by=requested_by)
        )
        await enqueue(
            self.repository.session,
            RENDER_JOB,
            export.id,
            payload=msgspec.to_builtins(options),
            timeout_s=timeout_s,
        )
        return export

    async def for_project(self, project_id: UUID) -> Sequence[Export]:
        """The project's exports, newest first."""
        rows = await self.repository.session.scalars(
            select(Export).where(Export.project_id == project_id).order_by(Export.created_at.desc())
        )
        found: Sequence[Export] = rows.all()
        return found

    @staticmethod
    def file_of(export: Export, data_dir: Path) -> Path:
        """The stored file of a completed export; 409 before it is ready, 410 once gone."""
        if export.status == "expired":
            raise DomainError("gone", "this export has expired; request a new one")
        if export.status != "completed" or export.storage_path is None:
            raise conflict(
                f"this export is {export.status}, not ready to download", status=export.status
            )
        path = data_dir / export.storage_path
        if not path.is_file():
            raise DomainError(
                "gone", "this export's file is no longer available; request a new one"
            )
        return path
