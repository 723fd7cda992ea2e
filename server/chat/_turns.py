"""Turns in the database: the intent to answer, and the short lease of the instance answering.

A turn row is written in the transaction that stores the user's message (or accepts a phase
command) and deleted in the transaction that stores its reply. At most one turn per session is
``running`` (a partial unique index): the others wait ``queued`` and the instance that finishes a
turn claims the next one of its session in the same transaction. The instance answering a turn
renews its lease while the reply streams; a turn whose lease ran out is claimed by whichever
instance sweeps first (``FOR UPDATE SKIP LOCKED``), so no turn is answered twice or left behind.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import TYPE_CHECKING, NamedTuple
from uuid import uuid4

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from server.db.direct import driver, jsonb
from server.db.models import ChatSession, ChatTurn

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "Finished",
    "claim_lost",
    "finish",
    "lock_session",
    "mark_started",
    "new_owner",
    "renew",
    "session_busy",
    "start_turn",
)

SWEEP_BATCH = 100


def new_owner() -> str:
    """A name for this process's replies, unique across restarts."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid4().hex[:8]}"


async def lock_session(db: AsyncSession, session_id: UUID) -> ChatSession | None:
    """Lock the session's row until the transaction ends (turns of a session are ordered
    under it), returning it."""
    chat_session: ChatSession | None = await db.scalar(
        select(ChatSession).where(ChatSession.id == session_id).with_for_update()
    )
    return chat_session


def session_busy(session_id: UUID) -> Any:
    """A boolean SQL expression: the session has a turn waiting or being answered."""
    return exists().where(ChatTurn.session_id == session_id)


_START = """
INSERT INTO chat_turns (id, session_id, project_id, user_id, message_id, command, status, started,
                        owner, lease_until, partial, attempts, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10), '', $11,
        clock_timestamp(), now())
"""


async def start_turn(
    db: AsyncSession,
    *,
    turn_id: UUID,
    session_id: UUID,
    project_id: UUID,
    user_id: UUID,
    message_id: UUID | None,
    command: dict[str, Any] | None,
    owner: str | None,
    lease_s: float,
    started: bool,
) -> None:
    """Store a turn in the transaction: ``running`` under ``owner``'s lease (``started`` when
    its plan is committed with it), or ``queued`` when ``owner`` is None (the session is busy).
    The caller holds the session's lock."""
    await (await driver(db)).execute(
        _START,
        turn_id,
        session_id,
        project_id,
        user_id,
        message_id,
        None if command is None else jsonb(command),
        "queued" if owner is None else "running",
        started and owner is not None,
        owner,
        None if owner is None else lease_s,
        0 if owner is None else 1,
    )


_RENEW = """
UPDATE chat_turns AS t
SET lease_until = now() + make_interval(secs => $3), partial = coalesce(held.partial, t.partial),
    updated_at = now()
FROM unnest($1::uuid[], $2::text[]) AS held (id, partial)
WHERE t.id = held.id AND t.owner = $4
RETURNING t.id
"""


async def renew(
    db: AsyncSession, owner: str, lease_s: float, held: Sequence[tuple[UUID, str | None]]
) -> set[UUID]:
    """Extend ``owner``'s leases of the turns ``held`` (saving each reply so far, where given
    with it); the turns it still holds."""
    rows = await (await driver(db)).fetch(
        _RENEW, [turn_id for turn_id, _ in held], [text for _, text in held], lease_s, owner
    )
    return {row["id"] for row in rows}


async def mark_started(db: AsyncSession, turn_id: UUID, owner: str) -> bool:
    """Record that the turn's plan is committed with this transaction; False when ``owner``
    lost the turn meanwhile."""
    marked = await db.scalar(
        update(ChatTurn)
        .where(ChatTurn.id == turn_id, ChatTurn.owner == owner)
        .values(started=True)
        .returning(ChatTurn.id)
    )
    return marked is not None


_FINISH = """
WITH finished AS (DELETE FROM chat_turns WHERE id = $1 AND owner = $2 RETURNING id),
claimed AS (
    UPDATE chat_turns
    SET status = 'running', owner = $2, lease_until = now() + make_interval(secs => $4),
        attempts = attempts + 1, updated_at = now()
    WHERE id = (SELECT id FROM chat_turns WHERE session_id = $3 AND status = 'queued'
                ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
      AND EXISTS (SELECT FROM finished)
    RETURNING id, session_id, project_id, user_id, message_id, command, status, owner, attempts
)
SELECT EXISTS (SELECT FROM finished) AS held, claimed.*
FROM (VALUES (1)) AS one LEFT JOIN claimed ON true
"""


_CLAIMED = (
    "id",
    "session_id",
    "project_id",
    "user_id",
    "message_id",
    "command",
    "status",
    "owner",
    "attempts",
)
"""The columns of a claimed turn `_FINISH` returns."""


class Finished(NamedTuple):
    """What :func:`finish` did."""

    held: bool
    """The turn was still this instance's, and is deleted."""
    following: ChatTurn | None
    """The session's next turn, claimed for this instance (what answering it needs, as a
    detached object)."""


async def finish(
    db: AsyncSession, turn_id: UUID, owner: str, session_id: UUID, lease_s: float
) -> Finished:
    """Delete the turn if ``owner`` still holds it and claim the session's oldest queued turn
    for ``owner``, in one statement of the transaction that stores the reply (the caller
    stores it and commits); nothing when another instance took the turn over."""
    row = await (await driver(db)).fetchrow(_FINISH, turn_id, owner, session_id, lease_s)
    if row is None or not row["held"]:
        return Finished(held=False, following=None)
    if row["id"] is None:
        return Finished(held=True, following=None)
    following = ChatTurn(**{name: row[name] for name in _CLAIMED})
    return Finished(held=True, following=following)


async def claim_lost(db: AsyncSession, owner: str, lease_s: float) -> Sequence[ChatTurn]:
    """Claim for ``owner`` the turns nobody answers: ``running`` past their lease (their
    instance died), and the oldest ``queued`` turn of a session with none running that has
    waited a whole lease (its instance died between two turns)."""
    now = func.now()
    other = aliased(ChatTurn)
    expired = and_(ChatTurn.status == "running", ChatTurn.lease_until < now)
    orphaned = and_(
        ChatTurn.status == "queued",
        ChatTurn.created_at < now - timedelta(seconds=lease_s),
        ~exists().where(
            other.session_id == ChatTurn.session_id,
            or_(other.status == "running", other.created_at < ChatTurn.created_at),
        ),
    )
    candidates = (
        select(ChatTurn.id)
        .where(or_(expired, orphaned))
        .order_by(ChatTurn.created_at)
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    )
    ids = list(await db.scalars(candidates))
    if not ids:
        return []
    turns = await db.scalars(
        update(ChatTurn)
        .where(ChatTurn.id.in_(ids))
        .values(
            status="running",
            owner=owner,
            lease_until=now + timedelta(seconds=lease_s),
            attempts=ChatTurn.attempts + 1,
        )
        .returning(ChatTurn)
        .execution_options(synchronize_session=False)
    )
    return turns.all()
