"""Access of open sockets, re-checked for all of them at once every :data:`CHECK_INTERVAL_S`.

A socket's right to read lasts only as long as its token and its membership: logout, token
revocation, a deactivated account, removal from the project, a lower role or an expired access
token must reach a socket that is already open, on every server instance, within a second. Each
instance therefore asks the database (one session, three small queries for all its sockets) a
few times a second; the database is the truth, so no event between instances is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Protocol

import structlog

from server.access import live_access
from server.db import session
from server.db.tenancy import all_orgs

if TYPE_CHECKING:
    from uuid import UUID

    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

logger = structlog.get_logger()

CHECK_INTERVAL_S = 0.5
MAX_BACKOFF_S = 10.0


class Watched(Protocol):
    """An open socket whose access is watched."""

    @property
    def holder(self) -> tuple[UUID, UUID, UUID | None]:
        """``(user_id, token_family, joined project or None)``."""
        ...

    async def recheck(
        self,
        holder: tuple[UUID, UUID, UUID | None],
        valid: set[tuple[UUID, UUID]],
        roles: dict[tuple[UUID, UUID], str],
    ) -> None:
        """Apply the access found for ``holder``; close the socket when it has none left."""
        ...


class AccessWatch:
    """The open sockets of one server instance and the task that re-checks them."""

    def __init__(self, alchemy: SQLAlchemyAsyncConfig) -> None:
        self.alchemy = alchemy
        self.sockets: set[Watched] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, socket: Watched) -> None:
        """Watch ``socket`` until :meth:`discard`; starts the check loop if it is not running."""
        self.sockets.add(socket)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="chat-access-watch")

    def discard(self, socket: Watched) -> None:
        """Stop watching ``socket`` (the loop ends by itself when none is left)."""
        self.sockets.discard(socket)

    async def check(self) -> None:
        """Re-check every watched socket once."""
        held = [(socket, socket.holder) for socket in self.sockets]
        if not held:
            return
        # The sockets of this instance work in many organisations: the one server-wide check.
        with all_orgs("chat socket access watch", log=False):
            async with session(self.alchemy) as db:
                valid, roles = await live_access(db, [holder for _, holder in held])
                await db.commit()  # ends the read as cheaply as a rollback, and is not one
        for socket, holder in held:
            await socket.recheck(holder, valid, roles)

    async def close(self) -> None:
        """Stop the check loop (at shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = CHECK_INTERVAL_S
        while self.sockets:
            await asyncio.sleep(delay)
            try:
                await self.check()
                delay = CHECK_INTERVAL_S
            except Exception:  # the database may be away: try again, slower
                logger.warning("chat access check failed", exc_info=True, retry_in_s=delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
