"""Database connections used by authentication and the access guard go back to the pool."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import uuid4

from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from litestar import WebSocket, websocket

from server.access import VIEWER, access_guard
from server.db.models import User
from tests.integration.conftest import mint_token

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings


def _checked_out(app: Litestar) -> int:
    checked_out: int = app.state.alchemy.get_engine().pool.checkedout()
    return checked_out


async def test_http_requests_return_their_connections_whatever_the_answer(
    app: Litestar,
    client: AsyncTestClient[Litestar],
    settings: Settings,
    make_account,
    make_project,
) -> None:
    member, stranger = await make_account(), await make_account()
    project = await make_project({member.id: "viewer"})
    gone_user = {"Authorization": f"Bearer {mint_token(uuid4(), settings)}"}
    calls = [
        ("GET", f"/api/v1/projects/{project}", member.headers),  # allowed
        ("PATCH", f"/api/v1/projects/{project}", member.headers),  # guard: 403
        ("GET", f"/api/v1/projects/{project}", stranger.headers),  # guard: 404
        ("GET", "/api/v1/auth/me", gone_user),  # auth middleware: 401 after a look-up
        ("GET", "/api/v1/auth/me", {"Authorization": "Bearer nonsense"}),
        ("POST", "/api/v1/auth/refresh", {}),  # handler: 422
    ]
    for method, url, headers in calls:
        response = await client.request(method, url, headers=headers, json={})
        assert response.status_code < 500, (method, url, response.text)
        assert _checked_out(app) == 0, (method, url, response.status_code)


async def test_guard_look_ups_for_a_websocket_do_not_hold_a_connection(
    app: Litestar,
    client: AsyncTestClient[Litestar],
    db: AsyncSession,
    make_account,
    make_project,
) -> None:
    member = await make_account()
    project = await make_project({member.id: "viewer"})

    @websocket("/probe/{project_id:uuid}", opt=VIEWER)
    async def probe(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()

    scope: Any = {
        "type": "websocket",
        "app": app,
        "litestar_app": app,
        "path": f"/probe/{project}",
        "path_params": {"project_id": project},
        "headers": [],
        "query_string": b"",
        "state": {},
        "user": await db.get(User, member.id),
        "route_handler": probe,
    }
    socket: WebSocket[Any, Any, Any] = WebSocket(scope)
    await access_guard(socket, probe)
    assert socket.state.project_role == "viewer"
    # Nothing would close a session parked in the socket's scope when the client leaves.
    assert get_aa_scope_state(scope, app.state.alchemy.session_scope_key) is None
    assert _checked_out(app) == 0
