"""What a reader asked for besides the format: final or draft, and the paper size."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

ExportMode = Literal["final", "draft"]
"""``final``: the document as a reader sees it; ``draft``: also each phase's status and version."""

PaperSize = Literal["A4", "Letter"]
"""The page size of PDF and DOCX exports (Markdown and JSON have no pages)."""

PAPER_SIZES: tuple[PaperSize, ...] = ("A4", "Letter")


class RenderOptions(msgspec.Struct, kw_only=True, frozen=True):
    """How to render: ``final`` on A4 unless asked otherwise."""

    mode: Annotated[
        ExportMode,
        msgspec.Meta(description="final: the text only; draft: status and version per phase"),
    ] = "final"
    paper_size: Annotated[PaperSize, msgspec.Meta(description="PDF and DOCX page size")] = "A4"

    @property
    def draft(self) -> bool:
        """Whether status, version and review notices are shown."""
        return self.mode == "draft"
