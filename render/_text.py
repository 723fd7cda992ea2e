"""Text helpers shared by every renderer: sanitising user text, labels, dates, slugs."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from render._model import ExportPhase

# Characters no XML document (DOCX) may hold and no PDF string should carry: C0 controls other
# than tab/newline/carriage return, DEL, lone surrogates and the two non-characters.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

STALE_NOTICE = (
    "Needs review: something this phase depends on changed after it was drafted, "
    "so its text may be out of date."
)
EMPTY_NOTICE = "Not written yet."
STALE_LABEL = "needs review"


def clean(text: str) -> str:
    """``text`` without characters that XML or PDF text cannot carry."""
    return _UNSAFE.sub("", text.replace("\r\n", "\n"))


def phase_heading(phase: ExportPhase) -> str:
    """The heading of a phase as every format shows it: ``"3. Problem"``."""
    return f"{phase.number}. {clean(phase.title).strip()}"


def format_datetime(value: datetime) -> str:
    """A date and time for readers: ``"2026-03-14 09:30 UTC"`` (offset shown when not UTC)."""
    if value.tzinfo is None:
        return value.strftime("%Y-%m-%d %H:%M")
    offset = value.utcoffset()
    suffix = "UTC" if not offset else value.strftime("UTC%z")
    return f"{value.strftime('%Y-%m-%d %H:%M')} {suffix}"


def phase_byline(phase: ExportPhase) -> str:
    """A short status line under a phase heading, e.g. ``"Completed · version 3 · updated …"``."""
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
