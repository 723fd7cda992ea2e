"""Ratings of assistant messages: stored one per user and message, counted, aggregated, exported.

Who may rate: every member of the project, viewers included. A rating is a reader's opinion of
an answer, not a change to the project's content, and viewers are exactly the readers whose
opinion a team wants (see docs/feedback.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Date, cast, delete, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased
from uuid_utils.compat import uuid7

from server.db.models import ChatMessage, MessageFeedback
from server.errors import DomainError, not_found
from server.events import FeedbackSummary

from .schemas import (
    DIMENSIONS,
    FeedbackGroup,
    FeedbackOut,
    RatedExchange,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from contextlib import AbstractAsyncContextManager
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from .schemas import Dimension, Rating

EXPORT_BATCH = 500


async def _answer(db: AsyncSession, message_id: UUID, session_id: UUID | None) -> ChatMessage:
    """The assistant message to rate (of ``session_id`` when given); 404 when missing, 422
    ``not_an_answer`` for a user's."""
    message = await db.get(ChatMessage, message_id)
    if message is None or (session_id is not None and message.session_id != session_id):
        raise not_found("message")
    if message.role != "assistant":
        raise DomainError("not_an_answer", "only the assistant's answers can be rated")
    return message


async def counts(db: AsyncSession, message_id: UUID) -> tuple[int, int]:
    """Up and down ratings of one message."""
    row = (
        await db.execute(
            select(
                func.count().filter(MessageFeedback.rating == "up"),
                func.count().filter(MessageFeedback.rating == "down"),
            ).where(MessageFeedback.message_id == message_id)
        )
    ).one()
    return int(row[0]), int(row[1])


async def rate(
    db: AsyncSession,
    user_id: UUID,
    message_id: UUID,
    rating: Rating,
    comment: str | None,
    *,
    session_id: UUID | None = None,
) -> FeedbackOut:
    """Store ``user_id``'s rating of the message, replacing an earlier one; the caller commits.

    The upsert on ``(message_id, user_id)`` makes two rapid ratings from one user race safely.
    With ``session_id`` (a WebSocket's joined session), a message of another session is 404.
    """
    message = await _answer(db, message_id, session_id)
    now = datetime.now(UTC)
    statement = insert(MessageFeedback).values(
        id=uuid7(),
        message_id=message.id,
        project_id=message.project_id,
        user_id=user_id,
        rating=rating,
        comment=comment,
        created_at=now,
        updated_at=now,
    )
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=["message_id", "user_id"],
            set_={"rating": rating, "comment": comment, "updated_at": now},
        )
    )
    up, down = await counts(db, message.id)
    return FeedbackOut(message.id, message.session_id, rating, comment, up, down, now)


async def withdraw(db: AsyncSession, user_id: UUID, message_id: UUID) -> FeedbackOut:
    """Remove ``user_id``'s rating of the message (nothing to remove is fine)."""
    message = await _answer(db, message_id, None)
    await db.execute(
        delete(MessageFeedback).where(
            MessageFeedback.message_id == message.id, MessageFeedback.user_id == user_id
        )
    )
    up, down = await counts(db, message.id)
    return FeedbackOut(message.id, message.session_id, None, None, up, down, datetime.now(UTC))


async def summaries(
    db: AsyncSession, message_ids: Sequence[UUID], user_id: UUID
) -> dict[UUID, FeedbackSummary]:
    """Counts and ``user_id``'s own rating for each of ``message_ids`` that has ratings."""
    if not message_ids:
        return {}
    rows = await db.execute(
        select(
            MessageFeedback.message_id,
            func.count().filter(MessageFeedback.rating == "up"),
            func.count().filter(MessageFeedback.rating == "down"),
            func.max(MessageFeedback.rating).filter(MessageFeedback.user_id == user_id),
        )
        .where(MessageFeedback.message_id.in_(message_ids))
        .group_by(MessageFeedback.message_id)
    )
    return {r[0]: FeedbackSummary(int(r[1]), int(r[2]), r[3]) for r in rows}


