"""The input of every renderer: a project's document as plain data, decoupled from the database."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

PhaseStatus = Literal["not_started", "in_progress", "completed", "stale"]


class ExportMember(msgspec.Struct, kw_only=True, frozen=True):
    """A person with access to the project."""

    name: str
    role: Annotated[str, msgspec.Meta(description="owner, editor or viewer")]
    email: str | None = None


class ExportVersion(msgspec.Struct, kw_only=True, frozen=True):
    """One stored draft or edit of a phase; versions are never overwritten."""

    number: int
    content: Annotated[str, msgspec.Meta(description="Markdown text of this version")]
    created_at: datetime
    author: str
    source: Annotated[
        str,
        msgspec.Meta(
            description='"user" for a person\'s edit, "assistant:<provider>/<model>" for a draft',
            examples=["user", "assistant:openai/gpt-4o"],
        ),
    ]
    note: str | None = None


class ExportSource(msgspec.Struct, kw_only=True, frozen=True):
    """A passage the current text of a phase cites as ``[S1]``, ``[S2]``…"""

    ref: Annotated[str, msgspec.Meta(description='the marker in the text, e.g. "S1"')]
    label: Annotated[
        str,
        msgspec.Meta(
            description="where the passage is from",
            examples=["market-study.pdf, p. 3, Market > Size", "conversation, 2026-03-02"],
        ),
    ]


class ExportPhase(msgspec.Struct, kw_only=True, frozen=True):
    """A phase of the document with its current text and its version history."""

    number: int
    title: str
    status: Annotated[
        PhaseStatus,
        msgspec.Meta(
            description="stale: something this phase depends on changed after it was drafted"
        ),
    ]
    content: Annotated[
        str, msgspec.Meta(description="Markdown of the current version; empty when no draft")
    ] = ""
    current_version: int | None = None
    updated_at: datetime | None = None
    versions: list[ExportVersion] = msgspec.field(default_factory=list)
    sources: Annotated[
        list[ExportSource],
        msgspec.Meta(description="the passages the current text cites, by marker"),
    ] = msgspec.field(default_factory=list)


class ExportDocument(msgspec.Struct, kw_only=True, frozen=True):
    """Everything an export shows about a project, phases in order."""

    project_id: str
    title: str
    template: Annotated[str, msgspec.Meta(description="workflow template, e.g. business-plan")]
    generated_at: datetime
    author: str | None = None
    members: list[ExportMember] = msgspec.field(default_factory=list)
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    phases: list[ExportPhase] = msgspec.field(default_factory=list)
