"""WebSocket authentication: a Bearer header or ``?token=``, checked before the handler runs.

Browsers cannot set headers on a WebSocket, hence the query parameter. A bad or missing token is
answered by accepting the connection and closing it at once with code 4401, so that the client
sees a close code it can act on (a refused handshake only shows as a failed connection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from litestar.exceptions import NotAuthorizedException

from server.access import user_for_token
from server.accounts.security import decode_access_token
from server.runtime import runtime_of

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

    from server.db.models import User

UNAUTHORIZED = 4401
FORBIDDEN = 4403


def _token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return tokens[0] if tokens else None


async def _user(scope: Scope) -> User | None:
    token = _token(scope)
    if token is None:
        return None
    runtime = runtime_of(scope["litestar_app"])
    try:
        decoded = decode_access_token(token, runtime.settings.app.secret_key)
    except NotAuthorizedException:
        return None
    async with runtime.alchemy.get_session() as db:
        return await user_for_token(decoded, db)


async def close_before_accept(receive: Receive, send: Send, code: int, reason: str) -> None:
    """Complete the handshake, then close with ``code``."""
    await receive()
    await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    await send({"type": "websocket.close", "code": code, "reason": reason})


def token_auth(app: ASGIApp) -> ASGIApp:
    """Middleware putting the token's user in ``scope["user"]``, or closing with 4401."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        user = await _user(scope)
        if user is None:
            await close_before_accept(
                receive, send, UNAUTHORIZED, "a valid access token is required"
            )
            return
        scope["user"] = user
        await app(scope, receive, send)

    return middleware
