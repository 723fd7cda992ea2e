"""Who may open ``/ws/chat``: the ``Origin`` check (4403) and single-use tickets (4401 when
reused, expired or revoked); a token in the URL is not accepted."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.chat.conftest import TIMEOUT, ws_ticket

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from tests.integration.chat.conftest import Served
    from tests.integration.conftest import Account

    Maker = Callable[..., Awaitable[Account]]

LISTED = "https://widget.example.org"


async def _close_code(url: str, **options: Any) -> int:
    async with connect(url, open_timeout=TIMEOUT, **options) as conn:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(conn.recv(), TIMEOUT)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def _joins(url: str, project_id: UUID, **options: Any) -> bool:
    """Whether a socket opened this way can join the project's chat."""
    async with connect(url, open_timeout=TIMEOUT, **options) as conn:
        frame = {"event": "chat:join_session", "data": {"project_id": str(project_id)}}
        await conn.send(json.dumps(frame))
        reply = json.loads(await asyncio.wait_for(conn.recv(), TIMEOUT))
    return bool(reply["event"] == "chat:session_created")


async def test_an_unlisted_origin_is_closed_with_4403(
    serve_web: Callable[..., Served], make_account: Maker
) -> None:
    served = serve_web(cors_origins=(LISTED,))
    account = await make_account()
    code = await _close_code(
        served.ws, origin="https://evil.example.com", additional_headers=account.headers
    )
    assert code == 4403


async def test_listed_and_same_origins_and_non_browsers_get_in(
    serve_web: Callable[..., Served],
    make_account: Maker,
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    served = serve_web(cors_origins=(LISTED,))
    account = await make_account()
    project_id = await make_project({account.id: "owner"})
    auth = {"additional_headers": account.headers}
    assert await _joins(served.ws, project_id, origin=LISTED, **auth)
    assert await _joins(served.ws, project_id, origin=served.http, **auth)
    assert await _joins(served.ws, project_id, **auth)  # no Origin: not a browser


async def test_a_ticket_opens_one_socket_only(
    serve_web: Callable[..., Served],
    make_account: Maker,
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    served = serve_web()
    account = await make_account()
    project_id = await make_project({account.id: "owner"})
    ticket = await ws_ticket(served.ws, account.token)
    url = f"{served.ws}?ticket={ticket}"
    assert await _joins(url, project_id, origin=served.http)
    assert await _close_code(url, origin=served.http) == 4401


async def test_an_expired_ticket_is_refused(
    serve_web: Callable[..., Served], make_account: Maker
) -> None:
    served = serve_web(ws_ticket_ttl_s=1)
    account = await make_account()
    async with httpx.AsyncClient(base_url=served.http) as http:
        issued = (await http.post("/api/v1/auth/ws-ticket", headers=account.headers)).json()
    assert issued["expires_in"] == 1
    await asyncio.sleep(1.5)
    assert await _close_code(f"{served.ws}?ticket={issued['ticket']}") == 4401


async def test_logout_revokes_unused_tickets(
    serve_web: Callable[..., Served], make_account: Maker
) -> None:
    served = serve_web()
    account = await make_account()
    async with httpx.AsyncClient(base_url=served.http) as http:
        login = await http.post(
            "/api/v1/auth/login",
            json={"email": account.email, "password": "correct horse battery staple"},
        )
        tokens = login.json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        ticket = (await http.post("/api/v1/auth/ws-ticket", headers=bearer)).json()["ticket"]
        logout = await http.post(
            "/api/v1/auth/logout", headers=bearer, json={"refresh_token": tokens["refresh_token"]}
        )
    assert logout.status_code in {200, 204}
    assert await _close_code(f"{served.ws}?ticket={ticket}") == 4401


async def test_a_token_in_the_url_is_not_accepted(
    serve_web: Callable[..., Served], make_account: Maker
) -> None:
    served = serve_web()
    account = await make_account()
    assert await _close_code(f"{served.ws}?token={account.token}") == 4401


async def test_tickets_need_a_signed_in_caller(serve_web: Callable[..., Served]) -> None:
    served = serve_web()
    async with httpx.AsyncClient(base_url=served.http) as http:
        response = await http.post("/api/v1/auth/ws-ticket")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
