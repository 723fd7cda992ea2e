"""DOCX export with python-docx: real heading and list styles, a TOC field, page numbers."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Pt, RGBColor

from render._blocks import CodeBlock, Heading, ListBlock, Quote, Rule
from render._blocks import Paragraph as ParagraphBlock
from render._blocks import Table as TableBlock
from render._docx_xml import (
    Numbering,
    add_field,
    add_hyperlink,
    bottom_border,
    repeat_as_header,
    shade,
    update_fields_on_open,
)
from render._parse import parse_markdown
from render._text import (
    EMPTY_NOTICE,
    STALE_NOTICE,
    clean,
    format_datetime,
    phase_byline,
    phase_heading,
)

if TYPE_CHECKING:
    from docx.document import Document as DocumentObject
    from docx.text.paragraph import Paragraph

    from render._blocks import Block, Run
    from render._model import ExportDocument, ExportPhase

TOC_INSTRUCTION = 'TOC \\o "1-3" \\h \\z \\u'
TOC_PLACEHOLDER = "Update field to build the table of contents."
_MUTED = RGBColor(0x6B, 0x72, 0x80)
_LINK = RGBColor(0x1D, 0x4E, 0xD8)
_CODE_FONT = "Consolas"
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_MAX_LIST_LEVEL = 3
_MAX_HEADING = 9


def render_docx(doc: ExportDocument) -> bytes:
    """Render ``doc`` as a Word document: title page, TOC field, one section per phase."""
    document = Document()
    _set_up(document, doc)
    _title_page(document, doc)
    _contents(document)
    writer = _BlockWriter(document)
    for phase in doc.phases:
        _phase(document, writer, phase)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _set_up(document: DocumentObject, doc: ExportDocument) -> None:
    properties = document.core_properties
    properties.title = clean(doc.title)
    properties.subject = clean(doc.template)
    properties.author = clean(doc.author or "")
    properties.created = doc.generated_at
    properties.comments = f"Project {doc.project_id}"
    section = document.sections[0]
    section.different_first_page_header_footer = True
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("Page ")
    add_field(footer, "PAGE", "1")
    footer.add_run(" of ")
    add_field(footer, "NUMPAGES", "1")
    update_fields_on_open(document)


def _title_page(document: DocumentObject, doc: ExportDocument) -> None:
    document.add_paragraph(clean(doc.title), style="Title")
    template = clean(doc.template).replace("-", " ").replace("_", " ").strip().capitalize()
    document.add_paragraph(template, style="Subtitle")
    details = [f"Generated {format_datetime(doc.generated_at)}"]
    if doc.author:
        details.append(f"Prepared by {clean(doc.author)}")
    if doc.members:
        details.append(
            "Team: " + ", ".join(f"{clean(m.name)} ({clean(m.role)})" for m in doc.members)
        )
    for line in details:
        document.add_paragraph(line)
    if doc.metadata:
        table = document.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for key, value in doc.metadata.items():
            cells = table.add_row().cells
            cells[0].paragraphs[0].add_run(clean(key)).bold = True
            cells[1].paragraphs[0].add_run(clean(value))
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _contents(document: DocumentObject) -> None:
    document.add_paragraph("Contents", style="TOC Heading")
    add_field(document.add_paragraph(), TOC_INSTRUCTION, TOC_PLACEHOLDER)


def _phase(document: DocumentObject, writer: _BlockWriter, phase: ExportPhase) -> None:
    heading = document.add_heading(phase_heading(phase), level=1)
    heading.paragraph_format.page_break_before = True
    byline = document.add_paragraph().add_run(phase_byline(phase))
    byline.italic = True
    byline.font.size = Pt(9)
    byline.font.color.rgb = _MUTED
    if phase.status == "stale":
        document.add_paragraph(STALE_NOTICE, style="Intense Quote")
    if phase.content.strip():
        writer.blocks(parse_markdown(phase.content))
    else:
        document.add_paragraph().add_run(EMPTY_NOTICE).italic = True


class _BlockWriter:
    def __init__(self, document: DocumentObject) -> None:
        self._document = document
        self._numbering = Numbering(document)
        self._style_ids: dict[str, str] = {}

    def _paragraph(self, style: str | None = None) -> Paragraph:
        # Resolving a style by name scans every style in the document; python-docx does that on
        # each add_paragraph(style=...), which dominated render time for long projects.
        paragraph = self._document.add_paragraph()
        if style is not None:
            if style not in self._style_ids:
                self._style_ids[style] = self._document.styles[style].style_id
            paragraph._p.style = self._style_ids[style]
        return paragraph

    def blocks(self, blocks: list[Block], depth: int = 0, style: str | None = None) -> None:
        for block in blocks:
            self._block(block, depth, style)

    def _block(self, block: Block, depth: int, style: str | None) -> None:
        match block:
            case Heading(level=level, runs=runs):
                add_runs(self._paragraph(f"Heading {min(level, _MAX_HEADING)}"), runs)
            case ParagraphBlock(runs=runs):
                add_runs(self._paragraph(style), runs)
            case ListBlock():
                self._list(block, depth)
            case TableBlock():
                self._table(block)
            case CodeBlock(text=text):
                self._code(text)
            case Quote(blocks=inner):
                self.blocks(inner, depth, style="Quote")
            case Rule():
                bottom_border(self._paragraph())

    def _list(self, block: ListBlock, depth: int) -> None:
        level = min(depth + 1, _MAX_LIST_LEVEL)
        suffix = "" if level == 1 else f" {level}"
        item_style = ("List Number" if block.ordered else "List Bullet") + suffix
        num_id: int | None = None
        for item in block.items:
            first, *rest = item.blocks or [ParagraphBlock([])]
            if isinstance(first, ParagraphBlock):
                paragraph = self._paragraph(item_style)
                add_runs(paragraph, first.runs)
                if block.ordered:
                    num_id = self._number(paragraph, item_style, block.start, num_id)
            else:
                rest = [first, *rest]
            for inner in rest:
                if isinstance(inner, ListBlock):
                    self._list(inner, depth + 1)
                else:
                    self._block(inner, depth + 1, "List Continue" + suffix)

    def _number(self, paragraph: Paragraph, style: str, start: int, num_id: int | None) -> int:
        if num_id is None:
            return self._numbering.restart(paragraph, style, start)
        self._numbering.continue_list(paragraph, num_id)
        return num_id

    def _table(self, block: TableBlock) -> None:
        table = self._document.add_table(rows=1, cols=len(block.header))
        table.style = "Table Grid"
        header = table.rows[0]
        repeat_as_header(header._tr)
        for cell, runs in zip(header.cells, block.header, strict=True):
            add_runs(cell.paragraphs[0], runs, bold=True)
        for row in block.rows:
            for cell, runs in zip(table.add_row().cells, row, strict=True):
                add_runs(cell.paragraphs[0], runs)
        self._paragraph()

    def _code(self, text: str) -> None:
        paragraph = self._paragraph("No Spacing")
        shade(paragraph, "F3F4F6")
        for index, line in enumerate(text.split("\n")):
            if index:
                paragraph.add_run().add_break()
            run = paragraph.add_run(line)
            run.font.name = _CODE_FONT
            run.font.size = Pt(9)
        self._paragraph("No Spacing")


def add_runs(paragraph: Paragraph, runs: list[Run], *, bold: bool = False) -> None:
    """Append formatted ``runs`` to ``paragraph``; links become real hyperlinks."""
    for run in runs:
        if run.text == "\n":
            paragraph.add_run().add_break()
            continue
        if run.href and run.href.lower().startswith(_LINK_SCHEMES):
            target = add_hyperlink(paragraph, run.href)
            target.text = run.text
            target.font.color.rgb = _LINK
            target.font.underline = True
        else:
            target = paragraph.add_run(run.text)
        target.bold = bold or run.bold or None
        target.italic = run.italic or None
        if run.strike:
            target.font.strike = True
        if run.code:
            target.font.name = _CODE_FONT
