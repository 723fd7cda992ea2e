"""Access over real WebSockets: viewers read and nothing else, and a role change, removal,
logout or an expired token reaches a socket that is already open (closed 4403 / 4401)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import func, select
from websockets.exceptions import ConnectionClosed

from server.accounts.security import encode_access_token
from server.db.models import ChatMessage, ChatSession
from tests.integration.conftest import PASSWORD

from .conftest import TIMEOUT, Client, open_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings
    from tests.integration.conftest import Account

    Maker = Callable[..., Awaitable[Account]]
    ProjectMaker = Callable[..., Awaitable[UUID]]


async def _session(db: AsyncSession, project: UUID) -> UUID:
    chat_session = ChatSession(project_id=project, title="Shared")
    db.add(chat_session)
    await db.commit()
    return chat_session.id


async def _error(client: Client) -> dict[str, Any]:
    frame = await client.until(lambda f: f["event"] == "chat:error")
    return {**frame[-1]["data"], "ref": frame[-1].get("ref")}


async def _close_code(client: Client) -> int:
    """Read until the server closes the connection; its close code."""
    with pytest.raises(ConnectionClosed) as closed:
        await _drain(client)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def _drain(client: Client) -> None:
    while True:
        await client.recv()


async def test_a_viewer_reads_and_nothing_else(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker, db: AsyncSession
) -> None:
    served = serve()
    owner, viewer = await make_account(), await make_account()
    project = await make_project({owner.id: "owner", viewer.id: "viewer"})
    session_id = await _session(db, project)
    async with open_client(served.ws, viewer.token) as client:
        await client.send("chat:join_session", {"project_id": str(project)}, ref="new")
        assert (await _error(client))["code"] == "forbidden"
        joined = await client.join(project, session_id)
        assert joined["data"]["session"]["id"] == str(session_id)
        await client.send("chat:typing", {"is_typing": True})
        indicator = await client.until_event("chat:typing_indicator")
        assert indicator["data"] == {"user_id": str(viewer.id), "is_typing": True}
        refused = [
            ("chat:send_message", {"content": "hello", "client_message_id": "v1"}),
            ("phase:goto", {"number": 2}),
            ("phase:approve", {}),
            ("phase:regenerate", {}),
            ("chat:stop", {}),
        ]
        for n, (event, data) in enumerate(refused):
            await client.send(event, data, ref=f"r{n}")
            error = await _error(client)
            assert (error["code"], error["ref"]) == ("forbidden", f"r{n}"), (event, error)
        # The connection is still open and still reads.
        await client.send("chat:typing", {"is_typing": False})
        assert (await client.until_event("chat:typing_indicator"))["data"]["is_typing"] is False

    async with httpx.AsyncClient(base_url=served.http, headers=viewer.headers) as http:
        created = await http.post(f"/api/v1/projects/{project}/chat/sessions", json={})
        sent = await http.post(
            f"/api/v1/chat/sessions/{session_id}/messages",
            json={"content": "hello", "client_message_id": "v2"},
        )
        listed = await http.get(f"/api/v1/chat/sessions/{session_id}/messages")
    assert (created.status_code, sent.status_code, listed.status_code) == (403, 403, 200)
    assert created.json()["code"] == sent.json()["code"] == "forbidden"
    assert await db.scalar(select(func.count()).select_from(ChatMessage)) == 0
    sessions = select(func.count()).select_from(ChatSession)
    assert await db.scalar(sessions.where(ChatSession.project_id == project)) == 1


async def test_a_role_change_applies_at_the_next_frame(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker
) -> None:
    served = serve()
    owner, editor = await make_account(), await make_account()
    project = await make_project({owner.id: "owner", editor.id: "editor"})
    async with open_client(served.ws, editor.token) as client:
        await client.join(project)
        await client.send("chat:send_message", {"content": "first", "client_message_id": "e1"})
        await client.until_reply()
        async with httpx.AsyncClient(base_url=served.http, headers=owner.headers) as http:
            changed = await http.patch(
                f"/api/v1/projects/{project}/members/{editor.id}", json={"role": "viewer"}
            )
        assert changed.status_code == 200, changed.text
        await client.send(
            "chat:send_message", {"content": "second", "client_message_id": "e2"}, ref="late"
        )
        error = await _error(client)
        assert (error["code"], error["ref"]) == ("forbidden", "late")


async def test_removal_closes_the_open_socket_with_4403(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker, db: AsyncSession
) -> None:
    served = serve()
    owner, member = await make_account(), await make_account()
    project = await make_project({owner.id: "owner", member.id: "editor"})
    session_id = await _session(db, project)
    async with open_client(served.ws, member.token) as client:
        await client.join(project, session_id)
        async with httpx.AsyncClient(base_url=served.http, headers=owner.headers) as http:
            removed = await http.delete(f"/api/v1/projects/{project}/members/{member.id}")
        assert removed.status_code == 204
        # Nothing sent by the client: the server notices by itself.
        assert await asyncio.wait_for(_close_code(client), TIMEOUT) == 4403


async def test_logout_closes_the_open_socket_with_4401(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker
) -> None:
    served = serve()
    member = await make_account()
    project = await make_project({member.id: "owner"})
    async with httpx.AsyncClient(base_url=served.http) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": member.email, "password": PASSWORD}
        )
        tokens = login.json()
        async with open_client(served.ws, tokens["access_token"]) as client:
            await client.join(project)
            out = await http.post(
                "/api/v1/auth/logout",
                json={"refresh_token": tokens["refresh_token"]},
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
            assert out.status_code == 204
            assert await asyncio.wait_for(_close_code(client), TIMEOUT) == 4401


async def test_an_expiring_token_ends_the_socket_unless_renewed_in_band(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker, settings: Settings
) -> None:
    served = serve()
    member = await make_account()
    project = await make_project({member.id: "owner"})
    secret = settings.app.secret_key

    def token(ttl_s: int) -> str:
        return encode_access_token(member.id, uuid4(), member.org_id, ttl_s, secret)

    async with open_client(served.ws, token(2)) as client:
        await client.join(project)
        assert await asyncio.wait_for(_close_code(client), TIMEOUT) == 4401

    async with open_client(served.ws, token(3)) as client:
        await client.send("chat:authenticate", {"token": token(600)}, ref="renew")
        renewed = await client.until_event("chat:authenticated")
        assert renewed["ref"] == "renew"
        assert 0 < renewed["data"]["expires_in"] <= 600
        await client.send("chat:authenticate", {"token": "not-a-token"}, ref="bad")
        assert (await _error(client))["code"] == "unauthorized"
        await asyncio.sleep(4)  # past the first token's expiry: the socket lives on
        await client.join(project)
        await client.send("chat:send_message", {"content": "still here", "client_message_id": "x"})
        frames = await client.until_reply()
        assert frames[-1]["data"]["message"]["role"] == "assistant"
