from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from ingest import IngestError, chunk, parse, sniff
from tests.unit.ingest._files import planted_docx, raw_docx, replace_part, text_box

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


def _texts(data: bytes) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in parse(data, "docx").blocks]


def test_tracked_insertions_are_kept_and_deletions_dropped() -> None:
    body = (
        b'<w:p><w:r><w:t xml:space="preserve">The budget is </w:t></w:r>'
        b'<w:del w:id="1" w:author="A"><w:r><w:delText>forty</w:delText></w:r></w:del>'
        b'<w:ins w:id="2" w:author="A"><w:r><w:t>fifty</w:t></w:r></w:ins>'
        b'<w:r><w:t xml:space="preserve"> thousand.</w:t></w:r></w:p>'
        b'<w:tbl><w:tr><w:tc><w:p><w:ins w:id="3" w:author="A"><w:r><w:t>Owner</w:t>'
        b"</w:r></w:ins></w:p></w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>Ada</w:t></w:r>"
        b"</w:p></w:tc></w:tr></w:tbl>"
    )
    blocks = parse(raw_docx(body), "docx").blocks
    assert blocks[0].text == "The budget is fifty thousand."
    assert blocks[1].table is not None
    assert blocks[1].table.header == ("Owner",)


def test_inline_content_controls_and_simple_fields_are_read() -> None:
    body = (
        b'<w:p><w:sdt><w:sdtPr><w:alias w:val="x"/></w:sdtPr><w:sdtContent><w:r>'
        b'<w:t>Client:</w:t></w:r></w:sdtContent></w:sdt><w:r><w:t xml:space="preserve"> '
        b'</w:t></w:r><w:fldSimple w:instr="AUTHOR"><w:r><w:t>Ada Lovelace</w:t></w:r>'
        b'</w:fldSimple><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r>'
        b'<w:instrText>PAGE</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/>'
        b'</w:r><w:r><w:t>, page 3</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )
    assert _texts(raw_docx(body)) == [("paragraph", "Client: Ada Lovelace, page 3")]


def test_text_boxes_are_read_once_after_their_paragraph() -> None:
    body = (
        b"<w:p><w:r><w:t>Anchor paragraph.</w:t></w:r>"
        + text_box(b"Boxed sidebar fact.")
        + b"</w:p><w:p><w:r><w:t>Next paragraph.</w:t></w:r></w:p>"
        # A VML-only text box (older Word), inside a table cell.
        b"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Cell</w:t></w:r><w:r><w:pict><v:shape>"
        b"<v:textbox><w:txbxContent><w:p><w:r><w:t>Legacy box.</w:t></w:r></w:p>"
        b"</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p></w:tc></w:tr></w:tbl>"
    )
    texts = _texts(raw_docx(body))
    assert texts[:3] == [
        ("paragraph", "Anchor paragraph."),
        ("paragraph", "Boxed sidebar fact."),
        ("paragraph", "Next paragraph."),
    ]
    assert texts[3][0] == "table"
    assert "Legacy box." not in texts[3][1]
    assert texts[4] == ("paragraph", "Legacy box.")
    assert sum("Boxed sidebar fact." in text for _, text in texts) == 1


def test_endnotes_are_read_after_footnotes(corpora: Path) -> None:
    endnotes = (
        b'<w:endnote w:id="1"><w:p><w:r><w:t>Source: the 2024 census.</w:t></w:r>'
        b'<w:ins w:id="9" w:author="A"><w:r><w:t xml:space="preserve"> Revised.</w:t>'
        b"</w:r></w:ins></w:p></w:endnote>"
    )
    data = raw_docx(b"<w:p><w:r><w:t>Body text.</w:t></w:r></w:p>", endnotes=endnotes)
    assert _texts(data) == [
        ("paragraph", "Body text."),
        ("footnote", "Source: the 2024 census. Revised."),
    ]
    footnotes = [t for k, t in _texts(_docx(corpora, "mm_footnotes.docx")) if k == "footnote"]
    assert footnotes == ["A tachyon walks into a bar.", "Fin."]


@pytest.mark.parametrize(
    "main_type",
    [
        b"application/vnd.ms-word.document.macroEnabled.main+xml",
        b"application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    ],
)
def test_macro_enabled_documents_and_templates_parse_like_docx(main_type: bytes) -> None:
    data = raw_docx(b"<w:p><w:r><w:t>Macro-enabled body.</w:t></w:r></w:p>", main_type=main_type)
    assert sniff(data, "report.docm") == "docx"
    assert _texts(data) == [("paragraph", "Macro-enabled body.")]


_REPR = re.compile(r"<[^<>]*object at 0x|0x[0-9a-f]{6,}|<class ")


@pytest.mark.parametrize(
    ("part", "body"),
    [
        ("[Content_Types].xml", b'<Types xmlns="x"><Default Extension="xml" ContentType="a/b"/>'),
        ("word/document.xml", b"<w:document><w:body><w:p>"),
        ("word/_rels/document.xml.rels", b"not xml at all"),
        ("[Content_Types].xml", b"<?xml version='1.0'?><Types/>"),
    ],
)
def test_error_messages_never_contain_object_reprs(part: str, body: bytes) -> None:
    data = replace_part(planted_docx(), part, body)
    with pytest.raises(IngestError) as caught:
        parse(data, "docx")
    assert caught.value.code == "malformed"
    assert not _REPR.search(caught.value.message), caught.value.message
    assert not _REPR.search(str(caught.value))
