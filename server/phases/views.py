"""Database rows of phases and versions in their wire form."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from server.ai.prompts import read_recorded

from .schemas import Phase, PhaseAnswer, PhaseVersion, Source
from .templates import phase_template_version

if TYPE_CHECKING:
    from server.db.models import Phase as PhaseRow
    from server.db.models import PhaseVersion as VersionRow

    from .templates import PhaseTemplate, Workflow


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
    if row.status != "completed" or version is None or workflow is None or spec is None:
        return False
    current = phase_template_version(workflow, spec)
    used = [p for p in read_recorded(version.prompts) if p.name == current.name]
    return bool(used) and used[0].hash != current.hash


def phase_schema(
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
        awaiting_approval=row.status == "in_progress" and row.current_version is not None,
        questions=list(spec.questions) if spec else [],
        answers=answers_of(row.answers),
        next_question=next_question(row, spec),
        content=content,
        updated_at=row.updated_at,
        written_with_older_template=outdated,
    )


def version_schema(row: VersionRow) -> PhaseVersion:
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
