"""Reading order of a PDF page's text: columns, right-to-left runs, presentation forms.

PDFium returns a page's characters in content-stream order with line breaks it infers. That
order is right for most files, but a page whose producer wrote it row by row across columns
(forms, many word processors' two-column layouts) comes out read across the gutter, and
right-to-left words may come out reversed. Here the text is rebuilt from PDFium's character
indices and boxes:

1. Columns are found from the page's text rectangles (runs of characters on one line without
   a large gap): an interior vertical band that almost no rectangle crosses, with enough
   full, wide lines of prose on each side. Tables (short cells) are not columns.
2. Each line is cut at the gutters it crosses; lines that cross a gutter with text in it
   (titles, figure captions) span the page and separate regions. Within a region the
   columns are read left to right, each top to bottom.
3. A run of right-to-left letters whose characters are not laid out right to left is
   reversed to logical order, and Arabic presentation forms and Latin ligatures are
   replaced by their letters (NFKC), so that a search for the word finds it.
"""

from __future__ import annotations

import bisect
import itertools
import re
import statistics
import unicodedata
from typing import TYPE_CHECKING

import msgspec
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ingest._pdf_recover import RecoveredLine

__all__ = ["Box", "find_gutters", "page_text"]

_MIN_GUTTER_PT = 6.0
_MIN_SIDE_LINES = 4
_CROSSING_SHARE = 0.1  # of the rectangles may cross a gutter (titles, captions)
_PROSE_FILL = 0.45  # median rectangle width / column width for a column of prose
_MIN_COLUMN_SHARE = 0.2  # of the text width
# Letters of right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko, ...) and their
# presentation forms; marks and spaces between them belong to the run.
_RTL = re.compile(
    r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc](?:[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc"
    r"\u0300-\u036f ]*[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc])?"
)
_HAS_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
# Compatibility characters worth folding: Latin/Armenian/Hebrew ligatures and Arabic
# presentation forms. Full-width CJK punctuation and the like stay as written.
_COMPATIBILITY = re.compile(r"[\ufb00-\ufdff\ufe70-\ufefc]+")


class Box(msgspec.Struct, frozen=True, array_like=True):
    """A rectangle in PDF points: left, bottom, right, top."""

    left: float
    bottom: float
    right: float
    top: float


def find_gutters(rects: list[Box]) -> list[float]:
    """x positions (centres) of the gutters between text columns, left to right; empty for
    a single-column page."""
    if len(rects) < 2 * _MIN_SIDE_LINES:
        return []
    left = min(r.left for r in rects)
    right = max(r.right for r in rects)
    width = right - left
    if width <= 4 * _MIN_GUTTER_PT:
        return []
    bins = int(width) + 1
    # How many rectangles cover each 1-pt bin: +1 where a rectangle starts, -1 after it
    # ends, summed left to right (linear in rectangles + bins, not in their total width).
    steps = [0] * (bins + 1)
    for r in rects:
        first, last = max(0, int(r.left - left)), min(bins, int(r.right - left) + 1)
        if first < last:
            steps[first] += 1
            steps[last] -= 1
    cover = list(itertools.accumulate(steps[:bins]))
    allowed = max(1, int(len(rects) * _CROSSING_SHARE))
    gutters: list[float] = []
    start: int | None = None
    for x in range(bins + 1):
        open_ = x < bins and cover[x] <= allowed
        if open_ and start is None:
            start = x
        elif not open_ and start is not None:
            if x - start >= _MIN_GUTTER_PT and start > 0 and x < bins:
                gutters.append(left + (start + x) / 2)
            start = None
    return _prose_gutters(rects, gutters, left, right)


def _prose_gutters(
    rects: list[Box], gutters: list[float], left: float, right: float
) -> list[float]:
    """Keep the gutters whose neighbouring columns are wide and filled with lines of prose."""
    kept: list[float] = []
    edges = [left, *gutters, right]
    for index, gutter in enumerate(gutters):
        sides = ((edges[index], gutter), (gutter, edges[index + 2]))
        if all(_is_prose_column(rects, lo, hi, right - left) for lo, hi in sides):
            kept.append(gutter)
    return kept


def _is_prose_column(rects: list[Box], lo: float, hi: float, text_width: float) -> bool:
    span = hi - lo
    if span < _MIN_COLUMN_SHARE * text_width:
        return False
    inside = [r for r in rects if r.left >= lo - 1 and r.right <= hi + 1]
    if len(inside) < _MIN_SIDE_LINES:
        return False
    # Lines of one row may be split into several rectangles; merge those on one baseline.
    rows: dict[int, tuple[float, float]] = {}
    for r in inside:
        key = round(r.bottom)
        low, high = rows.get(key, (r.left, r.right))
        rows[key] = (min(low, r.left), max(high, r.right))
    extent = max(h for _, h in rows.values()) - min(lo_ for lo_, _ in rows.values())
    return statistics.median(h - lo_ for lo_, h in rows.values()) >= _PROSE_FILL * extent


_NO_BOX = Box(0.0, 0.0, 0.0, 0.0)


class _Segment(msgspec.Struct):
    start: int
    end: int  # character indices, end exclusive
    column: int  # -1: spans the gutters
    top: float
    left: float
    text: str | None = None  # a recovered line's own text


def page_text(textpage: pdfium.PdfTextPage, recovered: Sequence[RecoveredLine] = ()) -> str:
    """The page's text in reading order (see the module docstring), lines separated by
    "\\n"; `recovered` lines (dropped by PDFium, read back) are put where they stand."""
    text = textpage.get_text_range()
    count = textpage.count_chars()
    if len(text) != count:
        # Characters outside the Basic Multilingual Plane, or characters with no Unicode
        # value: the text and the character indices do not line up; read one per index.
        text = "".join(
            chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index)) for index in range(count)
        )
    lines = _lines(text)
    rects = [Box(*textpage.get_rect(i)) for i in range(textpage.count_rects())]
    gutters = find_gutters(rects)
    if gutters:
        segments = _segments(textpage, text, lines, gutters)
        segments.extend(
            _Segment(0, 0, bisect.bisect(gutters, r.left + 1), r.top, r.left, r.text)
            for r in recovered
        )
        segments = _ordered(segments)
    else:
        segments = [_Segment(s, e, 0, 0.0, 0.0) for s, e in lines]
        if recovered:
            segments = _insert(textpage, text, segments, recovered)
    has_rtl = _HAS_RTL.search(text) is not None
    out = [
        s.text
        if s.text is not None
        else _logical(textpage, text, s.start, s.end)
        if has_rtl
        else text[s.start : s.end]
        for s in segments
    ]
    return _fold("\n".join(out))


