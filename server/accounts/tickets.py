"""Single-use WebSocket tickets, so that a browser never puts its access token in a URL.

A browser cannot set headers on a WebSocket. It trades its access token for a ticket
(``POST /api/v1/auth/ws-ticket``) and opens ``/ws/chat?ticket=...``. A ticket is random, valid
for ``WS_TICKET_TTL`` seconds (30 by default) and works once: redeeming deletes it. The store
keeps only the ticket's SHA-256 with the user, the token's organisation and its refresh
family (a logout revokes
the family, and with it any ticket not yet used). With ``REDIS_URL`` set the tickets live in
Redis, so a ticket issued by one instance opens a socket on another; otherwise in memory.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import msgspec
from litestar import Request, post

from server.access import USER, token_org
from server.errors import unauthorized
from server.runtime import runtime_of

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from server.runtime import Runtime

_REDIS_PREFIX = "ua:ws-ticket:"


class WsTicket(msgspec.Struct):
    """A single-use ticket for ``/ws/chat?ticket=``."""

    ticket: str
    expires_in: int
    """Seconds left to open the WebSocket with it."""


class TicketHolder(msgspec.Struct, frozen=True):
    """Who a ticket was issued to."""

    user_id: UUID
    family_id: UUID
    expires_at: float
    """When the access token the ticket was issued for expires (epoch seconds)."""
    org_id: UUID
    """The organisation the access token works in; the socket works in it too."""


class TicketStore(Protocol):
    """Where tickets wait to be redeemed."""

    async def put(self, key: str, holder: TicketHolder, ttl_s: int) -> None:
        """Keep ``holder`` under ``key`` for ``ttl_s`` seconds."""

    async def take(self, key: str) -> TicketHolder | None:
        """Remove and return the holder under ``key``, unless missing or expired."""


class MemoryTickets:
    """Tickets of a single server process."""

    def __init__(self) -> None:
        self._tickets: dict[str, tuple[float, TicketHolder]] = {}

    async def put(self, key: str, holder: TicketHolder, ttl_s: int) -> None:
        """Keep ``holder`` under ``key``; expired tickets are dropped on the way."""
        now = time.monotonic()
        for stale in [k for k, (until, _) in self._tickets.items() if until <= now]:
            del self._tickets[stale]
        self._tickets[key] = (now + ttl_s, holder)

    async def take(self, key: str) -> TicketHolder | None:
        """Remove and return the holder under ``key``, unless missing or expired."""
        entry = self._tickets.pop(key, None)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]


class RedisTickets:
    """Tickets shared by every instance through Redis (``GETDEL`` makes a ticket single-use)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def put(self, key: str, holder: TicketHolder, ttl_s: int) -> None:
        """Keep ``holder`` under ``key`` with a Redis expiry."""
        await self._redis.set(_REDIS_PREFIX + key, msgspec.json.encode(holder), ex=ttl_s)

    async def take(self, key: str) -> TicketHolder | None:
        """Atomically fetch and delete the ticket."""
        raw = await self._redis.getdel(_REDIS_PREFIX + key)
        return None if raw is None else msgspec.json.decode(raw, type=TicketHolder)


_MEMORY: dict[int, MemoryTickets] = {}
"""Per-process ticket stores, by ``id`` of the app's runtime (used only without Redis)."""


def _store(runtime: Runtime) -> TicketStore:
    if runtime.redis is not None:
        return RedisTickets(runtime.redis)
    return _MEMORY.setdefault(id(runtime), MemoryTickets())


def _key(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


async def issue_ticket(runtime: Runtime, holder: TicketHolder) -> WsTicket:
    """A new ticket for ``holder``."""
    ttl_s = runtime.settings.auth.ws_ticket_ttl_s
    ticket = secrets.token_urlsafe(32)
    await _store(runtime).put(_key(ticket), holder, ttl_s)
    return WsTicket(ticket=ticket, expires_in=ttl_s)


async def redeem_ticket(runtime: Runtime, ticket: str) -> TicketHolder | None:
    """Who the ticket was issued to, if it is valid; either way it cannot be used again."""
    return await _store(runtime).take(_key(ticket))


@post(
    "/api/v1/auth/ws-ticket",
    opt=USER,
    operation_id="create_ws_ticket",
    tags=["auth"],
)
async def create_ws_ticket(request: Request[Any, Any, Any]) -> WsTicket:
    """A single-use ticket for opening ``/ws/chat?ticket=`` from a browser (valid
    ``expires_in`` seconds), so that no token is ever put in a URL."""
    family = request.auth.extras.get("fam") if request.auth is not None else None
    org_id = token_org(request.auth) if request.auth is not None else None
    if family is None or org_id is None:
        raise unauthorized()
    holder = TicketHolder(request.user.id, UUID(str(family)), request.auth.exp.timestamp(), org_id)
    return await issue_ticket(runtime_of(request.app), holder)
