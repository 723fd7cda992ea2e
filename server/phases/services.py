"""Phases of a project: creation from a template, answers, versions, approval and the cascade.

Every write that creates a version locks all of the project's phase rows first (``SELECT ... FOR
UPDATE`` in number order, so concurrent writers queue instead of deadlocking): the version number,
the ``based_on`` check and the stale cascade are then decided on rows nobody else is changing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import select, tuple_

from server.db.models import Phase, PhaseVersion
from server.errors import DomainError, conflict, not_found

from .cascade import dependents
from .status import PhaseEvent, PhaseStatus, advance, status_of
from .templates import order_by_dependencies

if TYPE_CHECKING:
    from collections.abc import Sequence
    from uuid import UUID

    from .templates import Workflow

AUTHOR_KINDS = ("user", "assistant")


def version_conflict(phase: Phase, current: PhaseVersion | None, rejected: str) -> DomainError:
    """The edit was based on a version that is no longer current; nothing was written."""
    return conflict(
        f"phase {phase.number} changed since your edit began: it is at version "
        f"{phase.current_version}; merge your text into it and save again",
        current_version=phase.current_version,
        current_content=current.content if current else None,
        rejected_content=rejected,
    )


@dataclass(frozen=True, slots=True)
class WriteResult:
    """A version written, the phase it belongs to and the phases the cascade made stale."""

    phase: Phase
    version: PhaseVersion
    stale: list[int]


class PhaseService(SQLAlchemyAsyncRepositoryService[Phase]):
    """The phases of projects and their versions."""

    class Repo(SQLAlchemyAsyncRepository[Phase]):
        model_type = Phase

    repository_type = Repo

    async def create_for_project(self, project_id: UUID, workflow: Workflow) -> list[Phase]:
        """One ``not_started`` phase per template phase, dependencies resolved."""
        phases = [
            Phase(
                project_id=project_id,
                number=spec.number,
                title=spec.title,
                status=PhaseStatus.NOT_STARTED.value,
                depends_on=list(spec.depends_on or ()),
                answers=[],
            )
            for spec in workflow.phases
        ]
        self.repository.session.add_all(phases)
        await self.repository.session.flush()
        return phases

    async def for_project(self, project_id: UUID, *, lock: bool = False) -> list[Phase]:
        """The project's phases in number order; ``lock`` takes their row locks."""
        query = select(Phase).where(Phase.project_id == project_id).order_by(Phase.number)
        if lock:
            query = query.with_for_update()
        return list(await self.repository.session.scalars(query))

    async def one(self, project_id: UUID, number: int, *, lock: bool = False) -> Phase:
        """Phase ``number`` of the project, or 404."""
        if lock:
            phases = await self.for_project(project_id, lock=True)
            found = next((p for p in phases if p.number == number), None)
        else:
            found = await self.repository.session.scalar(
                select(Phase).where(Phase.project_id == project_id, Phase.number == number)
            )
        if found is None:
            raise not_found(f"phase {number}")
        return found

    async def versions(self, phase: Phase) -> Sequence[PhaseVersion]:
        """Every version of ``phase``, oldest first."""
        rows = await self.repository.session.scalars(
            select(PhaseVersion)
            .where(PhaseVersion.phase_id == phase.id)
            .order_by(PhaseVersion.number)
        )
        return list(rows)

    async def version(self, phase: Phase, number: int | None) -> PhaseVersion | None:
        """Version ``number`` of ``phase``; None when ``number`` is None or there is none."""
        if number is None:
            return None
        found: PhaseVersion | None = await self.repository.session.scalar(
            select(PhaseVersion).where(
                PhaseVersion.phase_id == phase.id, PhaseVersion.number == number
            )
        )
        return found

    async def current_versions(self, phases: Sequence[Phase]) -> dict[UUID, PhaseVersion]:
        """The current version of each of ``phases`` that has one, by phase id: one query
        whatever their number (a late phase's draft reads every phase it depends on)."""
        wanted = [(p.id, p.current_version) for p in phases if p.current_version is not None]
        if not wanted:
            return {}
        rows = await self.repository.session.scalars(
            select(PhaseVersion).where(
                tuple_(PhaseVersion.phase_id, PhaseVersion.number).in_(wanted)
            )
        )
        return {version.phase_id: version for version in rows}

    async def require_version(self, phase: Phase, number: int) -> PhaseVersion:
        """Version ``number`` of ``phase``, or 404."""
        found = await self.version(phase, number)
        if found is None:
            raise not_found(f"version {number} of phase {phase.number}")
        return found

    async def write_version(
        self,
        project_id: UUID,
        number: int,
        content: str,
        *,
        author_kind: str,
        author_id: UUID | None = None,
        provider: str | None = None,
        model: str | None = None,
        based_on: int | None = None,
        check_based_on: bool = False,
        note: str | None = None,
        sources: list[dict[str, Any]] | None = None,
        prompts: list[dict[str, Any]] | None = None,
    ) -> WriteResult:
        """Store a new version of phase ``number`` and make its dependents stale.

        With ``check_based_on`` the write is refused with a ``conflict`` error unless
        ``based_on`` is the current version. The phase's status follows the ``draft`` event for
        an assistant's version and ``edit`` for a person's. Every phase that depends on this
        one, transitively, and has content becomes ``stale``.
        """
        if author_kind not in AUTHOR_KINDS:
            raise ValueError(f"unknown author kind {author_kind!r}")
        phases = await self.for_project(project_id, lock=True)
        phase = next((p for p in phases if p.number == number), None)
        if phase is None:
            raise not_found(f"phase {number}")
        if check_based_on and based_on != phase.current_version:
            current = await self.version(phase, phase.current_version)
            raise version_conflict(phase, current, content)
        version = PhaseVersion(
            phase_id=phase.id,
            project_id=project_id,
            number=(phase.current_version or 0) + 1,
            content=content,
            author_kind=author_kind,
            author_id=author_id,
            provider=provider,
            model=model,
            answers=list(phase.answers),
            based_on=based_on if based_on is not None else phase.current_version,
            note=note,
            sources=sources or [],
            prompts=prompts or [],
        )
        self.repository.session.add(version)
        phase.current_version = version.number
        advance(phase, PhaseEvent.DRAFT if author_kind == "assistant" else PhaseEvent.EDIT)
        stale = self._cascade(phases, number)
        await self.repository.session.flush()
        return WriteResult(phase, version, stale)

    @staticmethod
    def _cascade(phases: list[Phase], changed: int) -> list[int]:
        affected = dependents({p.number: p.depends_on for p in phases}, changed)
        stale = []
        for phase in phases:
            if phase.number in affected and phase.current_version is not None:
                advance(phase, PhaseEvent.UPSTREAM_CHANGED)
                stale.append(phase.number)
        return stale

    async def edit(
        self, project_id: UUID, number: int, content: str, based_on: int | None, **author: Any
    ) -> WriteResult:
        """A person's edit: a new version, or a ``conflict`` error if its base is old."""
        return await self.write_version(
            project_id,
            number,
            content,
            author_kind="user",
            based_on=based_on,
            check_based_on=True,
            **author,
        )

    async def restore(
        self, project_id: UUID, number: int, version_number: int, author_id: UUID | None
    ) -> WriteResult:
        """Write an old version's content as a new version (nothing is overwritten)."""
        phase = await self.one(project_id, number)
        old = await self.require_version(phase, version_number)
        return await self.write_version(
            project_id,
            number,
            old.content,
            author_kind="user",
            author_id=author_id,
            note=f"restored from version {version_number}",
        )

    async def diff(self, phase: Phase, from_number: int, to_number: int) -> tuple[str, int, int]:
        """Unified diff from one version to another, with added and removed line counts."""
        old = await self.require_version(phase, from_number)
        new = await self.require_version(phase, to_number)
        lines = list(
            difflib.unified_diff(
                old.content.splitlines(keepends=True),
                new.content.splitlines(keepends=True),
                fromfile=f"phase {phase.number} version {from_number}",
                tofile=f"phase {phase.number} version {to_number}",
            )
        )
        added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
        text = "".join(line if line.endswith("\n") else f"{line}\n" for line in lines)
        return text, added, removed

    async def set_answer(
        self,
        project_id: UUID,
        number: int,
        index: int,
        *,
        question: str,
        answer: str,
        message_id: UUID | None = None,
    ) -> Phase:
        """Record (or replace) the answer to question ``index`` of phase ``number``."""
        phase = await self.one(project_id, number, lock=True)
        entry = {
            "index": index,
            "question": question,
            "answer": answer,
            "message_id": str(message_id) if message_id else None,
            "answered_at": datetime.now(UTC).isoformat(),
        }
        answers = [a for a in phase.answers if a.get("index") != index]
        answers.append(entry)
        phase.answers = sorted(answers, key=lambda a: int(a["index"]))
        advance(phase, PhaseEvent.ANSWER)
        await self.repository.session.flush()
        return phase

    async def transition(self, project_id: UUID, number: int, event: PhaseEvent) -> Phase:
        """Apply a status-only ``event`` (``start``, ``approve``) to phase ``number``."""
        phase = await self.one(project_id, number, lock=True)
        if advance(phase, event):
            await self.repository.session.flush()
        return phase

    async def stale_in_order(self, project_id: UUID) -> list[int]:
        """Numbers of the project's stale phases, each after the ones it depends on."""
        phases = await self.for_project(project_id)
        stale = {p.number for p in phases if status_of(p) is PhaseStatus.STALE}
        order = order_by_dependencies({p.number: p.depends_on for p in phases})
        return [n for n in order if n in stale]
