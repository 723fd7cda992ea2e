"""Map a project's database rows to the renderers' ``ExportDocument`` (see :mod:`render`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast, get_args

from sqlalchemy import select

from render import (
    ExportDocument,
    ExportMember,
    ExportPhase,
    ExportSource,
    ExportVersion,
    PhaseStatus,
)
from server.db.models import Phase, PhaseVersion, Project, ProjectMember, User

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("build_document",)

_STATUSES = frozenset(get_args(PhaseStatus))


def _source(version: PhaseVersion) -> str:
    if version.author_kind != "assistant":
        return "user"
    return f"assistant:{version.provider or 'unknown'}/{version.model or 'unknown'}"


async def build_document(db: AsyncSession, project_id: UUID) -> ExportDocument | None:
    """Everything an export shows about the project, or None when it no longer exists."""
    project = await db.get(Project, project_id)
    if project is None:
        return None
    members = (
        await db.execute(
            select(ProjectMember.role, User.name, User.email, User.id)
            .join(User, User.id == ProjectMember.user_id)
            .where(ProjectMember.project_id == project_id)
            .order_by(ProjectMember.created_at)
        )
    ).all()
    names = {m.id: m.name or m.email for m in members}
    phases = (
        await db.scalars(select(Phase).where(Phase.project_id == project_id).order_by(Phase.number))
    ).all()
    versions: dict[UUID, list[PhaseVersion]] = defaultdict(list)
    for version in await db.scalars(
        select(PhaseVersion)
        .where(PhaseVersion.project_id == project_id)
        .order_by(PhaseVersion.phase_id, PhaseVersion.number)
    ):
        versions[version.phase_id].append(version)
    author = None
    if project.created_by is not None:
        author = names.get(project.created_by)
        if author is None:
            creator = await db.get(User, project.created_by)
            author = None if creator is None else creator.name or creator.email
    return ExportDocument(
        project_id=str(project.id),
        title=project.name,
        template=project.template,
        generated_at=datetime.now(UTC),
        author=author,
        members=[ExportMember(name=m.name or m.email, role=m.role, email=m.email) for m in members],
        phases=[_phase(p, versions[p.id], names) for p in phases],
    )


def _cited(version: PhaseVersion | None) -> list[ExportSource]:
    """The passages a version can cite as ``[S1]``…: stored sources that have a marker."""
    if version is None:
        return []
    return [
        ExportSource(ref=str(source["ref"]), label=str(source.get("label") or "source"))
        for source in version.sources or []
        if source.get("ref")
    ]


def _phase(phase: Phase, versions: list[PhaseVersion], names: dict[UUID, str]) -> ExportPhase:
    current = next((v for v in versions if v.number == phase.current_version), None)
    status = phase.status if phase.status in _STATUSES else "in_progress"
    return ExportPhase(
        number=phase.number,
        title=phase.title,
        status=cast("PhaseStatus", status),
        content=current.content if current is not None else "",
        current_version=phase.current_version if current is not None else None,
        updated_at=current.created_at if current is not None else None,
        sources=_cited(current),
        versions=[
            ExportVersion(
                number=v.number,
                content=v.content,
                created_at=v.created_at,
                author=(
                    names.get(v.author_id, "a former member")
                    if v.author_id
                    else "assistant"
                    if v.author_kind == "assistant"
                    else "unknown"
                ),
                source=_source(v),
                note=v.note,
            )
            for v in versions
        ],
    )
