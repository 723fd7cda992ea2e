"""Storing sessions and messages: numbering by ``seq``, idempotent resends, reading back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from sqlalchemy import select
from uuid_utils.compat import uuid7

from server.db.direct import driver, jsonb
from server.db.models import ChatMessage, ChatSession
from server.errors import DomainError
from server.feedback import summaries

from .schemas import ASSISTANT, message_out

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.events import Message


async def get_session(
    db: AsyncSession, session_id: UUID, project_id: UUID | None = None
) -> ChatSession:
    """The session (of ``project_id`` when given); ``not_found`` otherwise."""
    chat_session = await db.get(ChatSession, session_id)
    if chat_session is None or (project_id is not None and chat_session.project_id != project_id):
        raise DomainError("not_found", "no such chat session in this project")
    return chat_session


async def create_session(
    db: AsyncSession, project_id: UUID, user_id: UUID, title: str | None = None
) -> ChatSession:
    """A new session in the project, continuing the phase the newest session was on, written
    in the caller's transaction (which commits it)."""
    phase = await db.scalar(
        select(ChatSession.phase_number)
        .where(ChatSession.project_id == project_id)
        .order_by(ChatSession.created_at.desc())
        .limit(1)
    )
    chat_session = ChatSession(
        project_id=project_id, created_by=user_id, title=title, phase_number=phase
    )
    db.add(chat_session)
    await db.flush()
    await db.refresh(chat_session)  # its defaults, read in the same transaction
    return chat_session


async def list_sessions(db: AsyncSession, project_id: UUID) -> list[ChatSession]:
    """The project's sessions, newest first."""
    rows = await db.scalars(
        select(ChatSession)
        .where(ChatSession.project_id == project_id)
        .order_by(ChatSession.created_at.desc())
    )
    return list(rows)


