"""Drafting a phase through the provider router, and announcing phase changes to clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from providers import CitationKeeper, Completion, TextDelta
from server.events import PhaseData, PhaseStale, PhaseUpdated, StaleData, emit, project_channel
from server.metering import usage_scope

from .context import chat_request
from .schemas import phase_out, written_with_older_template

if TYPE_CHECKING:
    from collections.abc import Mapping
    from uuid import UUID

    from providers import Router
    from server.db.models import Phase, PhaseVersion
    from server.events import Publisher

    from .schemas import Phase as PhaseView
    from .schemas import ReconstructedContext
    from .services import PhaseService, WriteResult
    from .templates import Workflow


async def view(
    phases: PhaseService,
    row: Phase,
    workflow: Workflow | None,
    current: PhaseVersion | None = None,
) -> PhaseView:
    """The wire form of ``row`` with its current content (``current``, when the caller has
    just written that version, else read)."""
    version = current or await phases.version(row, row.current_version)
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
    refs: Mapping[str, str] | None = None,
) -> WriteResult:
    """Store an assistant draft as a new version awaiting approval.

    ``refs`` (old → new) renumbers the sources' passage refs the way the text's markers were
    renumbered while it streamed, so the version's ``[S#]`` name its sources.
    """
    sources = reconstructed.sources
    if refs:
        sources = [
            msgspec.structs.replace(s, ref=refs.get(s.ref, s.ref)) if s.ref else s for s in sources
        ]
        sources.sort(key=lambda s: (s.ref is not None, int(s.ref[1:]) if s.ref else 0))
    return await phases.write_version(
        project_id,
        number,
        text,
        author_kind="assistant",
        provider=completion.provider if completion else None,
        model=completion.model if completion else None,
        sources=msgspec.to_builtins(sources),
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
) -> tuple[str, Completion | None, dict[str, str]]:
    """Draft from ``reconstructed`` through ``router`` at once (not streamed to anyone); the
    text, the completion that ended it and how its passage refs were renumbered (see
    :func:`store_draft`)."""
    parts: list[str] = []
    completion: Completion | None = None
    keeper = CitationKeeper(list(reconstructed.context.passages))
    request = msgspec.structs.replace(chat_request(reconstructed), citations=keeper)
    with usage_scope(purpose="draft", user_id=user_id, project_id=project_id):
        async for event in router.stream(request, profile):
            if isinstance(event, TextDelta):
                parts.append(event.text)
            else:
                completion = event
    return "".join(parts), completion, keeper.relabelled


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
