"""``/api/v1/orgs``: organisations, members, invitations and the audit trail of one.

Everyone lists their own organisations; members see their organisation and its members;
``org_admin``\\ s manage members, invite, and read their organisation's audit trail; server
administrators create, change (budgets, AI profile) and delete organisations, and may do
everything an ``org_admin`` may in any of them.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from advanced_alchemy.extensions.litestar.providers import create_service_provider
from advanced_alchemy.filters import OrderBy
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.access import ADMIN, ORG_ADMIN, ORG_MEMBER, USER
from server.db.models import User
from server.db.tenancy import bind_org, current_org
from server.errors import conflict, forbidden, not_found
from server.runtime import Runtime

from .schemas import (
    InvitationAccept,
    Member,
    MemberUpdate,
    Organisation,
    OrganisationCreate,
    OrganisationUpdate,
    OrgInvitation,
    OrgInvitationCreate,
    member_out,
    org_invitation_out,
    organisation_out,
)
from .services import OrganisationService

DEPENDENCIES = {"orgs": Provide(create_service_provider(OrganisationService))}


class OrganisationController(Controller):
    """Organisations and their members."""

    path = "/api/v1/orgs"
    tags = ["orgs"]
    dependencies = DEPENDENCIES

    @get("/", opt=USER, operation_id="list_orgs")
    async def list_orgs(
        self,
        request: Request[User, Any, Any],
        orgs: NamedDependency[OrganisationService],
        every: Annotated[bool, QueryParameter(name="all")] = False,
    ) -> list[Organisation]:
        """The caller's organisations with their role; ``active`` marks the token's. With
        ``all=true`` (server administrators) every organisation, oldest first."""
        active = current_org(orgs.db)
        memberships = await orgs.of_user(request.user.id)
        if not every:
            return [organisation_out(o, role, active=o.id == active) for o, role in memberships]
        mine = {o.id: role for o, role in memberships}
        if request.user.role != "admin":
            raise forbidden("only server administrators list every organisation")
        rows = await orgs.get_many(OrderBy("created_at", "asc"))
        return [organisation_out(o, mine.get(o.id), active=o.id == active) for o in rows]

    @post("/", opt=ADMIN, operation_id="create_org", status_code=201)
    async def create_org(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[OrganisationCreate],
        orgs: NamedDependency[OrganisationService],
    ) -> Organisation:
        """Create an organisation, with ``admin_id`` (if given) as its first org_admin."""
        admin = None
        if data.admin_id is not None:
            admin = await orgs.db.get(User, data.admin_id)
            if admin is None:
                raise not_found("user")
        org = await orgs.create_with_admin(data.name, admin)
        audit.note(request, "organisation", org.id)
        return organisation_out(org)

    @get("/{org_id:uuid}", opt=ORG_MEMBER, operation_id="get_org")
    async def get_org(
        self,
        request: Request[User, Any, Any],
        org_id: FromPath[UUID],
        orgs: NamedDependency[OrganisationService],
    ) -> Organisation:
        """One organisation with its settings."""
        org = await orgs.get_one_or_none(id=org_id)
        if org is None:
            raise not_found("organisation")
        role = await orgs.role_of(request.user.id, org_id)
        return organisation_out(org, role, active=org_id == current_org(orgs.db))

    @patch("/{org_id:uuid}", opt=ADMIN, operation_id="update_org")
    async def update_org(
        self,
        org_id: FromPath[UUID],
        data: JSONBody[OrganisationUpdate],
        orgs: NamedDependency[OrganisationService],
    ) -> Organisation:
        """Rename an organisation, set its AI profile or its monthly budgets."""
        if await orgs.get_one_or_none(id=org_id) is None:
            raise not_found("organisation")
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        return organisation_out(await orgs.update(changes, item_id=org_id))

    @delete("/{org_id:uuid}", opt=ADMIN, operation_id="delete_org", status_code=204)
    async def delete_org(
        self, org_id: FromPath[UUID], orgs: NamedDependency[OrganisationService]
    ) -> None:
        """Delete an organisation and everything in it (projects, documents, chats...)."""
        if await orgs.get_one_or_none(id=org_id) is None:
            raise not_found("organisation")
        if org_id == current_org(orgs.db):
            raise conflict("switch to another organisation before deleting this one")
        await orgs.delete(org_id)

    @get("/{org_id:uuid}/members", opt=ORG_MEMBER, operation_id="list_org_members")
    async def list_members(
        self, org_id: FromPath[UUID], orgs: NamedDependency[OrganisationService]
    ) -> list[Member]:
        """Members of the organisation, oldest first."""
        return [member_out(m, u) for m, u in await orgs.members(org_id)]

    @patch("/{org_id:uuid}/members/{user_id:uuid}", opt=ORG_ADMIN, operation_id="update_org_member")
    async def update_member(
        self,
        org_id: FromPath[UUID],
        user_id: FromPath[UUID],
        data: JSONBody[MemberUpdate],
        orgs: NamedDependency[OrganisationService],
    ) -> Member:
        """Change a member's role; an organisation keeps at least one org_admin."""
        member = await orgs.set_role(org_id, user_id, data.role)
        user = await orgs.db.get(User, user_id)
        if user is None:
            raise not_found("member")
        return member_out(member, user)

    @delete(
        "/{org_id:uuid}/members/{user_id:uuid}",
        opt=ORG_ADMIN,
        operation_id="remove_org_member",
        status_code=204,
    )
    async def remove_member(
        self,
        org_id: FromPath[UUID],
        user_id: FromPath[UUID],
        orgs: NamedDependency[OrganisationService],
    ) -> None:
        """Remove a member, with their memberships of the organisation's projects."""
        await orgs.remove_member(org_id, user_id)

    @post(
        "/{org_id:uuid}/invitations",
        opt=ORG_ADMIN,
        operation_id="create_org_invitation",
        status_code=201,
    )
    async def create_invitation(
        self,
        request: Request[User, Any, Any],
        org_id: FromPath[UUID],
        data: JSONBody[OrgInvitationCreate],
        orgs: NamedDependency[OrganisationService],
        runtime: NamedDependency[Runtime],
    ) -> OrgInvitation:
        """Invite someone by token (redeemed with ``POST /api/v1/orgs/invitations/accept``);
        the token is returned only in this response."""
        ttl_s = runtime.settings.auth.invitation_ttl_s
        invitation, token = await orgs.invite(org_id, data.role, data.email, request.user.id, ttl_s)
        audit.note(request, "invitation", invitation.id)
        return org_invitation_out(invitation, token)

    @post("/invitations/accept", opt=USER, operation_id="accept_org_invitation", status_code=200)
    async def accept_invitation(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[InvitationAccept],
        orgs: NamedDependency[OrganisationService],
    ) -> Organisation:
        """Join the invitation's organisation (switch to it with ``POST /auth/switch-org``)."""
        org = await orgs.accept(data.token, request.user)
        audit.note(request, "organisation", org.id)
        return organisation_out(org, await orgs.role_of(request.user.id, org.id))

    @get("/{org_id:uuid}/audit", opt=ORG_ADMIN, operation_id="list_org_audit")
    async def list_audit(
        self,
        *,
        org_id: FromPath[UUID],
        db_session: NamedDependency[AsyncSession],
        actor_id: FromQuery[UUID | None] = None,
        action: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> list[audit.AuditRecord]:
        """The organisation's audit trail, newest first (read as that organisation)."""
        await bind_org(db_session, org_id)
        rows = await audit.entries(
            db_session, org_id=org_id, actor_id=actor_id, action=action, limit=limit, offset=offset
        )
        return [audit.audit_out(r) for r in rows]
