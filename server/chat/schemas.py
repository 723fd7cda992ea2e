"""Client frames of the ``/ws/chat`` protocol, REST inputs of chat, and row → wire mappers.

Every client frame is a msgspec Struct tagged by its ``event`` (``tag_field="event"``), with its
fields under ``data``; they decode through the :data:`ClientFrame` union (an unknown event or a
missing field is a validation error, answered with ``chat:error``). The frames the server sends
are the catalogue in :mod:`server.events`; the AsyncAPI document is generated from both unions,
so the protocol document cannot drift from the code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import msgspec

from server.events import Citation, FeedbackSummary, Message, PromptVersion, Session, Usage
from server.events import Frame as _Frame
from server.feedback.schemas import Comment, Rating

if TYPE_CHECKING:
    from server.db.models import ChatMessage, ChatSession

ASSISTANT = "assistant"
MAX_INT32 = 2**31 - 1
"""The largest sequence or phase number the database stores (PostgreSQL ``integer``)."""


# ---- client → server -------------------------------------------------------------------


class JoinData(msgspec.Struct, forbid_unknown_fields=True):
    """Join ``session_id`` of ``project_id`` (a new session when absent)."""

    project_id: UUID
    session_id: UUID | None = None
    after_seq: Annotated[int, msgspec.Meta(ge=0, le=MAX_INT32)] | None = None


class SendData(msgspec.Struct, forbid_unknown_fields=True):
    """A message from the user; ``client_message_id`` makes resending it harmless."""

    content: str
    client_message_id: str


class TypingData(msgspec.Struct, forbid_unknown_fields=True):
    """Whether the user is typing."""

    is_typing: bool


class GotoData(msgspec.Struct, forbid_unknown_fields=True):
    """Move the conversation to phase ``number``."""

    number: Annotated[int, msgspec.Meta(ge=0, le=MAX_INT32)]


class RegenerateData(msgspec.Struct, forbid_unknown_fields=True):
    """Draft phase ``number`` (default: the session's current phase) again."""

    number: Annotated[int, msgspec.Meta(ge=0, le=MAX_INT32)] | None = None


class AuthenticateData(msgspec.Struct, forbid_unknown_fields=True):
    """A fresh access token for the open connection (same user), before the old one expires."""

    token: str


class FeedbackFrameData(msgspec.Struct, forbid_unknown_fields=True):
    """A rating of reply ``message_id`` of the joined session; rating again replaces it."""

    message_id: UUID
    rating: Rating
    comment: Comment | None = None


class NoData(msgspec.Struct, forbid_unknown_fields=True):
    """An event without fields."""


class JoinSession(_Frame, tag="chat:join_session"):
    """``chat:join_session``."""

    data: JoinData
    ref: str | None = None


class SendMessage(_Frame, tag="chat:send_message"):
    """``chat:send_message``."""

    data: SendData
    ref: str | None = None


class Typing(_Frame, tag="chat:typing"):
    """``chat:typing``."""

    data: TypingData
    ref: str | None = None


class PhaseGoto(_Frame, tag="phase:goto"):
    """``phase:goto``."""

    data: GotoData
    ref: str | None = None


class PhaseApprove(_Frame, tag="phase:approve"):
    """``phase:approve``."""

    data: NoData = msgspec.field(default_factory=NoData)
    ref: str | None = None


class PhaseRegenerate(_Frame, tag="phase:regenerate"):
    """``phase:regenerate``."""

    data: RegenerateData = msgspec.field(default_factory=RegenerateData)
    ref: str | None = None


class Stop(_Frame, tag="chat:stop"):
    """``chat:stop``."""

    data: NoData = msgspec.field(default_factory=NoData)
    ref: str | None = None


class RateMessage(_Frame, tag="chat:feedback"):
    """``chat:feedback``: rate a reply ``up`` or ``down``; everyone in the session gets
    ``chat:feedback_updated``."""

    data: FeedbackFrameData
    ref: str | None = None


class LeaveSession(_Frame, tag="chat:leave_session"):
    """``chat:leave_session``."""

    data: NoData = msgspec.field(default_factory=NoData)
    ref: str | None = None


class Authenticate(_Frame, tag="chat:authenticate"):
    """``chat:authenticate``: carry on with a fresh access token instead of reconnecting."""

    data: AuthenticateData
    ref: str | None = None


PhaseFrame = PhaseGoto | PhaseApprove | PhaseRegenerate
"""The frames the phase workflow answers."""

ClientFrame = (
    JoinSession
    | SendMessage
    | Typing
    | PhaseGoto
    | PhaseApprove
    | PhaseRegenerate
    | Stop
    | RateMessage
    | LeaveSession
    | Authenticate
)
"""Every frame a client may send."""


class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    """REST: open a new session in a project."""

    title: str | None = msgspec.field(default=None)


class MessageCreate(msgspec.Struct, forbid_unknown_fields=True):
    """REST: send a message (same fields as ``chat:send_message``)."""

    content: str
    client_message_id: str


def session_out(chat_session: ChatSession) -> Session:
    """The wire shape of a chat session."""
    return Session(
        id=chat_session.id,
        project_id=chat_session.project_id,
        title=chat_session.title,
        phase_number=chat_session.phase_number,
        last_seq=chat_session.last_seq,
        created_by=chat_session.created_by,
        created_at=chat_session.created_at,
        updated_at=chat_session.updated_at,
    )


def message_out(message: ChatMessage, feedback: FeedbackSummary | None = None) -> Message:
    """The wire shape of a message; a reply's ``feedback`` defaults to no ratings."""
    author = ASSISTANT if message.role == ASSISTANT else str(message.author_id or "")
    return Message(
        id=message.id,
        session_id=message.session_id,
        seq=message.seq,
        role=message.role,  # type: ignore[arg-type]
        content=message.content,
        status=message.status,  # type: ignore[arg-type]
        author=author,
        created_at=message.created_at,
        client_message_id=message.client_message_id,
        reply_to=message.reply_to,
        phase=message.phase_number,
        provider=message.provider,
        model=message.model,
        usage=msgspec.convert(message.usage, Usage) if message.usage else None,
        citations=msgspec.convert(message.citations or [], list[Citation]),
        prompts=msgspec.convert(message.prompts or [], list[PromptVersion]),
        feedback=(feedback or FeedbackSummary()) if message.role == ASSISTANT else None,
    )
