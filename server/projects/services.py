"""Projects with their members, and invitations redeemed by token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import func, select

from server.accounts.security import new_secret
from server.db.models import ROLE_RANK, Invitation, Project, ProjectMember, User
from server.errors import conflict, not_found
from server.orgs.services import OrganisationService, redeem_invitation

if TYPE_CHECKING:
    from collections.abc import Sequence
    from uuid import UUID


class ProjectService(SQLAlchemyAsyncRepositoryService[Project]):
    """Projects and memberships."""

    class Repo(SQLAlchemyAsyncRepository[Project]):
        model_type = Project

    repository_type = Repo

    async def create_owned(self, name: str, template: str, owner: User) -> Project:
        """A new project with ``owner`` as its first owner."""
        project = await self.create(Project(name=name, template=template, created_by=owner.id))
        self.repository.session.add(
            ProjectMember(project_id=project.id, user_id=owner.id, role="owner")
        )
        await self.repository.session.flush()
        return project

    async def list_for(self, user_id: UUID) -> Sequence[tuple[Project, str]]:
        """The user's projects with their role, most recently changed first."""
        rows = await self.repository.session.execute(
            select(Project, ProjectMember.role)
            .join(ProjectMember, ProjectMember.project_id == Project.id)
            .where(ProjectMember.user_id == user_id)
            .order_by(Project.updated_at.desc())
        )
        return [(p, r) for p, r in rows.tuples()]

    async def members(self, project_id: UUID) -> Sequence[tuple[ProjectMember, User]]:
        """Members of a project with their accounts, owners first."""
        rows = await self.repository.session.execute(
            select(ProjectMember, User)
            .join(User, User.id == ProjectMember.user_id)
            .where(ProjectMember.project_id == project_id)
            .order_by(ProjectMember.created_at)
        )
        return list(rows.tuples())

    async def membership(self, project_id: UUID, user_id: UUID) -> ProjectMember:
        """One membership, or 404."""
        member: ProjectMember | None = await self.repository.session.scalar(
            select(ProjectMember).where(
                ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
            )
        )
        if member is None:
            raise not_found("member")
        return member

    async def _owner_count(self, project_id: UUID) -> int:
        count = await self.repository.session.scalar(
            select(func.count())
            .select_from(ProjectMember)
            .where(ProjectMember.project_id == project_id, ProjectMember.role == "owner")
        )
        return int(count or 0)

    async def set_role(self, project_id: UUID, user_id: UUID, role: str) -> ProjectMember:
        """Change a member's role; a project always keeps at least one owner."""
        member = await self.membership(project_id, user_id)
        if member.role == "owner" and role != "owner":
            await self._lock_owners(project_id)
            if await self._owner_count(project_id) <= 1:
                raise conflict("a project needs at least one owner")
        member.role = role
        await self.repository.session.flush()
        return member

    async def remove_member(self, project_id: UUID, user_id: UUID) -> None:
        """Remove a member; the last owner cannot be removed."""
        member = await self.membership(project_id, user_id)
        if member.role == "owner":
            await self._lock_owners(project_id)
            if await self._owner_count(project_id) <= 1:
                raise conflict("a project needs at least one owner")
        await self.repository.session.delete(member)
        await self.repository.session.flush()

    async def _lock_owners(self, project_id: UUID) -> None:
        """Serialise owner changes of one project, so two demotions cannot leave none."""
        await self.repository.session.execute(
            select(Project.id).where(Project.id == project_id).with_for_update()
        )


class InvitationService(SQLAlchemyAsyncRepositoryService[Invitation]):
    """Invitations by token, with expiry."""

    class Repo(SQLAlchemyAsyncRepository[Invitation]):
        model_type = Invitation

    repository_type = Repo

    async def invite(
        self, project_id: UUID, role: str, email: str | None, by: UUID, ttl_s: int
    ) -> tuple[Invitation, str]:
        """A new invitation and its secret token (returned once, stored hashed)."""
        raw, token_hash = new_secret()
        invitation = await self.create(
            Invitation(
                project_id=project_id,
                role=role,
                email=email.strip().lower() if email else None,
                token_hash=token_hash,
                invited_by=by,
                expires_at=datetime.now(UTC) + timedelta(seconds=ttl_s),
            )
        )
        return invitation, raw

    async def accept(self, raw: str, user: User) -> Invitation:
        """Redeem a token for ``user``: join in the invited role (or keep a higher one), and
        the project's organisation as a ``member`` if not in it yet."""
        db = self.repository.session
        invitation = await redeem_invitation(db, raw, user, project=True)
        await OrganisationService(session=db).add_member(invitation.org_id, user.id, "member")
        member = await db.scalar(
            select(ProjectMember).where(
                ProjectMember.project_id == invitation.project_id,
                ProjectMember.user_id == user.id,
            )
        )
        if member is None:
            db.add(
                ProjectMember(
                    project_id=invitation.project_id, user_id=user.id, role=invitation.role
                )
            )
        elif ROLE_RANK[invitation.role] > ROLE_RANK[member.role]:
            member.role = invitation.role
        await db.flush()
        await db.refresh(invitation)
        return invitation
