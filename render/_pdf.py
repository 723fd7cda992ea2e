"""PDF export with reportlab platypus: title page, contents, phases, page numbers."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from reportlab.lib.pagesizes import A4
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
from render._parse import parse_markdown
from render._pdf_text import code_markup, register_fonts, runs_markup, text_markup
from render._text import (
    EMPTY_NOTICE,
    STALE_LABEL,
    STALE_NOTICE,
    clean,
    format_datetime,
    phase_byline,
    phase_heading,
)

if TYPE_CHECKING:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Flowable

    from render._blocks import Block
    from render._model import ExportDocument, ExportPhase

_MARGIN = 2.2 * cm
_LIST_INDENT = 16
_BULLETS = ("\u2022", "\u2013", "\u2022")
_NUMBERING = ("1", "a", "i")


def render_pdf(doc: ExportDocument) -> bytes:
    """Render ``doc`` as an A4 PDF with a title page, a linked table of contents and outline."""
    register_fonts()
    buffer = io.BytesIO()
    template = _DocTemplate(buffer, doc)
    story = _title_page(doc) + _contents() + _phases(doc.phases, template.width)
    template.multiBuild(story)
    return buffer.getvalue()


class _PhaseHeading(Paragraph):  # type: ignore[misc]
    """A phase heading that registers itself in the table of contents and the PDF outline."""

    def __init__(self, phase: ExportPhase) -> None:
        title = phase_heading(phase)
        super().__init__(text_markup(title), st.PHASE_HEADING)
        self.key = f"phase-{phase.number}"
        self.outline_title = title
        self.toc_text = text_markup(title)
        if phase.status == "stale":
            self.outline_title += f" ({STALE_LABEL})"
            self.toc_text += f' <font color="{st.STALE_INK.hexval()}">({STALE_LABEL})</font>'


class _DocTemplate(BaseDocTemplate):  # type: ignore[misc]
    def __init__(self, buffer: io.BytesIO, doc: ExportDocument) -> None:
        super().__init__(
            buffer,
            pagesize=A4,
            leftMargin=_MARGIN,
            rightMargin=_MARGIN,
            topMargin=_MARGIN,
            bottomMargin=_MARGIN,
            title=clean(doc.title),
            author=clean(doc.author or ""),
            subject=clean(doc.template),
            creator="Unified Assistant",
        )
        self.page_count: int | None = None
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
        if isinstance(flowable, _PhaseHeading):
            self.canv.bookmarkPage(flowable.key)
            self.canv.addOutlineEntry(flowable.outline_title, flowable.key, level=0)
            self.notify("TOCEntry", (0, flowable.toc_text, self.page, flowable.key))


def _footer(canvas: Canvas, doc: _DocTemplate) -> None:
    label = f"Page {doc.page}" if doc.page_count is None else f"Page {doc.page} of {doc.page_count}"
    canvas.saveState()
    canvas.setFont("Helvetica", 8.5)
    canvas.setFillColor(st.MUTED)
    canvas.drawCentredString(doc.pagesize[0] / 2, _MARGIN / 2, label)
    canvas.restoreState()


def _title_page(doc: ExportDocument) -> list[Flowable]:
    template = clean(doc.template).replace("-", " ").replace("_", " ").strip().capitalize()
    story: list[Flowable] = [
        Spacer(1, 6 * cm),
        Paragraph(text_markup(clean(doc.title)), st.TITLE),
        Spacer(1, 0.6 * cm),
        Paragraph(text_markup(template), st.SUBTITLE),
        Spacer(1, 1.6 * cm),
        Paragraph(f"Generated {format_datetime(doc.generated_at)}", st.TITLE_DETAIL),
    ]
    if doc.author:
        story.append(Paragraph(f"Prepared by {text_markup(clean(doc.author))}", st.TITLE_DETAIL))
    if doc.members:
        names = ", ".join(f"{clean(m.name)} ({clean(m.role)})" for m in doc.members)
        story.append(Paragraph(f"Team: {text_markup(names)}", st.TITLE_DETAIL))
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


def _contents() -> list[Flowable]:
    toc = TableOfContents(levelStyles=[st.TOC_LEVEL], dotsMinLevel=0)
    return [
        NextPageTemplate("body"),
        PageBreak(),
        Paragraph("Contents", st.CONTENTS_HEADING),
        toc,
    ]


def _phases(phases: list[ExportPhase], width: float) -> list[Flowable]:
    story: list[Flowable] = []
    for phase in phases:
        story += [PageBreak(), _PhaseHeading(phase), Paragraph(phase_byline(phase), st.BYLINE)]
        if phase.status == "stale":
            story.append(_notice(STALE_NOTICE, width))
        if phase.content.strip():
            story += _flowables(parse_markdown(phase.content), width)
        else:
            story.append(Paragraph(EMPTY_NOTICE, st.EMPTY))
    return story


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
    blocks: list[Block], width: float, depth: int = 0, body: ParagraphStyle = st.BODY
) -> list[Flowable]:
    out: list[Flowable] = []
    for block in blocks:
        match block:
            case Heading(level=level, runs=runs):
                out.append(Paragraph(runs_markup(runs), st.heading_style(level)))
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
    data = [[Paragraph(runs_markup(cell), st.HEADER_CELL) for cell in block.header]]
    data += [[Paragraph(runs_markup(cell), st.CELL) for cell in row] for row in block.rows]
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
