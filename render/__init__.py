"""Export renderers: pure functions turning a project's document into PDF, DOCX, Markdown or JSON.

A library: it never imports ``server`` or ``tasks``; the exports domain builds the
``ExportDocument`` from the database and stores what comes back.

``render(doc, fmt)`` is the entry point; the per-format functions are exported for callers that
need one format only. The JSON export's schema lives in docs/export-schema.json.
"""

from __future__ import annotations

from render._docx import render_docx
from render._json import (
    SCHEMA_VERSION,
    JsonExport,
    decode_json_export,
    export_json_schema,
    render_json,
)
from render._markdown import render_markdown
from render._model import (
    ExportDocument,
    ExportMember,
    ExportPhase,
    ExportSource,
    ExportVersion,
    PhaseStatus,
)
from render._options import PAPER_SIZES, ExportMode, PaperSize, RenderOptions
from render._pdf import render_pdf
from render._render import FORMATS, ExportFormat, RenderedFile, render

__all__ = [
    "FORMATS",
    "PAPER_SIZES",
    "SCHEMA_VERSION",
    "ExportDocument",
    "ExportFormat",
    "ExportMember",
    "ExportMode",
    "ExportPhase",
    "ExportSource",
    "ExportVersion",
    "JsonExport",
    "PaperSize",
    "PhaseStatus",
    "RenderOptions",
    "RenderedFile",
    "decode_json_export",
    "export_json_schema",
    "render",
    "render_docx",
    "render_json",
    "render_markdown",
    "render_pdf",
]
