"""Projects, members and invitations over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update

from server.db.models import Invitation

if TYPE_CHECKING:
    from uuid import UUID

    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.integration.conftest import Account


async def test_create_list_rename_and_delete_a_project(
    client: AsyncTestClient[Litestar], make_account
) -> None:
    ann: Account = await make_account()
    r = await client.post("/api/v1/projects", json={"name": "Plan"}, headers=ann.headers)
    assert r.status_code == 201, r.text
    project = r.json()
    assert project["role"] == "owner"
    assert project["template"] == "business-plan"

    listed = await client.get("/api/v1/projects", headers=ann.headers)
    assert [p["id"] for p in listed.json()] == [project["id"]]
    url = f"/api/v1/projects/{project['id']}"
    r = await client.patch(url, json={"name": "Better plan"}, headers=ann.headers)
    assert r.status_code == 200
    assert r.json()["name"] == "Better plan"
    assert (await client.delete(url, headers=ann.headers)).status_code == 204
    assert (await client.get(url, headers=ann.headers)).status_code == 404


async def test_roles_decide_who_reads_edits_and_manages(
    client: AsyncTestClient[Litestar], make_account, make_project
) -> None:
    owner, editor, viewer, stranger = [await make_account() for _ in range(4)]
    project: UUID = await make_project(
        {owner.id: "owner", editor.id: "editor", viewer.id: "viewer"}
    )
    url = f"/api/v1/projects/{project}"

    assert (await client.get(url, headers=viewer.headers)).json()["role"] == "viewer"
    r = await client.patch(url, json={"name": "x"}, headers=viewer.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    r = await client.patch(url, json={"name": "Edited"}, headers=editor.headers)
    assert r.status_code == 200
    assert (await client.delete(url, headers=editor.headers)).status_code == 403

    # A stranger cannot tell the project exists: the same 404 as for a made-up id.
    hidden = await client.get(url, headers=stranger.headers)
    assert hidden.status_code == 404
    assert hidden.json() == {"code": "not_found", "message": "project not found"}
    assert project not in {
        p["id"] for p in (await client.get("/api/v1/projects", headers=stranger.headers)).json()
    }

    members = await client.get(f"{url}/members", headers=viewer.headers)
    assert {m["role"] for m in members.json()} == {"owner", "editor", "viewer"}
    r = await client.patch(
        f"{url}/members/{viewer.id}", json={"role": "editor"}, headers=editor.headers
    )
    assert r.status_code == 403
    r = await client.patch(
        f"{url}/members/{viewer.id}", json={"role": "editor"}, headers=owner.headers
    )
    assert r.status_code == 200
    assert r.json()["role"] == "editor"
    assert (
        await client.patch(url, json={"name": "Promoted edit"}, headers=viewer.headers)
    ).is_success
    r = await client.delete(f"{url}/members/{viewer.id}", headers=owner.headers)
    assert r.status_code == 204
    assert (await client.get(url, headers=viewer.headers)).status_code == 404


async def test_the_last_owner_can_be_neither_demoted_nor_removed(
    client: AsyncTestClient[Litestar], make_account, make_project
) -> None:
    owner, second = await make_account(), await make_account()
    project = await make_project({owner.id: "owner", second.id: "editor"})
    url = f"/api/v1/projects/{project}/members/{owner.id}"
    r = await client.patch(url, json={"role": "editor"}, headers=owner.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"
    assert (await client.delete(url, headers=owner.headers)).status_code == 409

    await client.patch(
        f"/api/v1/projects/{project}/members/{second.id}",
        json={"role": "owner"},
        headers=owner.headers,
    )
    r = await client.patch(url, json={"role": "viewer"}, headers=owner.headers)
    assert r.status_code == 200
    unknown = await client.delete(
        f"/api/v1/projects/{project}/members/{owner.id}", headers=second.headers
    )
    assert unknown.status_code == 204


async def test_invitation_is_accepted_once_by_a_signed_in_user(
    client: AsyncTestClient[Litestar], make_account, make_project
) -> None:
    owner, guest, late = await make_account(), await make_account(), await make_account()
    project = await make_project({owner.id: "owner"})
    base = f"/api/v1/projects/{project}"
    r = await client.post(f"{base}/invitations", json={"role": "viewer"}, headers=owner.headers)
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert token

    listed = await client.get(f"{base}/invitations", headers=owner.headers)
    assert listed.json()[0]["token"] is None

    anonymous = await client.post("/api/v1/invitations/accept", json={"token": token})
    assert anonymous.status_code == 401
    r = await client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=guest.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == str(project)
    assert r.json()["role"] == "viewer"
    assert (await client.get(base, headers=guest.headers)).status_code == 200

    again = await client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=late.headers
    )
    assert again.status_code == 410
    assert again.json()["code"] == "gone"
    made_up = await client.post(
        "/api/v1/invitations/accept", json={"token": "nope"}, headers=late.headers
    )
    assert made_up.status_code == 404


async def test_expired_revoked_and_email_bound_invitations(
    client: AsyncTestClient[Litestar], db: AsyncSession, make_account, make_project
) -> None:
    owner, guest, other = await make_account(), await make_account(), await make_account()
    project = await make_project({owner.id: "owner"})
    base = f"/api/v1/projects/{project}/invitations"

    async def invite(**body: str) -> dict[str, str]:
        r = await client.post(base, json=body, headers=owner.headers)
        assert r.status_code == 201, r.text
        return r.json()

    expired = await invite(role="editor")
    await db.execute(
        update(Invitation)
        .where(Invitation.id == expired["id"])
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await db.commit()
    r = await client.post(
        "/api/v1/invitations/accept", json={"token": expired["token"]}, headers=guest.headers
    )
    assert r.status_code == 410
    assert r.json()["code"] == "gone"

    revoked = await invite()
    r = await client.delete(f"{base}/{revoked['id']}", headers=owner.headers)
    assert r.status_code == 204
    r = await client.post(
        "/api/v1/invitations/accept", json={"token": revoked["token"]}, headers=guest.headers
    )
    assert r.status_code == 404

    bound = await invite(role="editor", email=guest.email.upper())
    r = await client.post(
        "/api/v1/invitations/accept", json={"token": bound["token"]}, headers=other.headers
    )
    assert r.status_code == 404
    r = await client.post(
        "/api/v1/invitations/accept", json={"token": bound["token"]}, headers=guest.headers
    )
    assert r.status_code == 200
    assert r.json()["role"] == "editor"
