from __future__ import annotations

import itertools
from array import array
from typing import TYPE_CHECKING

import pytest

from ingest import (
    Block,
    Chunk,
    ChunkOptions,
    IngestError,
    ParsedDocument,
    Table,
    chunk,
    count_tokens,
    count_tokens_batch,
    embedding_text,
    embedding_token_ids,
    parse,
)
from ingest._chunk import _count_blocks, _render
from ingest._split import split_sentences
from ingest._tokens import token_ids_batch

if TYPE_CHECKING:
    from pathlib import Path


def _doc(*blocks: Block) -> ParsedDocument:
    return ParsedDocument("markdown", None, {}, None, blocks)


def _sentences(count: int, topic: str) -> str:
    return " ".join(f"Sentence {i} tells about {topic} in some detail." for i in range(count))


def test_defaults_are_documented_values() -> None:
    options = ChunkOptions()
    assert (options.target_tokens, options.overlap_tokens, options.max_tokens) == (350, 50, 512)


@pytest.mark.parametrize(
    ("target", "overlap", "maximum"), [(0, 0, 10), (100, 100, 200), (300, 10, 200), (100, -1, 200)]
)
def test_invalid_options(target: int, overlap: int, maximum: int) -> None:
    with pytest.raises(ValueError, match="ChunkOptions"):
        ChunkOptions(target_tokens=target, overlap_tokens=overlap, max_tokens=maximum)


def test_token_counting_is_deterministic_and_offline() -> None:
    assert count_tokens("") == 0
    assert count_tokens("Hello world") == 2
    assert count_tokens_batch(["Hello world", "", "Hello"]) == [2, 0, 1]


def test_small_sections_under_one_top_heading_merge_but_top_sections_do_not() -> None:
    document = _doc(
        Block("heading", "A", level=1, heading_path=("A",)),
        Block("paragraph", "alpha text.", heading_path=("A",)),
        Block("heading", "A1", level=2, heading_path=("A", "A1")),
        Block("paragraph", "alpha one text.", heading_path=("A", "A1")),
        Block("heading", "B", level=1, heading_path=("B",)),
        Block("paragraph", "beta text.", heading_path=("B",)),
    )
    first, second = chunk(document)
    assert first.text == "A\n\nalpha text.\n\nA1\n\nalpha one text."
    assert first.heading_path == ("A",)
    assert second.text == "B\n\nbeta text."
    assert second.heading_path == ("B",)


def test_a_heading_is_never_a_chunk_on_its_own() -> None:
    big = _sentences(60, "chapters")
    document = _doc(
        Block("heading", "Chapter", level=1, heading_path=("Chapter",)),
        Block("heading", "Section", level=2, heading_path=("Chapter", "Section")),
        Block("paragraph", big, heading_path=("Chapter", "Section")),
    )
    chunks = chunk(document, ChunkOptions(target_tokens=100, overlap_tokens=20, max_tokens=150))
    assert chunks[0].text.startswith("Chapter\n\nSection\n\nSentence 0")
    assert chunks[0].heading_path == ("Chapter", "Section")
    assert all(c.heading_path == ("Chapter", "Section") for c in chunks)


def test_long_paragraph_splits_at_sentences_with_overlap() -> None:
    text = _sentences(80, "rivers")
    options = ChunkOptions(target_tokens=120, overlap_tokens=30, max_tokens=160)
    chunks = chunk(_doc(Block("paragraph", text, page=3)), options)
    assert len(chunks) > 3
    for c in chunks:
        assert c.token_count <= options.max_tokens
        assert c.text.endswith("detail.")
        assert c.text.startswith("Sentence")
        assert (c.page, c.page_end) == (3, 3)
    for before, after in itertools.pairwise(chunks):
        # The next chunk starts with whole sentences that ended the previous one.
        first_new = after.text.index(
            f"Sentence {int(before.text.rsplit('Sentence ', 1)[1].split()[0]) + 1} "
        )
        overlap = after.text[:first_new].strip()
        assert overlap
        assert before.text.endswith(overlap)
        assert count_tokens(overlap) <= options.overlap_tokens
    # Everything is kept, in order.
    numbers = [int(s.split()[0]) for c in chunks for s in c.text.split("Sentence ")[1:]]
    assert sorted(set(numbers)) == list(range(80))


def test_whole_paragraphs_are_kept_when_they_fit() -> None:
    paragraphs = [_sentences(6, f"topic {n}") for n in range(10)]
    chunks = chunk(
        _doc(*(Block("paragraph", p) for p in paragraphs)),
        ChunkOptions(target_tokens=200, overlap_tokens=0, max_tokens=300),
    )
    for c in chunks:
        for part in c.text.split("\n\n"):
            assert part in paragraphs


