from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ingest import IngestError, Limits, Progress, chunk, parse
from tests.unit.ingest._files import FACTS, planted_pdf

if TYPE_CHECKING:
    from pathlib import Path


def _pdf(corpora: Path, name: str) -> bytes:
    return (corpora / "pdf" / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("sf_libreoffice-writer-password.pdf", "encrypted"),
        ("pypdf_crazyones-encrypted-256.pdf", "encrypted"),
        ("sf_grayscale-image.pdf", "no_text"),
        ("pdfjs_empty.pdf", "empty"),
        ("pdfjs_bug1020226.pdf", "malformed"),
    ],
)
def test_failing_corpora_files(corpora: Path, name: str, code: str) -> None:
    with pytest.raises(IngestError) as caught:
        parse(_pdf(corpora, name), "pdf")
    assert caught.value.code == code


def test_messages_say_what_is_wrong(corpora: Path) -> None:
    with pytest.raises(IngestError) as encrypted:
        parse(_pdf(corpora, "sf_libreoffice-writer-password.pdf"), "pdf")
    assert "password-protected PDF cannot be read" in encrypted.value.message
    with pytest.raises(IngestError) as scanned:
        parse(_pdf(corpora, "sf_grayscale-image.pdf"), "pdf")
    assert "no text layer" in scanned.value.message
    assert "OCR" in scanned.value.message


def test_empty_user_password_opens(corpora: Path) -> None:
    document = parse(_pdf(corpora, "pypdf_r2-empty-password.pdf"), "pdf")
    assert document.page_count == 1
    assert any(block.text for block in document.blocks)


def test_malformed_but_recoverable_pdf_yields_its_text(corpora: Path) -> None:
    document = parse(_pdf(corpora, "pdfjs_helloworld-bad.pdf"), "pdf")
    assert "Hello" in " ".join(block.text for block in document.blocks)


@pytest.mark.parametrize(
    ("name", "pages", "needle"),
    [
        ("sf_minimal-document.pdf", 1, "Lorem ipsum"),
        ("sf_pdflatex-4-pages.pdf", 4, "blind text"),
        ("sf_multicolumn.pdf", 3, "Two-Column Document"),
        ("pypdf_GeoBase_NHNC1_Data_Model_UML_EN.pdf", 19, "GeoBase"),
        ("pdfjs_tracemonkey.pdf", 14, "Trace-based Just-in-Time"),
        ("sf_habibi-arabic.pdf", 1, "habibi"),
    ],
)
def test_readable_corpora_pdfs(corpora: Path, name: str, pages: int, needle: str) -> None:
    document = parse(_pdf(corpora, name), "pdf")
    assert document.page_count == pages
    text = " ".join(block.text for block in document.blocks)
    assert needle in text
    assert {block.page for block in document.blocks} <= set(range(1, pages + 1))
    chunks = chunk(document)
    assert chunks
    assert all(c.page is not None and c.page_end is not None for c in chunks)
    assert all(c.page <= c.page_end for c in chunks if c.page and c.page_end)


def test_arabic_text_survives(corpora: Path) -> None:
    document = parse(_pdf(corpora, "sf_habibi-arabic.pdf"), "pdf")
    text = " ".join(block.text for block in document.blocks)
    assert any("\u0600" <= ch <= "\u06ff" for ch in text)


def test_two_column_paper_keeps_words_whole(corpora: Path) -> None:
    document = parse(_pdf(corpora, "pdfjs_tracemonkey.pdf"), "pdf")
    text = " ".join(block.text for block in document.blocks)
    assert len(text) > 70_000
    # Hyphenation at line ends is undone: no PDFium soft-hyphen markers remain.
    assert "\x02" not in text
    assert "compilation" in text


def test_geotopo_117_pages_with_outline_headings_and_progress(corpora: Path) -> None:
    steps: list[Progress] = []
    document = parse(_pdf(corpora, "sf_GeoTopo-komprimiert.pdf"), "pdf", progress=steps.append)
    assert document.page_count == 117
    assert document.title == "Geometrie und Topologie"
    assert [s.pages_done for s in steps] == sorted(s.pages_done for s in steps)
    assert steps[-1].pages_done == 117
    assert steps[-1].page_count == 117
    headings = [b for b in document.blocks if b.kind == "heading"]
    assert any(h.text == "1.2 Metrische Räume" and h.page == 10 for h in headings)
    assert ("1 Topologische Grundbegriffe", "1.2 Metrische Räume") in {
        h.heading_path for h in headings
    }
    chunks = chunk(document)
    metric = [c for c in chunks if c.heading_path[-1:] == ("1.2 Metrische Räume",)]
    assert metric
    assert "Metrik" in metric[0].text
    assert chunks[-1].page_end == 117


def test_planted_facts_land_on_their_pages_and_chapters() -> None:
    document = parse(planted_pdf(), "pdf")
    assert document.title == "Planted Facts"
    assert document.page_count == 3
    by_text = {block.text: block for block in document.blocks}
    for page, fact in FACTS.items():
        block = next(b for text, b in by_text.items() if fact in text)
        assert block.page == page
        assert block.heading_path == (("Chapter One",) if page < 3 else ("Chapter Two",))
    chunks = chunk(document)
    for page, fact in FACTS.items():
        holder = next(c for c in chunks if fact in c.text)
        assert holder.page is not None
        assert holder.page_end is not None
        assert holder.page <= page <= holder.page_end
    assert {c.heading_path for c in chunks} == {("Chapter One",), ("Chapter Two",)}


def test_page_limit() -> None:
    with pytest.raises(IngestError) as caught:
        parse(planted_pdf(), "pdf", Limits(max_pages=2))
    assert caught.value.code == "too_large"
    assert "3 pages" in caught.value.message
