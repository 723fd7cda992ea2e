"""Fixtures for export tests: a full 14-phase project written into the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from server.db.models import OrganisationMember, Phase, PhaseVersion, Project, ProjectMember
from tests.unit.render.sample import business_plan

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from render import ExportDocument


async def insert_plan(
    db: AsyncSession, owner_id: UUID, name: str | None = None, plan: ExportDocument | None = None
) -> UUID:
    """Write a plan (the renderers' 14-phase sample by default) as project, phase and version
    rows; the current version keeps the plan's cited sources."""
    plan = plan or business_plan()
    org_id = await db.scalar(  # the owner's organisation (the test's)
        select(OrganisationMember.org_id).where(OrganisationMember.user_id == owner_id).limit(1)
    )
    project = Project(
        name=name or plan.title, template=plan.template, created_by=owner_id, org_id=org_id
    )
    db.add(project)
    await db.flush()
    db.add(ProjectMember(project_id=project.id, user_id=owner_id, role="owner"))
    for sample in plan.phases:
        phase = Phase(
            project_id=project.id,
            number=sample.number,
            title=sample.title,
            status=sample.status,
            depends_on=list(range(1, sample.number)),
            current_version=sample.current_version,
        )
        db.add(phase)
        await db.flush()
        db.add_all(
            PhaseVersion(
                phase_id=phase.id,
                project_id=project.id,
                number=v.number,
                content=v.content,
                author_kind="user" if v.source == "user" else "assistant",
                author_id=owner_id if v.source == "user" else None,
                provider=None if v.source == "user" else v.source.split(":", 1)[1].split("/")[0],
                model=None if v.source == "user" else v.source.rsplit("/", 1)[1],
                note=v.note,
                sources=[
                    {"kind": "document", "label": source.label, "tokens": 40, "ref": source.ref}
                    for source in sample.sources
                ]
                if v.number == sample.current_version
                else [],
            )
            for v in sample.versions
        )
    await db.commit()
    return project.id


@pytest.fixture
def make_plan(db: AsyncSession) -> Callable[..., Awaitable[UUID]]:
    """Insert a plan (the 14-phase sample by default) owned by the given user; returns the
    project id."""

    async def make(owner_id: UUID, plan: ExportDocument | None = None) -> UUID:
        return await insert_plan(db, owner_id, plan=plan)

    return make
