"""The statements a chat turn runs every time, run on the transaction's own asyncpg connection.

Through the session a statement costs about half a millisecond of the server's CPU before and
after its round trip (building and coercing the expression, its cache key, the execution
context, loading rows into objects); the same statement sent on the driver's connection costs a
tenth of that. A turn runs about twenty, and the server's CPU is what limits how many turns a
second it answers (``make bench-chat``), so the statements every turn runs are written as SQL
beside the function that needs them and sent with :func:`driver`; everything else goes through
the session. The list is in docs/chat.md.

They run inside the session's transaction: the tenancy hook has begun it and set its
organisation (row-level security holds as for every other statement), the session's pending
objects are flushed first, and the transaction commits or rolls back with the session. A
database error reaches :func:`server.errors.domain_error_of` as the driver raised it
(``asyncpg.PostgresError``, with its SQLSTATE). Rows come back as ``asyncpg.Record``; the
session's identity map does not see what these statements change, so they are kept to rows no
object of the same transaction holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncpg import Connection
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("driver",)


async def driver(db: AsyncSession) -> Connection:
    """The asyncpg connection of ``db``'s transaction, begun (with its organisation) and with
    the session's pending changes flushed."""
    if db.new or db.dirty or db.deleted:
        await db.flush()
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    found: Connection = raw.driver_connection
    return found
