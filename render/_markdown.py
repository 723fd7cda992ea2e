"""Markdown export: one clean document with a linked table of contents."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mdit_py_plugins.anchors.index import slugify as anchor_slug

from render._options import RenderOptions
from render._parse import MARKDOWN, section_levels, title_heading
from render._text import (
    SOURCES_HEADING,
    STALE_LABEL,
    STALE_NOTICE,
    cited_sources,
    clean,
    is_written,
    phase_byline,
    phase_heading,
    template_label,
    title_details,
    unwritten_note,
)

if TYPE_CHECKING:
    from render._model import ExportDocument, ExportPhase

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_MAX_HEADING = 6
# The document title is "#", phases are "##": a phase's first heading level becomes "###".
_PHASE_LEVEL = 2
# The quote and list markers before a nested heading's text: "> ", "- ", "  1. ".
_CONTAINER = re.compile(r"(?:[ \t]*(?:>|[-+*]|\d{1,9}[.)]))*[ \t]*")
_LIST_MARKER = re.compile(r"[-+*]|\d{1,9}[.)]")


def render_markdown(doc: ExportDocument, options: RenderOptions | None = None) -> str:
    """Render ``doc`` as Markdown: title, details, contents with anchors, the written phases,
    and one line naming the phases not yet written."""
    options = options or RenderOptions()
    lines = [f"# {escape(clean(doc.title))}", "", f"**{escape(template_label(doc.template))}**"]
    lines += [line for detail in title_details(doc, options) for line in ("", escape(detail))]
    if doc.metadata:
        lines += ["", "| Detail | Value |", "| --- | --- |"]
        lines += [f"| **{_cell(k)}** | {_cell(v)} |" for k, v in doc.metadata.items()]
    written = [phase for phase in doc.phases if is_written(phase)]
    if written:
        lines += ["", "## Contents", ""]
    for phase in written:
        label = escape(phase_heading(phase))
        flag = f" *({STALE_LABEL})*" if options.draft and phase.status == "stale" else ""
        lines.append(f"- [{label}](#{anchor_slug(phase_heading(phase))}){flag}")
    note = unwritten_note(doc.phases)
    if note:
        lines += ["", f"*{escape(note)}*"]
    for phase in written:
        lines += ["", *_phase(phase, options)]
    return "\n".join(lines) + "\n"


def _phase(phase: ExportPhase, options: RenderOptions) -> list[str]:
    lines = [f"## {escape(phase_heading(phase))}", ""]
    if options.draft:
        lines += [f"*{escape(phase_byline(phase))}*", ""]
        if phase.status == "stale":
            lines += [f"> **{STALE_NOTICE}**", ""]
    lines.append(shift_headings(clean(phase.content).strip(), _PHASE_LEVEL, phase.title))
    sources = cited_sources(phase)
    if sources:
        lines += ["", f"**{SOURCES_HEADING}**", ""]
        lines += [f"- \\[{s.ref}\\] {escape(clean(s.label))}" for s in sources]
    return lines


def shift_headings(markdown: str, by: int, title: str = "") -> str:
    """``markdown`` with its headings nested ``by`` levels down, as ATX headings, no level skipped.

    Top-level headings are renumbered by :func:`outline_levels` (the first at ``by + 1``); a
    first heading that only repeats the section's ``title`` is left out. A heading inside a
    quote or a list is not part of the outline: it becomes a bold line. The rest of the text is
    kept byte for byte.
    """
    lines: list[str | None] = list(markdown.split("\n"))
    tokens = MARKDOWN.parse(markdown)
    skip = title_heading(tokens, title)
    depths = section_levels(tokens, skip)
    if skip is not None and tokens[0].map is not None:
        for number in range(*tokens[0].map):
            lines[number] = None
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.map is None or (skip and index in skip):
            continue
        start, end = token.map
        content = tokens[index + 1].content
        depth = depths.get(index)
        if depth is not None:
            lines[start] = f"{'#' * min(by + depth, _MAX_HEADING)} {content}"
            for setext_line in range(start + 1, end):
                lines[setext_line] = None
            continue
        line = lines[start] or ""
        prefix = _CONTAINER.match(line)
        marker = prefix.group(0) if prefix else ""
        blank = _LIST_MARKER.sub(lambda m: " " * len(m.group(0)), marker).rstrip()
        if token.markup.startswith("#"):
            # A blank container line after it keeps the next line out of the bold paragraph.
            lines[start] = f"{marker}**{' '.join(content.split())}**\n{blank}"
        else:
            lines[start] = f"{marker}**{line[len(marker) :].strip()}"
            last = end - 2
            lines[last] = f"{lines[last]}**"
            lines[end - 1] = blank
    return "\n".join(line for line in lines if line is not None).strip("\n")


def escape(text: str) -> str:
    """``text`` with Markdown's inline syntax characters backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", text)


def _cell(text: str) -> str:
    return escape(clean(text)).replace("\n", " ")
