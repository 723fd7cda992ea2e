from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ingest import ChunkOptions, IngestError, chunk, parse
from ingest._structure import render_table_rows

if TYPE_CHECKING:
    from pathlib import Path


def _md(corpora: Path, name: str) -> bytes:
    return (corpora / "md" / name).read_bytes()


def test_every_corpus_file_parses_and_chunks_within_limits(corpora: Path) -> None:
    for path in sorted((corpora / "md").iterdir()):
        chunks = chunk(parse(path.read_bytes(), "markdown"))
        assert chunks, path.name
        assert all(0 < c.token_count <= 512 for c in chunks), path.name
        assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_front_matter_closed_by_dots(corpora: Path) -> None:
    document = parse(_md(corpora, "commonmark-spec_spec.md"), "markdown")
    assert document.title == "CommonMark Spec"
    assert document.metadata["version"] == "0.31.2"
    assert document.metadata["author"] == "John MacFarlane"
    assert document.blocks[0].kind == "heading"
    assert document.blocks[0].text == "Introduction"


def test_front_matter_closed_by_dashes(corpora: Path) -> None:
    document = parse(_md(corpora, "jekyll_docs_front-matter.md"), "markdown")
    assert document.title == "Front Matter"
    assert document.metadata["permalink"] == "/docs/front-matter/"
    assert "title: Front Matter" not in document.blocks[0].text


def test_heading_hierarchy_and_code_blocks(corpora: Path) -> None:
    document = parse(_md(corpora, "openai-python_README.md"), "markdown")
    assert document.title == "OpenAI Python API library"
    codes = [b for b in document.blocks if b.kind == "code"]
    assert len(codes) >= 40
    assert {"python", "sh"} <= {c.language for c in codes}
    nested = [b for b in document.blocks if b.kind == "heading" and b.level == 3]
    assert nested
    assert all(len(b.heading_path) >= 2 for b in nested)


def test_code_blocks_are_never_split_when_they_fit(corpora: Path) -> None:
    document = parse(_md(corpora, "mkdocs-material_code-blocks.md"), "markdown")
    chunks = chunk(document)
    text = "\n".join(c.text for c in chunks)
    for block in document.blocks:
        if block.kind == "code":
            assert block.text in text
    for c in chunks:
        assert c.text.count("```") % 2 == 0, c.text


def test_tables_keep_their_header_in_every_chunk(corpora: Path) -> None:
    document = parse(_md(corpora, "public-apis_README.md"), "markdown")
    tables = [b for b in document.blocks if b.kind == "table" and b.table is not None]
    assert len(tables) >= 50
    chunks = chunk(document, ChunkOptions(target_tokens=200, overlap_tokens=20, max_tokens=300))
    assert sum("| --- |" in c.text for c in chunks) > len(tables)
    for table in tables:
        assert table.table is not None
        lines = render_table_rows(table.table.header, table.table.rows)
        for row in lines[2:]:
            with_row = [c for c in chunks if row in c.text.split("\n")]
            assert with_row, row
            for c in with_row:
                assert lines[0] in c.text, c.text[:200]
    assert sum(len(t.table.rows) for t in tables if t.table is not None) > 1500


def test_links_render_as_their_text(corpora: Path) -> None:
    document = parse(_md(corpora, "public-apis_README.md"), "markdown")
    animals = next(b for b in document.blocks if b.kind == "table" and "AdoptAPet" in b.text)
    assert "](http" not in animals.text


def test_cjk_text(corpora: Path) -> None:
    document = parse(_md(corpora, "Python-100-Days_README_zh.md"), "markdown")
    headings = [b for b in document.blocks if b.kind == "heading"]
    assert len(headings) > 100
    chunks = chunk(document)
    assert any(
        "Python" in c.text and any("\u4e00" <= ch <= "\u9fff" for ch in c.text) for c in chunks
    )


