"""Text helpers shared by every renderer: sanitising user text, labels, dates, slugs."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from render._model import ExportDocument, ExportPhase, ExportSource
    from render._options import RenderOptions

# Characters no XML document (DOCX) may hold and no PDF string should carry: C0 controls other
# than tab/newline/carriage return, DEL, lone surrogates and the two non-characters.
_CITATION = re.compile(r"\[(S\d{1,6})\]")
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

STALE_NOTICE = (
    "Needs review: something this phase depends on changed after it was drafted, "
    "so its text may be out of date."
)
STALE_LABEL = "needs review"
DRAFT_LABEL = "Draft"
SOURCES_HEADING = "Sources"


def clean(text: str) -> str:
    """``text`` without characters that XML or PDF text cannot carry."""
    return _UNSAFE.sub("", text.replace("\r\n", "\n"))


def phase_heading(phase: ExportPhase) -> str:
    """The heading of a phase as every format shows it: ``"3. Problem"``."""
    return f"{phase.number}. {clean(phase.title).strip()}"


def is_written(phase: ExportPhase) -> bool:
    """Whether the phase has text to show; unwritten phases are only listed, once."""
    return bool(phase.content.strip())


def unwritten_note(phases: Iterable[ExportPhase]) -> str | None:
    """``"Not yet written: Phase 13 Risks, Phase 14 Executive summary."``, or None."""
    names = [f"Phase {p.number} {clean(p.title).strip()}" for p in phases if not is_written(p)]
    return f"Not yet written: {', '.join(names)}." if names else None


def template_label(template: str) -> str:
    """A workflow template as a subtitle: ``"business-plan"`` → ``"Business plan"``."""
    return clean(template).replace("-", " ").replace("_", " ").strip().capitalize()


def format_date(value: datetime) -> str:
    """A date for a title page: ``"14 March 2026"``."""
    return f"{value.day} {value.strftime('%B %Y')}"


def format_datetime(value: datetime) -> str:
    """A date and time for readers: ``"2026-03-14 09:30 UTC"`` (offset shown when not UTC)."""
    if value.tzinfo is None:
        return value.strftime("%Y-%m-%d %H:%M")
    offset = value.utcoffset()
    suffix = "UTC" if not offset else value.strftime("UTC%z")
    return f"{value.strftime('%Y-%m-%d %H:%M')} {suffix}"


def title_details(doc: ExportDocument, options: RenderOptions) -> list[str]:
    """The lines under the title: author and date; in draft mode the time and the team too."""
    lines: list[str] = []
    if options.draft:
        lines.append(f"{DRAFT_LABEL} · generated {format_datetime(doc.generated_at)}")
    if doc.author:
        lines.append(f"Prepared by {clean(doc.author)}")
    if options.draft and doc.members:
        lines.append(
            "Team: " + ", ".join(f"{clean(m.name)} ({clean(m.role)})" for m in doc.members)
        )
    if not options.draft:
        lines.append(format_date(doc.generated_at))
    return lines


def cited_sources(phase: ExportPhase) -> list[ExportSource]:
    """The phase's sources that its text cites (``[S2]``), by number."""
    cited = set(_CITATION.findall(phase.content))
    found = [source for source in phase.sources if source.ref in cited]
    return sorted(found, key=lambda source: int(source.ref[1:]))


def phase_byline(phase: ExportPhase) -> str:
    """The draft mode's line under a phase heading: ``"Completed · version 3 · updated …"``."""
    parts = [phase.status.replace("_", " ").capitalize()]
    if phase.current_version is not None:
        parts.append(f"version {phase.current_version}")
    if phase.updated_at is not None:
        parts.append(f"updated {format_datetime(phase.updated_at)}")
    return " · ".join(parts)


def slugify(title: str, fallback: str = "export", max_length: int = 80) -> str:
    """An ASCII slug of ``title`` safe as a file name: lowercase letters, digits and dashes."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:max_length].rstrip("-") or fallback