def _filters(since: datetime | None, until: datetime | None, project_id: UUID | None) -> list[Any]:
    found: list[Any] = []
    if since is not None:
        found.append(MessageFeedback.updated_at >= since)
    if until is not None:
        found.append(MessageFeedback.updated_at < until)
    if project_id is not None:
        found.append(MessageFeedback.project_id == project_id)
    return found


async def aggregate(
    db: AsyncSession,
    group_by: Sequence[Dimension] = DIMENSIONS,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    project_id: UUID | None = None,
) -> list[FeedbackGroup]:
    """Up and down ratings per group of replies, largest groups first."""
    prompt = func.jsonb_array_elements(ChatMessage.prompts).table_valued("value").alias("prompt")
    columns: dict[str, Any] = {
        "provider": ChatMessage.provider,
        "model": ChatMessage.model,
        "profile": ChatMessage.profile,
        "prompt": literal_column("(prompt.value ->> 'name') || '@' || (prompt.value ->> 'hash')"),
        "prompt_label": literal_column("prompt.value ->> 'label'"),
        "phase": ChatMessage.phase_number,
        "day": cast(func.date_trunc("day", MessageFeedback.updated_at), Date),
    }
    chosen = [d for d in DIMENSIONS if d in group_by]
    if "prompt" in chosen:
        chosen.insert(chosen.index("prompt") + 1, "prompt_label")  # type: ignore[arg-type]
    up = func.count().filter(MessageFeedback.rating == "up")
    down = func.count().filter(MessageFeedback.rating == "down")
    query = select(*(columns[d].label(d) for d in chosen), up.label("up"), down.label("down"))
    query = query.select_from(MessageFeedback).join(
        ChatMessage, ChatMessage.id == MessageFeedback.message_id
    )
    if "prompt" in chosen:
        query = query.outerjoin(prompt, true())
    rows = await db.execute(
        query.where(*_filters(since, until, project_id))
        .group_by(*(columns[d] for d in chosen))
        .order_by(func.count().desc(), *(columns[d] for d in chosen))
    )
    groups = []
    for row in rows:
        fields = {d: getattr(row, d) for d in chosen}
        total = int(row.up) + int(row.down)
        groups.append(
            FeedbackGroup(
                up=int(row.up),
                down=int(row.down),
                total=total,
                up_share=round(int(row.up) / total, 4) if total else 0.0,
                **fields,
            )
        )
    return groups


async def export(
    sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    project_id: UUID | None = None,
    rating: Rating | None = None,
) -> AsyncIterator[bytes]:
    """Every rated exchange as JSON lines, oldest rating first, streamed from the database.

    It opens its own session: a streamed response outlives the request's.
    """
    question = aliased(ChatMessage)
    query = (
        select(MessageFeedback, ChatMessage, question.content)
        .join(ChatMessage, ChatMessage.id == MessageFeedback.message_id)
        .outerjoin(question, question.id == ChatMessage.reply_to)
        .where(*_filters(since, until, project_id))
        .order_by(MessageFeedback.updated_at, MessageFeedback.id)
        .execution_options(yield_per=EXPORT_BATCH)
    )
    if rating is not None:
        query = query.where(MessageFeedback.rating == rating)
    encoder = msgspec.json.Encoder()
    async with sessions() as db:
        rows = await db.stream(query)
        async for feedback, message, asked in rows.tuples():
            yield _exchange(feedback, message, asked, encoder)


def _exchange(
    feedback: MessageFeedback,
    message: ChatMessage,
    asked: str | None,
    encoder: msgspec.json.Encoder,
) -> bytes:
    """One export line."""
    line = RatedExchange(
        message_id=message.id,
        project_id=message.project_id,
        session_id=message.session_id,
        rating=feedback.rating,  # type: ignore[arg-type]
        comment=feedback.comment,
        rated_at=feedback.updated_at,
        question=asked,
        context=message.context or [],
        answer=message.content,
        provider=message.provider,
        model=message.model,
        profile=message.profile,
        phase=message.phase_number,
        prompts=message.prompts or [],
    )
    return encoder.encode(line) + b"\n"
