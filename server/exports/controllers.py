"""``/api/v1/projects/{project_id}/exports`` and ``/api/v1/exports/{export_id}[/download]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog
from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.response import File

from render import RenderOptions
from server import audit, events
from server.access import VIEWER
from server.db.models import Export as ExportModel
from server.db.models import User
from server.runtime import runtime_of

from .schemas import Export, ExportCreate, export_out
from .services import ExportService

if TYPE_CHECKING:
    from server.events import Publisher
    from server.settings import Settings

__all__ = ("ExportController",)

EXPORT_OF = {**VIEWER, "project_of": ("export_id", ExportModel)}

logger = structlog.get_logger()


async def _announce(publisher: Publisher, export: Export) -> None:
    """``export:updated`` for a new export, sent once the request has committed it."""
    try:
        await events.emit(
            publisher,
            [events.project_channel(export.project_id)],
            events.ExportUpdated(events.ExportData(export)),
        )
    except Exception as exc:
        logger.warning("export:updated not delivered", export_id=str(export.id), error=str(exc))


class ExportController(Controller):
    """Exports of a project's document (PDF, DOCX, Markdown, JSON)."""

    tags = ["exports"]
    dependencies = {"exports": Provide(create_service_provider(ExportService))}

    @post(
        "/api/v1/projects/{project_id:uuid}/exports",
        opt=VIEWER,
        operation_id="create_export",
        status_code=202,
    )
    async def create_export(
        self,
        request: Request[User, Any, Any],
        project_id: FromPath[UUID],
        data: JSONBody[ExportCreate],
        exports: NamedDependency[ExportService],
    ) -> Response[Export]:
        """Queue a rendering; follow it with ``GET /exports/{id}`` or ``export:updated``.

        ``mode`` (final or draft) and ``paper_size`` (A4 or Letter) shape PDF, DOCX and
        Markdown; the JSON export is the whole project in every mode.
        """
        settings: Settings = runtime_of(request.app).settings
        options = RenderOptions(
            mode=data.mode, paper_size=data.paper_size or settings.exports.paper_size
        )
        export = await exports.request(
            project_id,
            data.format,
            request.user.id,
            options=options,
            timeout_s=settings.exports.job_timeout_s,
        )
        audit.note(request, "export", export.id)
        body = export_out(export)
        announce = BackgroundTask(_announce, runtime_of(request.app).publisher, body)
        return Response(body, status_code=202, background=announce)

    @get("/api/v1/projects/{project_id:uuid}/exports", opt=VIEWER, operation_id="list_exports")
    async def list_exports(
        self, project_id: FromPath[UUID], exports: NamedDependency[ExportService]
    ) -> list[Export]:
        """The project's exports, newest first."""
        return [export_out(e) for e in await exports.for_project(project_id)]

    @get("/api/v1/exports/{export_id:uuid}", opt=EXPORT_OF, operation_id="get_export")
    async def get_export(
        self, export_id: FromPath[UUID], exports: NamedDependency[ExportService]
    ) -> Export:
        """One export and its status."""
        return export_out(await exports.get(export_id))

    @get(
        "/api/v1/exports/{export_id:uuid}/download",
        opt=EXPORT_OF,
        operation_id="download_export",
        media_type="application/octet-stream",
    )
    async def download_export(
        self,
        request: Request[User, Any, Any],
        export_id: FromPath[UUID],
        exports: NamedDependency[ExportService],
    ) -> File:
        """The rendered file (409 while not ready, 410 once expired)."""
        export = await exports.get(export_id)
        path = ExportService.file_of(export, runtime_of(request.app).settings.app.data_dir)
        media_type = export.content_type or "application/octet-stream"
        if media_type.startswith("text/"):
            media_type = media_type.split(";", 1)[0]  # Litestar adds the charset of text types
        return File(
            path=path,
            filename=export.filename or path.name,
            media_type=media_type,
            content_disposition_type="attachment",
        )
