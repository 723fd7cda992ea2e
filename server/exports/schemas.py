"""Wire shapes of exports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec

from render import ExportFormat, ExportMode, PaperSize
from server.events import Export, ExportStatus

if TYPE_CHECKING:
    from server.db.models import Export as ExportModel

__all__ = ("Export", "ExportCreate", "ExportStatus", "export_out")


class ExportCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Ask for a rendering of the project's document."""

    format: ExportFormat
    mode: Annotated[
        ExportMode,
        msgspec.Meta(
            description="final (default): the text as a reader should see it; draft: also each "
            "phase's status, version and review notices"
        ),
    ] = "final"
    paper_size: Annotated[
        PaperSize | None,
        msgspec.Meta(
            description="page size of a PDF or DOCX; unset: the server's EXPORT_PAPER_SIZE (A4)"
        ),
    ] = None


def export_out(export: ExportModel) -> Export:
    """The wire form of an export row; ``download_url`` once its file is ready."""
    return Export(
        id=export.id,
        project_id=export.project_id,
        format=export.format,  # type: ignore[arg-type]
        status=export.status,  # type: ignore[arg-type]
        created_at=export.created_at,
        updated_at=export.updated_at,
        filename=export.filename,
        content_type=export.content_type,
        size_bytes=export.size_bytes,
        error=export.error,
        expires_at=export.expires_at,
        download_url=(
            f"/api/v1/exports/{export.id}/download" if export.status == "completed" else None
        ),
    )
