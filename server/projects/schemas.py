"""Wire schemas of projects, members and invitations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

import msgspec

if TYPE_CHECKING:
    from server.db.models import Invitation as InvitationModel
    from server.db.models import Project as ProjectModel

ProjectName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Role = Literal["owner", "editor", "viewer"]


class ProjectCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new project, from a workflow template of config.json."""

    name: ProjectName
    template: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


class ProjectUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Rename a project or pin its AI profile (an empty string clears the override)."""

    name: ProjectName | None = None
    profile: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class Project(msgspec.Struct):
    """A project and the caller's role in it."""

    id: UUID
    name: str
    template: str
    profile: str | None
    role: Role
    created_at: datetime
    updated_at: datetime
    org_id: UUID
    """The organisation the project belongs to (tokens for another one do not see it)."""


class Member(msgspec.Struct):
    """A member of a project."""

    user_id: UUID
    email: str
    name: str | None
    role: Role
    joined_at: datetime


class MemberUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Change a member's role."""

    role: Role


class InvitationCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Invite someone; with ``email`` only that account may accept."""

    role: Role = "editor"
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None


class Invitation(msgspec.Struct):
    """An invitation; ``token`` is shown only once, when it is created."""

    id: UUID
    project_id: UUID | None
    """None only for an organisation's invitation (``/api/v1/orgs/{org_id}/invitations``)."""
    role: Role
    email: str | None
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    token: str | None = None


class InvitationAccept(msgspec.Struct):
    """Redeem an invitation token."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


def project_out(project: ProjectModel, role: str) -> Project:
    """The wire form of a project as seen by a member with ``role``."""
    return Project(
        id=project.id,
        name=project.name,
        template=project.template,
        profile=project.profile,
        role=role,  # type: ignore[arg-type]
        created_at=project.created_at,
        updated_at=project.updated_at,
        org_id=project.org_id,
    )


def invitation_out(invitation: InvitationModel, token: str | None = None) -> Invitation:
    """The wire form of an invitation; the token only when just created."""
    return Invitation(
        id=invitation.id,
        project_id=invitation.project_id,
        role=invitation.role,  # type: ignore[arg-type]
        email=invitation.email,
        expires_at=invitation.expires_at,
        accepted_at=invitation.accepted_at,
        revoked_at=invitation.revoked_at,
        token=token,
    )
