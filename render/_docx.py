"""DOCX export with python-docx: heading and list styles, a pre-filled TOC field, page numbers."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Inches, Mm, Pt, RGBColor

from render._blocks import CodeBlock, Heading, ListBlock, Quote, Rule, plain_text
from render._blocks import Paragraph as ParagraphBlock
from render._blocks import Table as TableBlock
from render._docx_xml import (
    Numbering,
    add_bookmark,
    add_field,
    add_hyperlink,
    add_internal_link,
    begin_field,
    bottom_border,
    cell_margins,
    end_field,
    repeat_as_header,
    shade,
    shade_cell,
    update_fields_on_open,
)
from render._options import RenderOptions
from render._parse import parse_markdown
from render._text import (
    DRAFT_LABEL,
    SOURCES_HEADING,
    STALE_NOTICE,
    cited_sources,
    clean,
    is_written,
    phase_byline,
    phase_heading,
    template_label,
    title_details,
    unwritten_note,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from docx.document import Document as DocumentObject
    from docx.enum.text import WD_PARAGRAPH_ALIGNMENT
    from docx.shared import Length
    from docx.table import _Cell
    from docx.text.paragraph import Paragraph

    from render._blocks import Block, Run
    from render._model import ExportDocument, ExportPhase
    from render._options import PaperSize

TOC_LEVELS = 2
"""The contents list phases (Heading 1) and their sections (Heading 2)."""
TOC_INSTRUCTION = f'TOC \\o "1-{TOC_LEVELS}" \\h \\z \\u'
TOC_STYLES = tuple(f"toc {level}" for level in range(1, TOC_LEVELS + 1))
"""Word's built-in names of the contents' paragraph styles, which Word applies when updating."""
PAGE_SIZES: dict[PaperSize, tuple[Length, Length]] = {
    "A4": (Mm(210), Mm(297)),
    "Letter": (Inches(8.5), Inches(11)),
}
_MARGIN = Cm(2.2)
_TITLE_DROP = Cm(5)
_CELL_PAD = 40  # twentieths of a point: 2 pt above and below the text of a table cell
_CELL_SIDE = 100
_MUTED = RGBColor(0x6B, 0x72, 0x80)
_HEADER_FILL = "EEF2F7"
_ALIGN = {"center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}
_LINK = RGBColor(0x1D, 0x4E, 0xD8)
_CODE_FONT = "Consolas"
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_MAX_LIST_LEVEL = 3
_MAX_HEADING = 9


class _TocEntry:
    """A heading listed in the contents: its level, its text, the bookmark it links to."""

    def __init__(self, level: int, text: str, bookmark_id: int) -> None:
        self.level = level
        self.text = text
        self.bookmark_id = bookmark_id
        self.bookmark = f"_Toc_ua_{bookmark_id}"


def render_docx(doc: ExportDocument, options: RenderOptions | None = None) -> bytes:
    """Render ``doc`` as a Word document: title page, contents (pre-filled, updatable), one
    part per written phase; the phases not yet written are listed once, under the contents."""
    options = options or RenderOptions()
    document = Document()
    _set_up(document, doc, options)
    parts = [
        (phase, parse_markdown(phase.content, 1, phase.title))
        for phase in doc.phases
        if is_written(phase)
    ]
    entries = _toc_entries(parts)
    _title_page(document, doc, options)
    note = unwritten_note(doc.phases)
    if parts:
        _contents(document, entries)
    if note:
        unwritten = document.add_paragraph()
        unwritten.paragraph_format.space_before = Pt(12)
        run = unwritten.add_run(note)
        run.italic = True
        run.font.color.rgb = _MUTED
    writer = _BlockWriter(document, iter(entries))
    for phase, blocks in parts:
        _phase(document, writer, phase, blocks, options)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _toc_entries(parts: list[tuple[ExportPhase, list[Block]]]) -> list[_TocEntry]:
    entries: list[_TocEntry] = []
    for phase, blocks in parts:
        entries.append(_TocEntry(1, phase_heading(phase), len(entries) + 1))
        for block in blocks:
            if isinstance(block, Heading) and block.level <= TOC_LEVELS:
                text = clean(plain_text(block.runs)).strip()
                entries.append(_TocEntry(block.level, text, len(entries) + 1))
    return entries


def _set_up(document: DocumentObject, doc: ExportDocument, options: RenderOptions) -> None:
    properties = document.core_properties
    properties.title = clean(doc.title)
    properties.subject = template_label(doc.template)
    properties.author = clean(doc.author or "")
    properties.created = doc.generated_at
    properties.comments = f"Project {doc.project_id}"
    section = document.sections[0]
    section.page_width, section.page_height = PAGE_SIZES[options.paper_size]
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, _MARGIN)
    section.different_first_page_header_footer = True
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run(f"{DRAFT_LABEL} · Page " if options.draft else "Page ")
    add_field(footer, "PAGE", "1")
    footer.add_run(" of ")
    add_field(footer, "NUMPAGES", "1")
    for level, name in enumerate(TOC_STYLES):
        if name not in document.styles:
            style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            style.style_id = f"TOC{level + 1}"  # the id Word itself gives its built-in style
            style.base_style = document.styles["Normal"]
            style.paragraph_format.left_indent = Cm(0.6 * level)
            style.paragraph_format.space_before = Pt(6 if level == 0 else 0)
            style.paragraph_format.space_after = Pt(2)
            style.font.bold = level == 0
    update_fields_on_open(document)


def _title_page(document: DocumentObject, doc: ExportDocument, options: RenderOptions) -> None:
    title = document.add_paragraph(clean(doc.title), style="Title")
    title.paragraph_format.space_before = _TITLE_DROP
    document.add_paragraph(template_label(doc.template), style="Subtitle")
    for line in title_details(doc, options):
        detail = document.add_paragraph()
        detail.paragraph_format.space_after = Pt(2)
        run = detail.add_run(line)
        run.font.color.rgb = _MUTED
    if doc.metadata:
        document.add_paragraph()
        table = document.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        cell_margins(table, top=_CELL_PAD, side=_CELL_SIDE)
        for key, value in doc.metadata.items():
            cells = table.add_row().cells
            cells[0].paragraphs[0].add_run(clean(key)).bold = True
            cells[1].paragraphs[0].add_run(clean(value))


def _contents(document: DocumentObject, entries: list[_TocEntry]) -> None:
    """The contents on a page of their own: a TOC field whose shown result is already the list
    of headings, each a link to its heading, so it reads right before Word updates it."""
    heading = document.add_paragraph("Contents", style="TOC Heading")
    heading.paragraph_format.page_break_before = True
    paragraph = None
    for index, entry in enumerate(entries):
        paragraph = document.add_paragraph(style=TOC_STYLES[entry.level - 1])
        if index == 0:
            begin_field(paragraph, TOC_INSTRUCTION)
        add_internal_link(paragraph, entry.bookmark, entry.text)
    if paragraph is not None:
        end_field(paragraph)


def _phase(
    document: DocumentObject,
    writer: _BlockWriter,
    phase: ExportPhase,
    blocks: list[Block],
    options: RenderOptions,
) -> None:
    heading = document.add_heading(phase_heading(phase), level=1)
    heading.paragraph_format.page_break_before = True
    writer.bookmark(heading)
    if options.draft:
        byline = document.add_paragraph().add_run(phase_byline(phase))
        byline.italic = True
        byline.font.size = Pt(9)
        byline.font.color.rgb = _MUTED
        if phase.status == "stale":
            document.add_paragraph(STALE_NOTICE, style="Intense Quote")
    writer.blocks(blocks)
    _sources(document, phase)


def _sources(document: DocumentObject, phase: ExportPhase) -> None:
    """The passages the phase cites, under its text, so every ``[S1]`` can be looked up."""
    sources = cited_sources(phase)
    if not sources:
        return
    heading = document.add_paragraph()
    heading.paragraph_format.space_before = Pt(12)
    heading.paragraph_format.keep_with_next = True
    run = heading.add_run(SOURCES_HEADING)
    run.bold = True
    run.font.size = Pt(9)
    run.font.color.rgb = _MUTED
    for source in sources:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.left_indent = Cm(0.9)
        paragraph.paragraph_format.first_line_indent = Cm(-0.9)
        paragraph.paragraph_format.space_after = Pt(1)
        paragraph.paragraph_format.tab_stops.add_tab_stop(Cm(0.9))
        run = paragraph.add_run(f"[{source.ref}]\t{clean(source.label)}")
        run.font.size = Pt(9)
        run.font.color.rgb = _MUTED


class _BlockWriter:
    def __init__(self, document: DocumentObject, entries: Iterator[_TocEntry]) -> None:
        self._document = document
        self._numbering = Numbering(document)
        self._style_ids: dict[str, str] = {}
        self._entries = entries

    def bookmark(self, heading: Paragraph) -> None:
        """Mark ``heading`` as the target of the next contents entry."""
        entry = next(self._entries)
        add_bookmark(heading, entry.bookmark, entry.bookmark_id)

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
                heading = self._paragraph(f"Heading {min(level, _MAX_HEADING)}")
                add_runs(heading, runs)
                if level <= TOC_LEVELS:
                    self.bookmark(heading)
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
        cell_margins(table, top=_CELL_PAD, side=_CELL_SIDE)
        header = table.rows[0]
        repeat_as_header(header._tr)
        # Left is Word's default: only other alignments are written, cell by cell.
        align = [_ALIGN.get(a) for a in block.align] or [None] * len(block.header)
        for cell, runs, alignment in zip(header.cells, block.header, align, strict=True):
            _cell(cell, runs, alignment, bold=True)
            shade_cell(cell, _HEADER_FILL)
        for row in block.rows:
            for cell, runs, alignment in zip(table.add_row().cells, row, align, strict=True):
                _cell(cell, runs, alignment)
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


def _cell(
    cell: _Cell, runs: list[Run], alignment: WD_PARAGRAPH_ALIGNMENT | None, *, bold: bool = False
) -> None:
    paragraph = cell.paragraphs[0]
    add_runs(paragraph, runs, bold=bold)
    if alignment is not None:
        paragraph.alignment = alignment


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
