"""No pooled connection goes back to the pool inside a transaction.

A task cancelled while its transaction's ``BEGIN`` is on the wire (a reply's lease keeper, a
socket whose client left) can leave asyncpg inside that transaction while SQLAlchemy's adapter
believes none began: the session's rollback then sends nothing, and the connection returns to
the pool still holding the transaction, its row locks and, from then on, the work of every
session that takes it (asyncpg nests their ``BEGIN`` as a savepoint, so their commits commit
nothing). Under load that stalls every turn of the projects involved behind locks nobody
releases. These pool hooks close such a connection when it is checked in (PostgreSQL rolls its
transaction back and frees the locks) and replace a closed one at checkout.

When every connection is in use, work waits for one in the order it asked (:class:`FairPool`).
SQLAlchemy's asyncio pool lets a newcomer take a connection that was just handed to a waiter
before that waiter runs, and the waiter then queues again at the back: under a load of hundreds
of chat sessions some turns waited half a minute for a connection while most waited none.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry, Pool
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = structlog.get_logger()


def _driver(dbapi_connection: Any) -> Any:
    """The driver's own connection behind SQLAlchemy's adapter (None for a plain DBAPI one)."""
    return getattr(dbapi_connection, "driver_connection", None)


@event.listens_for(Pool, "checkin")
def _close_if_in_transaction(dbapi_connection: Any, connection_record: Any) -> None:
    driver = _driver(dbapi_connection)
    if driver is None or driver.is_closed() or not driver.is_in_transaction():
        return
    logger.warning("a database connection came back to the pool inside a transaction; closed")
    driver.terminate()


@event.listens_for(Pool, "checkout")
def _replace_if_closed(dbapi_connection: Any, connection_record: Any, proxy: Any) -> None:
    driver = _driver(dbapi_connection)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the connection was closed while it was in the pool")


URGENT_RUN = 3
"""Connections handed to urgent work in a row while other work waits, before one goes to it."""
_URGENT: ContextVar[bool] = ContextVar("urgent_connection", default=False)


@contextmanager
def urgent() -> Iterator[None]:
    """Connections asked for inside the block are handed out ahead of other waiting work: for
    what a person is waiting to see (a chat turn's first transaction), not for work done after
    it (storing a finished reply). Other work still gets one connection in
    ``URGENT_RUN + 1``."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


class FairQueue(AsyncAdaptedQueue[ConnectionPoolEntry]):
    """The pool's idle connections, handed to waiting work first come, first served (urgent
    work first, see :func:`urgent`).

    A connection put back while work waits goes straight to a waiter, never into the queue
    where any other task could take it first; a task asks the queue only when nobody is
    waiting ahead of it.
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._urgent: deque[asyncio.Future[ConnectionPoolEntry]] = deque()
        self._waiters: deque[asyncio.Future[ConnectionPoolEntry]] = deque()
        self._passed_over = 0
        """Connections handed to urgent work in a row while other work waited."""

    def put_nowait(self, item: ConnectionPoolEntry) -> None:
        """Hand ``item`` to the next waiter, or keep it for the next checkout."""
        while self._urgent or self._waiters:
            first = bool(self._urgent) and (not self._waiters or self._passed_over < URGENT_RUN)
            waiter = (self._urgent if first else self._waiters).popleft()
            if waiter.done():
                continue  # gave up waiting
            self._passed_over = self._passed_over + 1 if first and self._waiters else 0
            waiter.set_result(item)
            return
        super().put_nowait(item)

    def get(self, block: bool = True, timeout: float | None = None) -> ConnectionPoolEntry:
        """An idle connection; with ``block``, the first one put back after those who were
        waiting before (``Empty`` after ``timeout`` seconds)."""
        for line in (self._urgent, self._waiters):
            while line and line[0].done():
                line.popleft()  # gave up waiting
        if not self._urgent and not self._waiters:
            try:
                return self.get_nowait()
            except Empty:
                if not block:
                    raise
        elif not block:
            raise Empty
        line = self._urgent if _URGENT.get() else self._waiters
        try:
            return self.await_(self._wait(line, limit_s=timeout))
        except TimeoutError as error:
            raise Empty from error

    async def _wait(
        self, line: deque[asyncio.Future[ConnectionPoolEntry]], *, limit_s: float | None
    ) -> ConnectionPoolEntry:
        waiter: asyncio.Future[ConnectionPoolEntry] = asyncio.get_running_loop().create_future()
        line.append(waiter)
        try:
            async with asyncio.timeout(limit_s):
                return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                # Handed a connection just as it gave up (timed out, or its task cancelled):
                # the connection goes to the next in line.
                self.put_nowait(waiter.result())
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):  # not passed over by a put yet
                    line.remove(waiter)
            raise


class FairPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool with :class:`FairQueue` for its idle connections."""

    _queue_class = FairQueue
