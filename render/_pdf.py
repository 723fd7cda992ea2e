"""PDF export with reportlab platypus: title page, contents, written phases, page numbers."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import cm
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    HRFlowable,
    Indenter,
    ListFlowable,
    ListItem,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tableofcontents import TableOfContents

from render import _pdf_styles as st
from render._blocks import (
    CodeBlock,
    Heading,
    ListBlock,
    Quote,
    Rule,
    plain_text,
)
from render._blocks import Paragraph as ParagraphBlock
from render._blocks import Table as TableBlock
from render._options import RenderOptions
from render._parse import parse_markdown
from render._pdf_text import code_markup, register_fonts, runs_markup, text_markup
from render._text import (
    DRAFT_LABEL,
    SOURCES_HEADING,
    STALE_LABEL,
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
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Flowable

    from render._blocks import Block, Run
    from render._model import ExportDocument, ExportPhase

PAGE_SIZES = {"A4": A4, "Letter": LETTER}
"""Width and height in points of each paper size."""
_MARGIN = 2.2 * cm
_LIST_INDENT = 16
_BULLETS = ("\u2022", "\u2013", "\u2022")
_NUMBERING = ("1", "a", "i")
_PHASE_LEVEL = 1
_SECTION_LEVEL = 2
"""Headings of this level (a phase's own sections) are in the contents and the outline too."""


def render_pdf(doc: ExportDocument, options: RenderOptions | None = None) -> bytes:
    """Render ``doc`` as a PDF: title page, linked contents and outline, one part per written
    phase; the phases not yet written are listed once, under the contents."""
    options = options or RenderOptions()
    register_fonts()
    buffer = io.BytesIO()
    template = _DocTemplate(buffer, doc, options)
    written = [phase for phase in doc.phases if is_written(phase)]
    story = _title_page(doc, options) + _contents(doc, written)
    story += _phases(written, template.width, options)
    template.multiBuild(story)
    return buffer.getvalue()


class _OutlineHeading(Paragraph):  # type: ignore[misc]
    """A heading that registers itself in the table of contents and the PDF outline."""

    def __init__(self, markup: str, style: ParagraphStyle, key: str, title: str, level: int):
        super().__init__(markup, style)
        self.key = key
        self.outline_title = title
        self.outline_level = level
        self.toc_text = markup


def _phase_heading(phase: ExportPhase, options: RenderOptions) -> _OutlineHeading:
    title = phase_heading(phase)
    heading = _OutlineHeading(
        text_markup(title), st.PHASE_HEADING, f"phase-{phase.number}", title, level=0
    )
    if options.draft and phase.status == "stale":
        heading.outline_title += f" ({STALE_LABEL})"
        heading.toc_text += f' <font color="{st.STALE_INK.hexval()}">({STALE_LABEL})</font>'
    return heading


class _DocTemplate(BaseDocTemplate):  # type: ignore[misc]
    def __init__(self, buffer: io.BytesIO, doc: ExportDocument, options: RenderOptions) -> None:
        super().__init__(
            buffer,
            pagesize=PAGE_SIZES[options.paper_size],
            leftMargin=_MARGIN,
            rightMargin=_MARGIN,
            topMargin=_MARGIN,
            bottomMargin=_MARGIN,
            title=clean(doc.title),
            author=clean(doc.author or ""),
            subject=template_label(doc.template),
            creator="Unified Assistant",
        )
        self.page_count: int | None = None
        self.footer_prefix = f"{DRAFT_LABEL} · " if options.draft else ""
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates(
            [PageTemplate("title", [frame]), PageTemplate("body", [frame], onPage=_footer)]
        )

    def build(self, *args: Any, **kwargs: Any) -> None:
        # multiBuild runs passes until the table of contents stops changing, so the page count
        # of the previous pass is the final one by the time the last pass draws its footers.
        super().build(*args, **kwargs)
        self.page_count = self.page

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802 - reportlab hook
        if isinstance(flowable, _OutlineHeading):
            self.canv.bookmarkPage(flowable.key)
            self.canv.addOutlineEntry(
                flowable.outline_title, flowable.key, level=flowable.outline_level
            )
            self.notify(
                "TOCEntry", (flowable.outline_level, flowable.toc_text, self.page, flowable.key)
            )


def _footer(canvas: Canvas, doc: _DocTemplate) -> None:
    label = f"Page {doc.page}" if doc.page_count is None else f"Page {doc.page} of {doc.page_count}"
    canvas.saveState()
    canvas.setFont("Helvetica", 8.5)
    canvas.setFillColor(st.MUTED)
    canvas.drawCentredString(doc.pagesize[0] / 2, _MARGIN / 2, doc.footer_prefix + label)
    canvas.restoreState()


def _title_page(doc: ExportDocument, options: RenderOptions) -> list[Flowable]:
    story: list[Flowable] = [
        Spacer(1, 6 * cm),
        Paragraph(text_markup(clean(doc.title)), st.TITLE),
        Spacer(1, 0.6 * cm),
        Paragraph(text_markup(template_label(doc.template)), st.SUBTITLE),
        Spacer(1, 1.6 * cm),
    ]
    story += [Paragraph(text_markup(line), st.TITLE_DETAIL) for line in title_details(doc, options)]
    if doc.metadata:
        story.append(Spacer(1, 1.2 * cm))
        rows = [
            [
                Paragraph(text_markup(clean(k)), st.HEADER_CELL),
                Paragraph(text_markup(clean(v)), st.CELL),
            ]
            for k, v in doc.metadata.items()
        ]
        table = Table(rows, colWidths=[4.5 * cm, 8.5 * cm])
        table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.4, st.RULE)]))
        story.append(table)
    return story


