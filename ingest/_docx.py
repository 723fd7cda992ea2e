"""DOCX in reading order with python-docx: headings, paragraphs, list items, tables, text
boxes, headers/footers, footnotes and endnotes."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import docx
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.ns import qn
from docx.styles import BabelFish
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph
from lxml import etree

from ingest._docx_text import text_boxes, visible_text
from ingest._errors import IngestError
from ingest._ooxml import safe_docx_bytes
from ingest._structure import HeadingStack, render_table
from ingest._types import Block, BlockKind, ParsedDocument, Table

if TYPE_CHECKING:
    from collections.abc import Iterator

    from docx.document import Document
    from docx.section import _Footer, _Header
    from docx.shared import StoryChild

    from ingest._control import ParseControl
    from ingest._types import Limits

__all__ = ["parse_docx"]

_P, _TBL, _SDT, _SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
_TR, _TC = qn("w:tr"), qn("w:tc")
_HEADING_STYLE = re.compile(r"heading\s*([1-9])$", re.IGNORECASE)
_LIST_STYLE = re.compile(r"list (?:bullet|number|continue)(?:\s*([2-9]))?$", re.IGNORECASE)
_NOTE_SEPARATORS = {"separator", "continuationSeparator", "continuationNotice"}
_NOTE_PARTS = (
    (RELATIONSHIP_TYPE.FOOTNOTES, qn("w:footnote")),
    (RELATIONSHIP_TYPE.ENDNOTES, qn("w:endnote")),
)
_REPORT_EVERY = 64
# Notes are parsed outside python-docx, with the same guarded settings it uses.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def parse_docx(data: bytes, limits: Limits, control: ParseControl) -> ParsedDocument:
    """Parse a Word document into blocks (body in reading order with each text box after the
    paragraph that anchors it, then headers, footers, footnotes and endnotes)."""
    safe = safe_docx_bytes(data, limits)
    try:
        document = docx.Document(io.BytesIO(safe))
    except etree.XMLSyntaxError as exc:
        # libxml2 also stops here at nesting deeper than 256 elements.
        raise IngestError(
            "malformed", f"the Word document's XML is invalid or nested too deeply ({exc.msg})"
        ) from exc
    reader = _BodyReader(document, control)
    for element in _block_elements(document.element.body):
        reader.read(element)
    blocks = reader.blocks
    blocks.extend(_headers_footers(document))
    blocks.extend(_notes(document))
    control.report(0, None, len(blocks))
    properties = document.core_properties
    metadata = {
        name: str(value).strip()
        for name, value in (
            ("author", properties.author),
            ("subject", properties.subject),
            ("keywords", properties.keywords),
            ("created", properties.created and properties.created.isoformat()),
            ("modified", properties.modified and properties.modified.isoformat()),
        )
        if value and str(value).strip()
    }
    title = (properties.title or "").strip() or reader.title
    return ParsedDocument("docx", title or None, metadata, None, tuple(blocks))


def _block_elements(parent: etree._Element) -> Iterator[etree._Element]:
    """Paragraphs and tables in document order, looking inside block-level content controls."""
    for child in parent:
        if child.tag in (_P, _TBL):
            yield child
        elif child.tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _block_elements(content)


class _BodyReader:
    def __init__(self, document: Document, control: ParseControl) -> None:
        self._parent: StoryChild = document._body  # python-docx has no public body proxy
        self._styles, self._default_style = _paragraph_styles(document)
        self._control = control
        self._headings = HeadingStack()
        self.blocks: list[Block] = []
        self.title: str | None = None

    def read(self, element: etree._Element) -> None:
        if element.tag == _P:
            self._paragraph(Paragraph(element, self._parent))
        else:
            self._table(DocxTable(element, self._parent))
        for box in text_boxes(element):
            for child in _block_elements(box):
                self.read(child)
        if len(self.blocks) % _REPORT_EVERY == 0:
            self._control.report(0, None, len(self.blocks))

    def _paragraph(self, paragraph: Paragraph) -> None:
        text = visible_text(paragraph._p).strip()
        if not text:
            return
        # python-docx's `paragraph.style` searches the styles part on every call; a map is
        # built once instead.
        p_pr = paragraph._p.pPr
        style_id = p_pr.style if p_pr is not None else None
        style_name = self._styles.get(style_id or "", self._default_style)
        level = _heading_level(paragraph, style_name)
        if level:
            if style_name == "Title" and self.title is None:
                self.title = text
            path = self._headings.push(level, text)
            self.blocks.append(Block("heading", text, level=level, heading_path=path))
            return
        list_level = _list_level(paragraph, style_name)
        if list_level is not None:
            self.blocks.append(
                Block("list_item", text, level=list_level, heading_path=self._headings.path)
            )
            return
        self.blocks.append(Block("paragraph", text, heading_path=self._headings.path))

    def _table(self, table: DocxTable) -> None:
        rows: list[tuple[str, ...]] = []
        for row in table.rows:
            cells: list[str] = []
            previous = None
            for cell in row.cells:
                # A horizontally merged cell is returned once per grid column it spans.
                if cell._tc is previous:
                    continue
                previous = cell._tc
                cells.append(" ".join(visible_text(cell._tc).split()))
            rows.append(tuple(cells))
        if not any(any(cells) for cells in rows):
            return
        header, body = rows[0], tuple(rows[1:])
        self.blocks.append(
            Block(
                "table",
                render_table(header, body),
                heading_path=self._headings.path,
                table=Table(header, body),
            )
        )


def _paragraph_styles(document: Document) -> tuple[dict[str, str], str]:
    """Paragraph style names by style id, and the default paragraph style's name."""
    names: dict[str, str] = {}
    default = ""
    for style in document.styles.element.iterchildren(qn("w:style")):
        if style.get(qn("w:type")) != "paragraph":
            continue
        name_element = style.find(qn("w:name"))
        name = name_element.get(qn("w:val"), "") if name_element is not None else ""
        # python-docx's names for built-in styles ("heading 1" in the XML -> "Heading 1").
        name = BabelFish.internal2ui(name)
        names[style.get(qn("w:styleId"), "")] = name
        if style.get(qn("w:default")) in ("1", "true", "on"):
            default = name
    return names, default


