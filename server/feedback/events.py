"""The frame that tells a session's participants a reply's ratings changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.events import FeedbackData, FeedbackUpdated, emit, session_channel

if TYPE_CHECKING:
    from server.events import Publisher

    from .schemas import FeedbackOut


async def announce(publisher: Publisher, stored: FeedbackOut) -> None:
    """Send ``chat:feedback_updated {message_id, up, down}`` to the message's session."""
    frame = FeedbackUpdated(FeedbackData(stored.message_id, stored.up, stored.down))
    await emit(publisher, [session_channel(stored.session_id)], frame)
