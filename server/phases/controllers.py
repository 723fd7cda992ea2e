"""``/api/v1/projects/{project_id}/phases``: phases, answers, versions, drafts and context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from providers import ProvidersUnavailable
from server import audit
from server.access import EDITOR, VIEWER
from server.ai import ConfigStore
from server.db.models import Project, User
from server.errors import DomainError, not_found
from server.runtime import runtime_of

from .context import DEFAULT_BUDGET, Reader, reconstruct
from .drafting import announce, draft, view
from .schemas import (
    AnswerUpdate,
    ContextRequest,
    Phase,
    PhaseAnswer,
    PhaseEdit,
    PhaseVersion,
    ReconstructedContext,
    StaleRegeneration,
    VersionDiff,
)
from .services import PhaseService
from .templates import WorkflowCatalog
from .views import version_schema

if TYPE_CHECKING:
    from .services import WriteResult
    from .templates import Workflow


async def _workflow(
    workflows: WorkflowCatalog, session: AsyncSession, project_id: UUID
) -> tuple[Project, Workflow | None]:
    project = await session.get(Project, project_id)
    if project is None:
        raise not_found("project")
    return project, workflows.get(project.template)


def _reader(request: Request[User, Any, Any], config_store: ConfigStore) -> Reader:
    return Reader(request.user.id, config_store.registry.embedder())


class PhaseController(Controller):
    """The phases of a project's document."""

    path = "/api/v1/projects/{project_id:uuid}/phases"
    tags = ["phases"]
    dependencies = {"phases": Provide(create_service_provider(PhaseService))}

    async def _written(
        self,
        request: Request[Any, Any, Any],
        result: WriteResult,
        *,
        workflow: Workflow | None,
        phases: PhaseService,
    ) -> Phase:
        project_id = result.phase.project_id
        audit.note(request, "phase_version", result.version.id, project_id=project_id)
        shown = await view(phases, result.phase, workflow)
        await announce(runtime_of(request.app).publisher, project_id, [shown], result.stale)
        return shown

    @get("/", opt=VIEWER, operation_id="list_phases")
    async def list_phases(
        self,
        *,
        request: Request[User, Any, Any],
        workflows: NamedDependency[WorkflowCatalog],
        project_id: FromPath[UUID],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
    ) -> list[Phase]:
        """Every phase of the project in order, with status, answers and current content."""
        _, workflow = await _workflow(workflows, db_session, project_id)
        return [await view(phases, row, workflow) for row in await phases.for_project(project_id)]

    @get("/{number:int}", opt=VIEWER, operation_id="get_phase")
    async def get_phase(
        self,
        *,
        request: Request[User, Any, Any],
        workflows: NamedDependency[WorkflowCatalog],
        project_id: FromPath[UUID],
        number: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
    ) -> Phase:
        """One phase with its questions, answers and current content."""
        _, workflow = await _workflow(workflows, db_session, project_id)
        return await view(phases, await phases.one(project_id, number), workflow)

    @put("/{number:int}", opt=EDITOR, operation_id="replace_phase")
    async def replace_phase(
        self,
        *,
        request: Request[User, Any, Any],
        project_id: FromPath[UUID],
        number: FromPath[int],
        data: JSONBody[PhaseEdit],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
        workflows: NamedDependency[WorkflowCatalog],
    ) -> Phase:
        """Save new content as a new version (same as ``.../edit``); 409 if the base is stale."""
        return await self._edit(
            request, workflows, project_id, number, data, session=db_session, phases=phases
        )

    @post("/{number:int}/edit", opt=EDITOR, operation_id="edit_phase", status_code=200)
    async def edit_phase(
        self,
        *,
        request: Request[User, Any, Any],
        project_id: FromPath[UUID],
        number: FromPath[int],
        data: JSONBody[PhaseEdit],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
        workflows: NamedDependency[WorkflowCatalog],
    ) -> Phase:
        """Save an edit as a new version.

        ``based_on_version`` must be the current version; otherwise 409 ``conflict`` with
        ``current_version``, ``current_content`` and the rejected text, and nothing is written.
        """
        return await self._edit(
            request, workflows, project_id, number, data, session=db_session, phases=phases
        )

    async def _edit(
        self,
        request: Request[User, Any, Any],
        workflows: WorkflowCatalog,
        project_id: UUID,
        number: int,
        data: PhaseEdit,
        *,
        session: AsyncSession,
        phases: PhaseService,
    ) -> Phase:
        _, workflow = await _workflow(workflows, session, project_id)
        result = await phases.edit(
            project_id,
            number,
            data.content,
            data.based_on_version,
            author_id=request.user.id,
            note=data.note,
        )
        return await self._written(request, result, workflow=workflow, phases=phases)

    @post("/{number:int}/start", opt=EDITOR, operation_id="start_phase", status_code=200)
    async def start_phase(
        self,
        *,
        request: Request[User, Any, Any],
        workflows: NamedDependency[WorkflowCatalog],
        project_id: FromPath[UUID],
        number: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
    ) -> Phase:
        """Begin a phase (``not_started`` → ``in_progress``); its next question is in the reply."""
        _, workflow = await _workflow(workflows, db_session, project_id)
        shown = await view(phases, await phases.start(project_id, number), workflow)
        await announce(runtime_of(request.app).publisher, project_id, [shown])
        return shown

    @post("/{number:int}/approve", opt=EDITOR, operation_id="approve_phase", status_code=200)
    async def approve_phase(
        self,
        *,
        request: Request[User, Any, Any],
        workflows: NamedDependency[WorkflowCatalog],
        project_id: FromPath[UUID],
        number: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
    ) -> Phase:
        """Approve the current draft: the phase becomes ``completed``; 409 without a draft."""
        _, workflow = await _workflow(workflows, db_session, project_id)
        shown = await view(phases, await phases.approve(project_id, number), workflow)
        await announce(runtime_of(request.app).publisher, project_id, [shown])
        return shown

    @post("/{number:int}/regenerate", opt=EDITOR, operation_id="regenerate_phase", status_code=200)
    async def regenerate_phase(
        self,
        *,
        request: Request[User, Any, Any],
        workflows: NamedDependency[WorkflowCatalog],
        config_store: NamedDependency[ConfigStore],
        project_id: FromPath[UUID],
        number: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
    ) -> Phase:
        """Draft the phase again from its current context; the draft is a new version."""
        project, workflow = await _workflow(workflows, db_session, project_id)
        await phases.one(project_id, number)
        result = await self._draft(
            request,
            project,
            config_store=config_store,
            workflow=workflow,
            number=number,
            session=db_session,
            phases=phases,
        )
        return await self._written(request, result, workflow=workflow, phases=phases)

    async def _draft(
        self,
        request: Request[User, Any, Any],
        project: Project,
        *,
        config_store: ConfigStore,
        workflow: Workflow | None,
        number: int,
        session: AsyncSession,
        phases: PhaseService,
    ) -> WriteResult:
        try:
            return await draft(
                session,
                phases,
                config_store.router,
                profile=config_store.profile_for(project),
                project_id=project.id,
                workflow=workflow,
                number=number,
                reader=_reader(request, config_store),
                config=config_store.raw,
            )
        except ProvidersUnavailable as error:
            raise DomainError("provider_unavailable", str(error)) from None

    @post("/regenerate-stale", opt=EDITOR, operation_id="regenerate_stale_phases", status_code=200)
    async def regenerate_stale(
        self,
        *,
        request: Request[User, Any, Any],
        workflows: NamedDependency[WorkflowCatalog],
        config_store: NamedDependency[ConfigStore],
        project_id: FromPath[UUID],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
    ) -> StaleRegeneration:
        """Draft every stale phase again, each after the phases it depends on."""
        project, workflow = await _workflow(workflows, db_session, project_id)
        done = []
        shown = []
        for number in await phases.stale_in_order(project_id):
            result = await self._draft(
                request,
                project,
                config_store=config_store,
                workflow=workflow,
                number=number,
                session=db_session,
                phases=phases,
            )
            shown.append(await self._written(request, result, workflow=workflow, phases=phases))
            done.append(number)
        return StaleRegeneration(regenerated=done, phases=shown)

    @post(
        "/{number:int}/reconstruct-context",
        opt=VIEWER,
        operation_id="reconstruct_phase_context",
        status_code=200,
    )
    async def reconstruct_context(
        self,
        *,
        request: Request[User, Any, Any],
        workflows: NamedDependency[WorkflowCatalog],
        config_store: NamedDependency[ConfigStore],
        project_id: FromPath[UUID],
        number: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
        data: JSONBody[ContextRequest | None] = None,
    ) -> ReconstructedContext:
        """Exactly what drafting this phase would send to the model, with its sources."""
        _, workflow = await _workflow(workflows, db_session, project_id)
        await phases.one(project_id, number)
        budget = data.budget_tokens if data and data.budget_tokens else DEFAULT_BUDGET
        return await reconstruct(
            db_session,
            phases,
            project_id=project_id,
            workflow=workflow,
            number=number,
            reader=_reader(request, config_store),
            budget=budget,
            config=workflows.config(),
        )

    @get("/{number:int}/answers", opt=VIEWER, operation_id="list_phase_answers")
    async def list_answers(
        self,
        *,
        request: Request[User, Any, Any],
        workflows: NamedDependency[WorkflowCatalog],
        project_id: FromPath[UUID],
        number: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
    ) -> list[PhaseAnswer]:
        """The answers given to the phase's questions, in question order."""
        _, workflow = await _workflow(workflows, db_session, project_id)
        return (await view(phases, await phases.one(project_id, number), workflow)).answers

    @put("/{number:int}/answers/{index:int}", opt=EDITOR, operation_id="set_phase_answer")
    async def set_answer(
        self,
        *,
        request: Request[User, Any, Any],
        workflows: NamedDependency[WorkflowCatalog],
        project_id: FromPath[UUID],
        number: FromPath[int],
        index: FromPath[int],
        data: JSONBody[AnswerUpdate],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
    ) -> Phase:
        """Answer (or change the answer to) question ``index`` of the phase."""
        _, workflow = await _workflow(workflows, db_session, project_id)
        spec = workflow.phase(number) if workflow else None
        if spec is None or not 0 <= index < len(spec.questions):
            raise not_found(f"phase {number} question {index}")
        row = await phases.set_answer(
            project_id, number, index, question=spec.questions[index], answer=data.answer
        )
        shown = await view(phases, row, workflow)
        await announce(runtime_of(request.app).publisher, project_id, [shown])
        return shown

    @get("/{number:int}/versions", opt=VIEWER, operation_id="list_phase_versions")
    async def list_versions(
        self,
        *,
        project_id: FromPath[UUID],
        number: FromPath[int],
        phases: NamedDependency[PhaseService],
    ) -> list[PhaseVersion]:
        """Every version of the phase, oldest first."""
        row = await phases.one(project_id, number)
        return [version_schema(v) for v in await phases.versions(row)]

    @get("/{number:int}/versions/{version:int}", opt=VIEWER, operation_id="get_phase_version")
    async def get_version(
        self,
        *,
        project_id: FromPath[UUID],
        number: FromPath[int],
        version: FromPath[int],
        phases: NamedDependency[PhaseService],
    ) -> PhaseVersion:
        """One version of the phase."""
        row = await phases.one(project_id, number)
        return version_schema(await phases.require_version(row, version))

    @get("/{number:int}/versions/diff", opt=VIEWER, operation_id="diff_phase_versions")
    async def diff_versions(
        self,
        *,
        project_id: FromPath[UUID],
        number: FromPath[int],
        phases: NamedDependency[PhaseService],
        from_version: Annotated[int, QueryParameter(name="from", ge=1)],
        to_version: Annotated[int, QueryParameter(name="to", ge=1)],
    ) -> VersionDiff:
        """Unified diff from version ``from`` to version ``to``."""
        row = await phases.one(project_id, number)
        text, added, removed = await phases.diff(row, from_version, to_version)
        return VersionDiff(from_version, to_version, text, added, removed)

    @post(
        "/{number:int}/versions/{version:int}/restore",
        opt=EDITOR,
        operation_id="restore_phase_version",
        status_code=200,
    )
    async def restore_version(
        self,
        *,
        request: Request[User, Any, Any],
        workflows: NamedDependency[WorkflowCatalog],
        project_id: FromPath[UUID],
        number: FromPath[int],
        version: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        phases: NamedDependency[PhaseService],
    ) -> Phase:
        """Make an old version current again, by writing its content as a new version."""
        _, workflow = await _workflow(workflows, db_session, project_id)
        result = await phases.restore(project_id, number, version, request.user.id)
        return await self._written(request, result, workflow=workflow, phases=phases)
