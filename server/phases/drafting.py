"""Drafting a phase through the provider router, and announcing phase changes to clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from providers import Completion, TextDelta
from server.events import PhaseData, PhaseStale, PhaseUpdated, StaleData, emit, project_channel
from server.metering import usage_scope

from .context import chat_request
from .schemas import phase_out, written_with_older_template

if TYPE_CHECKING:
    from uuid import UUID

    from providers import Router
    from server.db.models import Phase
    from server.events import Publisher

    from .schemas import Phase as PhaseView
    from .schemas import ReconstructedContext
    from .services import PhaseService, WriteResult
    from .templates import Workflow


async def view(phases: PhaseService, row: Phase, workflow: Workflow | None) -> PhaseView:
    """The wire form of ``row`` with its current content."""
    version = await phases.version(row, row.current_version)
    spec = workflow.phase(row.number) if workflow else None
    outdated = written_with_older_template(row, workflow, version)
    return phase_out(row, spec, version.content if version else None, outdated=outdated)


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
    """Store an assistant draft as a new version awaiting approval."""
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
    )


async def run_draft(
    router: Router,
    reconstructed: ReconstructedContext,
    *,
    profile: str | None,
    project_id: UUID,
    user_id: UUID,
) -> tuple[str, Completion | None]:
    """Draft from ``reconstructed`` through ``router`` at once (not streamed to anyone); the
    text and the completion that ended it."""
    parts: list[str] = []
    completion: Completion | None = None
    with usage_scope(purpose="draft", user_id=user_id, project_id=project_id):
        async for event in router.stream(chat_request(reconstructed), profile):
            if isinstance(event, TextDelta):
                parts.append(event.text)
            else:
                completion = event
    return "".join(parts), completion


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
