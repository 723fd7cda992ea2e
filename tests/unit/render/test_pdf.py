from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pypdf
import pytest

from render import ExportDocument, ExportPhase, RenderOptions, render_pdf
from tests.unit.render.readback import pdf_headings, pdf_page_size_mm, pdf_text, skipped_levels
from tests.unit.render.sample import (
    ARABIC,
    CJK,
    CYRILLIC,
    GREEK,
    JAPANESE,
    LONG_WORD,
    PHASES,
    WRITTEN,
    mostly_empty_plan,
)

DRAFT = RenderOptions(mode="draft")


@pytest.fixture(scope="module")
def reader(plan: ExportDocument) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(render_pdf(plan)))


@pytest.fixture(scope="module")
def draft(plan: ExportDocument) -> bytes:
    return render_pdf(plan, DRAFT)


@pytest.fixture(scope="module")
def text(reader: pypdf.PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def _squash(value: str) -> str:
    return re.sub(r"\s+", "", value)


def test_title_page_and_metadata(reader: pypdf.PdfReader) -> None:
    first = reader.pages[0].extract_text()
    assert "Ledgerly — Business Plan 2026" in first
    assert "Business plan" in first
    assert "Prepared by Ana Souza" in first
    assert "14 March 2026" in first
    assert "Page" not in first
    assert reader.metadata is not None
    assert reader.metadata.title == "Ledgerly — Business Plan 2026"


def test_contents_list_written_phases_and_their_sections_with_pages(
    reader: pypdf.PdfReader,
) -> None:
    contents = reader.pages[1].extract_text()
    assert "Contents" in contents
    for number, (title, _, content) in enumerate(PHASES, start=1):
        assert (f"{number}. {title}" in contents) == bool(content), title
    assert "Why now" in contents
    assert "Infrastructure" in contents
    listed_pages = [int(n) for n in re.findall(r"\.\s+(\d+)\n", contents)]
    assert len(listed_pages) >= len(WRITTEN)
    assert listed_pages == sorted(listed_pages)
    assert "needs review" not in contents


def test_unwritten_phases_are_listed_once(reader: pypdf.PdfReader) -> None:
    pages = [page.extract_text() for page in reader.pages]
    assert "Not yet written: Phase 13 Risks." in pages[1]
    assert sum(page.count("Risks") for page in pages) == 1


def test_outline_has_phases_and_their_sections(reader: pypdf.PdfReader) -> None:
    titles = [entry.title for entry in reader.outline if not isinstance(entry, list)]
    assert titles[0] == "1. Vision"
    assert titles == [f"{n}. {PHASES[n - 1][0]}" for n in WRITTEN]
    sections = reader.outline[1]
    assert isinstance(sections, list)
    assert [entry.title for entry in sections] == ["Why now", "Principles"]
    destination = reader.get_destination_page_number(reader.outline[0])
    assert "1. Vision" in reader.pages[destination].extract_text()


def test_heading_levels_never_skip(plan: ExportDocument, draft: bytes) -> None:
    for content in (render_pdf(plan), draft):
        headings = pdf_headings(content)
        assert headings[0] == (0, "Ledgerly — Business Plan 2026")
        assert skipped_levels(headings) == []
        assert (1, "9. Operations") in headings
        operations = headings[headings.index((1, "9. Operations")) + 1 :][:2]
        # "## Phase 9: Operations" repeats the phase heading and is left out; "####" and "##"
        # under it are both its sections.
        assert operations == [(2, "Support"), (2, "Infrastructure")]
        assert "A quoted heading" not in [text for _, text in headings]


def test_final_mode_has_no_status_or_version_lines(plan: ExportDocument) -> None:
    text = pdf_text(render_pdf(plan))
    for internal in ("Completed", "version 2", "In progress", "Needs review", "needs review"):
        assert internal not in text, internal
    assert "(owner)" not in text


def test_draft_mode_shows_status_and_version_per_phase(draft: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(draft))
    text = pdf_text(draft)
    assert "Draft · generated 2026-03-14 09:30 UTC" in reader.pages[0].extract_text()
    assert "Team: Ana Souza (owner), Jörg Müller (editor)" in reader.pages[0].extract_text()
    assert "5. Market (needs review)" in reader.pages[1].extract_text()
    assert "Needs review: something this phase depends on changed" in text
    assert text.count("· version 2 · updated") == len(WRITTEN)
    assert "In progress · version 2" in text
    assert f"Draft · Page 2 of {len(reader.pages)}" in reader.pages[1].extract_text()


def test_cited_sources_are_listed_under_their_phase(text: str) -> None:
    body = text[text.index("Not yet written") :]
    market = body[body.index("5. Market\n") : body.index("6. Competition\n")]
    assert "Sources" in market
    assert market.index("sme-survey-2025.pdf") > market.index("eu-e-invoicing-directive.pdf")
    assert "conversation, 2026-03-02" not in market


def test_a_mostly_empty_project_gives_a_short_pdf() -> None:
    content = render_pdf(mostly_empty_plan())
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 3  # title, contents, the one written phase
    contents = reader.pages[1].extract_text()
    assert "1. Vision" in contents
    assert "Not yet written: Phase 2 Audience, Phase 3 Problem," in contents
    assert "Phase 14 Executive summary." in contents
    assert skipped_levels(pdf_headings(content)) == []


@pytest.mark.parametrize(("paper", "size"), [("A4", (210, 297)), ("Letter", (216, 279))])
def test_paper_size(plan: ExportDocument, paper: str, size: tuple[int, int]) -> None:
    options = RenderOptions(paper_size=paper)  # type: ignore[arg-type]
    assert pdf_page_size_mm(render_pdf(mostly_empty_plan(), options)) == {size}


def test_pages_are_numbered_page_n_of_m(reader: pypdf.PdfReader) -> None:
    total = len(reader.pages)
    assert total > len(WRITTEN)
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


def test_nothing_written_is_one_page() -> None:
    doc = ExportDocument(
        project_id="p",
        title="<b>&",
        template="t",
        generated_at=datetime(2026, 1, 1, tzinfo=UTC),
        phases=[ExportPhase(number=1, title="Only", status="not_started")],
    )
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(doc)))
    assert len(reader.pages) == 1
    assert "<b>&" in reader.pages[0].extract_text()
    assert "Not yet written: Phase 1 Only." in reader.pages[0].extract_text()
