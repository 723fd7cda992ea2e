"""The audit trail: one row for every successful mutation, written in the request's transaction.

The row is added by the ``before_send`` hook that also commits the request's session, so no
handler can forget it and it commits or rolls back with the change it describes. Handlers only
name what they changed when the path does not say it (``note``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
import structlog
from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.asyncio import (
    autocommit_handler_maker,
)
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from sqlalchemy import select

from server.db.models import AuditEntry

logger = structlog.get_logger()

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence

    from litestar import Request
    from litestar.types import Message, Scope
    from sqlalchemy.ext.asyncio import AsyncSession

MUTATIONS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def note(
    request: Request[Any, Any, Any],
    target_type: str,
    target_id: object,
    *,
    actor_id: UUID | None = None,
    project_id: UUID | None = None,
    **data: Any,
) -> None:
    """Name the target of this request's mutation (and the actor, when not signed in yet)."""
    request.state.audit = {
        "target_type": target_type,
        "target_id": str(target_id),
        "actor_id": actor_id,
        "project_id": project_id,
        "data": data,
    }


def entry_for(scope: Scope, status: int) -> AuditEntry | None:
    """The audit row for a finished request, or None when it changed nothing."""
    if scope["type"] != ScopeType.HTTP or scope["method"] not in MUTATIONS:
        return None
    handler = scope.get("route_handler")
    if not isinstance(handler, HTTPRouteHandler) or handler.opt.get("audit") is False:
        return None
    if not 200 <= status < 400:
        return None
    state = scope.get("state", {})
    noted: dict[str, Any] = state.get("audit", {})
    params = scope.get("path_params", {})
    user = scope.get("user")
    project_id = noted.get("project_id") or params.get("project_id") or state.get("project_id")
    target_id = noted.get("target_id")
    if target_id is None:
        target_id = next((str(v) for k, v in params.items() if k != "project_id"), project_id)
    client = scope.get("client")
    return AuditEntry(
        actor_id=noted.get("actor_id") or getattr(user, "id", None),
        action=handler.operation_id if isinstance(handler.operation_id, str) else handler.name,
        target_type=noted.get("target_type") or handler.opt.get("audit_target"),
        target_id=None if target_id is None else str(target_id),
        project_id=UUID(str(project_id)) if project_id else None,
        request_id=state.get("request_id"),
        ip=client[0] if client else None,
        data={"path": scope["path"], "status": status, **noted.get("data", {})},
    )


def audit_and_commit(session_key: str) -> Callable[[Message, Scope], Coroutine[Any, Any, None]]:
    """advanced-alchemy's autocommit handler, preceded by adding the audit row to the session."""
    commit = autocommit_handler_maker(commit_on_redirect=True, session_scope_key=session_key)

    async def handler(message: Message, scope: Scope) -> None:
        try:
            if message["type"] == "http.response.start":
                session = get_aa_scope_state(scope, session_key)
                entry = entry_for(scope, message["status"])
                if session is not None and entry is not None:
                    session.add(entry)
        except Exception:
            # The response has already been decided: keep the user's change, say so loudly.
            logger.exception("audit entry could not be written", path=scope.get("path"))
        finally:
            await commit(message, scope)

    return handler


class AuditRecord(msgspec.Struct):
    """One audit row as administrators read it."""

    id: UUID
    created_at: datetime
    org_id: UUID | None
    """None for a server-level event (no organisation at work)."""
    actor_id: UUID | None
    action: str
    target_type: str | None
    target_id: str | None
    project_id: UUID | None
    request_id: str | None
    ip: str | None
    data: dict[str, Any]


def audit_out(row: AuditEntry) -> AuditRecord:
    """The wire form of an audit row."""
    return AuditRecord(
        id=row.id,
        created_at=row.created_at,
        org_id=row.org_id,
        actor_id=row.actor_id,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        project_id=row.project_id,
        request_id=row.request_id,
        ip=row.ip,
        data=row.data,
    )


async def entries(
    db: AsyncSession, *, limit: int, offset: int, **filters: UUID | str | None
) -> Sequence[AuditEntry]:
    """Audit rows matching every filter given (a column name and its value), newest first;
    which organisations they come from is the session's (row-level security)."""
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    for column, value in filters.items():
        if value is not None:
            query = query.where(getattr(AuditEntry, column) == value)
    return list(await db.scalars(query.limit(limit).offset(offset)))
