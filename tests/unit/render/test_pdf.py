from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pypdf
import pytest

from render import ExportDocument, ExportPhase, render_pdf
from tests.unit.render.sample import (
    ARABIC,
    CJK,
    CYRILLIC,
    GREEK,
    JAPANESE,
    LONG_WORD,
    PHASES,
)


@pytest.fixture(scope="module")
def reader(plan: ExportDocument) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(render_pdf(plan)))


@pytest.fixture(scope="module")
def text(reader: pypdf.PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def _squash(value: str) -> str:
    return re.sub(r"\s+", "", value)


def test_title_page_and_metadata(reader: pypdf.PdfReader) -> None:
    first = reader.pages[0].extract_text()
    assert "Ledgerly — Business Plan 2026" in first
    assert "Business plan" in first
    assert "Generated 2026-03-14 09:30 UTC" in first
    assert "Page" not in first
    assert reader.metadata is not None
    assert reader.metadata.title == "Ledgerly — Business Plan 2026"


def test_contents_lists_every_phase_with_pages(reader: pypdf.PdfReader) -> None:
    contents = reader.pages[1].extract_text()
    assert "Contents" in contents
    for number, (title, _, _) in enumerate(PHASES, start=1):
        assert f"{number}. {title}" in contents
    listed_pages = [int(n) for n in re.findall(r"\.\s+(\d+)\n", contents)]
    assert len(listed_pages) == len(PHASES)
    assert listed_pages == sorted(listed_pages)
    assert "5. Market (needs review)" in contents


def test_outline_has_one_entry_per_phase(reader: pypdf.PdfReader) -> None:
    titles = [entry.title for entry in reader.outline if not isinstance(entry, list)]
    assert titles[0] == "1. Vision"
    assert len(titles) == len(PHASES)
    assert "5. Market (needs review)" in titles
    destination = reader.get_destination_page_number(reader.outline[0])
    assert "1. Vision" in reader.pages[destination].extract_text()


def test_pages_are_numbered_page_n_of_m(reader: pypdf.PdfReader) -> None:
    total = len(reader.pages)
    assert total > 14
    assert f"Page 2 of {total}" in reader.pages[1].extract_text()
    assert f"Page {total} of {total}" in reader.pages[-1].extract_text()


def test_headings_lists_tables_and_emphasis_survive(text: str) -> None:
    for expected in (
        "1. Vision",
        "Why now",
        "62% reconcile their accounts once a year",
        "The re-typing costs time and money",
        "The owner stays in control",
        "Trades (plumbers, electricians)",
        "2,400,000",
        "Late-filing penalties".lower(),
        "KNOWN_SUPPLIERS[transaction.counterparty]",
        "Jörg Müller",
        "\u2212€1.5m",
    ):
        assert expected.lower() in text.lower(), expected


def test_stale_and_empty_phases_are_flagged(text: str) -> None:
    assert "Needs review: something this phase depends on changed" in text
    assert "Not written yet." in text


def test_long_table_splits_across_pages_with_repeated_header(reader: pypdf.PdfReader) -> None:
    pages = [p.extract_text() for p in reader.pages]
    with_rows = [p for p in pages if "Milestone number" in p]
    assert len(with_rows) > 3
    assert all("Month" in p and "Owner" in p for p in with_rows)
    assert "Milestone number 300 for the launch plan" in "\n".join(with_rows)


def test_non_latin_text_survives(text: str) -> None:
    for sample in (CYRILLIC, GREEK, CJK, JAPANESE, "Елена Петрова"):
        assert _squash(sample) in _squash(text), sample
    # Arabic is drawn without shaping or right-to-left reordering (see docs/exports.md):
    # every letter is in the file, though readers may extract them in visual order.
    assert set(_squash(ARABIC)) <= set(text)


def test_hostile_markup_is_shown_as_text(text: str) -> None:
    squashed = _squash(text)
    assert _squash('<script>alert("x")</script> & <b>unclosed, 5 < 6 > 4') in squashed
    assert _squash('<font name="Nope">fake font tag</font>') in squashed
    assert LONG_WORD in squashed


def test_minimal_document_renders() -> None:
    doc = ExportDocument(
        project_id="p",
        title="<b>&",
        template="t",
        generated_at=datetime(2026, 1, 1, tzinfo=UTC),
        phases=[ExportPhase(number=1, title="Only", status="not_started")],
    )
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(doc)))
    assert "<b>&" in reader.pages[0].extract_text()
    assert "Not written yet." in reader.pages[-1].extract_text()
