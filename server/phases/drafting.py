"""Drafting a phase through the provider router, and announcing phase changes to clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from providers import Completion, TextDelta
from server.ai import record_completion
from server.events import PhaseData, PhaseStale, PhaseUpdated, StaleData, emit, project_channel

from .context import chat_request, reconstruct
from .views import phase_schema, written_with_older_template

if TYPE_CHECKING:
    from collections.abc import Mapping
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Router
    from server.db.models import Phase
    from server.events import Publisher

    from .context import Reader
    from .schemas import Phase as PhaseView
    from .schemas import ReconstructedContext
    from .services import PhaseService, WriteResult
    from .templates import Workflow


async def view(phases: PhaseService, row: Phase, workflow: Workflow | None) -> PhaseView:
    """The wire form of ``row`` with its current content."""
    version = await phases.version(row, row.current_version)
    spec = workflow.phase(row.number) if workflow else None
    outdated = written_with_older_template(row, workflow, version)
    return phase_schema(row, spec, version.content if version else None, outdated=outdated)


async def store_draft(
    phases: PhaseService,
    project_id: UUID,
    number: int,
    *,
    text: str,
    completion: Completion | None,
    reconstructed: ReconstructedContext,
    note: str | None = None,
) -> WriteResult:
    """Store an assistant draft as a new version awaiting approval (status ``in_progress``)."""
    return await phases.write_version(
        project_id,
        number,
        text,
        author_kind="assistant",
        provider=completion.provider if completion else None,
        model=completion.model if completion else None,
        sources=msgspec.to_builtins(reconstructed.sources),
        prompts=msgspec.to_builtins(reconstructed.prompts),
        note=note,
        status="in_progress",
    )


async def draft(
    session: AsyncSession,
    phases: PhaseService,
    router: Router,
    *,
    profile: str | None,
    project_id: UUID,
    workflow: Workflow | None,
    number: int,
    reader: Reader,
    config: Mapping[str, Any] | None = None,
) -> WriteResult:
    """Draft phase ``number`` now (not streamed to anyone), store it and record its usage."""
    reconstructed = await reconstruct(
        session,
        phases,
        project_id=project_id,
        workflow=workflow,
        number=number,
        reader=reader,
        config=config,
    )
    parts: list[str] = []
    completion: Completion | None = None
    async for event in router.stream(chat_request(reconstructed), profile):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        else:
            completion = event
    if completion is not None:
        record_completion(
            session, completion, user_id=reader.user_id, project_id=project_id, purpose="draft"
        )
    return await store_draft(
        phases,
        project_id,
        number,
        text="".join(parts),
        completion=completion,
        reconstructed=reconstructed,
    )


async def announce(
    publisher: Publisher,
    project_id: UUID,
    updated: list[PhaseView],
    stale: list[int] | None = None,
) -> None:
    """Tell the project's participants: ``phase:updated`` per phase, then ``phase:stale``."""
    channels = [project_channel(project_id)]
    for phase in updated:
        await emit(publisher, channels, PhaseUpdated(PhaseData(phase)))
    if stale:
        await emit(publisher, channels, PhaseStale(StaleData(stale)))
