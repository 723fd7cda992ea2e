"""Reportlab mini-markup for user text: XML-escaping and a per-run font fallback by script.

Latin text (everything Windows-1252 can encode) uses the PDF base-14 Helvetica and Courier
families, which have real bold and italic faces. Other characters fall back, run by run, to
Noto Sans (Greek, Cyrillic, extended Latin, Vietnamese, Devanagari; shipped by the
``fontpkg-noto-sans`` package), Noto Sans Arabic (``fontpkg-noto-sans-arabic``), or reportlab's
built-in CID fonts for Chinese/Japanese (STSong-Light) and Korean (HYGothic-Medium), which
need no font files at all.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

import fontpkg
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

if TYPE_CHECKING:
    from render._blocks import Run

SANS = "UA-NotoSans"
SANS_ITALIC = "UA-NotoSans-Italic"
ARABIC = "UA-NotoSansArabic"
CJK = "STSong-Light"
HANGUL = "HYGothic-Medium"
LINK_COLOR = "#1d4ed8"
CODE_BACKGROUND = "#eef0f3"

_LINK_SCHEMES = ("http://", "https://", "mailto:")
_WINANSI = frozenset(bytes([i]).decode("cp1252", errors="ignore") for i in range(32, 256))
_CJK_RANGES = (
    (0x2E80, 0x2FDF),  # radicals
    (0x3000, 0x30FF),  # CJK punctuation, hiragana, katakana
    (0x3100, 0x312F),  # bopomofo
    (0x31F0, 0x31FF),  # katakana extension
    (0x3400, 0x4DBF),  # unified ideographs extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0xFF00, 0xFFEF),  # half- and full-width forms
)
_HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))


class _Coverage:
    """The fallback fonts, registered with reportlab once per process, and what they cover."""

    def __init__(self) -> None:
        sans = TTFont(SANS, str(fontpkg.path("Noto Sans")))
        sans_italic = TTFont(SANS_ITALIC, str(fontpkg.path("Noto Sans", style="italic")))
        arabic = TTFont(ARABIC, str(fontpkg.path("Noto Sans Arabic")))
        for font in (sans, sans_italic, arabic, UnicodeCIDFont(CJK), UnicodeCIDFont(HANGUL)):
            pdfmetrics.registerFont(font)
        # <b>/<i> inside a fallback run must resolve to a registered face; the variable fonts
        # are drawn at their default (regular) instance, so bold falls back to regular.
        for name, italic in ((SANS, SANS_ITALIC), (ARABIC, ARABIC), (CJK, CJK), (HANGUL, HANGUL)):
            addMapping(name, 0, 0, name)
            addMapping(name, 1, 0, name)
            addMapping(name, 0, 1, italic)
            addMapping(name, 1, 1, italic)
        self.sans = frozenset(map(chr, sans.face.charToGlyph))
        self.arabic = frozenset(map(chr, arabic.face.charToGlyph))


@functools.cache
def _coverage() -> _Coverage:
    return _Coverage()


def register_fonts() -> None:
    """Register the fallback fonts with reportlab (idempotent, once per process)."""
    _coverage()


@functools.cache
def _fallback_font(char: str) -> str | None:
    """The font for ``char`` when the base font cannot draw it, else None."""
    if char in _WINANSI or char in "\n\t":
        return None
    code = ord(char)
    if any(low <= code <= high for low, high in _CJK_RANGES):
        return CJK
    if any(low <= code <= high for low, high in _HANGUL_RANGES):
        return HANGUL
    coverage = _coverage()
    if char in coverage.sans:
        return SANS
    if char in coverage.arabic:
        return ARABIC
    return SANS


def text_markup(text: str) -> str:
    """``text`` escaped for reportlab's paragraph parser, with fallback fonts where needed."""
    if text.isascii():
        return escape(text)
    parts: list[str] = []
    start, current = 0, _fallback_font(text[0]) if text else None
    for index, char in enumerate(text):
        font = _fallback_font(char)
        if font != current and not char.isspace():
            parts.append(_segment(text[start:index], current))
            start, current = index, font
    parts.append(_segment(text[start:], current))
    return "".join(parts)


def _segment(text: str, font: str | None) -> str:
    if not text:
        return ""
    return escape(text) if font is None else f'<font face="{font}">{escape(text)}</font>'


def runs_markup(runs: list[Run]) -> str:
    """Inline runs as reportlab markup: bold, italic, strike, code and links."""
    parts: list[str] = []
    for run in runs:
        if run.text == "\n":
            parts.append("<br/>")
            continue
        markup = text_markup(run.text)
        if run.code:
            markup = f'<font face="Courier" backColor="{CODE_BACKGROUND}">{markup}</font>'
        if run.strike:
            markup = f"<strike>{markup}</strike>"
        if run.italic:
            markup = f"<i>{markup}</i>"
        if run.bold:
            markup = f"<b>{markup}</b>"
        if run.href and run.href.lower().startswith(_LINK_SCHEMES):
            markup = f'<a href={quoteattr(run.href)} color="{LINK_COLOR}"><u>{markup}</u></a>'
        parts.append(markup)
    return "".join(parts)


def code_markup(code: str) -> str:
    """A code block as markup: line breaks kept, indentation kept as non-breaking spaces."""
    lines = []
    for line in code.split("\n"):
        stripped = line.lstrip(" ")
        lines.append("&nbsp;" * (len(line) - len(stripped)) + text_markup(stripped))
    return "<br/>".join(lines)
