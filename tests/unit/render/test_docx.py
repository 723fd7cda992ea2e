from __future__ import annotations

import io
from collections import Counter

import docx
import pytest
from docx.oxml.ns import qn

from render import ExportDocument, render_docx
from tests.unit.render.sample import ARABIC, CJK, CYRILLIC, GREEK, LONG_WORD, PHASES


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


def test_phase_headings_use_heading_styles(document: docx.document.Document) -> None:
    headings = _paragraphs(document, "Heading 1")
    assert headings == [f"{n}. {title}" for n, (title, _, _) in enumerate(PHASES, start=1)]
    assert "Why now" in _paragraphs(document, "Heading 3")
    first = next(p for p in document.paragraphs if p.text == "1. Vision")
    assert first.paragraph_format.page_break_before


def test_toc_and_page_number_fields(document: docx.document.Document) -> None:
    body = document.element.body.xml
    assert 'TOC \\o "1-3" \\h \\z \\u' in body
    assert "Update field to build the table of contents." in body
    footer = document.sections[0].footer._element.xml
    assert " PAGE " in footer
    assert " NUMPAGES " in footer
    update = document.settings.element.find(qn("w:updateFields"))
    assert update is not None


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


def test_stale_empty_non_latin_and_hostile_text(document: docx.document.Document) -> None:
    text = "\n".join(p.text for p in document.paragraphs)
    assert _paragraphs(document, "Intense Quote")[0].startswith("Needs review:")
    assert "Not written yet." in text
    for sample in (CYRILLIC, GREEK, CJK, ARABIC, LONG_WORD):
        assert sample in text
    assert '<script>alert("x")</script> & <b>unclosed' in text
