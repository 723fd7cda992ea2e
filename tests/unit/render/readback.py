"""Read exported files back as a reader's software would: headings with their levels, paper size,
the DOCX contents as shown before Word updates them. Shared by the unit and integration tests."""

from __future__ import annotations

import io
import itertools
from typing import Any

import docx
import pypdf
from docx.oxml.ns import qn
from docx.shared import Length
from markdown_it import MarkdownIt

from render import _pdf_styles as st

# Headings are bold Helvetica at sizes no other text uses: the size says the level.
_PDF_LEVELS = {st.TITLE.fontSize: 0, st.PHASE_HEADING.fontSize: 1} | {
    style.fontSize: level for level, style in st.HEADINGS.items()
}
POINTS_PER_MM = 72 / 25.4


def pdf_headings(content: bytes) -> list[tuple[int, str]]:
    """Every heading of a PDF in reading order, as (level, text); the title is level 0."""
    chunks: list[tuple[int | None, str]] = []

    def visit(text: str, _cm: Any, tm: Any, font: Any, size: float) -> None:
        name = str(font.get("/BaseFont", "")) if font else ""
        level = _PDF_LEVELS.get(round(size * tm[0], 1)) if "Bold" in name else None
        if text.strip() or level is not None:
            chunks.append((level, text.strip()))

    for page in pypdf.PdfReader(io.BytesIO(content)).pages:
        page.extract_text(visitor_text=visit)
        chunks.append((None, "(page break)"))
    headings: list[tuple[int, str]] = []
    for level, group in itertools.groupby(chunks, key=lambda chunk: chunk[0]):
        text = " ".join(" ".join(t for _, t in group).split())
        if level is not None and text:
            headings.append((level, text))
    return headings


def pdf_page_size_mm(content: bytes) -> set[tuple[int, int]]:
    """The (width, height) in millimetres, rounded, of every page of a PDF."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    return {
        (
            round(float(p.mediabox.width) / POINTS_PER_MM),
            round(float(p.mediabox.height) / POINTS_PER_MM),
        )
        for p in reader.pages
    }


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def docx_headings(content: bytes) -> list[tuple[int, str]]:
    """The Title (level 0) and ``Heading N`` paragraphs of a DOCX, in order."""
    out: list[tuple[int, str]] = []
    for paragraph in docx.Document(io.BytesIO(content)).paragraphs:
        name = paragraph.style.name if paragraph.style is not None else ""
        if name == "Title":
            out.append((0, paragraph.text))
        elif name.startswith("Heading "):
            out.append((int(name.removeprefix("Heading ")), paragraph.text))
    return out


def docx_page_size_mm(content: bytes) -> set[tuple[int, int]]:
    """The (width, height) in millimetres, rounded, of every section of a DOCX."""
    sections = docx.Document(io.BytesIO(content)).sections
    return {(round(Length(s.page_width).mm), round(Length(s.page_height).mm)) for s in sections}


def docx_toc(content: bytes) -> list[tuple[str, str]]:
    """The contents as Word and LibreOffice show them before updating the TOC field: the
    (style, text) of each paragraph between the field's start and its end."""
    document = docx.Document(io.BytesIO(content))
    shown: list[tuple[str, str]] = []
    inside = False
    for paragraph in document.paragraphs:
        p = paragraph._p
        codes = [t.text or "" for t in p.iter(qn("w:instrText"))]
        if any(code.strip().startswith("TOC ") for code in codes):
            inside = True
        if inside:
            style = paragraph.style.name if paragraph.style is not None else ""
            shown.append((style, paragraph.text))
        ends = [c for c in p.iter(qn("w:fldChar")) if c.get(qn("w:fldCharType")) == "end"]
        if inside and ends:
            break
    return shown


def docx_text(content: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)


def markdown_headings(text: str) -> list[tuple[int, str]]:
    """The headings of a Markdown document as a CommonMark reader sees them, ``#`` = level 1."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    return [
        (int(token.tag[1:]), tokens[index + 1].content)
        for index, token in enumerate(tokens)
        if token.type == "heading_open"
    ]


def skipped_levels(headings: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The headings more than one level deeper than the heading before them."""
    return [h for prev, h in itertools.pairwise(headings) if h[0] > prev[0] + 1]
