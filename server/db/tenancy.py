"""Which organisation a database transaction works for, told to PostgreSQL on every begin.

Every tenant table carries ``org_id`` and a row-level security policy that shows and accepts
only rows of the organisation named by the transaction-local setting ``app.org_id`` (see
``docs/organisations.md``). This module is the one place that setting is made: a SQLAlchemy
``after_begin`` hook, registered for every session of the process, runs
``set_config('app.org_id', <org>, true)`` (the ``SET LOCAL`` form: it ends with the
transaction, so a pooled connection never carries one request's organisation into the next),
on the server's own connections (:class:`TenantConnection`) in the same round trip as the
transaction's ``BEGIN``.

The organisation comes from, in order:

1. the session itself (:func:`bind_org`): an HTTP request's session, bound by the auth
   middleware from the access token's ``org`` claim;
2. the running task's context (:func:`org_context`): the chat socket, the queue worker (from the
   job row), the reply engine and the CLI set it around their work.

With neither, the transaction sees no tenant row at all: forgetting the context fails closed.
Server-wide paths that must read across organisations (the socket access watcher, server
administrators managing organisations) say so explicitly with :func:`all_orgs`, which sets
``app.all_orgs`` for a second, separate policy; every such use is logged.

The application connects as :data:`APP_ROLE`, a role without ``BYPASSRLS`` that owns no table
(created and granted by migration ``0010``): the policies hold for it even where the
application's own check is wrong. Migrations run as the owner.
"""

from __future__ import annotations

from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final, cast

import asyncpg
import structlog
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from .models import Project

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from contextlib import AbstractAsyncContextManager
    from uuid import UUID

    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import SessionTransaction

__all__ = (
    "APP_ROLE",
    "TenantConnection",
    "across_orgs",
    "all_orgs",
    "bind_org",
    "current_org",
    "enter_org",
    "org_context",
    "org_of_project",
)

logger = structlog.get_logger()

APP_ROLE: Final = "assistant_app"
"""The role every application connection runs as (``NOBYPASSRLS``, owns nothing)."""

_ORG: ContextVar[UUID | None] = ContextVar("org_id", default=None)
_ALL: ContextVar[bool] = ContextVar("all_orgs", default=False)
_SESSION_ORG = "org_id"
_SESSION_ALL = "all_orgs"
_SET = text("SELECT set_config('app.org_id', :org, true), set_config('app.all_orgs', :all, true)")
_SET_ON_BEGIN = "SELECT set_config('app.org_id', $1, true), set_config('app.all_orgs', $2, true)"


def current_org(db: AsyncSession | None = None) -> UUID | None:
    """The organisation a session (or, without one, the running task) works for."""
    if db is not None and _SESSION_ORG in db.info:
        org: UUID | None = db.info[_SESSION_ORG]
        return org
    return _ORG.get()


@contextmanager
def org_context(org_id: UUID | None) -> Iterator[None]:
    """Work for ``org_id`` inside the block: every session opened in it (and every task started
    from it) sets ``app.org_id`` on each transaction."""
    token = _ORG.set(org_id)
    try:
        yield
    finally:
        _ORG.reset(token)


def enter_org(org_id: UUID | None) -> None:
    """Work for ``org_id`` until the current task ends (a socket's whole life)."""
    _ORG.set(org_id)


@contextmanager
def all_orgs(reason: str, *, log: bool = True) -> Iterator[None]:
    """Read and write across every organisation inside the block (server-wide paths only):
    every session opened in it sets ``app.all_orgs`` on each transaction.

    ``reason`` is logged (``log=False`` for a periodic system check, which would flood the log),
    so that each use of the cross-organisation policy leaves a trace.
    """
    if log:
        logger.info("cross-organisation access", reason=reason)
    token = _ALL.set(True)
    try:
        yield
    finally:
        _ALL.reset(token)