def _contents(doc: ExportDocument, written: list[ExportPhase]) -> list[Flowable]:
    """The contents page; with nothing written, only the list of what is missing, on the title
    page (a contents page with no entries would be a blank page)."""
    note = unwritten_note(doc.phases)
    missing = [Paragraph(text_markup(note), st.UNWRITTEN)] if note else []
    if not written:
        return [Spacer(1, 1.2 * cm), *missing]
    toc = TableOfContents(levelStyles=st.TOC_LEVELS, dotsMinLevel=0)
    return [
        NextPageTemplate("body"),
        PageBreak(),
        Paragraph("Contents", st.CONTENTS_HEADING),
        toc,
        *missing,
    ]


def _phases(phases: list[ExportPhase], width: float, options: RenderOptions) -> list[Flowable]:
    story: list[Flowable] = []
    for phase in phases:
        story += [PageBreak(), _phase_heading(phase, options)]
        if options.draft:
            story.append(Paragraph(text_markup(phase_byline(phase)), st.BYLINE))
            if phase.status == "stale":
                story.append(_notice(STALE_NOTICE, width))
        else:
            story.append(Spacer(1, 8))
        blocks = parse_markdown(phase.content, _PHASE_LEVEL, phase.title)
        story += _flowables(blocks, width, key=f"phase-{phase.number}")
        story += _sources(phase)
    return story


def _sources(phase: ExportPhase) -> list[Flowable]:
    """The passages the phase cites, under its text, so every ``[S1]`` can be looked up."""
    sources = cited_sources(phase)
    if not sources:
        return []
    return [
        Paragraph(SOURCES_HEADING, st.SOURCES_HEADING),
        *(
            Paragraph(text_markup(clean(s.label)), st.SOURCE, bulletText=f"[{s.ref}]")
            for s in sources
        ),
    ]


def _notice(text: str, width: float) -> Flowable:
    box = Table([[Paragraph(f"<b>{text_markup(text)}</b>", st.NOTICE)]], colWidths=[width])
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), st.STALE_FILL),
                ("LINEBEFORE", (0, 0), (0, -1), 3, st.STALE_BORDER),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
            ]
        )
    )
    box.spaceAfter = 10
    return box


def _flowables(
    blocks: list[Block],
    width: float,
    depth: int = 0,
    body: ParagraphStyle = st.BODY,
    key: str = "",
) -> list[Flowable]:
    out: list[Flowable] = []
    for index, block in enumerate(blocks):
        match block:
            case Heading(level=level, runs=runs):
                out.append(_heading(level, runs, f"{key}-{index}"))
            case ParagraphBlock(runs=runs):
                out.append(Paragraph(runs_markup(runs), body))
            case ListBlock():
                out.append(_list(block, width, depth))
            case TableBlock():
                out.append(_table(block, width))
            case CodeBlock(text=text):
                out.append(Paragraph(code_markup(text), st.CODE))
            case Quote(blocks=inner):
                out += [Indenter(left=14), *_flowables(inner, width - 14, depth, st.QUOTE)]
                out.append(Indenter(left=-14))
            case Rule():
                out.append(HRFlowable(width="100%", thickness=0.6, color=st.RULE, spaceAfter=8))
    return out


def _heading(level: int, runs: list[Run], key: str) -> Flowable:
    markup = runs_markup(runs)
    if level != _SECTION_LEVEL:
        return Paragraph(markup, st.heading_style(level))
    title = clean(plain_text(runs)).strip()
    return _OutlineHeading(markup, st.heading_style(level), key, title, level=1)


def _list(block: ListBlock, width: float, depth: int) -> Flowable:
    inner = width - _LIST_INDENT
    items = [
        ListItem(_flowables(item.blocks, inner, depth + 1, st.LIST_ITEM) or [Spacer(1, 0)])
        for item in block.items
    ]
    style: dict[str, Any] = {
        "leftIndent": _LIST_INDENT,
        "bulletFontName": "Helvetica",
        "bulletFontSize": 9.5,
        "spaceAfter": 6 if depth == 0 else 0,
    }
    if block.ordered:
        kind = _NUMBERING[depth % len(_NUMBERING)]
        return ListFlowable(items, bulletType=kind, start=block.start, bulletFormat="%s.", **style)
    return ListFlowable(items, bulletType="bullet", start=_BULLETS[depth % len(_BULLETS)], **style)


def _table(block: TableBlock, width: float) -> Flowable:
    columns = len(block.header)
    lengths = [
        min(max(len(plain_text(row[c])) for row in [block.header, *block.rows]), 40) + 6
        for c in range(columns)
    ]
    col_widths = [width * n / sum(lengths) for n in lengths]
    align = [*block.align, *["left"] * columns][:columns]
    header_styles = [st.cell_style(st.HEADER_CELL, a) for a in align]
    cell_styles = [st.cell_style(st.CELL, a) for a in align]
    data = [
        [Paragraph(runs_markup(c), s) for c, s in zip(block.header, header_styles, strict=True)]
    ]
    data += [
        [Paragraph(runs_markup(c), s) for c, s in zip(row, cell_styles, strict=True)]
        for row in block.rows
    ]
    table = Table(data, colWidths=col_widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, st.RULE),
                ("BACKGROUND", (0, 0), (-1, 0), st.HEADER_FILL),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    table.spaceBefore = 4
    table.spaceAfter = 10
    return table
