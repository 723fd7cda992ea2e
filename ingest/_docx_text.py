"""The text Word shows for a piece of WordprocessingML, read from the XML itself.

python-docx's `Paragraph.text` only looks at direct `w:r` and `w:hyperlink` children, so it
misses tracked insertions (`w:ins`), inline content controls, simple fields and smart tags. The
walk here keeps everything Word displays with changes accepted: deletions (`w:del`,
`w:moveFrom`) are dropped, field instructions are skipped and their results kept. Text boxes
(`w:txbxContent`) are not part of their anchoring paragraph's text; `text_boxes` finds them so
that they are read as blocks of their own. Of an `mc:AlternateContent`, only the first
`mc:Choice` is read: its `mc:Fallback` repeats the same content for older readers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docx.oxml.ns import qn

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lxml import etree

__all__ = ["text_boxes", "visible_text"]

_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_ALTERNATE, _CHOICE = f"{{{_MC}}}AlternateContent", f"{{{_MC}}}Choice"
_P, _TXBX = qn("w:p"), qn("w:txbxContent")
_DROPPED = frozenset(
    qn(tag)
    for tag in (
        "w:del",
        "w:moveFrom",
        "w:instrText",
        "w:delText",
        "w:delInstrText",
        "w:pPr",
        "w:rPr",
        "w:tblPr",
        "w:trPr",
        "w:tcPr",
        "w:sectPr",
        "w:sdtPr",
        "w:footnoteReference",
        "w:endnoteReference",
        "w:commentReference",
    )
)
_CHARACTERS = {
    qn("w:tab"): "\t",
    qn("w:ptab"): "\t",
    qn("w:br"): "\n",
    qn("w:cr"): "\n",
    qn("w:noBreakHyphen"): "-",
}
_TEXT = qn("w:t")


def visible_text(element: etree._Element) -> str:
    """The text of `element` as Word shows it with tracked changes accepted; paragraphs are
    separated by a line break and text boxes are left out."""
    parts: list[str] = []
    _walk(element, parts)
    return "".join(parts)


def _walk(element: etree._Element, parts: list[str]) -> None:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag in _DROPPED or tag == _TXBX:
            continue
        if tag == _TEXT:
            parts.append(child.text or "")
        elif tag in _CHARACTERS:
            parts.append(_CHARACTERS[tag])
        elif tag == _ALTERNATE:
            choice = child.find(_CHOICE)
            if choice is not None:
                _walk(choice, parts)
        else:
            if tag == _P and parts and not parts[-1].endswith("\n"):
                parts.append("\n")
            _walk(child, parts)


def text_boxes(element: etree._Element) -> Iterator[etree._Element]:
    """The `w:txbxContent` elements inside `element` (not nested in another one), once each:
    the first `mc:Choice` of an `mc:AlternateContent`, never its `mc:Fallback`."""
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag in _DROPPED:
            continue
        if tag == _TXBX:
            yield child
        elif tag == _ALTERNATE:
            choice = child.find(_CHOICE)
            if choice is not None:
                yield from text_boxes(choice)
        else:
            yield from text_boxes(child)
