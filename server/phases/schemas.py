"""Wire schemas of phases, their versions, diffs and reconstructed drafting context."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

import msgspec

from providers import ReplyContext
from server.ai.prompts import read_recorded
from server.events import Phase, PhaseAnswer, PhaseStatus, PromptVersion

from .status import PhaseStatus as Status
from .status import status_of
from .templates import phase_template_version

if TYPE_CHECKING:
    from server.db.models import Phase as PhaseRow
    from server.db.models import PhaseVersion as VersionRow

    from .templates import PhaseTemplate, Workflow

__all__ = (
    "AnswerUpdate",
    "ContextRequest",
    "Phase",
    "PhaseAnswer",
    "PhaseEdit",
    "PhaseStatus",
    "PhaseVersion",
    "PromptMessage",
    "ReconstructedContext",
    "Source",
    "StaleRegeneration",
    "VersionDiff",
)

Content = Annotated[str, msgspec.Meta(max_length=500_000)]


class PhaseVersion(msgspec.Struct):
    """One stored version of a phase: who wrote it, when, and from what."""

    version: int
    content: str
    author_kind: Literal["user", "assistant"]
    author_id: UUID | None
    provider: str | None
    model: str | None
    answers: list[PhaseAnswer]
    based_on: int | None
    note: str | None
    sources: list[Source]
    created_at: datetime
    prompts: list[PromptVersion] = msgspec.field(default_factory=list)
    """The prompt versions a draft was written with (with ``provider`` and ``model``)."""


class PhaseEdit(msgspec.Struct, forbid_unknown_fields=True):
    """New content for a phase; ``based_on_version`` is the version the editor started from."""

    content: Content
    based_on_version: int | None
    note: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class AnswerUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A new answer to question ``index`` of a phase."""

    answer: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class VersionDiff(msgspec.Struct):
    """A unified diff between two versions of a phase."""

    from_version: int
    to_version: int
    diff: str
    added_lines: int
    removed_lines: int


class Source(msgspec.Struct, omit_defaults=True):
    """Something a draft was built from: instructions, answers, an earlier phase, a passage."""

    kind: Literal["instructions", "answers", "phase", "document", "message"]
    label: str
    tokens: int
    phase_number: int | None = None
    version: int | None = None
    summarised: bool = False
    ref: str | None = None
    document_id: UUID | None = None
    chunk_id: UUID | None = None
    message_id: UUID | None = None
    page: int | None = None


class PromptMessage(msgspec.Struct):
    """One message exactly as it would be sent to the model."""

    role: Literal["system", "user", "assistant"]
    content: str


class ContextRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Options of a context reconstruction."""

    budget_tokens: Annotated[int, msgspec.Meta(ge=500, le=200_000)] | None = None


class ReconstructedContext(msgspec.Struct):
    """Exactly what drafting a phase would send, with where every part came from."""

    phase_number: int
    messages: list[PromptMessage]
    context: ReplyContext
    sources: list[Source]
    gaps: list[str]
    prompt_tokens: int
    budget_tokens: int
    prompts: list[PromptVersion] = msgspec.field(default_factory=list)
    """The prompt versions (drafting prompt, template, this phase's part of it) used now."""


class StaleRegeneration(msgspec.Struct):
    """The queued regeneration of every stale phase: its job, and the phases it will draft
    (in dependency order, as they stood when asked)."""

    job_id: UUID | None
    status: str
    """The job's status, ``queued`` or ``running``; ``nothing_stale`` (and no job) when no
    phase was stale."""
    stale: list[int]


def answers_of(stored: list[dict[str, Any]]) -> list[PhaseAnswer]:
    """Stored answers (JSON) as schema objects, in question order."""
    return [
        PhaseAnswer(
            index=int(a["index"]),
            question=str(a["question"]),
            answer=str(a["answer"]),
            answered_at=datetime.fromisoformat(a["answered_at"]),
            message_id=UUID(a["message_id"]) if a.get("message_id") else None,
        )
        for a in sorted(stored, key=lambda a: int(a["index"]))
    ]


def next_question(row: PhaseRow, spec: PhaseTemplate | None) -> int | None:
    """Index of the first question of the phase that has no answer yet."""
    if spec is None:
        return None
    answered = {int(a["index"]) for a in row.answers}
    return next((i for i in range(len(spec.questions)) if i not in answered), None)


def written_with_older_template(
    row: PhaseRow, workflow: Workflow | None, version: VersionRow | None
) -> bool:
    """Whether a completed phase's current version was drafted from another template text."""
    spec = workflow.phase(row.number) if workflow else None
    if status_of(row) is not Status.COMPLETED or version is None or spec is None:
        return False
    assert workflow is not None
    current = phase_template_version(workflow, spec)
    used = [p for p in read_recorded(version.prompts) if p.name == current.name]
    return bool(used) and used[0].hash != current.hash


def phase_out(
    row: PhaseRow, spec: PhaseTemplate | None, content: str | None, *, outdated: bool = False
) -> Phase:
    """A phase as clients see it; ``spec`` is its template phase (None if the template is gone);
    ``outdated``: see `written_with_older_template`."""
    return Phase(
        number=row.number,
        title=row.title,
        goal=spec.goal if spec else "",
        status=row.status,  # type: ignore[arg-type]
        depends_on=list(row.depends_on),
        current_version=row.current_version,
        awaiting_approval=status_of(row) is Status.IN_PROGRESS and row.current_version is not None,
        questions=list(spec.questions) if spec else [],
        answers=answers_of(row.answers),
        next_question=next_question(row, spec),
        content=content,
        updated_at=row.updated_at,
        written_with_older_template=outdated,
    )


def version_out(row: VersionRow) -> PhaseVersion:
    """A stored version as clients see it."""
    return PhaseVersion(
        version=row.number,
        content=row.content,
        author_kind=row.author_kind,  # type: ignore[arg-type]
        author_id=row.author_id,
        provider=row.provider,
        model=row.model,
        answers=answers_of(row.answers),
        based_on=row.based_on,
        note=row.note,
        sources=msgspec.convert(row.sources, list[Source]),
        created_at=row.created_at,
        prompts=read_recorded(row.prompts),
    )