async def messages_after(
    db: AsyncSession, session_id: UUID, after_seq: int = 0, limit: int | None = None
) -> list[ChatMessage]:
    """The session's messages with ``seq > after_seq``, in order."""
    query = (
        select(ChatMessage)
        .where(ChatMessage.session_id == session_id, ChatMessage.seq > after_seq)
        .order_by(ChatMessage.seq)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(await db.scalars(query))


class Numbered(msgspec.Struct):
    """A seq just taken, with the session's row it was taken from (locked until commit)."""

    seq: int
    project_id: UUID
    phase_number: int | None


_NEXT_SEQ = """
UPDATE chat_sessions SET last_seq = last_seq + 1, updated_at = now() WHERE id = $1
RETURNING last_seq, project_id, phase_number
"""


async def _next_seq(db: AsyncSession, session_id: UUID) -> Numbered:
    """Take the session's next ``seq``; the row stays locked until the transaction ends."""
    row = await (await driver(db)).fetchrow(_NEXT_SEQ, session_id)
    if row is None:
        raise DomainError("not_found", "the chat session no longer exists")
    return Numbered(row["last_seq"], row["project_id"], row["phase_number"])


_COLUMNS = """id, session_id, project_id, seq, role, content, status, client_message_id,
    author_id, reply_to, phase_number, provider, model, usage, citations, prompts, profile,
    context, created_at, updated_at"""
_VALUES = (
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19"
)
_INSERT_NUMBERED = f"""
WITH numbered AS (
    UPDATE chat_sessions SET last_seq = last_seq + 1, updated_at = now() WHERE id = $2
    RETURNING last_seq
)
INSERT INTO chat_messages ({_COLUMNS})
SELECT $1, $2, $3, numbered.last_seq, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
       $17, $18, $18
FROM numbered
RETURNING seq
"""  # noqa: S608 - constants only
"""A reply numbered with the session's next ``seq``, in one statement (the session's row stays
locked until the transaction ends); no row when the session is gone. Its parameters are those
of `_params` without the seq."""
_STORE_ASKED = f"""
WITH found AS (
    SELECT (SELECT id FROM chat_messages WHERE session_id = $2 AND client_message_id = $8)
               AS existing,
           EXISTS (SELECT FROM chat_turns WHERE session_id = $2) AS busy
),
message AS (
    INSERT INTO chat_messages ({_COLUMNS})
    SELECT {_VALUES} FROM found WHERE existing IS NULL
),
turn AS (
    INSERT INTO chat_turns (id, session_id, project_id, user_id, message_id, status, started,
                            owner, lease_until, partial, attempts, created_at, updated_at)
    SELECT $20, $2, $3, $9, $1, CASE WHEN busy THEN 'queued' ELSE 'running' END,
           $21 AND NOT busy, CASE WHEN busy THEN NULL ELSE $22 END,
           CASE WHEN busy THEN NULL ELSE now() + make_interval(secs => $23) END, '',
           CASE WHEN busy THEN 0 ELSE 1 END, clock_timestamp(), now()
    FROM found WHERE existing IS NULL
)
SELECT existing, busy FROM found
"""  # noqa: S608 - constants only
"""The resend and busy check, then (unless it is a resend) the message and its turn: ``running``
under the sender's instance's lease, or ``queued`` behind the session's turn in progress (the
row `server.chat.start_turn` writes for a phase command). Run after the session's row lock is
taken, so it sees every message and turn committed before."""


def _params(message: ChatMessage) -> tuple[Any, ...]:
    """The parameters ``$1``..``$19`` of `_STORE_ASKED`; sets the timestamps."""
    message.created_at = message.updated_at = datetime.now(UTC)
    return (
        message.id,
        message.session_id,
        message.project_id,
        message.seq,
        message.role,
        message.content,
        message.status,
        message.client_message_id,
        message.author_id,
        message.reply_to,
        message.phase_number,
        message.provider,
        message.model,
        jsonb(message.usage),
        jsonb(message.citations),
        jsonb(message.prompts),
        message.profile,
        jsonb(message.context),
        message.created_at,
    )


class TurnStart(msgspec.Struct, frozen=True):
    """The turn stored with a user's message: the reply's id and the instance answering it."""

    id: UUID
    owner: str
    lease_s: float
    started: bool
    """Its plan is committed in the same transaction."""


async def store_user_message(
    db: AsyncSession,
    session_id: UUID,
    user_id: UUID,
    content: str,
    client_message_id: str,
    *,
    turn: TurnStart,
) -> tuple[ChatMessage, bool, bool]:
    """Store a user's message and its ``turn`` in the transaction: ``(message, created, busy)``;
    ``busy`` when a turn of the session is waiting or being answered (the new turn then waits
    ``queued``). The caller commits.

    When that ``client_message_id`` was stored before, the transaction is rolled back and the
    stored message returned (``created`` False). The duplicate check runs after taking the
    session's row lock, so two resends racing each other are serialised and the second one
    finds the first.
    """
    numbered = await _next_seq(db, session_id)
    message = ChatMessage(
        id=uuid7(),
        session_id=session_id,
        project_id=numbered.project_id,
        seq=numbered.seq,
        role="user",
        content=content,
        status="complete",
        client_message_id=client_message_id,
        author_id=user_id,
        reply_to=None,
        phase_number=numbered.phase_number,
        provider=None,
        model=None,
        usage={},
        citations=[],
        prompts=[],
        profile=None,
        context=[],
    )
    existing_id, busy = await (await driver(db)).fetchrow(
        _STORE_ASKED, *_params(message), turn.id, turn.started, turn.owner, turn.lease_s
    )
    if existing_id is not None:
        await db.rollback()
        existing = await db.get_one(ChatMessage, existing_id)
        await db.commit()
        return existing, False, bool(busy)
    return message, True, bool(busy)


async def add_assistant_message(
    db: AsyncSession,
    *,
    message_id: UUID,
    session_id: UUID,
    project_id: UUID,
    reply_to: UUID | None,
    content: str,
    status: str,
    phase_number: int | None,
    provider: str | None = None,
    model: str | None = None,
    usage: dict[str, Any] | None = None,
    citations: list[dict[str, Any]] | None = None,
    prompts: list[dict[str, Any]] | None = None,
    profile: str | None = None,
    context: list[dict[str, Any]] | None = None,
) -> ChatMessage:
    """Store a reply (``complete``, ``stopped`` or ``interrupted``) in the transaction, numbered
    now; the caller commits."""
    message = ChatMessage(
        id=message_id,
        session_id=session_id,
        project_id=project_id,
        role=ASSISTANT,
        content=content,
        status=status,
        reply_to=reply_to,
        phase_number=phase_number,
        provider=provider,
        model=model,
        usage=usage or {},
        citations=citations or [],
        prompts=prompts or [],
        profile=profile,
        context=context or [],
    )
    params = _params(message)
    seq = await (await driver(db)).fetchval(_INSERT_NUMBERED, *params[:3], *params[4:])
    if seq is None:
        raise DomainError("not_found", "the chat session no longer exists")
    message.seq = seq
    return message


async def messages_out(
    db: AsyncSession, messages: list[ChatMessage], reader: UUID
) -> list[Message]:
    """Messages in their wire shape, replies with their ratings as ``reader`` sees them."""
    rated = await summaries(db, [m.id for m in messages if m.role == ASSISTANT], reader)
    return [message_out(m, rated.get(m.id)) for m in messages]