@asynccontextmanager
async def across_orgs(db: AsyncSession, reason: str) -> AsyncIterator[None]:
    """:func:`all_orgs` for a session already in use (a request's): its open transaction, and
    any it begins inside the block, see every organisation; afterwards only its own again."""
    logger.info("cross-organisation access", reason=reason)
    before = db.info.get(_SESSION_ALL)
    db.info[_SESSION_ALL] = True
    try:
        await db.execute(_SET, {"org": _text(current_org(db)), "all": "on"})
        yield
    finally:
        if before is None:
            del db.info[_SESSION_ALL]
        else:
            db.info[_SESSION_ALL] = before
        if db.in_transaction():
            await db.execute(_SET, {"org": _text(current_org(db)), "all": _flag(db)})


async def bind_org(db: AsyncSession, org_id: UUID | None) -> None:
    """Make ``db`` work for ``org_id`` from now on, its open transaction included."""
    db.info[_SESSION_ORG] = org_id
    if db.in_transaction():
        await db.execute(_SET, {"org": _text(org_id), "all": _flag(db)})


def _text(org_id: UUID | None) -> str:
    return "" if org_id is None else str(org_id)


def _flag(db: AsyncSession | Session) -> str:
    return "on" if db.info.get(_SESSION_ALL, _ALL.get()) else ""


class TenantConnection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg ships no hints
    """The application's asyncpg connection (``connection_class`` in
    :func:`server.db.sqlalchemy_config`): a transaction's ``BEGIN`` carries the statement that
    names its organisation, so that both go in one round trip (:func:`_set_org`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_begin: str | None = None

    def begin_with(self, statement: str | None) -> None:
        """Send ``statement`` with the next ``BEGIN`` (None: nothing)."""
        self._on_begin = statement

    async def execute(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109 - asyncpg's own signature
    ) -> str:
        """asyncpg's ``execute``; a ``BEGIN`` goes with the statement given to
        :meth:`begin_with`, as one simple query."""
        on_begin, self._on_begin = self._on_begin, None
        if on_begin is not None and not args and query.startswith("BEGIN"):
            query = f"{query} {on_begin}"
        status: str = await super().execute(query, *args, timeout=timeout)
        return status


@event.listens_for(Session, "after_begin")
def _set_org(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    """Begin the transaction on the server and tell PostgreSQL its organisation (see the module
    docstring); :func:`server.db.direct.driver` relies on the transaction having begun.

    On a :class:`TenantConnection` the settings travel with the ``BEGIN``, which SQLAlchemy's
    asyncpg adapter sends when its transaction starts (``_start_transaction``, the method its
    cursor calls before a transaction's first statement: SQLAlchemy has no public call for it,
    and its version is locked). On another driver connection (an engine made elsewhere, such
    as a test's), or when the connection's transaction has already begun (a session bound to a
    connection in use), they are a statement of their own on the driver's cursor.
    """
    org = session.info[_SESSION_ORG] if _SESSION_ORG in session.info else _ORG.get()
    driver = connection.connection.driver_connection
    # Not isinstance: asyncpg's metaclass counts every asyncpg connection as an instance. A
    # session bound to a connection whose transaction has already begun sets it in that one.
    tenant = cast("TenantConnection", driver)
    if issubclass(type(driver), TenantConnection) and not tenant.is_in_transaction():
        adapted: Any = connection.connection.dbapi_connection
        settings = f"SELECT set_config('app.org_id', {_literal(_text(org))}, true), "
        settings += f"set_config('app.all_orgs', {_literal(_flag(session))}, true)"
        tenant.begin_with(settings)
        try:
            adapted.await_(adapted._start_transaction())
        finally:
            tenant.begin_with(None)
        return
    cursor = connection.connection.cursor()
    try:
        cursor.execute(_SET_ON_BEGIN, (_text(org), _flag(session)))
    finally:
        cursor.close()


def _literal(value: str) -> str:
    """``value`` (a uuid's text, ``on`` or empty: no backslash, whatever
    ``standard_conforming_strings`` says) as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


async def org_of_project(
    sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]], project_id: UUID
) -> UUID | None:
    """The organisation of a project, for operators' commands naming a project by id (the one
    look-up they make across organisations before working in it; not logged, as the command's
    output may be a report other tools read)."""
    with all_orgs("finding a project's organisation", log=False):
        async with sessions() as db:
            org_id: UUID | None = await db.scalar(
                select(Project.org_id).where(Project.id == project_id)
            )
    return org_id