def test_rust_book_tables_and_directives(corpora: Path) -> None:
    document = parse(_md(corpora, "rust-book_ch03-02-data-types.md"), "markdown")
    table = next(b for b in document.blocks if b.table is not None)
    assert table.table is not None
    assert table.table.header == ("Length", "Signed", "Unsigned")


def test_generated_markdown_with_planted_facts() -> None:
    source = "\n".join(
        [
            "---",
            "title: Planted",
            "tags: [a, b]",
            "---",
            "# Alpha",
            "",
            "The falcon's name is Oberon.",
            "",
            "## Beta",
            "",
            "- first item",
            "  - nested item",
            "1. numbered",
            "",
            "```python",
            "print('hello')",
            "```",
            "",
            "| Key | Value |",
            "| --- | ----- |",
            "| pin | 4417 |",
        ]
    )
    document = parse(source.encode(), "markdown")
    assert document.title == "Planted"
    assert document.metadata == {"title": "Planted", "tags": "a, b"}
    kinds = [(b.kind, b.level, b.heading_path) for b in document.blocks]
    assert kinds == [
        ("heading", 1, ("Alpha",)),
        ("paragraph", 0, ("Alpha",)),
        ("heading", 2, ("Alpha", "Beta")),
        ("list_item", 0, ("Alpha", "Beta")),
        ("list_item", 1, ("Alpha", "Beta")),
        ("list_item", 0, ("Alpha", "Beta")),
        ("code", 0, ("Alpha", "Beta")),
        ("table", 0, ("Alpha", "Beta")),
    ]
    (only,) = chunk(document)
    assert only.heading_path == ("Alpha",)
    assert "The falcon's name is Oberon." in only.text
    assert "```python\nprint('hello')\n```" in only.text
    assert "| pin | 4417 |" in only.text


@pytest.mark.parametrize("data", [b"---\ntitle: x\n---\n", b"<!-- -->\n\n   \n"])
def test_no_text_is_empty(data: bytes) -> None:
    with pytest.raises(IngestError) as caught:
        parse(data, "markdown")
    assert caught.value.code in ("empty",)


def test_raw_html_and_liquid_are_reduced_to_their_text(corpora: Path) -> None:
    document = parse(_md(corpora, "jekyll_docs_front-matter.md"), "markdown")
    prose = [b.text for b in document.blocks if b.kind != "code"]
    joined = "\n".join(prose)
    for markup in ("<div", "<p>", "</td>", "{{", "{%", "relative_url", "class="):
        assert markup not in joined, markup
    assert "UTF-8 Character Encoding Warning" in prose
    assert "Variable | Description" in prose
    # Text inside an HTML table cell that CommonMark would take for indented code.
    assert any(t.startswith("If set, this specifies the layout file to use.") for t in prose)
    assert not any("layout file to use" in b.text for b in document.blocks if b.kind == "code")
    # Code keeps its template tags verbatim.
    assert any("{{ page.food }}" in b.text for b in document.blocks if b.kind == "code")


def test_generated_html_and_template_tags() -> None:
    source = "\n".join(
        [
            "# {{ page.title }} Guide",
            "",
            "{% include toc.html %}",
            "",
            'Visit <a href="{{ site.url }}/x">the <b>harbour</b></a> at {{ time }} dawn.',
            "",
            "<details><summary>Tide table</summary>",
            "<table><tr><th>Port</th><th>High</th></tr><tr><td>Brest</td><td>06:12</td></tr>",
            "</table><script>alert('x')</script><!-- hidden --></details>",
            "",
            "Inline `{{ kept }}` code.",
            "",
            "{# a Jinja comment #}",
        ]
    )
    blocks = [(b.kind, b.text) for b in parse(source.encode(), "markdown").blocks]
    assert blocks == [
        ("heading", "Guide"),
        ("paragraph", "Visit the harbour at dawn."),
        ("paragraph", "Tide table"),
        ("paragraph", "Port | High"),
        ("paragraph", "Brest | 06:12"),
        ("paragraph", "Inline `{{ kept }}` code."),
    ]
