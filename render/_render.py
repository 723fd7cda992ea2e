"""One entry point for every export format."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal

import msgspec

from render._docx import render_docx
from render._json import render_json
from render._markdown import render_markdown
from render._pdf import render_pdf
from render._text import slugify

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from render._model import ExportDocument

ExportFormat = Literal["pdf", "docx", "md", "json"]

FORMATS: Final[Mapping[ExportFormat, str]] = MappingProxyType(
    {
        "pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "md": "text/markdown; charset=utf-8",
        "json": "application/json",
    }
)
"""Every export format (also its file extension) and its content type."""


class RenderedFile(msgspec.Struct, frozen=True):
    """A rendered export, ready to store or send."""

    content: bytes
    content_type: str
    filename: str


def _markdown_bytes(doc: ExportDocument) -> bytes:
    return render_markdown(doc).encode("utf-8")


_RENDERERS: Final[Mapping[ExportFormat, Callable[[ExportDocument], bytes]]] = MappingProxyType(
    {"pdf": render_pdf, "docx": render_docx, "md": _markdown_bytes, "json": render_json}
)


def render(doc: ExportDocument, fmt: ExportFormat) -> RenderedFile:
    """Render ``doc`` in ``fmt``; the file name is an ASCII slug of the title plus the extension.

    Raises ``ValueError`` for a format not in ``FORMATS``. CPU-bound and synchronous: call it
    from a worker (or a thread), not from the event loop.
    """
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return RenderedFile(renderer(doc), FORMATS[fmt], f"{slugify(doc.title)}.{fmt}")
