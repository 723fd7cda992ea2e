"""PDF text against pdfminer.six (an independent extractor) and the defect classes seen on real
files: CJK lines lost, columns read across, right-to-left words reversed, font debris."""

from __future__ import annotations

import collections
import difflib
import io
import re
import unicodedata
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pytest
from pdfminer.high_level import extract_text
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from ingest import IngestError, chunk, parse
from ingest._pdf import read_page
from tests.unit.ingest._files import debris_pdf, raw_pdf

if TYPE_CHECKING:
    from pathlib import Path

# pdfminer keeps soft hyphens and ligatures as they are; PDFium marks removed hyphens.
# pdfminer writes "(cid:N)" for a glyph without a Unicode value.
_NOISE = re.compile(r"[\u00ad\ufffe\x00-\x1f-]|\(cid:\d+\)")


def _normal(text: str) -> str:
    """Latin letters and digits in order: what both extractors map the same way (they read
    symbol and math fonts differently, each mapping glyphs the other cannot)."""
    text = unicodedata.normalize("NFKC", _NOISE.sub("", text))
    return "".join(ch for ch in text if ch.isalnum() and ord(ch) < 0x250)


def _page_texts(data: bytes) -> dict[int, str]:
    """Each page's text as the parser reads it (before paragraphs are rebuilt, which may
    carry a sentence over to the page it started on)."""
    document = pdfium.PdfDocument(data)
    try:
        return {number + 1: read_page(document, page) for number, page in enumerate(document)}
    finally:
        document.close()


@pytest.mark.parametrize(
    ("name", "pages"),
    [
        ("sf_minimal-document.pdf", None),
        ("sf_pdflatex-4-pages.pdf", None),
        ("sf_multicolumn.pdf", None),
        ("pdfjs_tracemonkey.pdf", None),
        ("pypdf_GeoBase_NHNC1_Data_Model_UML_EN.pdf", None),
        ("sf_GeoTopo-komprimiert.pdf", range(0, 117, 13)),
    ],
)
def test_text_per_page_matches_pdfminer(corpora: Path, name: str, pages: range | None) -> None:
    data = (corpora / "pdf" / name).read_bytes()
    ours = _page_texts(data)
    numbers = list(pages) if pages is not None else [page - 1 for page in sorted(ours)]
    ratios = []
    for index in numbers:
        theirs = _normal(extract_text(io.BytesIO(data), page_numbers=[index]))
        mine = _normal(ours.get(index + 1, ""))
        if not theirs:
            continue
        # Same characters (nothing lost or invented) ...
        common = sum((collections.Counter(mine) & collections.Counter(theirs)).values())
        assert common >= 0.97 * len(theirs), (name, index + 1, common / len(theirs))
        assert common >= 0.97 * len(mine), (name, index + 1, common / len(mine))
        # ... in much the same order (tables and figure labels may be ordered differently).
        ratios.append(difflib.SequenceMatcher(None, mine, theirs, autojunk=False).ratio())
    assert ratios
    assert sum(ratios) / len(ratios) >= 0.85, (name, [round(r, 2) for r in ratios])


def _cjk_pdf(rows: list[str], pitch: float, font: str = "STSong-Light") -> bytes:
    """Rows of CJK text in a CID font (not embedded), 14 pt type on a `pitch`-point grid:
    tighter than the type, as CJK forms and tables often are."""
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.setFont(font, 14)
    y = 780.0
    for row in rows:
        if y < 60:
            pdf.showPage()
            pdf.setFont(font, 14)
            y = 780.0
        pdf.drawString(72, y, row)
        y -= pitch
    pdf.showPage()
    pdf.save()
    return out.getvalue()


_CJK_ROWS = [
    "合计\uff1a一百二十元",
    "合计\uff1a一百二十元",
    "备注\uff1a无",
    "备注\uff1a无",
    "审核人\uff1a王小明",
    "委员会批准了新的研究计划。",
] * 12


@pytest.mark.parametrize("pitch", [12.0, 16.0])
def test_cjk_lines_in_cid_fonts_are_not_lost(pitch: float) -> None:
    data = _cjk_pdf(_CJK_ROWS, pitch)
    text = "\n".join(block.text for block in parse(data, "pdf").blocks)
    theirs = [line.strip() for line in extract_text(io.BytesIO(data)).splitlines()]
    theirs = [line for line in theirs if line]
    for row in set(_CJK_ROWS):
        assert text.count(row) == _CJK_ROWS.count(row) == theirs.count(row), row


def test_fake_bold_copies_are_still_dropped() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.setFont("STSong-Light", 14)
    for offset in (0.0, 0.4):  # "bold" by drawing the same string twice
        pdf.drawString(72 + offset, 700, "重要通知")
    pdf.drawString(72, 680, "会议改在周五举行。")
    pdf.showPage()
    pdf.save()
    text = " ".join(block.text for block in parse(out.getvalue(), "pdf").blocks)
    assert text.count("重要通知") == 1
    assert "会议改在周五举行。" in text


