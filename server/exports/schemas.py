"""Wire shapes of exports."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

import msgspec

from render import ExportFormat

if TYPE_CHECKING:
    from server.db.models import Export as ExportModel

ExportStatus = Literal["queued", "running", "completed", "failed", "expired"]


class ExportCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Ask for a rendering of the project's document."""

    format: ExportFormat


class Export(msgspec.Struct):
    """An export: ``queued → running → completed | failed``, then ``expired``."""

    id: UUID
    project_id: UUID
    format: ExportFormat
    status: ExportStatus
    created_at: datetime
    updated_at: datetime
    filename: str | None = None
    content_type: str | None = None
    size_bytes: int | None = None
    error: str | None = None
    expires_at: datetime | None = None
    download_url: str | None = None


def export_schema(export: ExportModel) -> Export:
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