def test_text_without_spaces_is_cut_within_max() -> None:
    cjk = "这是一个没有空格的很长的中文句子" * 200
    chunks = chunk(
        _doc(Block("paragraph", cjk)),
        ChunkOptions(target_tokens=100, overlap_tokens=10, max_tokens=128),
    )
    assert len(chunks) > 5
    assert all(c.token_count <= 128 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == cjk


def test_huge_table_repeats_its_header_in_every_chunk() -> None:
    rows = tuple((f"item {i}", f"value {i * 7}", "some description words") for i in range(300))
    table = Table(("Name", "Value", "Notes"), rows)
    document = _doc(
        Block("heading", "Data", level=1, heading_path=("Data",)),
        Block("table", "(rendered)", heading_path=("Data",), table=table),
    )
    options = ChunkOptions(target_tokens=150, overlap_tokens=20, max_tokens=200)
    chunks = chunk(document, options)
    assert len(chunks) > 5
    seen = []
    for c in chunks:
        assert c.token_count <= options.max_tokens
        assert "| Name | Value | Notes |\n| --- | --- | --- |" in c.text
        assert c.kind == "table"
        assert c.heading_path == ("Data",)
        seen += [line for line in c.text.splitlines() if line.startswith("| item ")]
    assert seen == [f"| item {i} | value {i * 7} | some description words |" for i in range(300)]


def test_huge_code_block_splits_by_lines_and_stays_fenced() -> None:
    code = "\n".join(f"print('line {i}')  # comment" for i in range(400))
    chunks = chunk(
        _doc(Block("code", code, language="python")),
        ChunkOptions(target_tokens=120, overlap_tokens=20, max_tokens=160),
    )
    assert len(chunks) > 5
    lines = []
    for c in chunks:
        assert c.kind == "code"
        assert c.token_count <= 160
        assert c.text.startswith("```python\n")
        assert c.text.endswith("\n```")
        lines += c.text.split("\n")[1:-1]
    assert lines == code.split("\n")


def test_pages_span_and_ordinals() -> None:
    document = ParsedDocument(
        "pdf",
        None,
        {},
        3,
        tuple(Block("paragraph", f"Page {page} says hello.", page=page) for page in (1, 2, 3)),
    )
    (only,) = chunk(document)
    assert (only.ordinal, only.page, only.page_end) == (0, 1, 3)
    assert only.token_count == count_tokens(only.text)


def test_furniture_is_not_mixed_with_body_text() -> None:
    document = _doc(
        Block("paragraph", "Body text."),
        Block("header", "Running header"),
        Block("footnote", "A note."),
    )
    assert [c.text for c in chunk(document)] == ["Body text.", "Running header", "A note."]


def test_a_long_table_header_is_not_repeated_into_every_chunk() -> None:
    header = tuple(
        f"Column {i}: the measured quantity in this column, as reported by the survey teams"
        for i in range(8)
    )
    assert len(" | ".join(header)) > 650
    rows = tuple((f"row {r}", *(str(r * c) for c in range(1, 8))) for r in range(400))
    table = Table(header, rows)
    document = _doc(Block("table", "(rendered)", table=table))
    chunks = chunk(document)
    full_header = "| " + " | ".join(header) + " |"
    assert full_header in chunks[0].text
    assert sum(full_header in c.text for c in chunks) == 1
    body_tokens = count_tokens("\n".join(f"| {' | '.join(row)} |" for row in rows))
    # The table's share of the index stays close to its own size (no header per chunk).
    assert sum(c.token_count for c in chunks) < 1.5 * body_tokens
    seen = [line for c in chunks for line in c.text.splitlines() if line.startswith("| row ")]
    assert seen == [f"| {' | '.join(row)} |" for row in rows]
    for c in chunks[1:]:
        assert c.text.startswith("| Column 0:"), c.text[:80]
        assert c.token_count <= ChunkOptions().max_tokens


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One. Two!  Three?\nFour", ["One.", "Two!", "Three?", "Four"]),
        (
            "一句\u3002二句\uff01三句\uff1f尾",
            ["一句\u3002", "二句\uff01", "三句\uff1f", "尾"],
        ),
        ("Version 2.5 is out.Really. ", ["Version 2.5 is out.Really."]),
        ("Wait!! Then. 。 end", ["Wait!!", "Then.", "。", "end"]),
        ("  ", []),
    ],
)
def test_sentences_end_at_punctuation_and_space_or_at_cjk_marks(
    text: str, sentences: list[str]
) -> None:
    assert split_sentences(text) == sentences


def test_prose_counted_by_its_sentences_has_the_tokenizers_own_count(corpora: Path) -> None:
    """The chunker counts prose sentence by sentence and adds the counts up; on every block
    of the corpora that is the count of the block's text itself."""
    for path in sorted(corpora.rglob("*")):
        kind = {".md": "markdown", ".pdf": "pdf", ".docx": "docx"}.get(path.suffix)
        if kind is None:
            continue
        try:
            blocks = list(parse(path.read_bytes(), kind).blocks)
        except IngestError:
            continue
        texts = [_render(block) for block in blocks]
        assert _count_blocks(blocks, texts) == count_tokens_batch(texts), path.name


@pytest.mark.parametrize(
    "options", [ChunkOptions(), ChunkOptions(target_tokens=100, overlap_tokens=30, max_tokens=160)]
)
def test_a_chunks_ids_put_together_from_its_pieces_are_its_texts_ids(
    corpora: Path, options: ChunkOptions
) -> None:
    """Chunk ids are put together from the pieces' ids (with what a line break in front of a
    piece changes), and embedding ids from the chunk's; on every chunk of the corpora they are
    the tokenizer's ids of the chunk's text and of the text it is embedded as."""
    chunks: list[Chunk] = []
    for path in sorted(corpora.rglob("*")):
        kind = {".md": "markdown", ".pdf": "pdf", ".docx": "docx"}.get(path.suffix)
        if kind is None:
            continue
        try:
            chunks.extend(chunk(parse(path.read_bytes(), kind), options))
        except IngestError:
            continue
    assert len(chunks) > 500
    assert sum(1 for c in chunks if c.heading_path) > 200
    texts = [c.text for c in chunks]
    assert [c.token_count for c in chunks] == count_tokens_batch(texts)
    assert [array("i", c.token_ids).tolist() for c in chunks] == token_ids_batch(texts)
    embedded = [embedding_text(c.heading_path, c.text) for c in chunks]
    assert [embedding_token_ids(c).tolist() for c in chunks] == token_ids_batch(embedded)