def _two_column_form() -> bytes:
    """A page written row by row across two columns (as forms and word processors do),
    under a title that spans both."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(72, 790, "Harbour Authority Inspection Report for the Northern Pier")
    pdf.setFont("Helvetica", 10)
    for row in range(30):
        y = 750 - 14 * row
        pdf.drawString(72, y, f"Left column sentence {row} about the tide gauges.")
        pdf.drawString(320, y, f"Right column note {row} on the mooring lines.")
    pdf.drawString(72, 300, "A closing remark that runs across the whole width of the page here.")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def test_two_column_page_is_read_column_by_column() -> None:
    text = "\n".join(block.text for block in parse(_two_column_form(), "pdf").blocks)
    assert text.startswith("Harbour Authority Inspection Report")
    left = [text.index(f"Left column sentence {row} ") for row in range(30)]
    right = [text.index(f"Right column note {row} ") for row in range(30)]
    assert left == sorted(left)
    assert right == sorted(right)
    assert left[-1] < right[0]  # the whole left column first
    assert right[-1] < text.index("A closing remark")
    for row in range(30):  # no line is read across the gutter
        assert f"sentence {row} about the tide gauges. Right column note {row} " not in text


def test_two_column_corpus_paper_keeps_columns_apart(corpora: Path) -> None:
    data = (corpora / "pdf" / "pdfjs_tracemonkey.pdf").read_bytes()
    text = " ".join(block.text for block in parse(data, "pdf").blocks)
    # The abstract (left column) is read before the introduction (right column) ends.
    assert text.index("Dynamic languages such as JavaScript") < text.index("1. Introduction")


def test_tables_are_not_taken_for_columns(corpora: Path) -> None:
    data = (corpora / "pdf" / "sf_multicolumn.pdf").read_bytes()
    text = "\n".join(block.text for block in parse(data, "pdf").blocks if block.page == 3)
    assert "Austria 8.9 83,879 Vienna German" in text


def test_arabic_is_stored_in_logical_order(corpora: Path) -> None:
    data = (corpora / "pdf" / "sf_habibi-arabic.pdf").read_bytes()
    text = " ".join(block.text for block in parse(data, "pdf").blocks)
    word = "حَبيبي"  # as pdfminer.six reads it from the file's character map
    assert word in extract_text(io.BytesIO(data))
    assert word in text
    assert word[::-1] not in text
    assert "habibi" in text
    (only,) = chunk(parse(data, "pdf"))
    assert word in only.text


def _font_pdf(content: bytes, font: bytes, extra: list[bytes] | None = None) -> bytes:
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            font,
            *(extra or []),
        ]
    )


def test_arabic_presentation_forms_in_visual_order_become_the_word() -> None:
    # "سلام" drawn left to right as presentation forms: meem, alef (final), lam (medial),
    # seen (initial); the character map gives the forms, not the letters.
    forms = ["\ufee1", "\ufe8e", "\ufee0", "\ufeb3"]
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def"
        b" 1 begincodespacerange <0000> <ffff> endcodespacerange 4 beginbfchar "
        + b" ".join(
            b"<%04x> <%s>" % (i + 1, f.encode("utf-16-be").hex().encode())
            for i, f in enumerate(forms)
        )
        + b" endbfchar endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    content = b"BT /F1 24 Tf 100 700 Td <0001000200030004> Tj ET"
    data = _font_pdf(
        content,
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Arial /Encoding /Identity-H"
        b" /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        [
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Arial /CIDSystemInfo"
            b" << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 500 >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(cmap), cmap),
        ],
    )
    text = " ".join(block.text for block in parse(data, "pdf").blocks)
    assert "سلام" in text


def test_a_page_of_font_debris_is_no_text() -> None:
    with pytest.raises(IngestError) as caught:
        parse(debris_pdf(with_text_page=False), "pdf")
    assert caught.value.code == "no_text"
    assert "character map" in caught.value.message


def test_debris_pages_are_left_out_with_a_warning() -> None:
    document = parse(debris_pdf(with_text_page=True), "pdf")
    assert [block.page for block in document.blocks] == [1]
    assert document.blocks[0].text == "The survey found nesting terns on the east spit."
    (warning,) = document.warnings
    assert "1 of 2 pages (2)" in warning
    assert "character map" in warning


def test_table_of_contents_leaders_are_not_debris(corpora: Path) -> None:
    data = (corpora / "pdf" / "pypdf_GeoBase_NHNC1_Data_Model_UML_EN.pdf").read_bytes()
    document = parse(data, "pdf")
    assert document.warnings == ()
    assert any(block.page == 4 and "TABLE OF CONTENTS" in block.text for block in document.blocks)


def test_paragraphs_continue_across_lines_and_pages() -> None:
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.setFont("Helvetica", 11)
    lines = [
        "The inspection of the northern pier found that the mooring rings (see",
        "the annex):",
        "were corroded beyond repair and that the surveyors recommended their",
    ]
    for number, line in enumerate(lines):
        pdf.drawString(72, 700 - 14 * number, line)
    pdf.showPage()
    pdf.setFont("Helvetica", 11)
    pdf.drawString(72, 700, "replacement before the winter storms.")
    pdf.drawString(72, 686, "A second paragraph starts here and runs on for a good while across")
    pdf.drawString(72, 672, "the line, and ends here.")
    for number in range(4):
        pdf.drawString(
            72,
            644 - 14 * number,
            "Filler prose of a full line width keeps the page's typical line length.",
        )
    pdf.showPage()
    pdf.save()
    blocks = parse(out.getvalue(), "pdf").blocks
    assert blocks[0].text == (
        "The inspection of the northern pier found that the mooring rings (see the annex): "
        "were corroded beyond repair and that the surveyors recommended their replacement "
        "before the winter storms."
    )
    assert blocks[0].page == 1
    assert blocks[1].text == (
        "A second paragraph starts here and runs on for a good while across the line, and "
        "ends here."
    )
    assert blocks[1].page == 2
