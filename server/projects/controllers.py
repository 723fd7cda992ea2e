"""``/api/v1/projects`` with members and invitations, and ``/api/v1/invitations/accept``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from server import audit
from server.access import EDITOR, OWNER, USER, VIEWER
from server.ai import ConfigStore
from server.db.models import User
from server.errors import conflict, invalid, not_found
from server.phases import PhaseService, WorkflowCatalog
from server.runtime import Runtime

from .schemas import (
    Invitation,
    InvitationAccept,
    InvitationCreate,
    Member,
    MemberUpdate,
    Project,
    ProjectCreate,
    ProjectUpdate,
    invitation_out,
    project_out,
)
from .services import InvitationService, ProjectService

DEFAULT_TEMPLATE = "business-plan"
DEPENDENCIES = {
    "projects": Provide(create_service_provider(ProjectService)),
    "invitations": Provide(create_service_provider(InvitationService)),
}


class ProjectController(Controller):
    """Projects and their members."""

    path = "/api/v1/projects"
    tags = ["projects"]
    dependencies = DEPENDENCIES

    @post("/", opt=USER, operation_id="create_project", status_code=201)
    async def create_project(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[ProjectCreate],
        projects: NamedDependency[ProjectService],
        workflows: NamedDependency[WorkflowCatalog],
    ) -> Project:
        """Create a project from a workflow template; the caller becomes its owner."""
        template = data.template or DEFAULT_TEMPLATE
        workflow = workflows.require(template)
        project = await projects.create_owned(data.name, template, request.user)
        await PhaseService(session=projects.repository.session).create_for_project(
            project.id, workflow
        )
        audit.note(request, "project", project.id, project_id=project.id)
        return project_out(project, "owner")

    @get("/", opt=USER, operation_id="list_projects")
    async def list_projects(
        self, request: Request[User, Any, Any], projects: NamedDependency[ProjectService]
    ) -> list[Project]:
        """The caller's projects."""
        return [project_out(p, role) for p, role in await projects.list_for(request.user.id)]

    @get("/{project_id:uuid}", opt=VIEWER, operation_id="get_project")
    async def get_project(
        self,
        request: Request[User, Any, Any],
        project_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
    ) -> Project:
        """One project."""
        return project_out(await projects.get(project_id), request.state.project_role)

    @patch("/{project_id:uuid}", opt=EDITOR, operation_id="update_project")
    async def update_project(
        self,
        request: Request[User, Any, Any],
        project_id: FromPath[UUID],
        data: JSONBody[ProjectUpdate],
        projects: NamedDependency[ProjectService],
        config_store: NamedDependency[ConfigStore],
    ) -> Project:
        """Rename a project or set its AI profile (one of config.json's; empty clears it)."""
        changes: dict[str, Any] = {}
        if data.name is not None:
            changes["name"] = data.name
        if data.profile is not None:
            if data.profile and data.profile not in config_store.config.profiles:
                raise invalid(f"profile {data.profile!r} is not in config.json")
            changes["profile"] = data.profile or None
        project = await projects.update(changes, item_id=project_id)
        return project_out(project, request.state.project_role)

    @delete("/{project_id:uuid}", opt=OWNER, operation_id="delete_project", status_code=204)
    async def delete_project(
        self, project_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> None:
        """Delete a project and everything in it."""
        await projects.delete(project_id)

    @get("/{project_id:uuid}/members", opt=VIEWER, operation_id="list_members")
    async def list_members(
        self, project_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> list[Member]:
        """Members of the project."""
        return [
            Member(m.user_id, u.email, u.name, m.role, m.created_at)  # type: ignore[arg-type]
            for m, u in await projects.members(project_id)
        ]

    @patch("/{project_id:uuid}/members/{user_id:uuid}", opt=OWNER, operation_id="update_member")
    async def update_member(
        self,
        project_id: FromPath[UUID],
        user_id: FromPath[UUID],
        data: JSONBody[MemberUpdate],
        projects: NamedDependency[ProjectService],
    ) -> Member:
        """Change a member's role."""
        member = await projects.set_role(project_id, user_id, data.role)
        user = next(u for m, u in await projects.members(project_id) if m.id == member.id)
        return Member(user.id, user.email, user.name, data.role, member.created_at)

    @delete(
        "/{project_id:uuid}/members/{user_id:uuid}",
        opt=OWNER,
        operation_id="remove_member",
        status_code=204,
    )
    async def remove_member(
        self,
        project_id: FromPath[UUID],
        user_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
    ) -> None:
        """Remove a member from the project."""
        await projects.remove_member(project_id, user_id)

    @post(
        "/{project_id:uuid}/invitations",
        opt=OWNER,
        operation_id="create_invitation",
        status_code=201,
    )
    async def create_invitation(
        self,
        request: Request[User, Any, Any],
        project_id: FromPath[UUID],
        data: JSONBody[InvitationCreate],
        invitations: NamedDependency[InvitationService],
        runtime: NamedDependency[Runtime],
    ) -> Invitation:
        """Invite someone by token; the token is returned only in this response."""
        settings = runtime.settings
        invitation, token = await invitations.invite(
            project_id, data.role, data.email, request.user.id, settings.auth.invitation_ttl_s
        )
        audit.note(request, "invitation", invitation.id)
        return invitation_out(invitation, token)

    @get("/{project_id:uuid}/invitations", opt=OWNER, operation_id="list_invitations")
    async def list_invitations(
        self, project_id: FromPath[UUID], invitations: NamedDependency[InvitationService]
    ) -> list[Invitation]:
        """Invitations of the project, newest first."""
        rows = await invitations.list(project_id=project_id)
        return [invitation_out(i) for i in sorted(rows, key=lambda i: i.created_at, reverse=True)]

    @delete(
        "/{project_id:uuid}/invitations/{invitation_id:uuid}",
        opt=OWNER,
        operation_id="revoke_invitation",
        status_code=204,
    )
    async def revoke_invitation(
        self,
        project_id: FromPath[UUID],
        invitation_id: FromPath[UUID],
        invitations: NamedDependency[InvitationService],
    ) -> None:
        """Revoke an invitation that has not been used."""
        invitation = await invitations.get_one_or_none(id=invitation_id, project_id=project_id)
        if invitation is None:
            raise not_found("invitation")
        if invitation.accepted_at is not None:
            raise conflict("this invitation was already accepted")
        await invitations.update({"revoked_at": datetime.now(UTC)}, item_id=invitation_id)


class InvitationController(Controller):
    """Accepting an invitation."""

    path = "/api/v1/invitations"
    tags = ["projects"]
    dependencies = DEPENDENCIES

    @post("/accept", opt=USER, operation_id="accept_invitation", status_code=200)
    async def accept(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[InvitationAccept],
        invitations: NamedDependency[InvitationService],
        projects: NamedDependency[ProjectService],
    ) -> Project:
        """Join the invitation's project; returns the project with the caller's role."""
        invitation = await invitations.accept(data.token, request.user)
        project_id = invitation.project_id
        if project_id is None:  # accept() redeems project invitations only
            raise not_found("invitation")
        member = await projects.membership(project_id, request.user.id)
        audit.note(request, "invitation", invitation.id, project_id=project_id)
        return project_out(await projects.get(project_id), member.role)
