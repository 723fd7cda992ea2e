"""The frame that tells a session's participants a reply's ratings changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from server.db.models import ChatMessage
from server.events import publish, session_channel

from .schemas import FeedbackCounts

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

FEEDBACK_UPDATED = "chat:feedback_updated"


async def announce(state: Any, db: AsyncSession, message_id: UUID, up: int, down: int) -> None:
    """Send ``chat:feedback_updated {message_id, up, down}`` to the message's session."""
    session_id = await db.scalar(select(ChatMessage.session_id).where(ChatMessage.id == message_id))
    if session_id is not None:
        await publish(
            state.publisher,
            [session_channel(session_id)],
            FEEDBACK_UPDATED,
            FeedbackCounts(message_id, up, down),
        )