def _insert(
    textpage: pdfium.PdfTextPage,
    text: str,
    segments: list[_Segment],
    recovered: Sequence[RecoveredLine],
) -> list[_Segment]:
    """Put each recovered line after the nearest line above it (in the same column)."""
    placed: list[tuple[float, float]] = []
    for segment in segments:
        first = next((i for i in range(segment.start, segment.end) if not text[i].isspace()), None)
        box = _box(textpage, first) if first is not None else _NO_BOX
        placed.append((box.top, box.left))
    after: dict[int, list[_Segment]] = {}
    for line in sorted(recovered, key=lambda r: -r.top):
        above = [
            (top - line.top + abs(left - line.left) / 2, index)
            for index, (top, left) in enumerate(placed)
            if top > line.top
        ]
        index = min(above)[1] if above else -1
        after.setdefault(index, []).append(_Segment(0, 0, 0, line.top, line.left, line.text))
    ordered = after.get(-1, [])
    for index, segment in enumerate(segments):
        ordered.append(segment)
        ordered.extend(after.get(index, []))
    return ordered


def _lines(text: str) -> list[tuple[int, int]]:
    lines: list[tuple[int, int]] = []
    start = 0
    for match in re.finditer(r"\r\n|\n|\r", text):
        lines.append((start, match.start()))
        start = match.end()
    lines.append((start, len(text)))
    return [(s, e) for s, e in lines if e > s]


