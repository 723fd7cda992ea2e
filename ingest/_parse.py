"""`parse`: bytes of a known kind to a `ParsedDocument`, in the calling process."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ingest._control import ParseControl
from ingest._docx import parse_docx
from ingest._errors import IngestError
from ingest._markdown import parse_markdown
from ingest._pdf import parse_pdf
from ingest._sizes import human_size
from ingest._types import Limits

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from ingest._types import DocumentKind, ParsedDocument, Progress

__all__ = ["parse"]

_PARSERS = {"pdf": parse_pdf, "docx": parse_docx, "markdown": parse_markdown}
_NAMES = {"pdf": "PDF", "docx": "Word document", "markdown": "text file"}
# Library messages sometimes embed an object's repr ("<_io.BytesIO object at 0x7f...>") or a
# class path; neither means anything to the person who uploaded the file.
_OBJECT_REPR = re.compile(r"'?<[^<>]*\bat 0x[0-9a-fA-F]+>'?|<class '[\w.]+'>|\b0x[0-9a-fA-F]{6,}\b")
_DETAIL_CHARS = 200


def parse(
    data: bytes,
    kind: DocumentKind,
    limits: Limits | None = None,
    progress: Callable[[Progress], None] | None = None,
    *,
    should_cancel: Callable[[], bool] | threading.Event | None = None,
) -> ParsedDocument:
    """Parse `data` as `kind` in this process.

    Cancellation (`should_cancel`), the size limit and the time limit are checked between
    pages and blocks; `progress` receives a `Progress` after each page (PDF) or every few
    hundred blocks. Every failure is an `IngestError`; use `parse_isolated` for files from
    untrusted sources, which also bounds memory and survives parser crashes.
    """
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise IngestError(
            "too_large",
            f"the file is {human_size(len(data))}; the limit is {human_size(limits.max_bytes)}",
        )
    control = ParseControl(limits.timeout_s, progress, should_cancel)
    control.check()
    try:
        document = _PARSERS[kind](data, limits, control)
    except IngestError:
        raise
    except MemoryError as exc:
        raise IngestError("memory", f"the {_NAMES[kind]} needs more memory than allowed") from exc
    except RecursionError as exc:
        raise IngestError("malformed", f"the {_NAMES[kind]} is nested too deeply") from exc
    except Exception as exc:
        # Parsers of hostile files fail in many library-specific ways; each is a damaged file.
        raise IngestError(
            "malformed",
            f"the {_NAMES[kind]} is damaged and could not be read{_detail(exc)}",
        ) from exc
    if not any(block.text.strip() for block in document.blocks):
        raise IngestError("empty", f"the {_NAMES[kind]} contains no text")
    control.finished(document.page_count or 0, document.page_count, len(document.blocks))
    return document


def _detail(exc: Exception) -> str:
    """What the library said, in parentheses, without object reprs; empty when nothing is
    left."""
    text = " ".join(_OBJECT_REPR.sub("the file", str(exc)).split())[:_DETAIL_CHARS]
    return f" ({text})" if text else ""
