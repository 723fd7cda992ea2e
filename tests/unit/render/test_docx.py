from __future__ import annotations

import io
from collections import Counter

import docx
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

from render import ExportDocument, RenderOptions, render_docx
from tests.unit.render.readback import (
    docx_headings,
    docx_page_size_mm,
    docx_text,
    docx_toc,
    skipped_levels,
)
from tests.unit.render.sample import (
    ARABIC,
    CJK,
    CYRILLIC,
    GREEK,
    LONG_WORD,
    PHASES,
    WRITTEN,
    mostly_empty_plan,
)

DRAFT = RenderOptions(mode="draft")


@pytest.fixture(scope="module")
def document(plan: ExportDocument) -> docx.document.Document:
    return docx.Document(io.BytesIO(render_docx(plan)))


def _paragraphs(document: docx.document.Document, style: str) -> list[str]:
    return [p.text for p in document.paragraphs if p.style is not None and p.style.name == style]


def test_core_properties_and_title_page(document: docx.document.Document) -> None:
    assert document.core_properties.title == "Ledgerly — Business Plan 2026"
    assert document.core_properties.author == "Ana Souza"
    assert _paragraphs(document, "Title") == ["Ledgerly — Business Plan 2026"]
    assert document.sections[0].different_first_page_header_footer


def test_written_phases_use_heading_styles_without_skipping_levels(
    plan: ExportDocument,
) -> None:
    for content in (render_docx(plan), render_docx(plan, DRAFT)):
        headings = docx_headings(content)
        assert headings[0] == (0, "Ledgerly — Business Plan 2026")
        assert [text for level, text in headings if level == 1] == [
            f"{n}. {PHASES[n - 1][0]}" for n in WRITTEN
        ]
        assert (2, "Why now") in headings
        assert skipped_levels(headings) == []
        operations = headings.index((1, "9. Operations"))
        assert headings[operations + 1 : operations + 3] == [(2, "Support"), (2, "Infrastructure")]
    document = docx.Document(io.BytesIO(render_docx(plan)))
    first = next(p for p in document.paragraphs if p.style.name == "Heading 1")
    assert first.text == "1. Vision"
    assert first.paragraph_format.page_break_before


def test_contents_are_pre_filled_and_still_a_toc_field(plan: ExportDocument) -> None:
    content = render_docx(plan)
    shown = docx_toc(content)
    expected = [(f"toc {level}", text) for level, text in docx_headings(content) if level in (1, 2)]
    assert shown == expected
    assert ("toc 1", "1. Vision") in shown
    assert ("toc 2", "Why now") in shown
    assert all("Risks" not in text for _, text in shown)
    document = docx.Document(io.BytesIO(content))
    body = document.element.body.xml
    assert 'TOC \\o "1-2" \\h \\z \\u' in body
    # Each entry links to a bookmark on its heading, as Word's own TOC does.
    anchors = [link.get(qn("w:anchor")) for link in document.element.body.iter(qn("w:hyperlink"))]
    names = {b.get(qn("w:name")) for b in document.element.body.iter(qn("w:bookmarkStart"))}
    assert len(anchors) >= len(shown)
    assert set(anchors[: len(shown)]) <= names
    update = document.settings.element.find(qn("w:updateFields"))
    assert update is not None


def test_page_number_footer(document: docx.document.Document) -> None:
    footer = document.sections[0].footer._element.xml
    assert " PAGE " in footer
    assert " NUMPAGES " in footer


def test_unwritten_phases_are_listed_once(document: docx.document.Document) -> None:
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Not yet written: Phase 13 Risks." in text
    assert text.count("Risks") == 1


def test_final_mode_has_no_status_or_version_lines(document: docx.document.Document) -> None:
    text = "\n".join(p.text for p in document.paragraphs)
    for internal in ("Completed", "version 2", "In progress", "Needs review", "(owner)"):
        assert internal not in text, internal
    assert not _paragraphs(document, "Intense Quote")


