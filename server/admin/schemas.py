"""Wire schemas of the admin endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class AuditRecord(msgspec.Struct):
    """One audit row."""

    id: UUID
    created_at: datetime
    actor_id: UUID | None
    action: str
    target_type: str | None
    target_id: str | None
    project_id: UUID | None
    request_id: str | None
    ip: str | None
    data: dict[str, Any]
