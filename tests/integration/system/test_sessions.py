"""The access guard's look-ups on a WebSocket leave no session behind in the socket's scope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from litestar import WebSocket, websocket

from server.access import VIEWER, access_guard
from server.app import services_of
from server.db.models import User
from server.db.tenancy import org_context

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession


async def test_guard_look_ups_for_a_websocket_do_not_hold_a_connection(
    app: Litestar,
    db: AsyncSession,
    make_account,
    make_project,
) -> None:
    # Called on the test's own event loop, without the test client (whose loop would own the
    # engine's pooled connections): the guard opens its short session on this loop's engine.
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
    with org_context(member.org_id):  # as the socket's auth middleware leaves it
        await access_guard(socket, probe)
    assert socket.state.project_role == "viewer"
    # Nothing would close a session parked in the socket's scope when the client leaves.
    assert get_aa_scope_state(scope, services_of(app).runtime.alchemy.session_scope_key) is None
