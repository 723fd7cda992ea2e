"""Frames of the ``/ws/chat`` protocol and the REST shapes of sessions and messages.

Every frame is a msgspec Struct tagged by its ``event`` (``tag_field="event"``), with its fields
under ``data``: client frames decode through the :data:`ClientFrame` union (an unknown event or a
missing field is a validation error, answered with ``chat:error``), and server frames are the
:data:`ServerFrame` union. The AsyncAPI document is generated from these two unions, so the
protocol document cannot drift from the code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from server.feedback.schemas import FeedbackSummary

ErrorCode = Literal[
    "bad_request",
    "unauthorized",
    "forbidden",
    "not_found",
    "too_large",
    "rate_limited",
    "provider_unavailable",
    "internal",
]


class _Frame(msgspec.Struct, tag_field="event", omit_defaults=True, forbid_unknown_fields=True):
    """Envelope ``{"event", "data", "ref"}``; ``ref`` is the client's id of a frame."""


# ---- client → server -------------------------------------------------------------------


class JoinData(msgspec.Struct, forbid_unknown_fields=True):
    """Join ``session_id`` of ``project_id`` (a new session when absent)."""

    project_id: UUID
    session_id: UUID | None = None
    after_seq: int | None = msgspec.field(default=None)


class SendData(msgspec.Struct, forbid_unknown_fields=True):
    """A message from the user; ``client_message_id`` makes resending it harmless."""

    content: str
    client_message_id: str


class TypingData(msgspec.Struct, forbid_unknown_fields=True):
    """Whether the user is typing."""

    is_typing: bool


class GotoData(msgspec.Struct, forbid_unknown_fields=True):
    """Move the conversation to phase ``number``."""

    number: int


class RegenerateData(msgspec.Struct, forbid_unknown_fields=True):
    """Draft phase ``number`` (default: the session's current phase) again."""

    number: int | None = None


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


class LeaveSession(_Frame, tag="chat:leave_session"):
    """``chat:leave_session``."""

    data: NoData = msgspec.field(default_factory=NoData)
    ref: str | None = None


ClientFrame = (
    JoinSession
    | SendMessage
    | Typing
    | PhaseGoto
    | PhaseApprove
    | PhaseRegenerate
    | Stop
    | LeaveSession
)
"""Every frame a client may send."""


# ---- stored objects ----------------------------------------------------------------------


class SessionOut(msgspec.Struct):
    """A chat session."""

    id: UUID
    project_id: UUID
    title: str | None
    phase_number: int | None
    last_seq: int
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class MessageOut(msgspec.Struct):
    """A stored message. ``author`` is the user's id, or ``"assistant"``; ``status`` is
    ``complete`` or ``stopped`` (a reply stopped by the user, its partial text kept)."""

    id: UUID
    session_id: UUID
    seq: int
    role: str
    content: str
    status: str
    author: str
    created_at: datetime
    client_message_id: str | None = None
    reply_to: UUID | None = None
    phase: int | None = None
    provider: str | None = None
    model: str | None = None
    usage: dict[str, Any] = msgspec.field(default_factory=dict)
    citations: list[dict[str, Any]] = msgspec.field(default_factory=list)
    prompts: list[dict[str, Any]] = msgspec.field(default_factory=list)
    """For a reply: the prompt versions (``{name, hash, label}``) it was written with."""
    feedback: FeedbackSummary | None = None
    """For a reply: its up and down ratings and the reader's own (``mine``)."""


class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    """REST: open a new session in a project."""

    title: str | None = msgspec.field(default=None)


class MessageCreate(msgspec.Struct, forbid_unknown_fields=True):
    """REST: send a message (same fields as ``chat:send_message``)."""

    content: str
    client_message_id: str


# ---- server → client ---------------------------------------------------------------------


class SessionData(msgspec.Struct):
    """A session just created or joined, its phase, and the messages after ``after_seq``."""

    session: SessionOut
    phase: int | None = None
    messages: list[MessageOut] = msgspec.field(default_factory=list)


class MessageData(msgspec.Struct):
    """A stored message."""

    message: MessageOut


class DeltaData(msgspec.Struct):
    """A piece of the reply ``message_id`` (stored later under that id)."""

    message_id: UUID
    delta: str


class TypingIndicatorData(msgspec.Struct):
    """Who is typing: a user's id or ``"assistant"``."""

    user_id: str
    is_typing: bool


class PhaseData(msgspec.Struct):
    """A phase as the phase engine describes it."""

    phase: dict[str, Any]


class StaleData(msgspec.Struct):
    """Phases now out of date."""

    numbers: list[int]


class DocumentData(msgspec.Struct):
    """A document whose status changed."""

    document: dict[str, Any]


class ExportData(msgspec.Struct):
    """An export whose status changed."""

    export: dict[str, Any]


class ErrorData(msgspec.Struct, omit_defaults=True):
    """What went wrong; ``retry_after`` (seconds) comes with ``rate_limited``."""

    code: ErrorCode
    message: str
    retry_after: int | None = None


class SessionCreated(_Frame, tag="chat:session_created"):
    """``chat:session_created``."""

    data: SessionData
    ref: str | None = None


class SessionJoined(_Frame, tag="chat:session_joined"):
    """``chat:session_joined``."""

    data: SessionData
    ref: str | None = None


class MessageReceived(_Frame, tag="chat:message_received"):
    """``chat:message_received``."""

    data: MessageData
    ref: str | None = None


class MessageDelta(_Frame, tag="chat:message_delta"):
    """``chat:message_delta``."""

    data: DeltaData
    ref: str | None = None


class TypingIndicator(_Frame, tag="chat:typing_indicator"):
    """``chat:typing_indicator``."""

    data: TypingIndicatorData
    ref: str | None = None


class PhaseUpdated(_Frame, tag="phase:updated"):
    """``phase:updated``."""

    data: PhaseData
    ref: str | None = None


class PhaseStale(_Frame, tag="phase:stale"):
    """``phase:stale``."""

    data: StaleData
    ref: str | None = None


class DocumentUpdated(_Frame, tag="document:updated"):
    """``document:updated``."""

    data: DocumentData
    ref: str | None = None


class ExportUpdated(_Frame, tag="export:updated"):
    """``export:updated``."""

    data: ExportData
    ref: str | None = None


class ChatError(_Frame, tag="chat:error"):
    """``chat:error``."""

    data: ErrorData
    ref: str | None = None


ServerFrame = (
    SessionCreated
    | SessionJoined
    | MessageReceived
    | MessageDelta
    | TypingIndicator
    | PhaseUpdated
    | PhaseStale
    | DocumentUpdated
    | ExportUpdated
    | ChatError
)
"""Every frame the server sends."""


class ChatProblem(Exception):  # noqa: N818 - carries a protocol error code
    """A client frame the server refuses: answered with ``chat:error`` (or an HTTP error)."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        retry_after: int | None = None,
        *,
        ref: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.retry_after = retry_after
        self.ref = ref
        """The ``ref`` of the refused frame, when it was readable before the problem."""

    def frame(self, ref: str | None = None) -> ChatError:
        """The ``chat:error`` frame answering this problem."""
        return ChatError(ErrorData(self.code, self.message, self.retry_after), ref)
