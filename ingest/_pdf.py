"""PDF text by page with PDFium (pypdfium2), paragraphs rebuilt from lines, headings from the
outline (bookmarks)."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ingest._errors import IngestError
from ingest._pdf_layout import page_text
from ingest._pdf_recover import dropped_lines, needs_recovery
from ingest._structure import HeadingStack
from ingest._types import Block, ParsedDocument

if TYPE_CHECKING:
    from ingest._control import ParseControl
    from ingest._types import Limits

__all__ = ["parse_pdf"]

# PDFium is not thread-safe; in-process parsing from several threads takes turns.
_PDFIUM_LOCK = threading.Lock()
_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD
# PDFium writes U+0002 where it removed a hyphen at a line end; other C0 controls are noise.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
# A line ending a sentence: . ! ? (or the CJK full stop, exclamation and question marks),
# possibly followed by closing quotes or brackets. A line ending in ":" ";" or ")" alone
# is inside a sentence more often than not.
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f][\"'\u201d\u2019\u00bb)\]]*$")
_MAX_OUTLINE_ENTRIES = 10_000
# A page whose visible characters are less than this share letters and digits is debris
# (prose is ~80%, tables of figures and formulas well over half).
_DEBRIS_LETTER_SHARE = 0.3
_DEBRIS_MIN_CHARS = 20
_LISTED_PAGES = 10
# Dot leaders and rules in tables of contents and forms ("Overview........6", "____").
_LEADERS = re.compile(r"([^\w\s])\1{2,}")
# What str.isalnum() rejects: \w is exactly the alphanumerics plus "_".
_NOT_ALNUM = re.compile(r"[\W_]")


def parse_pdf(data: bytes, limits: Limits, control: ParseControl) -> ParsedDocument:
    """Parse a PDF into paragraph (and outline heading) blocks, one page at a time."""
    with _PDFIUM_LOCK:
        document = _open(data)
        try:
            return _read(document, limits, control)
        finally:
            document.close()


def _open(data: bytes) -> pdfium.PdfDocument:
    try:
        # PDFium tries the empty user password by itself.
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == _PASSWORD_ERROR:
            raise IngestError(
                "encrypted",
                "the PDF is password-protected; a password-protected PDF cannot be read, "
                "remove the password and upload it again",
            ) from exc
        raise IngestError(
            "malformed", "the PDF is damaged or truncated and could not be opened"
        ) from exc


def _read(document: pdfium.PdfDocument, limits: Limits, control: ParseControl) -> ParsedDocument:
    page_count = len(document)
    if page_count > limits.max_pages:
        raise IngestError(
            "too_large", f"the PDF has {page_count} pages; the limit is {limits.max_pages}"
        )
    outline = _outline(document, page_count)
    metadata = {k: v.strip() for k, v in document.get_metadata_dict().items() if v.strip()}
    blocks: list[Block] = []
    headings = HeadingStack()
    any_text = False
    any_image = False
    unreadable: list[int] = []
    control.report(0, page_count, 0)
    for index in range(page_count):
        page = document[index]
        try:
            text = read_page(document, page)
            if not text.strip() and not any_image:
                any_image = _has_image(page)
        finally:
            page.close()
        if is_debris(text):
            unreadable.append(index + 1)
            text = ""
        any_text = any_text or bool(text.strip())
        _page_blocks(index + 1, text, outline.get(index, []), headings, blocks)
        control.report(index + 1, page_count, len(blocks))
    if not any_text:
        if unreadable:
            raise IngestError("no_text", _unreadable_message(unreadable, page_count))
        if any_image:
            raise IngestError(
                "no_text",
                "the PDF has no text layer; scanned pages need OCR, which this server does not do",
            )
        raise IngestError("empty", "the PDF contains no text")
    title = metadata.get("Title") or None
    warnings = (_unreadable_message(unreadable, page_count),) if unreadable else ()
    return ParsedDocument("pdf", title, metadata, page_count, tuple(blocks), warnings)


def read_page(document: pdfium.PdfDocument, page: pdfium.PdfPage) -> str:
    """A page's text in reading order, lines PDFium dropped as duplicates read back."""
    textpage = page.get_textpage()
    try:
        text = page_text(textpage)
        if needs_recovery(text):
            recovered = dropped_lines(document, page, textpage)
            if recovered:
                text = page_text(textpage, recovered)
    finally:
        textpage.close()
    return text


def is_debris(text: str) -> bool:
    """True when a page's text is mostly punctuation and controls: what PDFium returns for
    fonts without a usable character map (codes passed through as characters)."""
    readable = len(_NOT_ALNUM.sub("", text))
    # Dropping spaces and leaders only raises the share: prose is settled without them.
    if readable >= _DEBRIS_LETTER_SHARE * len(text):
        return False
    visible = "".join(_LEADERS.sub("", text).split())
    return len(visible) >= _DEBRIS_MIN_CHARS and readable < _DEBRIS_LETTER_SHARE * len(visible)


