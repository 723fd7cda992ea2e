"""Database rows of phases and versions in their wire form."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from .schemas import Phase, PhaseAnswer, PhaseVersion, Source
from .status import PhaseStatus, status_of

if TYPE_CHECKING:
    from server.db.models import Phase as PhaseRow
    from server.db.models import PhaseVersion as VersionRow

    from .templates import PhaseTemplate


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


def phase_schema(row: PhaseRow, spec: PhaseTemplate | None, content: str | None) -> Phase:
    """A phase as clients see it; ``spec`` is its template phase (None if the template is gone)."""
    return Phase(
        number=row.number,
        title=row.title,
        goal=spec.goal if spec else "",
        status=row.status,  # type: ignore[arg-type]
        depends_on=list(row.depends_on),
        current_version=row.current_version,
        awaiting_approval=status_of(row) is PhaseStatus.IN_PROGRESS
        and row.current_version is not None,
        questions=list(spec.questions) if spec else [],
        answers=answers_of(row.answers),
        next_question=next_question(row, spec),
        content=content,
        updated_at=row.updated_at,
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
    )
