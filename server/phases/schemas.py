"""Wire schemas of phases, their versions, diffs and reconstructed drafting context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from providers import ReplyContext
from server.events import Phase, PhaseAnswer, PhaseStatus, PromptVersion

__all__ = (
    "AnswerUpdate",
    "ContextRequest",
    "Phase",
    "PhaseAnswer",
    "PhaseEdit",
    "PhaseStatus",
    "PhaseVersion",
    "PromptMessage",
    "ReconstructedContext",
    "Source",
    "StaleRegeneration",
    "VersionDiff",
)

Content = Annotated[str, msgspec.Meta(max_length=500_000)]


class PhaseVersion(msgspec.Struct):
    """One stored version of a phase: who wrote it, when, and from what."""

    version: int
    content: str
    author_kind: Literal["user", "assistant"]
    author_id: UUID | None
    provider: str | None
    model: str | None
    answers: list[PhaseAnswer]
    based_on: int | None
    note: str | None
    sources: list[Source]
    created_at: datetime
    prompts: list[PromptVersion] = msgspec.field(default_factory=list)
    """The prompt versions a draft was written with (with ``provider`` and ``model``)."""


class PhaseEdit(msgspec.Struct, forbid_unknown_fields=True):
    """New content for a phase; ``based_on_version`` is the version the editor started from."""

    content: Content
    based_on_version: int | None
    note: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class AnswerUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A new answer to question ``index`` of a phase."""

    answer: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class VersionDiff(msgspec.Struct):
    """A unified diff between two versions of a phase."""

    from_version: int
    to_version: int
    diff: str
    added_lines: int
    removed_lines: int


class Source(msgspec.Struct, omit_defaults=True):
    """Something a draft was built from: instructions, answers, an earlier phase, a passage."""

    kind: Literal["instructions", "answers", "phase", "document", "message"]
    label: str
    tokens: int
    phase_number: int | None = None
    version: int | None = None
    summarised: bool = False
    ref: str | None = None
    document_id: UUID | None = None
    chunk_id: UUID | None = None
    message_id: UUID | None = None
    page: int | None = None


class PromptMessage(msgspec.Struct):
    """One message exactly as it would be sent to the model."""

    role: Literal["system", "user", "assistant"]
    content: str


class ContextRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Options of a context reconstruction."""

    budget_tokens: Annotated[int, msgspec.Meta(ge=500, le=200_000)] | None = None


class ReconstructedContext(msgspec.Struct):
    """Exactly what drafting a phase would send, with where every part came from."""

    phase_number: int
    messages: list[PromptMessage]
    context: ReplyContext
    sources: list[Source]
    gaps: list[str]
    prompt_tokens: int
    budget_tokens: int
    prompts: list[PromptVersion] = msgspec.field(default_factory=list)
    """The prompt versions (drafting prompt, template, this phase's part of it) used now."""


class StaleRegeneration(msgspec.Struct):
    """The result of regenerating every stale phase, in dependency order."""

    regenerated: list[int]
    phases: list[Phase]
