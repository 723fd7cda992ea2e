"""Lines PDFium's text page drops as duplicates, read back.

PDFium removes a text object whose text repeats the previous one at an overlapping position:
that is how "fake bold" (the same string drawn twice, a fraction of a point apart) is undone.
With tight line spacing, common in CJK documents set in CID fonts whose glyph boxes are taller
than the line pitch, two consecutive lines with the same text (table rows, list items,
repeated labels) overlap too, and the second line is lost. A text object none of whose
characters made it into the text page is such a line, unless it really sits on top of a kept
copy (fake bold). Each lost object is read on its own on a scratch page of the same document.
"""

from __future__ import annotations

import ctypes
import re

import msgspec
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

__all__ = ["RecoveredLine", "dropped_lines", "needs_recovery"]

# Ideographs, kana, hangul and CJK punctuation.
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_FAKE_BOLD_PT = 2.0  # a copy closer than this to a kept one, in x and y, is fake bold
_MAX_OBJECTS = 5000


class RecoveredLine(msgspec.Struct, frozen=True):
    """The text of a dropped text object and where it is on the page."""

    text: str
    top: float
    left: float


def needs_recovery(text: str) -> bool:
    """Whether a page's text is worth checking for dropped lines (it has CJK text: checking
    costs a call per character, and Latin text rarely has line pitches below its box
    height)."""
    return _CJK.search(text) is not None


def _address(handle: object) -> int:
    return ctypes.cast(handle, ctypes.c_void_p).value or 0  # type: ignore[arg-type]


def dropped_lines(
    document: pdfium.PdfDocument, page: pdfium.PdfPage, textpage: pdfium.PdfTextPage
) -> list[RecoveredLine]:
    """Text objects of `page` (top level) that have no character in `textpage` and are not
    fake-bold copies, each read on a scratch page."""
    kept: set[int] = set()
    for index in range(textpage.count_chars()):
        handle = pdfium_c.FPDFText_GetTextObject(textpage.raw, index)
        if handle:
            kept.add(_address(handle))
    objects = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT], max_depth=1))
    if len(objects) > _MAX_OBJECTS:
        return []
    lost = [obj for obj in objects if _address(obj.raw) not in kept]
    if not lost:
        return []
    kept_bounds = [obj.get_bounds() for obj in objects if _address(obj.raw) in kept]
    lost = [obj for obj in lost if not _is_fake_bold(obj.get_bounds(), kept_bounds)]
    return [line for line in (_read_alone(document, page, obj) for obj in lost) if line]


def _is_fake_bold(
    bounds: tuple[float, float, float, float], kept: list[tuple[float, float, float, float]]
) -> bool:
    left, bottom, _, _ = bounds
    return any(
        abs(left - other[0]) < _FAKE_BOLD_PT and abs(bottom - other[1]) < _FAKE_BOLD_PT
        for other in kept
    )


def _read_alone(
    document: pdfium.PdfDocument, page: pdfium.PdfPage, obj: pdfium.PdfObject
) -> RecoveredLine | None:
    """Move `obj` to a scratch page at the end of the document, read its text, move it back."""
    width, height = page.get_size()
    scratch_index = len(document)
    scratch = pdfium_c.FPDFPage_New(document.raw, scratch_index, width, height)
    if not scratch:
        return None
    moved = False
    try:
        if not pdfium_c.FPDFPage_RemoveObject(page.raw, obj.raw):
            return None
        moved = True
        pdfium_c.FPDFPage_InsertObject(scratch, obj.raw)
        textpage = pdfium_c.FPDFText_LoadPage(scratch)
        try:
            count = pdfium_c.FPDFText_CountChars(textpage)
            buffer = (ctypes.c_ushort * (count + 1))()
            pdfium_c.FPDFText_GetText(textpage, 0, count, buffer)
            text = bytes(buffer)[: 2 * count].decode("utf-16-le", errors="replace").strip()
        finally:
            pdfium_c.FPDFText_ClosePage(textpage)
        pdfium_c.FPDFPage_RemoveObject(scratch, obj.raw)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj.raw)
        moved = False
    finally:
        if moved:  # never leave an object owned by nobody
            pdfium_c.FPDFPage_RemoveObject(scratch, obj.raw)
            pdfium_c.FPDFPage_InsertObject(page.raw, obj.raw)
        pdfium_c.FPDF_ClosePage(scratch)
        pdfium_c.FPDFPage_Delete(document.raw, scratch_index)
    if not text:
        return None
    left, _, _, top = obj.get_bounds()
    return RecoveredLine(text, top, left)
