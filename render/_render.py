"""One entry point for every export format."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal

import msgspec

from render._docx import render_docx
from render._json import render_json
from render._markdown import render_markdown
from render._options import RenderOptions
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


def _markdown_bytes(doc: ExportDocument, options: RenderOptions) -> bytes:
    return render_markdown(doc, options).encode("utf-8")


def _json_bytes(doc: ExportDocument, _options: RenderOptions) -> bytes:
    # The JSON export is the project's data, complete in every mode, and has no pages.
    return render_json(doc)


_RENDERERS: Final[Mapping[ExportFormat, Callable[[ExportDocument, RenderOptions], bytes]]] = (
    MappingProxyType(
        {"pdf": render_pdf, "docx": render_docx, "md": _markdown_bytes, "json": _json_bytes}
    )
)


def render(
    doc: ExportDocument, fmt: ExportFormat, options: RenderOptions | None = None
) -> RenderedFile:
    """Render ``doc`` in ``fmt`` (final, A4 unless ``options`` say otherwise).

    The file name is an ASCII slug of the title, ``-draft`` in draft mode, plus the format as
    extension. Raises ``ValueError`` for a format not in ``FORMATS``. CPU-bound and
    synchronous: call it from a worker (or a thread), not from the event loop.
    """
    options = options or RenderOptions()
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    name = slugify(doc.title) + ("-draft" if options.draft and fmt != "json" else "")
    return RenderedFile(renderer(doc, options), FORMATS[fmt], f"{name}.{fmt}")
