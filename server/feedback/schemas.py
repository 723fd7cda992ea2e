"""Wire schemas of feedback."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

Rating = Literal["up", "down"]
Dimension = Literal["provider", "model", "profile", "prompt", "phase", "day"]
DIMENSIONS: tuple[Dimension, ...] = ("provider", "model", "profile", "prompt", "phase", "day")
Comment = Annotated[str, msgspec.Meta(max_length=4000)]


class FeedbackIn(msgspec.Struct, forbid_unknown_fields=True):
    """A rating of an assistant message; sending another replaces it."""

    rating: Rating
    comment: Comment | None = None


class FeedbackOut(msgspec.Struct):
    """The caller's rating as stored (``null`` once withdrawn), with the message's counts."""

    message_id: UUID
    session_id: UUID
    rating: Rating | None
    comment: str | None
    up: int
    down: int
    updated_at: datetime


class FeedbackGroup(msgspec.Struct):
    """Ratings of one group of replies; a dimension not grouped by is ``null``.

    ``prompt`` is ``name@hash`` (``label`` beside it): a reply written with several prompt
    versions counts in the group of each.
    """

    up: int
    down: int
    total: int
    up_share: float
    provider: str | None = None
    model: str | None = None
    profile: str | None = None
    prompt: str | None = None
    prompt_label: str | None = None
    phase: int | None = None
    day: date | None = None


class RatedExchange(msgspec.Struct):
    """One line of the JSONL export: a rated reply with its question and the context sent."""

    message_id: UUID
    project_id: UUID
    session_id: UUID
    rating: Rating
    comment: str | None
    rated_at: datetime
    question: str | None
    """The user's message the reply answered (none for a phase command)."""
    context: list[dict[str, Any]]
    """The passages sent to the model with the question."""
    answer: str
    provider: str | None
    model: str | None
    profile: str | None
    phase: int | None
    prompts: list[dict[str, Any]]
