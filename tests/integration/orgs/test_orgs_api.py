"""Organisations over REST: personal organisations, switching, invitations, members, the org
admin's audit trail and usage, server administrators' management, and monthly budgets."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from sqlalchemy import select

from server.access import live_access
from server.app import services_of
from server.db.brief import ProjectBrief, forget_brief, project_brief
from server.db.models import (
    Organisation,
    OrganisationMember,
    Project,
    ProjectMember,
    UsageEvent,
)
from tests.integration.chat.conftest import open_client
from tests.integration.conftest import PASSWORD

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.integration.conftest import Account

    Client = AsyncTestClient[Litestar]
    Maker = Callable[..., Awaitable[Account]]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _register_and_login(client: Client, email: str) -> dict[str, Any]:
    r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    tokens: dict[str, Any] = r.json()
    return tokens


async def test_registration_creates_a_personal_organisation_the_login_works_in(
    client: Client,
) -> None:
    tokens = await _register_and_login(client, "ada@example.org")
    orgs = (await client.get("/api/v1/orgs", headers=_bearer(tokens["access_token"]))).json()
    assert len(orgs) == 1
    [personal] = orgs
    assert personal["personal"] is True
    assert personal["role"] == "org_admin"
    assert personal["active"] is True
    assert tokens["org_id"] == personal["id"]
    # A project made now lives in that organisation.
    headers = _bearer(tokens["access_token"])
    r = await client.post("/api/v1/projects", headers=headers, json={"name": "Mine"})
    assert r.status_code == 201, r.text


async def test_switching_organisation_changes_what_the_token_sees(
    client: Client,
    db: AsyncSession,
    make_account: Maker,
    make_org: Callable[..., Awaitable[UUID]],
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    member = await make_account()
    second = await make_org("Second")
    stranger_org = await make_org("Not mine")
    db.add(OrganisationMember(org_id=second, user_id=member.id, role="member"))
    await db.commit()
    in_first = await make_project({member.id: "owner"}, name="First's")
    in_second = await make_project({member.id: "owner"}, name="Second's", org_id=second)

    listed = await client.get("/api/v1/projects", headers=member.headers)
    assert [p["id"] for p in listed.json()] == [str(in_first)]

    r = await client.post(
        "/api/v1/auth/switch-org", headers=member.headers, json={"org_id": str(second)}
    )
    assert r.status_code == 200, r.text
    switched = r.json()
    assert switched["org_id"] == str(second)
    headers = _bearer(switched["access_token"])
    listed = await client.get("/api/v1/projects", headers=headers)
    assert [p["id"] for p in listed.json()] == [str(in_second)]
    r = await client.get(f"/api/v1/projects/{in_first}", headers=headers)
    assert r.status_code == 404
    orgs = (await client.get("/api/v1/orgs", headers=headers)).json()
    assert {o["id"]: o["active"] for o in orgs} == {str(member.org_id): False, str(second): True}

    # The refresh token of the switched pair stays in the organisation it was issued for.
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": switched["refresh_token"]})
    assert r.status_code == 200, r.text
    assert r.json()["org_id"] == str(second)

    r = await client.post(
        "/api/v1/auth/switch-org", headers=headers, json={"org_id": str(stranger_org)}
    )
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


async def test_an_org_admin_invites_a_member_who_joins_and_switches_in(
    client: Client, make_account: Maker, org: UUID
) -> None:
    admin = await make_account(org_role="org_admin")
    r = await client.post(
        f"/api/v1/orgs/{org}/invitations", headers=admin.headers, json={"role": "member"}
    )
    assert r.status_code == 201, r.text
    token = r.json()["token"]

    newcomer = await _register_and_login(client, "newcomer@example.org")
    headers = _bearer(newcomer["access_token"])
    r = await client.post("/api/v1/orgs/invitations/accept", headers=headers, json={"token": token})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == str(org)
    assert r.json()["role"] == "member"
    again = await client.post(
        "/api/v1/orgs/invitations/accept", headers=headers, json={"token": token}
    )
    assert again.status_code == 410
    # A project invitation's token is not an organisation's, and the other way round.
    r = await client.post("/api/v1/invitations/accept", headers=headers, json={"token": token})
    assert r.status_code == 404

    r = await client.post("/api/v1/auth/switch-org", headers=headers, json={"org_id": str(org)})
    assert r.status_code == 200, r.text
    members = await client.get(
        f"/api/v1/orgs/{org}/members", headers=_bearer(r.json()["access_token"])
    )
    assert "newcomer@example.org" in {m["email"] for m in members.json()}


async def test_a_project_invitation_brings_its_invitee_into_the_organisation(
    client: Client, make_account: Maker, make_project: Callable[..., Awaitable[UUID]], org: UUID
) -> None:
    owner = await make_account()
    project = await make_project({owner.id: "owner"})
    r = await client.post(
        f"/api/v1/projects/{project}/invitations", headers=owner.headers, json={"role": "viewer"}
    )
    assert r.status_code == 201, r.text
    invitee = await _register_and_login(client, "guest@example.org")
    headers = _bearer(invitee["access_token"])
    r = await client.post(
        "/api/v1/invitations/accept", headers=headers, json={"token": r.json()["token"]}
    )
    assert r.status_code == 200, r.text
    orgs = (await client.get("/api/v1/orgs", headers=headers)).json()
    assert {o["id"]: o["role"] for o in orgs}[str(org)] == "member"


async def test_removing_a_member_removes_their_projects_of_the_organisation(
    client: Client,
    db: AsyncSession,
    make_account: Maker,
    make_project: Callable[..., Awaitable[UUID]],
    org: UUID,
) -> None:
    admin = await make_account(org_role="org_admin")
    leaver = await make_account()
    owner = await make_account()
    project = await make_project({owner.id: "owner", leaver.id: "editor"})
    r = await client.delete(f"/api/v1/orgs/{org}/members/{leaver.id}", headers=admin.headers)
    assert r.status_code == 204, r.text
    left = await db.scalar(select(ProjectMember).where(ProjectMember.user_id == leaver.id))
    assert left is None
    r = await client.get(f"/api/v1/projects/{project}", headers=leaver.headers)
    assert r.status_code == 401  # the token's organisation is no longer theirs
    # The last org_admin cannot leave or be demoted.
    r = await client.delete(f"/api/v1/orgs/{org}/members/{admin.id}", headers=admin.headers)
    assert r.status_code == 409
    r = await client.patch(
        f"/api/v1/orgs/{org}/members/{admin.id}", headers=admin.headers, json={"role": "member"}
    )
    assert r.status_code == 409


async def test_org_admins_read_their_organisations_audit_trail_only(
    client: Client,
    make_account: Maker,
    make_org: Callable[..., Awaitable[UUID]],
    org: UUID,
) -> None:
    admin = await make_account(org_role="org_admin")
    member = await make_account()
    elsewhere = await make_account(org_id=await make_org("Elsewhere"))
    for account, name in ((member, "in A"), (elsewhere, "in B")):
        r = await client.post("/api/v1/projects", headers=account.headers, json={"name": name})
        assert r.status_code == 201, r.text
    r = await client.get(f"/api/v1/orgs/{org}/audit", headers=admin.headers)
    assert r.status_code == 200, r.text
    rows = r.json()
    assert rows
    assert {row["org_id"] for row in rows} == {str(org)}
    assert member.id in {row["actor_id"] for row in rows} or str(member.id) in {
        row["actor_id"] for row in rows
    }
    assert str(elsewhere.id) not in {row["actor_id"] for row in rows}
    r = await client.get(f"/api/v1/orgs/{org}/audit", headers=member.headers)
    assert r.status_code == 403


async def test_server_admins_manage_organisations(
    client: Client, db: AsyncSession, make_account: Maker
) -> None:
    admin = await make_account(role="admin")
    future_admin = await make_account()
    r = await client.post(
        "/api/v1/orgs",
        headers=admin.headers,
        json={"name": "Acme", "admin_id": str(future_admin.id)},
    )
    assert r.status_code == 201, r.text
    acme = r.json()["id"]
    r = await client.patch(
        f"/api/v1/orgs/{acme}",
        headers=admin.headers,
        json={"monthly_token_budget": 5000, "monthly_cost_budget_usd": 2.5, "profile": "fast"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["monthly_token_budget"] == 5000
    assert r.json()["monthly_cost_budget_usd"] == 2.5
    r = await client.patch(
        f"/api/v1/orgs/{acme}", headers=admin.headers, json={"monthly_token_budget": None}
    )
    assert r.json()["monthly_token_budget"] is None
    assert r.json()["profile"] == "fast"
    role = await db.scalar(
        select(OrganisationMember.role)
        .where(OrganisationMember.user_id == future_admin.id)
        .where(OrganisationMember.org_id == acme)
    )
    assert role == "org_admin"
    r = await client.patch(
        f"/api/v1/orgs/{acme}", headers=future_admin.headers, json={"name": "Mine now"}
    )
    assert r.status_code == 403
    r = await client.delete(f"/api/v1/orgs/{acme}", headers=admin.headers)
    assert r.status_code == 204
    assert await db.get(Organisation, acme) is None
    audit = await client.get(
        "/api/v1/audit", headers=admin.headers, params={"action": "create_org"}
    )
    assert [row["target_id"] for row in audit.json()] == [acme]


async def test_a_reply_over_the_monthly_budget_is_refused_and_admins_see_the_spend(
    client: Client,
    db: AsyncSession,
    make_account: Maker,
    make_project: Callable[..., Awaitable[UUID]],
    org: UUID,
) -> None:
    admin = await make_account(org_role="org_admin")
    owner = await make_account()
    project = await make_project({owner.id: "owner"})
    r = await client.post(
        f"/api/v1/projects/{project}/chat/sessions", headers=owner.headers, json={}
    )
    assert r.status_code == 201, r.text
    session = r.json()["id"]
    db.add(
        UsageEvent(
            org_id=org,
            user_id=owner.id,
            project_id=project,
            purpose="chat",
            provider="openai",
            model="gpt-4o",
            prompt_tokens=700,
            completion_tokens=300,
            cost_usd=Decimal("0.5"),
        )
    )
    organisation = await db.get(Organisation, org)
    assert organisation is not None
    organisation.monthly_token_budget = 1000
    await db.commit()

    r = await client.post(
        f"/api/v1/chat/sessions/{session}/messages",
        headers=owner.headers,
        json={"content": "Draft the summary", "client_message_id": "m1"},
    )
    assert r.status_code == 402, r.text
    body = r.json()
    assert body["code"] == "budget_exceeded"
    assert (body["tokens_used"], body["token_budget"]) == (1000, 1000)

    usage = (await client.get("/api/v1/usage", headers=admin.headers)).json()
    assert usage["budget"]["tokens_used"] == 1000
    assert usage["budget"]["token_budget"] == 1000
    assert usage["budget"]["exceeded"] is True
    assert usage["total"]["prompt_tokens"] == 700  # everyone's usage in the organisation
    mine = (await client.get("/api/v1/usage", headers=owner.headers)).json()
    assert mine["budget"] is None

    organisation.monthly_token_budget = 5000
    await db.commit()
    r = await client.post(
        f"/api/v1/chat/sessions/{session}/messages",
        headers=owner.headers,
        json={"content": "Draft the summary", "client_message_id": "m2"},
    )
    assert r.status_code == 200, r.text
    assert '"role":"assistant"' in r.text.replace(" ", "")


async def test_an_organisations_ai_profile_is_its_projects_default(
    client: Client,
    db: AsyncSession,
    make_account: Maker,
    make_project: Callable[..., Awaitable[UUID]],
    org: UUID,
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    store = services_of(client.app).config_store
    organisation = await db.get(Organisation, org)
    assert organisation is not None
    organisation.profile = "offline"
    await db.commit()
    project = await db.get(Project, project_id, populate_existing=True)
    assert store.profile_for(project) == "offline"
    # A project's own profile still wins, and a name config.json lacks is ignored.
    assert project is not None
    project.profile = "balanced"
    await db.commit()
    assert (
        store.profile_for(await db.get(Project, project_id, populate_existing=True)) == "balanced"
    )
    project.profile = None
    organisation.profile = "gone"
    await db.commit()
    assert store.profile_for(await db.get(Project, project_id, populate_existing=True)) is None


async def test_over_budget_the_socket_answers_budget_exceeded(
    serve: Callable[..., Any],
    db: AsyncSession,
    make_account: Maker,
    make_project: Callable[..., Awaitable[UUID]],
    org: UUID,
) -> None:
    owner = await make_account()
    project = await make_project({owner.id: "owner"})
    organisation = await db.get(Organisation, org)
    assert organisation is not None
    organisation.monthly_cost_budget_usd = Decimal("0.10")
    db.add(
        UsageEvent(
            org_id=org,
            purpose="chat",
            provider="openai",
            model="gpt-4o",
            prompt_tokens=1,
            completion_tokens=1,
            cost_usd=Decimal("0.25"),
        )
    )
    await db.commit()
    served = serve()
    async with open_client(served.ws, owner.token) as socket:
        await socket.join(project)
        await socket.send(
            "chat:send_message", {"content": "Hello", "client_message_id": "b1"}, ref="m"
        )
        frames = await socket.until(lambda f: f["event"] == "chat:error")
    error = frames[-1]["data"]
    assert error["code"] == "budget_exceeded"
    assert not any(f["event"] == "chat:message_received" for f in frames)


async def test_server_admins_list_every_organisation(
    client: Client, make_account: Maker, make_org: Callable[..., Awaitable[UUID]], org: UUID
) -> None:
    admin = await make_account(role="admin")
    member = await make_account()
    other = await make_org("Other")
    listed = await client.get("/api/v1/orgs", headers=admin.headers, params={"all": "true"})
    assert listed.status_code == 200, listed.text
    assert {o["id"]: o["role"] for o in listed.json()} == {str(org): "member", str(other): None}
    refused = await client.get("/api/v1/orgs", headers=member.headers, params={"all": "true"})
    assert refused.status_code == 403


async def test_the_brief_read_with_a_sockets_access_is_the_projects_own(
    db: AsyncSession, make_account: Maker, make_project: Callable[..., Awaitable[UUID]], org: UUID
) -> None:
    # A message's access check brings its project's brief (profiles, budget) in one statement.
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    project = await db.get(Project, project_id)
    organisation = await db.get(Organisation, org)
    assert project is not None
    assert organisation is not None
    project.profile, organisation.profile = "fast", "careful"
    organisation.monthly_token_budget = 5000
    await db.commit()
    valid, roles = await live_access(db, [(owner.id, uuid4(), project_id)], brief=True)
    assert roles == {(owner.id, project_id): "owner"}
    assert len(valid) == 1
    kept = await project_brief(db, project_id)
    forget_brief(db, project_id)
    assert kept == await project_brief(db, project_id)
    assert kept == ProjectBrief(
        name=project.name,
        template=project.template,
        profile="fast",
        org_profile="careful",
        budgeted=True,
    )