def test_draft_mode_shows_status_and_version_per_phase(plan: ExportDocument) -> None:
    content = render_docx(plan, DRAFT)
    text = docx_text(content)
    assert "Draft · generated 2026-03-14 09:30 UTC" in text
    assert text.count("· version 2 · updated") == len(WRITTEN)
    document = docx.Document(io.BytesIO(content))
    assert _paragraphs(document, "Intense Quote")[0].startswith("Needs review:")
    assert "Draft · Page" in "".join(p.text for p in document.sections[0].footer.paragraphs)


@pytest.mark.parametrize(("paper", "size"), [("A4", (210, 297)), ("Letter", (216, 279))])
def test_paper_size(paper: str, size: tuple[int, int]) -> None:
    options = RenderOptions(paper_size=paper)  # type: ignore[arg-type]
    assert docx_page_size_mm(render_docx(mostly_empty_plan(), options)) == {size}


def test_cited_sources_are_listed_under_their_phase(document: docx.document.Document) -> None:
    texts = [p.text for p in document.paragraphs if p.style.name != "toc 1"]
    market = texts[texts.index("5. Market") : texts.index("6. Competition")]
    assert market[-3:] == [
        "Sources",
        "[S1]\teu-e-invoicing-directive.pdf, p. 4, Timeline",
        "[S2]\tsme-survey-2025.pdf, p. 12, Market > Size",
    ]


def test_lists_use_list_styles_with_nesting(document: docx.document.Document) -> None:
    styles = Counter(p.style.name for p in document.paragraphs if p.style is not None)
    for style in ("List Bullet", "List Bullet 2", "List Bullet 3", "List Number", "List Number 2"):
        assert styles[style] > 0, style
    assert "The re-typing costs time and money" in _paragraphs(document, "List Bullet 3")
    assert "Second offence: 10% surcharge" in _paragraphs(document, "List Number 2")


def test_each_numbered_list_restarts(document: docx.document.Document) -> None:
    num_ids = set()
    for paragraph in document.paragraphs:
        if paragraph.style is not None and paragraph.style.name == "List Number":
            num_pr = paragraph._p.pPr.numPr
            assert num_pr is not None
            num_ids.add(num_pr.numId.val)
    assert len(num_ids) > 1


def test_tables_have_a_bold_repeating_header(document: docx.document.Document) -> None:
    audience = next(t for t in document.tables if t.cell(0, 0).text == "Segment")
    assert audience.style.name == "Table Grid"
    assert [c.text for c in audience.rows[0].cells] == [
        "Segment",
        "Businesses (EU)",
        "Typical revenue",
        "Pain",
    ]
    assert all(r.bold for c in audience.rows[0].cells for r in c.paragraphs[0].runs)
    assert audience.cell(1, 1).paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT  # ---:
    assert audience.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert audience.cell(2, 0).text == "Trades (plumbers, electricians)"
    milestones = next(t for t in document.tables if t.cell(0, 0).text == "Month")
    assert len(milestones.rows) == 301


def test_emphasis_code_and_links(document: docx.document.Document) -> None:
    vision = next(p for p in document.paragraphs if p.text.startswith("Our vision is"))
    assert any(r.bold and r.text == "bookkeeping assistant" for r in vision.runs)
    assert any(r.italic and r.text == "one-person business" for r in vision.runs)
    audience = next(p for p in document.paragraphs if p.text.startswith("Secondary audience"))
    assert any(r.font.name == "Consolas" and r.text == "CSV" for r in audience.runs)
    assert any(
        link.url == "https://example.com/prototype"
        for p in document.paragraphs
        for link in p.hyperlinks
    )


def test_non_latin_and_hostile_text(document: docx.document.Document) -> None:
    text = "\n".join(p.text for p in document.paragraphs)
    for sample in (CYRILLIC, GREEK, CJK, ARABIC, LONG_WORD):
        assert sample in text
    assert '<script>alert("x")</script> & <b>unclosed' in text