def _heading_level(paragraph: Paragraph, style_name: str) -> int:
    if style_name == "Title":
        return 1
    match = _HEADING_STYLE.match(style_name)
    if match:
        return int(match.group(1))
    p_pr = paragraph._p.pPr
    outline = p_pr.find(qn("w:outlineLvl")) if p_pr is not None else None
    if outline is not None:
        value = outline.get(qn("w:val"), "")
        if value.isdigit() and int(value) < 9:
            return int(value) + 1
    return 0


def _list_level(paragraph: Paragraph, style_name: str) -> int | None:
    p_pr = paragraph._p.pPr
    num_pr = p_pr.find(qn("w:numPr")) if p_pr is not None else None
    if num_pr is not None:
        num_id = num_pr.find(qn("w:numId"))
        ilvl = num_pr.find(qn("w:ilvl"))
        # numId 0 means "numbering removed" on a paragraph whose style is numbered.
        if num_id is not None and num_id.get(qn("w:val")) != "0":
            value = ilvl.get(qn("w:val"), "0") if ilvl is not None else "0"
            return int(value) if value.isdigit() else 0
    match = _LIST_STYLE.match(style_name)
    if match:
        return int(match.group(1)) - 1 if match.group(1) else 0
    return None


def _headers_footers(document: Document) -> list[Block]:
    blocks: list[Block] = []
    seen: set[tuple[BlockKind, str]] = set()
    for section in document.sections:
        parts: tuple[tuple[BlockKind, _Header | _Footer], ...] = (
            ("header", section.first_page_header),
            ("header", section.header),
            ("header", section.even_page_header),
            ("footer", section.first_page_footer),
            ("footer", section.footer),
            ("footer", section.even_page_footer),
        )
        for kind, part in parts:
            if part.is_linked_to_previous:
                continue
            lines = _story_lines(part._element)
            text = "\n".join(line for line in lines if line)
            if text and (kind, text) not in seen:
                seen.add((kind, text))
                blocks.append(Block(kind, text))
    return blocks


def _story_lines(story: etree._Element) -> list[str]:
    """Lines of a header or footer: paragraphs, table rows as `a | b`, then its text boxes."""
    lines: list[str] = []
    for element in _block_elements(story):
        if element.tag == _P:
            lines.append(visible_text(element).strip())
        else:
            lines.extend(
                " | ".join(" ".join(visible_text(cell).split()) for cell in row.iter(_TC))
                for row in element.iter(_TR)
            )
        for box in text_boxes(element):
            lines.extend(_story_lines(box))
    return lines


def _notes(document: Document) -> list[Block]:
    """Footnotes, then endnotes, as `footnote` blocks (separator notes left out)."""
    blocks: list[Block] = []
    for reltype, tag in _NOTE_PARTS:
        for rel in document.part.rels.values():
            if rel.reltype != reltype or rel.is_external:
                continue
            root = etree.fromstring(rel.target_part.blob, parser=_XML_PARSER)
            for note in root.iter(tag):
                if note.get(qn("w:type")) in _NOTE_SEPARATORS:
                    continue
                text = "\n".join(line for line in _story_lines(note) if line)
                if text:
                    blocks.append(Block("footnote", text))
    return blocks