def _box(textpage: pdfium.PdfTextPage, index: int) -> Box:
    try:
        return Box(*textpage.get_charbox(index))
    except pdfium.PdfiumError:  # a character PDFium generated (a space or line break)
        return _NO_BOX


def _segments(
    textpage: pdfium.PdfTextPage, text: str, lines: list[tuple[int, int]], gutters: list[float]
) -> list[_Segment]:
    segments: list[_Segment] = []
    for start, end in lines:
        first = next((i for i in range(start, end) if not text[i].isspace()), None)
        if first is None:
            continue
        last = next(i for i in range(end - 1, start - 1, -1) if not text[i].isspace())
        head, tail = _box(textpage, first), _box(textpage, last)
        if tail.left < head.left:  # not laid out left to right: keep the line whole
            segments.append(_Segment(start, end, -1, max(head.top, tail.top), head.left))
            continue
        cuts = [start]
        spans = False
        for gutter in gutters:
            if not head.left < gutter < tail.right:
                continue
            cut = _first_right_of(textpage, first, last + 1, gutter)
            if not first < cut <= last:
                spans = True
                break
            before, after = _box(textpage, cut - 1), _box(textpage, cut)
            if after.left - before.right < _MIN_GUTTER_PT / 2:
                spans = True  # text runs through the gutter
                break
            cuts.append(cut)
        if spans:
            segments.append(_Segment(start, end, -1, head.top, head.left))
            continue
        cuts.append(end)
        for s, e in itertools.pairwise(cuts):
            box = _box(textpage, s if not text[s].isspace() else min(e - 1, s + 1))
            column = bisect.bisect(gutters, (box.left + box.right) / 2)
            segments.append(_Segment(s, e, column, box.top, box.left))
    return segments


def _first_right_of(textpage: pdfium.PdfTextPage, lo: int, hi: int, x: float) -> int:
    """First index in [lo, hi) whose character starts right of `x` (boxes left to right)."""
    while lo < hi:
        mid = (lo + hi) // 2
        box = _box(textpage, mid)
        if box.left == box.right == 0 or box.left < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _ordered(segments: list[_Segment]) -> list[_Segment]:
    """Regions separated by spanning lines; in each, columns left to right, top to bottom."""
    ordered: list[_Segment] = []
    region: list[_Segment] = []
    for segment in sorted(segments, key=lambda s: (-s.top, s.left)):
        if segment.column >= 0:
            region.append(segment)
            continue
        ordered.extend(sorted(region, key=lambda s: (s.column, -s.top, s.left)))
        region = []
        ordered.append(segment)
    ordered.extend(sorted(region, key=lambda s: (s.column, -s.top, s.left)))
    return ordered


def _logical(textpage: pdfium.PdfTextPage, text: str, start: int, end: int) -> str:
    """text[start:end] with each right-to-left run in logical order."""
    line = text[start:end]
    if not _HAS_RTL.search(line):
        return line
    parts: list[str] = []
    position = 0
    for match in _RTL.finditer(line):
        parts.append(line[position : match.start()])
        run = match.group()
        first, last = _box(textpage, start + match.start()), _box(textpage, start + match.end() - 1)
        # Laid out right to left: already logical. Otherwise (left to right, or one glyph
        # standing for the whole word) PDFium gave it in visual order.
        parts.append(run if last.right < first.left else run[::-1])
        position = match.end()
    parts.append(line[position:])
    return "".join(parts)


def _fold(text: str) -> str:
    return _COMPATIBILITY.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
