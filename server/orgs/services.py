"""Organisations, their members, and invitations to join one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import delete, func, select, update

from server.db.models import Invitation, Organisation, OrganisationMember, ProjectMember, User
from server.db.tenancy import across_orgs, bind_org
from server.errors import DomainError, conflict, not_found
from server.tokens import digest, new_secret

if TYPE_CHECKING:
    from collections.abc import Sequence
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("OrganisationService", "redeem_invitation")

_RANK = {"member": 1, "org_admin": 2}


class OrganisationService(SQLAlchemyAsyncRepositoryService[Organisation]):
    """Organisations and memberships (neither table is behind row-level security: they are the
    map of who may work for which organisation, read before any organisation is chosen)."""

    class Repo(SQLAlchemyAsyncRepository[Organisation]):
        model_type = Organisation

    repository_type = Repo

    @property
    def db(self) -> AsyncSession:
        """The session this service works in."""
        db: AsyncSession = self.repository.session
        return db

    async def create_with_admin(
        self, name: str, admin: User | None, *, personal: bool = False
    ) -> Organisation:
        """A new organisation, with ``admin`` (if any) as its first ``org_admin``."""
        org = await self.create(Organisation(name=name, personal=personal))
        if admin is not None:
            await self.add_member(org.id, admin.id, "org_admin")
        return org

    async def create_personal(self, user: User) -> Organisation:
        """The organisation every account starts with, administered by its owner."""
        name = (user.name or user.email)[: Organisation.name.type.length or 200]
        return await self.create_with_admin(name, user, personal=True)

    async def default_for(self, user: User) -> UUID:
        """The organisation a sign-in works in: the user's first, or a new personal one."""
        org_id: UUID | None = await self.db.scalar(
            select(OrganisationMember.org_id)
            .where(OrganisationMember.user_id == user.id)
            .order_by(OrganisationMember.created_at, OrganisationMember.id)
            .limit(1)
        )
        if org_id is None:
            org_id = (await self.create_personal(user)).id
        return org_id

    async def role_of(self, user_id: UUID, org_id: UUID) -> str | None:
        """The user's role in the organisation, or None."""
        role: str | None = await self.db.scalar(
            select(OrganisationMember.role).where(
                OrganisationMember.org_id == org_id, OrganisationMember.user_id == user_id
            )
        )
        return role

    async def of_user(self, user_id: UUID) -> Sequence[tuple[Organisation, str]]:
        """The user's organisations with their role, oldest membership first."""
        rows = await self.db.execute(
            select(Organisation, OrganisationMember.role)
            .join(OrganisationMember, OrganisationMember.org_id == Organisation.id)
            .where(OrganisationMember.user_id == user_id)
            .order_by(OrganisationMember.created_at, OrganisationMember.id)
        )
        return list(rows.tuples())

    async def members(self, org_id: UUID) -> Sequence[tuple[OrganisationMember, User]]:
        """Members with their accounts, oldest first."""
        rows = await self.db.execute(
            select(OrganisationMember, User)
            .join(User, User.id == OrganisationMember.user_id)
            .where(OrganisationMember.org_id == org_id)
            .order_by(OrganisationMember.created_at, OrganisationMember.id)
        )
        return list(rows.tuples())

    async def add_member(self, org_id: UUID, user_id: UUID, role: str) -> OrganisationMember:
        """Make the user a member in ``role``, or keep the higher role they already have."""
        member: OrganisationMember | None = await self.db.scalar(
            select(OrganisationMember).where(
                OrganisationMember.org_id == org_id, OrganisationMember.user_id == user_id
            )
        )
        if member is None:
            member = OrganisationMember(org_id=org_id, user_id=user_id, role=role)
            self.db.add(member)
        elif _RANK[role] > _RANK[member.role]:
            member.role = role
        await self.db.flush()
        return member

    async def membership(self, org_id: UUID, user_id: UUID) -> OrganisationMember:
        """One membership, or 404."""
        member: OrganisationMember | None = await self.db.scalar(
            select(OrganisationMember)
            .where(OrganisationMember.org_id == org_id, OrganisationMember.user_id == user_id)
            .with_for_update()
        )
        if member is None:
            raise not_found("member")
        return member

    async def _keep_an_admin(self, org_id: UUID, member: OrganisationMember) -> None:
        if member.role != "org_admin":
            return
        # Serialise admin changes of one organisation, so two demotions cannot leave none.
        await self.db.execute(
            select(Organisation.id).where(Organisation.id == org_id).with_for_update()
        )
        admins = await self.db.scalar(
            select(func.count())
            .select_from(OrganisationMember)
            .where(OrganisationMember.org_id == org_id, OrganisationMember.role == "org_admin")
        )
        if int(admins or 0) <= 1:
            raise conflict("an organisation needs at least one org_admin")

    async def set_role(self, org_id: UUID, user_id: UUID, role: str) -> OrganisationMember:
        """Change a member's role; an organisation always keeps one ``org_admin``."""
        member = await self.membership(org_id, user_id)
        if role != "org_admin":
            await self._keep_an_admin(org_id, member)
        member.role = role
        await self.db.flush()
        return member

    async def remove_member(self, org_id: UUID, user_id: UUID) -> None:
        """Remove a member, and with them every project membership they had in the
        organisation (so open sockets in its projects lose access within a second)."""
        member = await self.membership(org_id, user_id)
        await self._keep_an_admin(org_id, member)
        await bind_org(self.db, org_id)
        await self.db.execute(
            delete(ProjectMember).where(
                ProjectMember.user_id == user_id, ProjectMember.org_id == org_id
            )
        )
        await self.db.delete(member)
        await self.db.flush()

    async def invite(
        self, org_id: UUID, role: str, email: str | None, by: UUID, ttl_s: int
    ) -> tuple[Invitation, str]:
        """An invitation to join the organisation (no project) and its secret token."""
        raw, token_hash = new_secret()
        invitation = Invitation(
            org_id=org_id,
            project_id=None,
            role=role,
            email=email.strip().lower() if email else None,
            token_hash=token_hash,
            invited_by=by,
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl_s),
        )
        await bind_org(self.db, org_id)
        self.db.add(invitation)
        await self.db.flush()
        return invitation, raw

    async def accept(self, raw: str, user: User) -> Organisation:
        """Redeem an organisation invitation for ``user``: join in the invited role."""
        invitation = await redeem_invitation(self.db, raw, user, project=False)
        await self.add_member(invitation.org_id, user.id, invitation.role)
        return await self.get(invitation.org_id)


