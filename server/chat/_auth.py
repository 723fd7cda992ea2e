"""WebSocket admission: the browser's ``Origin``, then a ticket or a Bearer header.

- ``Origin`` (sent by every browser, by few other clients): it must be the server's own (its
  host equals the ``Host`` header) or listed in ``CORS_ORIGINS``; else close 4403. A socket
  ignores CORS, so without this check any page a signed-in user visits could talk to the server.
- ``?ticket=`` (browsers: ``POST /api/v1/auth/ws-ticket``, single use) or
  ``Authorization: Bearer <access token>`` (other clients). Tokens are not accepted in the URL:
  a URL ends up in access logs, proxies' logs and browser history.

A refusal accepts the connection and closes it at once with its code, so that the client sees a
close code it can act on (a refused handshake only shows as a failed connection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

from litestar.exceptions import NotAuthorizedException

from server.access import active_user, token_org, user_for_token
from server.accounts.security import decode_access_token
from server.accounts.tickets import redeem_ticket
from server.db import session
from server.db.tenancy import enter_org
from server.runtime import runtime_of

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

    from server.db.models import User
    from server.runtime import Runtime

UNAUTHORIZED = 4401
FORBIDDEN = 4403


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def origin_allowed(scope: Scope, allowed: tuple[str, ...]) -> bool:
    """Whether the connection's ``Origin`` (if any) is the server's own or in ``allowed``."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True  # not a browser: nothing to protect against
    origin = origin.rstrip("/").lower()
    if origin in allowed:
        return True
    host = _header(scope, b"host")
    return host is not None and urlsplit(origin).netloc == host.lower()


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True, slots=True)
class Credentials:
    """What admitted a socket: the login session (refresh-token family) it belongs to, and when
    the access token behind it expires (the socket ends then unless the client re-authenticates
    in-band with ``chat:authenticate``)."""

    family_id: UUID
    expires_at: float
    org_id: UUID
    """The organisation the socket works in (its database sessions set ``app.org_id``)."""


async def _admit(scope: Scope) -> tuple[User, Credentials] | None:
    runtime = runtime_of(scope["litestar_app"])
    tickets = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket")
    if tickets:
        holder = await redeem_ticket(runtime, tickets[0])
        if holder is None:
            return None
        async with session(runtime.alchemy) as db:
            user = await active_user(db, holder.user_id, holder.family_id, holder.org_id)
        if user is None:
            return None
        return user, Credentials(holder.family_id, holder.expires_at, holder.org_id)
    token = _bearer(scope)
    return None if token is None else await check_token(runtime, token)


async def check_token(runtime: Runtime, token: str) -> tuple[User, Credentials] | None:
    """The user an access token names and its credentials, or None if it is not good now."""
    try:
        decoded = decode_access_token(token, runtime.settings.app.secret_key)
    except NotAuthorizedException:
        return None
    async with session(runtime.alchemy) as db:
        user = await user_for_token(decoded, db)
    org_id = token_org(decoded)
    if user is None or org_id is None:
        return None
    return user, Credentials(UUID(str(decoded.extras["fam"])), decoded.exp.timestamp(), org_id)


async def close_before_accept(receive: Receive, send: Send, code: int, reason: str) -> None:
    """Complete the handshake, then close with ``code``."""
    await receive()
    await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    await send({"type": "websocket.close", "code": code, "reason": reason})


def token_auth(app: ASGIApp) -> ASGIApp:
    """Middleware admitting a connection (see the module docstring); the user goes in
    ``scope["user"]`` and their :class:`Credentials` in ``scope["auth"]``; a refusal closes
    with 4403 (origin) or 4401 (credentials)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        allowed = runtime_of(scope["litestar_app"]).settings.app.cors_origins
        if not origin_allowed(scope, allowed):
            await close_before_accept(receive, send, FORBIDDEN, "origin not allowed")
            return
        admitted = await _admit(scope)
        if admitted is None:
            await close_before_accept(
                receive, send, UNAUTHORIZED, "a valid ticket or access token is required"
            )
            return
        scope["user"], scope["auth"] = admitted
        # Everything the socket does from here (and every task it starts) works for the
        # token's organisation: its sessions set ``app.org_id`` on each transaction.
        enter_org(admitted[1].org_id)
        await app(scope, receive, send)

    return middleware
