"""The wire shapes of what clients see, shared by REST responses and event frames.

A ``phase:updated`` frame carries exactly the ``Phase`` that ``GET /projects/{id}/phases/{n}``
returns, and so on for sessions, messages, documents and exports: one struct each, here, so the
two transports cannot drift. Each domain maps its rows to these in its ``schemas.py``
(``<entity>_out``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from providers import Hop
from render import ExportFormat

PhaseStatus = Literal["not_started", "in_progress", "completed", "stale"]
MessageStatus = Literal["complete", "stopped", "interrupted", "failed"]
DocumentStatus = Literal["uploaded", "processing", "completed", "failed", "cancelled"]
ExportStatus = Literal["queued", "running", "completed", "failed", "expired"]


class Session(msgspec.Struct):
    """A chat session of a project; ``phase_number`` is the phase its conversation is on."""

    id: UUID
    project_id: UUID
    title: str | None
    phase_number: int | None
    last_seq: int
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class Citation(msgspec.Struct):
    """A passage an assistant message cites as ``[ref]`` in its text."""

    ref: str
    source: str
    document_id: UUID | None = None
    chunk_id: UUID | None = None
    page: int | None = None
    message_id: UUID | None = None
    """For a passage of the conversation (an earlier answer): the message it came from."""


class Usage(msgspec.Struct):
    """What producing an assistant message cost, over every provider tried (``hops``)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    hops: list[Hop] = msgspec.field(default_factory=list)


class PromptVersion(msgspec.Struct, frozen=True):
    """One prompt as used: its name, the hash of its text and the label it had then."""

    name: str
    hash: str
    label: str | None = None


class FeedbackSummary(msgspec.Struct):
    """The ratings of an assistant message: counts and the reader's own rating."""

    up: int = 0
    down: int = 0
    mine: Literal["up", "down"] | None = None


class Message(msgspec.Struct):
    """A stored message. ``author`` is the user's id, or ``"assistant"``; an assistant
    message's ``status`` says whether it is ``complete``, ``stopped`` by a user (partial text
    kept), ``interrupted`` (its process died) or ``failed`` (no provider could answer, or
    storing the reply failed; the text streamed before the failure is kept)."""

    id: UUID
    session_id: UUID
    seq: int
    role: Literal["user", "assistant"]
    content: str
    status: MessageStatus
    author: str
    created_at: datetime
    client_message_id: str | None = None
    reply_to: UUID | None = None
    phase: int | None = None
    provider: str | None = None
    model: str | None = None
    usage: Usage | None = None
    """Tokens, cost and latency of an assistant message; None for a user's."""
    citations: list[Citation] = msgspec.field(default_factory=list)
    prompts: list[PromptVersion] = msgspec.field(default_factory=list)
    """For an assistant message: the prompt versions it was written with."""
    feedback: FeedbackSummary | None = None
    """For an assistant message: its up and down ratings and the reader's own (``mine``)."""


class PhaseAnswer(msgspec.Struct):
    """The user's answer to one of a phase's questions."""

    index: int
    question: str
    answer: str
    answered_at: datetime
    message_id: UUID | None = None


class Phase(msgspec.Struct):
    """A phase of a project's document with its questions, answers and current content.

    ``next_question`` is the index of the first unanswered question; ``awaiting_approval`` is
    true while a draft exists but the phase has not been approved.
    """

    number: int
    title: str
    goal: str
    status: PhaseStatus
    depends_on: list[int]
    current_version: int | None
    awaiting_approval: bool
    questions: list[str]
    answers: list[PhaseAnswer]
    next_question: int | None
    content: str | None
    updated_at: datetime
    written_with_older_template: bool = False
    """Completed, but the phase's part of the template (instructions, questions...) changed
    since its current version was drafted: worth a look, not stale."""


class Document(msgspec.Struct):
    """An uploaded document and how far its processing has come."""

    id: UUID
    project_id: UUID
    filename: str
    kind: str
    size_bytes: int
    sha256: str
    status: DocumentStatus
    error_code: str | None
    error: str | None
    title: str | None
    page_count: int | None
    pages_done: int
    chunks_total: int
    chunks_done: int
    uploaded_by: UUID | None
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = msgspec.field(default_factory=list)
    """Sentences about text that could not be read (e.g. PDF pages whose fonts have no usable
    character map); the rest of the document was indexed."""


class Export(msgspec.Struct):
    """An export: ``queued → running → completed | failed``, then ``expired``."""

    id: UUID
    project_id: UUID
    format: ExportFormat
    status: ExportStatus
    created_at: datetime
    updated_at: datetime
    filename: str | None = None
    content_type: str | None = None
    size_bytes: int | None = None
    error: str | None = None
    expires_at: datetime | None = None
    download_url: str | None = None
