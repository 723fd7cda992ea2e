"""Wire schemas of organisations, their members, invitations and budgets."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

import msgspec

if TYPE_CHECKING:
    from server.db.models import Invitation as InvitationModel
    from server.db.models import Organisation as OrganisationModel
    from server.db.models import OrganisationMember, User

OrgRole = Literal["org_admin", "member"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Budget = Annotated[int, msgspec.Meta(ge=0)]
CostBudget = Annotated[float, msgspec.Meta(ge=0)]


class Organisation(msgspec.Struct):
    """An organisation; ``role`` is the caller's in it (None for a server administrator who is
    not a member), ``active`` whether the caller's access token works in it."""

    id: UUID
    name: str
    personal: bool
    profile: str | None
    monthly_token_budget: int | None
    monthly_cost_budget_usd: float | None
    created_at: datetime
    role: OrgRole | None = None
    active: bool = False


class OrganisationCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new organisation (server administrators); ``admin_id`` becomes its first org_admin."""

    name: Name
    admin_id: UUID | None = None


class OrganisationUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """What server administrators change about an organisation; an explicit ``null`` budget
    or profile removes it, an absent field leaves it as it is."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    profile: Annotated[str, msgspec.Meta(max_length=100)] | msgspec.UnsetType | None = msgspec.UNSET
    monthly_token_budget: Budget | msgspec.UnsetType | None = msgspec.UNSET
    monthly_cost_budget_usd: CostBudget | msgspec.UnsetType | None = msgspec.UNSET


class Member(msgspec.Struct):
    """A member of an organisation."""

    user_id: UUID
    email: str
    name: str | None
    role: OrgRole
    joined_at: datetime


class MemberUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A member's new role."""

    role: OrgRole


class OrgInvitationCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Invite someone into the organisation; with ``email`` only that account may accept."""

    role: OrgRole = "member"
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None


class OrgInvitation(msgspec.Struct):
    """An organisation's invitation; ``token`` is shown only once, when it is created."""

    id: UUID
    org_id: UUID
    role: OrgRole
    email: str | None
    expires_at: datetime
    token: str | None = None


class InvitationAccept(msgspec.Struct):
    """Redeem an invitation token."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


def organisation_out(
    org: OrganisationModel, role: str | None = None, *, active: bool = False
) -> Organisation:
    """The wire form of an organisation row, with the caller's role in it."""
    cost = org.monthly_cost_budget_usd
    return Organisation(
        id=org.id,
        name=org.name,
        personal=org.personal,
        profile=org.profile,
        monthly_token_budget=org.monthly_token_budget,
        monthly_cost_budget_usd=None if cost is None else float(cost),
        created_at=org.created_at,
        role=role,  # type: ignore[arg-type]
        active=active,
    )


def member_out(member: OrganisationMember, user: User) -> Member:
    """The wire form of a membership with its account."""
    return Member(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=member.role,  # type: ignore[arg-type]
        joined_at=member.created_at,
    )


def org_invitation_out(invitation: InvitationModel, token: str | None = None) -> OrgInvitation:
    """The wire form of an organisation's invitation; the token only when just created."""
    return OrgInvitation(
        id=invitation.id,
        org_id=invitation.org_id,
        role=invitation.role,  # type: ignore[arg-type]
        email=invitation.email,
        expires_at=invitation.expires_at,
        token=token,
    )
