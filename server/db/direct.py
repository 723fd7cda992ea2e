"""The statements a chat turn runs every time, run on the transaction's own asyncpg connection.

Through the session a statement costs about half a millisecond of the server's CPU before and
after its round trip (building and coercing the expression, its cache key, the execution
context, loading rows into objects); the same statement sent on the driver's connection costs a
tenth of that. A turn runs about twenty, and the server's CPU is what limits how many turns a
second it answers (``make bench-chat``), so the statements every turn runs are sent with
:func:`driver` (SQL written beside the function that needs it) or :func:`fetch` (a ``text()``
statement with named parameters); everything else goes through the session. The list is in
docs/chat.md.

They run inside the session's transaction: the tenancy hook has begun it and set its
organisation (row-level security holds as for every other statement), the session's pending
objects are flushed first, and the transaction commits or rolls back with the session. A
database error reaches :func:`server.errors.domain_error_of` as the driver raised it
(``asyncpg.PostgresError``, with its SQLSTATE). The session's identity map does not see what
these statements change, so they are kept to rows no object of the same transaction holds.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgspec
from asyncpg import Record
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

if TYPE_CHECKING:
    from collections.abc import Mapping

    from asyncpg import Connection
    from sqlalchemy import TextClause
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("Row", "driver", "fetch", "jsonb")

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class Row(Record):  # type: ignore[misc]  # asyncpg ships no type hints
    """A row whose columns read as attributes too (``row.chunk_id``), as SQLAlchemy's do."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def jsonb(value: Any) -> str:
    """A ``jsonb`` parameter: its JSON text, which the connection's codec sends as it is."""
    return msgspec.json.encode(value).decode()


async def driver(db: AsyncSession) -> Connection:
    """The asyncpg connection of ``db``'s transaction, begun (with its organisation) and with
    the session's pending changes flushed."""
    if db.new or db.dirty or db.deleted:
        await db.flush()
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    found: Connection = raw.driver_connection
    return found


async def fetch(db: AsyncSession, statement: TextClause, params: Mapping[str, Any]) -> list[Row]:
    """The rows of ``statement`` (named ``:parameters`` taken from ``params``)."""
    sql, names = _positional(statement.text)
    rows: list[Row] = await (await driver(db)).fetch(
        sql, *(params[name] for name in names), record_class=Row
    )
    return rows


@lru_cache(maxsize=256)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with ``$n`` in place of its named parameters, and their names in order."""
    compiled = text(sql).compile(dialect=_DIALECT)
    return str(compiled), tuple(compiled.positiontup or ())