def _unreadable_message(pages: list[int], page_count: int) -> str:
    listed = ", ".join(str(page) for page in pages[:_LISTED_PAGES])
    more = f" and {len(pages) - _LISTED_PAGES} more" if len(pages) > _LISTED_PAGES else ""
    which = (
        "the page" if page_count == 1 else f"{len(pages)} of {page_count} pages ({listed}{more})"
    )
    return (
        f"{which} use fonts without a usable character map: their text comes out as "
        "punctuation and was left out; a PDF printed again with embedded Unicode fonts, or "
        "OCR, would make it readable"
    )


def _outline(document: pdfium.PdfDocument, page_count: int) -> dict[int, list[tuple[int, str]]]:
    """Outline entries by page index: (level starting at 1, title), in outline order."""
    entries: dict[int, list[tuple[int, str]]] = {}
    for count, bookmark in enumerate(document.get_toc(max_depth=8)):
        if count >= _MAX_OUTLINE_ENTRIES:
            break
        dest = bookmark.get_dest()
        index = dest.get_index() if dest is not None else None
        title = _SPACES.sub(" ", bookmark.get_title()).strip()
        if index is None or not 0 <= index < page_count or not title:
            continue
        entries.setdefault(index, []).append((bookmark.level + 1, title))
    return entries


def _has_image(page: pdfium.PdfPage) -> bool:
    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))


def _page_blocks(
    page_number: int,
    text: str,
    outline: list[tuple[int, str]],
    headings: HeadingStack,
    out: list[Block],
) -> None:
    """Append the page's blocks to `out`, opening the page's `outline` entries on `headings`.

    An outline heading is placed where its title appears as a line of the page, otherwise at
    the top of the page.
    """
    lines = [" ".join(_CONTROL.sub("", line).split()) for line in text.splitlines()]
    pending = list(outline)
    placed_at: dict[int, list[tuple[int, str]]] = {}
    for level, title in outline:
        key = title.casefold()
        for number, line in enumerate(lines):
            if _is_title_line(line.casefold(), key):
                placed_at.setdefault(number, []).append((level, title))
                lines[number] = ""
                pending.remove((level, title))
                break
    for level, title in pending:
        _push_heading(headings, level, title, page_number, out)
    paragraph: list[str] = []
    typical = _typical_length(lines)
    # The page a paragraph starts on: the previous page when the first lines finish the
    # last paragraph of the previous page.
    start_page = page_number
    if _continues_previous_page(out, page_number, lines, placed_at, pending):
        previous = out.pop()
        paragraph.append(previous.text)
        start_page = previous.page or page_number
    following = [""] * len(lines)  # the next non-empty line after each line
    for number in range(len(lines) - 2, -1, -1):
        following[number] = lines[number + 1] or following[number + 1]
    for number, line in enumerate(lines):
        for level, title in placed_at.get(number, []):
            _flush(paragraph, headings.path, start_page, out)
            start_page = page_number
            _push_heading(headings, level, title, page_number, out)
        if not line:
            _flush(paragraph, headings.path, start_page, out)
            start_page = page_number
            continue
        paragraph.append(line)
        ends = _SENTENCE_END.search(line) is not None
        short = len(line) < 0.6 * typical
        next_line = following[number]
        # A short line ends a paragraph (or is a heading) unless the next line carries on
        # the same sentence in lower case.
        carries_on = not ends and next_line[:1].islower()
        if (short and not carries_on) or (ends and len(line) < 0.9 * typical):
            _flush(paragraph, headings.path, start_page, out)
            start_page = page_number
    _flush(paragraph, headings.path, start_page, out)


def _continues_previous_page(
    out: list[Block],
    page_number: int,
    lines: list[str],
    placed_at: dict[int, list[tuple[int, str]]],
    pending: list[tuple[int, str]],
) -> bool:
    """Whether the page's first line carries on a sentence left open at the end of the
    previous page (no heading in between, lower-case start, no sentence end before)."""
    if not out or pending or placed_at.get(0):
        return False
    last = out[-1]
    first = next((line for line in lines if line), "")
    return (
        last.kind == "paragraph"
        and last.page == page_number - 1
        and not _SENTENCE_END.search(last.text)
        and first[:1].islower()
    )


def _is_title_line(line: str, title: str) -> bool:
    if not line:
        return False
    if line == title:
        return True
    # Numbering may be on the line but not in the bookmark, or the other way round.
    return (line.endswith(title) and len(line) <= len(title) + 8) or (
        title.endswith(line) and len(line) >= 0.6 * len(title)
    )


def _typical_length(lines: list[str]) -> float:
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return 0.0
    return float(lengths[int(len(lengths) * 0.9) - 1 if len(lengths) > 1 else 0])


def _push_heading(
    headings: HeadingStack, level: int, title: str, page: int, out: list[Block]
) -> None:
    path = headings.push(level, title)
    out.append(Block("heading", title, level=level, heading_path=path, page=page))


def _flush(paragraph: list[str], path: tuple[str, ...], page: int, out: list[Block]) -> None:
    if paragraph:
        out.append(Block("paragraph", " ".join(paragraph), heading_path=path, page=page))
        paragraph.clear()
