"""Paragraph and table styles of the PDF export."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle

INK = colors.HexColor("#1f2937")
MUTED = colors.HexColor("#6b7280")
RULE = colors.HexColor("#d1d5db")
HEADER_FILL = colors.HexColor("#eef2f7")
STALE_FILL = colors.HexColor("#fff4e5")
STALE_BORDER = colors.HexColor("#f59e0b")
STALE_INK = colors.HexColor("#92400e")

BODY = ParagraphStyle(
    "Body", fontName="Helvetica", fontSize=10.5, leading=14.5, textColor=INK, spaceAfter=6
)
LIST_ITEM = ParagraphStyle("ListItem", parent=BODY, spaceAfter=2)
QUOTE = ParagraphStyle("Quote", parent=BODY, textColor=MUTED, fontName="Helvetica-Oblique")
CELL = ParagraphStyle("Cell", parent=BODY, fontSize=9, leading=11.5, spaceAfter=0)
HEADER_CELL = ParagraphStyle("HeaderCell", parent=CELL, fontName="Helvetica-Bold")
CODE = ParagraphStyle(
    "Code",
    parent=BODY,
    fontName="Courier",
    fontSize=9,
    leading=11.5,
    backColor=colors.HexColor("#f3f4f6"),
    borderPadding=(4, 6, 4, 6),
    leftIndent=6,
    rightIndent=6,
    spaceBefore=4,
    spaceAfter=10,
)
BYLINE = ParagraphStyle("Byline", parent=BODY, fontSize=9, textColor=MUTED, spaceAfter=10)
NOTICE = ParagraphStyle("Notice", parent=BODY, textColor=STALE_INK, spaceAfter=0)
SOURCES_HEADING = ParagraphStyle(
    "SourcesHeading",
    parent=BODY,
    fontName="Helvetica-Bold",
    fontSize=9,
    leading=12,
    textColor=MUTED,
    spaceBefore=12,
    spaceAfter=2,
    keepWithNext=1,
)
SOURCE = ParagraphStyle(
    "Source",
    parent=BODY,
    fontSize=9,
    leading=12,
    textColor=MUTED,
    leftIndent=26,
    bulletIndent=0,
    bulletFontName="Helvetica",
    bulletFontSize=9,
    spaceAfter=1,
)
UNWRITTEN = ParagraphStyle(
    "Unwritten", parent=BODY, fontName="Helvetica-Oblique", textColor=MUTED, spaceBefore=14
)

PHASE_HEADING = ParagraphStyle(
    "PhaseHeading",
    parent=BODY,
    fontName="Helvetica-Bold",
    fontSize=20,
    leading=25,
    spaceBefore=0,
    spaceAfter=4,
    keepWithNext=1,
)
HEADINGS = {
    2: ParagraphStyle(
        "Heading2",
        parent=PHASE_HEADING,
        fontSize=15,
        leading=19,
        spaceBefore=12,
        spaceAfter=6,
    ),
    3: ParagraphStyle(
        "Heading3", parent=PHASE_HEADING, fontSize=12.5, leading=16, spaceBefore=10, spaceAfter=4
    ),
    4: ParagraphStyle(
        "Heading4", parent=PHASE_HEADING, fontSize=11, leading=14, spaceBefore=8, spaceAfter=3
    ),
}

TITLE = ParagraphStyle(
    "Title", parent=BODY, fontName="Helvetica-Bold", fontSize=30, leading=36, alignment=TA_CENTER
)
SUBTITLE = ParagraphStyle(
    "Subtitle", parent=BODY, fontSize=14, leading=20, textColor=MUTED, alignment=TA_CENTER
)
TITLE_DETAIL = ParagraphStyle("TitleDetail", parent=SUBTITLE, fontSize=10.5, leading=15)
CONTENTS_HEADING = ParagraphStyle("ContentsHeading", parent=PHASE_HEADING, spaceAfter=14)
TOC_LEVELS = [
    ParagraphStyle(
        "TOCLevel0",
        parent=BODY,
        fontName="Helvetica-Bold",
        fontSize=10.5,
        leading=16,
        leftIndent=0,
        firstLineIndent=0,
        spaceBefore=5,
        spaceAfter=0,
    ),
    ParagraphStyle(
        "TOCLevel1",
        parent=BODY,
        fontSize=10,
        leading=14,
        leftIndent=16,
        firstLineIndent=0,
        spaceAfter=0,
    ),
]


def heading_style(level: int) -> ParagraphStyle:
    """The style of a content heading at ``level`` (2 and deeper; the phase heading is 1)."""
    return HEADINGS[min(max(level, 2), 4)]


_ALIGNMENTS = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}


def cell_style(base: ParagraphStyle, align: str) -> ParagraphStyle:
    """``base`` aligned as a table column asks (``left``, ``center`` or ``right``)."""
    if align == "left":
        return base
    return ParagraphStyle(f"{base.name}-{align}", parent=base, alignment=_ALIGNMENTS[align])
