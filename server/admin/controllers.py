"""``/api/v1/audit`` (the audit trail of every organisation) and ``/api/v1/admin/diagnostics``,
for server administrators: both read across organisations, explicitly and logged."""

from __future__ import annotations

from functools import partial
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from providers import ProviderError, embedding_space
from server import audit
from server.access import ADMIN
from server.ai import ConfigStore
from server.chat import ChatService
from server.db import session
from server.db.tenancy import across_orgs, all_orgs
from server.errors import DomainError
from server.runtime import Runtime

from .diagnostics import gather
from .schemas import Diagnostics


class AuditController(Controller):
    """Read the audit trail, newest first, filtered by actor, action, project or target."""

    path = "/api/v1/audit"
    tags = ["admin"]

    @get("/", opt=ADMIN, operation_id="list_audit")
    async def list_audit(
        self,
        *,
        db_session: NamedDependency[AsyncSession],
        org_id: FromQuery[UUID | None] = None,
        actor_id: FromQuery[UUID | None] = None,
        action: FromQuery[str | None] = None,
        project_id: FromQuery[UUID | None] = None,
        target_id: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> list[audit.AuditRecord]:
        """Audit rows of every organisation (and server-level ones, with no organisation)
        matching every given filter."""
        async with across_orgs(db_session, "a server administrator reads the audit trail"):
            rows = await audit.entries(
                db_session,
                org_id=org_id,
                actor_id=actor_id,
                action=action,
                project_id=project_id,
                target_id=target_id,
                limit=limit,
                offset=offset,
            )
        return [audit.audit_out(r) for r in rows]


class DiagnosticsController(Controller):
    """The state of the queue, the document index, sockets and providers, for operators."""

    path = "/api/v1/admin/diagnostics"
    tags = ["admin"]

    @get("/", opt={**ADMIN, "audit": False}, operation_id="get_diagnostics")
    async def diagnostics(
        self,
        db_session: NamedDependency[AsyncSession],
        runtime: NamedDependency[Runtime],
        config_store: NamedDependency[ConfigStore],
        chat: NamedDependency[ChatService],
        window_s: Annotated[int, Parameter(ge=60, le=30 * 24 * 3600)] = 3600,
    ) -> Diagnostics:
        """Queue depth, stuck jobs, documents, embedding spaces, orphans, HNSW indexes, this
        instance's WebSockets and pool, providers' cool-downs and error rates over ``window_s``.

        Heavier than ``/status`` (it scans tables and the file store): meant for people, not
        for load-balancer probes. This instance's pending usage rows are written first.
        """
        await runtime.meter.flush(db_session)
        try:
            space = embedding_space(config_store.registry.embedder())
        except ProviderError as exc:
            raise DomainError("unavailable", f"embeddings are unavailable: {exc}") from None
        reason = "a server administrator reads the diagnostics"
        with all_orgs(reason, log=False):  # the sessions gather opens, too
            async with across_orgs(db_session, reason):
                return await gather(
                    db_session,
                    sessions=partial(session, runtime.alchemy),
                    engine=runtime.alchemy.get_engine(),
                    settings=runtime.settings,
                    space=space,
                    chat=chat,
                    redis=runtime.redis,
                    cooldowns=config_store.router.cooldowns(),
                    window_s=window_s,
                )