async def redeem_invitation(db: AsyncSession, raw: str, user: User, *, project: bool) -> Invitation:
    """Find, check and mark used the invitation behind ``raw`` for ``user``.

    The invitee works for another organisation (the token is their way in), so the look-up by
    the token's digest is the one read across organisations; from then on ``db`` works for the
    invitation's. ``project`` says which kind the caller redeems (the other kind is not found).
    """
    now = datetime.now(UTC)
    async with across_orgs(db, "redeeming an invitation by its token"):
        invitation: Invitation | None = await db.scalar(
            select(Invitation).where(Invitation.token_hash == digest(raw))
        )
    if invitation is None or invitation.revoked_at is not None:
        raise not_found("invitation")
    if (invitation.project_id is not None) != project:
        raise not_found("invitation")
    if invitation.accepted_at is not None:
        raise DomainError("gone", "this invitation was already used")
    if invitation.expires_at <= now:
        raise DomainError("gone", "this invitation has expired")
    if invitation.email and invitation.email != user.email:
        raise not_found("invitation")
    await bind_org(db, invitation.org_id)
    claimed = await db.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=now, accepted_by=user.id)
        .returning(Invitation.id)
    )
    if claimed.scalar_one_or_none() is None:
        raise DomainError("gone", "this invitation was already used")
    await db.refresh(invitation)
    return invitation
