"""A phase draft as a model writes it with structured output: sections with their text and the
passages they cite, rendered into the clean Markdown a version stores.

The rendering is where a draft is held to the document's shape whatever the model sent: one
``## Title`` heading, ``###`` section headings, no headings or block quotes inside a section's
text, and every passage a section says it cites named in its text.
"""

from __future__ import annotations

import re
from functools import partial

import msgspec

from providers import MARKER, Output

DRAFT_DESCRIPTION = (
    "The draft of one section of the user's document: its parts, in reading order. Each part "
    "has a heading (empty for the opening paragraphs), its text as plain paragraphs with a "
    "marker such as [S1] where it relies on a passage, and the ids of the passages it cites."
)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_QUOTE = re.compile(r"^\s{0,3}(?:>\s?)+")


class DraftPart(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One part of a drafted section."""

    heading: str
    text: str
    citations: list[str]
    """Passage ids (``S1``…) the part relies on."""


class Draft(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A drafted section, as the model answers it."""

    parts: list[DraftPart]


def draft_output(title: str) -> Output:
    """The structured output a draft of the section ``title`` asks for."""
    return Output(Draft, "phase_draft", DRAFT_DESCRIPTION, render=partial(render_draft, title))


def _clean(text: str, headings: set[str]) -> str:
    """``text`` without block quote markers, and without heading markers: a heading repeating
    the section's or the part's goes, any other stays as a line of text."""
    lines: list[str] = []
    for line in text.strip().splitlines():
        bare = _QUOTE.sub("", line)
        if _HEADING.match(bare):
            bare = _HEADING.sub("", bare)
            if bare.strip().lower() in headings:
                continue
        lines.append(bare.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def render_draft(title: str, draft: Draft) -> str:
    """``draft`` as the Markdown of a version: ``## title``, then each part."""
    blocks = [f"## {title}"]
    for part in draft.parts:
        heading = " ".join(part.heading.strip().lstrip("#").split())
        text = _clean(part.text, {title.lower(), heading.lower()})
        if not text:
            continue
        if heading and heading.lower() != title.lower():
            blocks.append(f"### {heading}")
        named = set(MARKER.findall(text))
        missing = [ref for ref in dict.fromkeys(part.citations) if ref not in named]
        if missing:
            text += " " + " ".join(f"[{ref}]" for ref in missing)
        blocks.append(text)
    return "\n\n".join(blocks)
