from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ingest import IngestError, chunk, parse
from tests.unit.ingest._files import planted_docx

if TYPE_CHECKING:
    from pathlib import Path


def _docx(corpora: Path, name: str) -> bytes:
    return (corpora / "docx" / name).read_bytes()


def test_planted_document_in_reading_order() -> None:
    document = parse(planted_docx(), "docx")
    assert document.title == "Field Guide"
    assert document.page_count is None
    summary = [(b.kind, b.level, b.text.split("\n")[0]) for b in document.blocks]
    assert summary == [
        ("heading", 1, "Birds"),
        ("paragraph", 0, "Owls hunt at night and nest in belfries."),
        ("heading", 2, "Owls"),
        ("list_item", 0, "Barn owl"),
        ("list_item", 1, "Snowy owl"),
        ("list_item", 0, "Count the eggs"),
        ("table", 0, "| Species | Wingspan |"),
        ("heading", 1, "Fish"),
        ("paragraph", 0, "Salmon swim upstream to spawn."),
        ("header", 0, "Field Guide header"),
        ("footer", 0, "Page footer text"),
    ]
    table = document.blocks[6]
    assert table.table is not None
    assert table.table.header == ("Species", "Wingspan")
    assert table.table.rows == (("Barn owl", "95 cm"), ("Snowy owl", "150 cm"))
    assert table.heading_path == ("Birds", "Owls")


def test_planted_document_chunks() -> None:
    chunks = chunk(parse(planted_docx(), "docx"))
    birds = next(c for c in chunks if "Barn owl" in c.text)
    assert birds.heading_path[0] == "Birds"
    assert "- Barn owl\n  - Snowy owl\n- Count the eggs" in birds.text
    assert "| Species | Wingspan |" in birds.text
    fish = next(c for c in chunks if "Salmon" in c.text)
    assert fish.heading_path == ("Fish",)
    assert "Owls hunt" not in fish.text
    furniture = [c for c in chunks if "Field Guide header" in c.text]
    assert furniture
    assert "Salmon" not in furniture[0].text


def test_heading_hierarchy(corpora: Path) -> None:
    document = parse(_docx(corpora, "poi_heading123.docx"), "docx")
    headings = [(b.level, b.heading_path) for b in document.blocks if b.kind == "heading"]
    assert [level for level, _ in headings] == [1, 2, 3]
    assert headings[-1][1] == ("First paragraph", "Second paragraph", "Third paragraph")


def test_known_styles(corpora: Path) -> None:
    document = parse(_docx(corpora, "pd_par-known-styles.docx"), "docx")
    assert any(b.kind == "heading" and b.level == 1 for b in document.blocks)


def test_table_between_paragraphs(corpora: Path) -> None:
    document = parse(_docx(corpora, "mm_tables.docx"), "docx")
    assert [b.kind for b in document.blocks] == ["paragraph", "table", "paragraph"]
    assert document.blocks[0].text == "Above"
    assert document.blocks[2].text == "Below"


def test_merged_cells_are_not_repeated_across_a_row(corpora: Path) -> None:
    document = parse(_docx(corpora, "pd_tbl-cell-access.docx"), "docx")
    tables = [b.table for b in document.blocks if b.table is not None]
    assert len(tables) == 4
    for table in tables:
        for row in (table.header, *table.rows):
            assert all(row[i] != row[i + 1] or not row[i] for i in range(len(row) - 1))


def test_illustrative_cases_tables(corpora: Path) -> None:
    document = parse(_docx(corpora, "poi_IllustrativeCases.docx"), "docx")
    assert sum(b.kind == "table" for b in document.blocks) == 8
    for c in chunk(document):
        assert c.token_count <= 512


def test_lists(corpora: Path) -> None:
    document = parse(_docx(corpora, "mm_simple-list.docx"), "docx")
    assert [(b.kind, b.text) for b in document.blocks] == [
        ("list_item", "Apple"),
        ("list_item", "Banana"),
    ]
    essay = parse(_docx(corpora, "poi_61787.docx"), "docx")
    assert any(b.kind == "list_item" for b in essay.blocks)


def test_footnotes(corpora: Path) -> None:
    document = parse(_docx(corpora, "mm_footnotes.docx"), "docx")
    notes = [b.text for b in document.blocks if b.kind == "footnote"]
    assert notes == ["A tachyon walks into a bar.", "Fin."]


def test_headers_and_footers_are_deduplicated(corpora: Path) -> None:
    document = parse(_docx(corpora, "pd_hdr-header-footer.docx"), "docx")
    assert [(b.kind, b.text) for b in document.blocks if b.kind in ("header", "footer")] == [
        ("header", "Header for section-1"),
        ("footer", "Footer for section 1"),
    ]


def test_strict_ooxml_yields_its_text(corpora: Path) -> None:
    document = parse(_docx(corpora, "mm_strict-format.docx"), "docx")
    assert [b.text for b in document.blocks] == ["Test"]


@pytest.mark.parametrize(
    ("name", "code"),
    [("mm_empty.docx", "empty"), ("poi_truncated62886.docx", "malformed")],
)
def test_failing_corpora_files(corpora: Path, name: str, code: str) -> None:
    with pytest.raises(IngestError) as caught:
        parse(_docx(corpora, name), "docx")
    assert caught.value.code == code
