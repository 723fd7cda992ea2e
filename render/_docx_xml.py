"""Word features python-docx has no API for: fields, a pre-filled table of contents, bookmarks,
list numbering restarts, hyperlinks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

if TYPE_CHECKING:
    from docx.document import Document
    from docx.oxml.table import CT_Row
    from docx.oxml.xmlchemy import BaseOxmlElement
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run


def add_field(paragraph: Paragraph, instruction: str, shown: str = "") -> None:
    """Append a complex field (``begin``/``separate``/``end``) showing ``shown`` until
    Word updates it."""
    begin_field(paragraph, instruction)
    paragraph.add_run(shown)
    end_field(paragraph)


def begin_field(paragraph: Paragraph, instruction: str) -> None:
    """Open a complex field in ``paragraph``: what follows, up to :func:`end_field` (possibly
    in a later paragraph), is the field's result as shown until Word updates it."""
    begin, separate = _fld_char("begin"), _fld_char("separate")
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    for element in (begin, code, separate):
        paragraph.add_run()._r.append(element)


def end_field(paragraph: Paragraph) -> None:
    """Close the field opened last."""
    paragraph.add_run()._r.append(_fld_char("end"))


def add_bookmark(paragraph: Paragraph, name: str, bookmark_id: int) -> None:
    """Put the whole of ``paragraph`` inside the bookmark ``name`` (an internal link target)."""
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(bookmark_id))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(bookmark_id))
    p = paragraph._p
    p.insert(1 if p.pPr is not None else 0, start)
    p.append(end)


def add_internal_link(paragraph: Paragraph, bookmark: str, text: str) -> Run:
    """Append ``text`` as a link to the bookmark ``bookmark`` and return its run."""
    from docx.text.run import Run  # noqa: PLC0415 - runtime use; the module imports it for types

    link = OxmlElement("w:hyperlink")
    link.set(qn("w:anchor"), bookmark)
    link.set(qn("w:history"), "1")
    r = OxmlElement("w:r")
    link.append(r)
    paragraph._p.append(link)
    run = Run(r, paragraph)
    run.text = text
    return run


def _fld_char(kind: str) -> BaseOxmlElement:
    element = OxmlElement("w:fldChar")
    element.set(qn("w:fldCharType"), kind)
    if kind == "begin":
        element.set(qn("w:dirty"), "true")
    return element


def update_fields_on_open(document: Document) -> None:
    """Ask Word to refresh fields (the table of contents) when the file is opened."""
    settings = document.settings.element
    update = settings.find(qn("w:updateFields"))
    if update is None:
        update = OxmlElement("w:updateFields")
        settings.append(update)
    update.set(qn("w:val"), "true")


class Numbering:
    """Gives each ordered list its own numbering instance, so every list restarts at its start.

    The 'List Number' styles share one ``w:num``: without a fresh instance per list, the second
    list of a document would continue counting from the first.
    """

    def __init__(self, document: Document) -> None:
        self._document = document
        self._numbering = document.part.numbering_part.element
        self._abstract: dict[str, str] = {}

    def restart(self, paragraph: Paragraph, style_name: str, start: int) -> int:
        """Number ``paragraph`` with a new instance of ``style_name``'s list, from ``start``."""
        abstract_id = self._abstract_id(style_name)
        num = self._numbering.add_num(abstract_id)
        override = num.add_lvlOverride(ilvl=0)
        override.add_startOverride(start)
        self.continue_list(paragraph, num.numId)
        return int(num.numId)

    @staticmethod
    def continue_list(paragraph: Paragraph, num_id: int) -> None:
        """Number ``paragraph`` as the next item of the list instance ``num_id``."""
        num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = 0
        num_pr.get_or_add_numId().val = num_id

    def _abstract_id(self, style_name: str) -> str:
        if style_name not in self._abstract:
            style = self._document.styles[style_name]
            num_id = style.element.pPr.numPr.numId.val
            num = self._numbering.num_having_numId(num_id)
            self._abstract[style_name] = num.abstractNumId.val
        return self._abstract[style_name]


def add_hyperlink(paragraph: Paragraph, url: str) -> Run:
    """Append an external hyperlink to ``paragraph`` and return the run holding its text."""
    from docx.text.run import Run  # noqa: PLC0415 - runtime use; the module imports it for types

    rel_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    r = OxmlElement("w:r")
    link.append(r)
    paragraph._p.append(link)
    return Run(r, paragraph)


def shade(paragraph: Paragraph, fill: str) -> None:
    """Give ``paragraph`` a background colour (hex ``RRGGBB``)."""
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    paragraph._p.get_or_add_pPr().append(shd)


def shade_cell(cell: _Cell, fill: str) -> None:
    """Give a table cell a background colour (hex ``RRGGBB``)."""
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def cell_margins(table: Table, top: int, side: int) -> None:
    """Pad every cell of ``table``: ``top`` (and bottom) and ``side`` in twentieths of a point."""
    margins = OxmlElement("w:tblCellMar")
    for edge, size in (("top", top), ("left", side), ("bottom", top), ("right", side)):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(size))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    table._tbl.tblPr.append(margins)


def bottom_border(paragraph: Paragraph) -> None:
    """Draw a horizontal rule under ``paragraph``."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "BFBFBF")):
        bottom.set(qn(f"w:{key}"), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def repeat_as_header(row_element: CT_Row) -> None:
    """Mark a table row to repeat at the top of every page the table spans."""
    tr_pr = row_element.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)
