"""No pooled connection goes back to the pool inside a transaction.

A task cancelled while its transaction's ``BEGIN`` is on the wire (a reply's lease keeper, a
socket whose client left) can leave asyncpg inside that transaction while SQLAlchemy's adapter
believes none began: the session's rollback then sends nothing, and the connection returns to
the pool still holding the transaction, its row locks and, from then on, the work of every
session that takes it (asyncpg nests their ``BEGIN`` as a savepoint, so their commits commit
nothing). Under load that stalls every turn of the projects involved behind locks nobody
releases. These pool hooks close such a connection when it is checked in (PostgreSQL rolls its
transaction back and frees the locks) and replace a closed one at checkout.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

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
