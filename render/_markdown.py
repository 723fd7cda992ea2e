"""Markdown export: one clean document with a linked table of contents."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mdit_py_plugins.anchors.index import slugify as anchor_slug

from render._parse import MARKDOWN
from render._text import (
    EMPTY_NOTICE,
    STALE_LABEL,
    STALE_NOTICE,
    clean,
    format_datetime,
    phase_byline,
    phase_heading,
)

if TYPE_CHECKING:
    from render._model import ExportDocument, ExportPhase

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_MAX_HEADING = 6
# The document title is "#", phases are "##": a phase's own "#" becomes "###".
_PHASE_CONTENT_SHIFT = 2


def render_markdown(doc: ExportDocument) -> str:
    """Render ``doc`` as Markdown: title, details, contents with anchors, then every phase."""
    template = clean(doc.template).replace("-", " ").replace("_", " ").strip().capitalize()
    lines = [f"# {escape(clean(doc.title))}", ""]
    lines.append(f"**{escape(template)}** · generated {format_datetime(doc.generated_at)}")
    if doc.author:
        lines += ["", f"Prepared by {escape(clean(doc.author))}"]
    if doc.members:
        team = ", ".join(f"{clean(m.name)} ({clean(m.role)})" for m in doc.members)
        lines += ["", f"Team: {escape(team)}"]
    if doc.metadata:
        lines += ["", "| Detail | Value |", "| --- | --- |"]
        lines += [f"| **{_cell(k)}** | {_cell(v)} |" for k, v in doc.metadata.items()]
    lines += ["", "## Contents", ""]
    for phase in doc.phases:
        label = escape(phase_heading(phase))
        flag = f" *({STALE_LABEL})*" if phase.status == "stale" else ""
        lines.append(f"- [{label}](#{anchor_slug(phase_heading(phase))}){flag}")
    for phase in doc.phases:
        lines += ["", *_phase(phase)]
    return "\n".join(lines) + "\n"


def _phase(phase: ExportPhase) -> list[str]:
    lines = [f"## {escape(phase_heading(phase))}", "", f"*{escape(phase_byline(phase))}*", ""]
    if phase.status == "stale":
        lines += [f"> **{STALE_NOTICE}**", ""]
    content = clean(phase.content).strip()
    lines.append(shift_headings(content, _PHASE_CONTENT_SHIFT) if content else f"*{EMPTY_NOTICE}*")
    return lines


def shift_headings(markdown: str, by: int) -> str:
    """``markdown`` with its top-level headings ``by`` levels deeper, as ATX headings.

    The rest of the text is kept byte for byte. Headings inside quotes or lists keep their level:
    rewriting them would mean re-creating the container's line prefixes.
    """
    lines: list[str | None] = list(markdown.split("\n"))
    tokens = MARKDOWN.parse(markdown)
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0 or token.map is None:
            continue
        start, end = token.map
        level = min(int(token.tag[1:]) + by, _MAX_HEADING)
        lines[start] = f"{'#' * level} {tokens[index + 1].content}"
        for setext_line in range(start + 1, end):
            lines[setext_line] = None
    return "\n".join(line for line in lines if line is not None)


def escape(text: str) -> str:
    """``text`` with Markdown's inline syntax characters backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", text)


def _cell(text: str) -> str:
    return escape(clean(text)).replace("\n", " ")
