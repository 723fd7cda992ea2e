"""Which organisation a database transaction works for, told to PostgreSQL on every begin.

Every tenant table carries ``org_id`` and a row-level security policy that shows and accepts
only rows of the organisation named by the transaction-local setting ``app.org_id`` (see
``docs/organisations.md``). This module is the one place that setting is made: a SQLAlchemy
``after_begin`` hook, registered for every session of the process, runs
``set_config('app.org_id', <org>, true)`` (the ``SET LOCAL`` form: it ends with the
transaction, so a pooled connection never carries one request's organisation into the next).

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
from typing import TYPE_CHECKING, Final

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


@event.listens_for(Session, "after_begin")
def _set_org(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    """Tell PostgreSQL the transaction's organisation (see the module docstring).

    Run on the driver's cursor, not through SQLAlchemy's statement execution (a tenth of the
    CPU, and every transaction pays it); it also makes sure the transaction has begun on the
    server, which :func:`server.db.direct.driver` relies on.
    """
    org = session.info[_SESSION_ORG] if _SESSION_ORG in session.info else _ORG.get()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(_SET_ON_BEGIN, (_text(org), _flag(session)))
    finally:
        cursor.close()


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
