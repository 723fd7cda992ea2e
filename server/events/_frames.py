"""The catalogue of server → client frames: every event the server sends, typed to the field.

Each frame is a msgspec Struct tagged by its ``event`` and carrying its fields under ``data``;
:data:`ServerFrame` is their union, from which the AsyncAPI document is generated. A new event is
one Struct here (and its place in the union); it is sent with :func:`server.events.emit`.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from server.errors import DomainError, ErrorCode

from ._entities import Document, Export, Message, Phase, Session


class Frame(msgspec.Struct, tag_field="event", omit_defaults=True, forbid_unknown_fields=True):
    """Envelope ``{"event", "data", "ref"}``; ``ref`` echoes the client's id of a frame."""


class SessionData(msgspec.Struct):
    """A session just created or joined, its phase, and the messages after ``after_seq``."""

    session: Session
    phase: int | None = None
    messages: list[Message] = msgspec.field(default_factory=list)


class MessageData(msgspec.Struct):
    """A stored message."""

    message: Message


class DeltaData(msgspec.Struct):
    """A piece of the reply ``message_id`` (stored later under that id)."""

    message_id: UUID
    delta: str


class TypingIndicatorData(msgspec.Struct):
    """Who is typing: a user's id or ``"assistant"``."""

    user_id: str
    is_typing: bool


class PhaseData(msgspec.Struct):
    """A phase whose status, answers or content changed."""

    phase: Phase


class StaleData(msgspec.Struct):
    """Phases now out of date."""

    numbers: list[int]


class DocumentData(msgspec.Struct):
    """A document whose status or progress changed."""

    document: Document


class ExportData(msgspec.Struct):
    """An export whose status changed."""

    export: Export


class FeedbackData(msgspec.Struct):
    """The ratings of a reply after someone rated it (or withdrew a rating)."""

    message_id: UUID
    up: int
    down: int


class ErrorData(msgspec.Struct, omit_defaults=True):
    """What went wrong; ``retry_after`` (seconds) comes with ``rate_limited``."""

    code: ErrorCode
    message: str
    retry_after: int | None = None


class SessionCreated(Frame, tag="chat:session_created"):
    """``chat:session_created``: the answer to a join without ``session_id``."""

    data: SessionData
    ref: str | None = None


class SessionJoined(Frame, tag="chat:session_joined"):
    """``chat:session_joined``: the answer to a join of an existing session."""

    data: SessionData
    ref: str | None = None


class MessageReceived(Frame, tag="chat:message_received"):
    """``chat:message_received``: a stored message, user's or assistant's."""

    data: MessageData
    ref: str | None = None


class MessageDelta(Frame, tag="chat:message_delta"):
    """``chat:message_delta``: streamed text of a reply before its ``message_received``."""

    data: DeltaData
    ref: str | None = None


class TypingIndicator(Frame, tag="chat:typing_indicator"):
    """``chat:typing_indicator``."""

    data: TypingIndicatorData
    ref: str | None = None


class PhaseUpdated(Frame, tag="phase:updated"):
    """``phase:updated``."""

    data: PhaseData
    ref: str | None = None


class PhaseStale(Frame, tag="phase:stale"):
    """``phase:stale``."""

    data: StaleData
    ref: str | None = None


class DocumentUpdated(Frame, tag="document:updated"):
    """``document:updated``."""

    data: DocumentData
    ref: str | None = None


class ExportUpdated(Frame, tag="export:updated"):
    """``export:updated``."""

    data: ExportData
    ref: str | None = None


class FeedbackUpdated(Frame, tag="chat:feedback_updated"):
    """``chat:feedback_updated``: a reply of the session was rated."""

    data: FeedbackData
    ref: str | None = None


class ChatError(Frame, tag="chat:error"):
    """``chat:error``: a frame the server refused; the connection stays open."""

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
    | FeedbackUpdated
    | ChatError
)
"""Every frame the server sends."""


def error_frame(error: DomainError, ref: str | None = None) -> ChatError:
    """The ``chat:error`` answering ``error`` (same code as over HTTP)."""
    return ChatError(ErrorData(error.code, error.message, error.retry_after), ref)
