"""``/api/v1/projects/{project_id}/phases``: phases, answers, versions, drafts and context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from providers import ProvidersUnavailable
from server import audit
from server.access import EDITOR, VIEWER
from server.ai import ConfigStore
from server.db.models import Project, User
from server.errors import DomainError, not_found
from server.metering import usage_scope

from .commands import PhaseCommands, PhaseEnvironment
from .context import DEFAULT_BUDGET, Reader, reconstruct
from .drafting import view
from .jobs import queue_stale_regeneration
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
    version_out,
)
from .services import PhaseService
from .templates import WorkflowCatalog

if TYPE_CHECKING:
    from .templates import Workflow


async def _workflow(
    workflows: WorkflowCatalog, db: AsyncSession, project_id: UUID
) -> tuple[Project, Workflow | None]:
    project = await db.get(Project, project_id)
    if project is None:
        raise not_found("project")
    return project, workflows.get(project.template)


async def provide_commands(
    request: Request[User, Any, Any],
    db_session: NamedDependency[AsyncSession],
    project_id: FromPath[UUID],
    phase_env: NamedDependency[PhaseEnvironment],
) -> PhaseCommands:
    """The phase use cases of the request's project, acting as the caller."""
    commands = PhaseCommands(phase_env, db_session, project_id, request.user.id)
    await commands.load()
    return commands


class PhaseController(Controller):
    """The phases of a project's document."""

    path = "/api/v1/projects/{project_id:uuid}/phases"
    tags = ["phases"]
    dependencies = {
        "phases": Provide(create_service_provider(PhaseService)),
        "commands": Provide(provide_commands),
    }

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
        rows = await phases.for_project(project_id)
        current = await phases.current_versions(rows)
        return [await view(phases, row, workflow, current.get(row.id)) for row in rows]

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
        number: FromPath[int],
        data: JSONBody[PhaseEdit],
        commands: NamedDependency[PhaseCommands],
    ) -> Phase:
        """Save new content as a new version (same as ``.../edit``); 409 if the base is stale."""
        return await self._edit(request, number, data, commands)

    @post("/{number:int}/edit", opt=EDITOR, operation_id="edit_phase", status_code=200)
    async def edit_phase(
        self,
        *,
        request: Request[User, Any, Any],
        number: FromPath[int],
        data: JSONBody[PhaseEdit],
        commands: NamedDependency[PhaseCommands],
    ) -> Phase:
        """Save an edit as a new version.

        ``based_on_version`` must be the current version; otherwise 409 ``conflict`` with
        ``current_version``, ``current_content`` and the rejected text, and nothing is written.
        """
        return await self._edit(request, number, data, commands)

    @staticmethod
    async def _edit(
        request: Request[User, Any, Any], number: int, data: PhaseEdit, commands: PhaseCommands
    ) -> Phase:
        shown = await commands.edit(number, data.content, data.based_on_version, data.note)
        _audit_version(request, commands)
        return shown

    @post("/{number:int}/start", opt=EDITOR, operation_id="start_phase", status_code=200)
    async def start_phase(
        self, *, number: FromPath[int], commands: NamedDependency[PhaseCommands]
    ) -> Phase:
        """Begin a phase (``not_started`` → ``in_progress``); its next question is in the reply."""
        return await commands.show(await commands.start(number))

    @post("/{number:int}/approve", opt=EDITOR, operation_id="approve_phase", status_code=200)
    async def approve_phase(
        self, *, number: FromPath[int], commands: NamedDependency[PhaseCommands]
    ) -> Phase:
        """Approve the current draft: the phase becomes ``completed``; 409 without a draft."""
        return await commands.show(await commands.approve(number))

    @post("/{number:int}/regenerate", opt=EDITOR, operation_id="regenerate_phase", status_code=200)
    async def regenerate_phase(
        self,
        *,
        request: Request[User, Any, Any],
        number: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        commands: NamedDependency[PhaseCommands],
        config_store: NamedDependency[ConfigStore],
    ) -> Phase:
        """Draft the phase again from its current context; the draft is a new version."""
        project = await db_session.get(Project, commands.project_id)
        try:
            shown = await commands.draft_now(
                number, config_store.router, config_store.profile_for(project)
            )
        except ProvidersUnavailable as error:
            raise DomainError("provider_unavailable", str(error)) from None
        _audit_version(request, commands)
        return shown

    @post("/regenerate-stale", opt=EDITOR, operation_id="regenerate_stale_phases", status_code=202)
    async def regenerate_stale(
        self,
        *,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        commands: NamedDependency[PhaseCommands],
    ) -> Response[StaleRegeneration]:
        """Queue drafting every stale phase again, each after the phases it depends on.

        202 with the job and the phases it will draft; each arrives as ``phase:updated``.
        While one such job is queued or running, asking again returns that job; with nothing
        stale, 200 and no job.
        """
        stale = await commands.stale_in_order()
        if not stale:
            return Response(StaleRegeneration(None, "nothing_stale", []), status_code=200)
        job = await queue_stale_regeneration(db_session, commands.project_id, request.user.id)
        return Response(StaleRegeneration(job.id, job.status, stale), status_code=202)

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
        config_store: NamedDependency[ConfigStore],
        workflows: NamedDependency[WorkflowCatalog],
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
        with usage_scope(purpose="context", user_id=request.user.id, project_id=project_id):
            return await reconstruct(
                db_session,
                phases,
                project_id=project_id,
                workflow=workflow,
                number=number,
                reader=Reader(request.user.id, config_store.embedder()),
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
        number: FromPath[int],
        index: FromPath[int],
        data: JSONBody[AnswerUpdate],
        commands: NamedDependency[PhaseCommands],
    ) -> Phase:
        """Answer (or change the answer to) question ``index`` (from 0) of the phase."""
        return await commands.show(await commands.answer(number, index, data.answer))

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
        return [version_out(v) for v in await phases.versions(row)]

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
        return version_out(await phases.require_version(row, version))

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
        number: FromPath[int],
        version: FromPath[int],
        commands: NamedDependency[PhaseCommands],
    ) -> Phase:
        """Make an old version current again, by writing its content as a new version."""
        shown = await commands.restore(number, version)
        _audit_version(request, commands)
        return shown


def _audit_version(request: Request[User, Any, Any], commands: PhaseCommands) -> None:
    """Note the version just written in the request's audit entry."""
    version_id = commands.last_version_id
    if version_id is not None:
        audit.note(request, "phase_version", version_id, project_id=commands.project_id)
