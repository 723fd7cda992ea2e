from __future__ import annotations

from render._blocks import (
    CodeBlock,
    Heading,
    ListBlock,
    Paragraph,
    Quote,
    Rule,
    Run,
    Table,
    plain_text,
)
from render._parse import parse_markdown


def test_headings_are_nested_below_the_phase_heading_without_gaps() -> None:
    blocks = parse_markdown("# One\n\n## Two\n\nSetext\n------\n\n###### Six", heading_offset=1)
    assert [(b.level, plain_text(b.runs)) for b in blocks if isinstance(b, Heading)] == [
        (2, "One"),
        (3, "Two"),
        (3, "Setext"),
        (4, "Six"),
    ]


def test_a_first_heading_repeating_the_phase_title_is_left_out() -> None:
    blocks = parse_markdown("## Phase 5: Market\n\n### Size\n\nBig.", 1, title="Market")
    assert blocks == [Heading(2, [Run("Size")]), Paragraph([Run("Big.")])]
    kept = parse_markdown("## Market size\n\nBig.", 1, title="Market")
    assert kept[0] == Heading(2, [Run("Market size")])


def test_headings_in_quotes_become_bold_paragraphs() -> None:
    (quote,) = parse_markdown("> ## Said *once*\n> text")
    assert quote == Quote(
        [
            Paragraph([Run("Said ", bold=True), Run("once", bold=True, italic=True)]),
            Paragraph([Run("text")]),
        ]
    )


def test_table_column_alignment() -> None:
    (table,) = parse_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    assert isinstance(table, Table)
    assert table.align == ["left", "center", "right"]


def test_inline_formatting_becomes_runs() -> None:
    (paragraph,) = parse_markdown("a **b *c*** `d` [e](https://x.test) ~~f~~  \ng")
    assert isinstance(paragraph, Paragraph)
    assert paragraph.runs == [
        Run("a "),
        Run("b ", bold=True),
        Run("c", bold=True, italic=True),
        Run(" "),
        Run("d", code=True),
        Run(" "),
        Run("e", href="https://x.test"),
        Run(" "),
        Run("f", strike=True),
        Run("\n"),
        Run("g"),
    ]


def test_nested_and_numbered_lists_keep_their_structure() -> None:
    (outer,) = parse_markdown("3. one\n   - a\n     1. deep\n4. two\n")
    assert isinstance(outer, ListBlock)
    assert outer.ordered
    assert outer.start == 3
    assert len(outer.items) == 2
    nested = outer.items[0].blocks[1]
    assert isinstance(nested, ListBlock)
    assert not nested.ordered
    deepest = nested.items[0].blocks[1]
    assert isinstance(deepest, ListBlock)
    assert deepest.ordered


def test_tables_have_a_header_and_rows_padded_to_its_width() -> None:
    (table,) = parse_markdown("| A | B |\n|---|---|\n| 1 | **2** |\n| 3 |\n")
    assert isinstance(table, Table)
    assert [plain_text(c) for c in table.header] == ["A", "B"]
    assert table.rows[0][1] == [Run("2", bold=True)]
    assert table.rows[1] == [[Run("3")], []]


def test_code_quotes_and_rules() -> None:
    blocks = parse_markdown("```python\nx = 1\n```\n\n> quoted\n\n---\n")
    assert blocks == [
        CodeBlock("x = 1", "python"),
        Quote([Paragraph([Run("quoted")])]),
        Rule(),
    ]


def test_raw_html_is_text_and_control_characters_are_dropped() -> None:
    (paragraph,) = parse_markdown('<script>alert("x")</script> & <b>\x00\x1b')
    assert isinstance(paragraph, Paragraph)
    assert plain_text(paragraph.runs) == '<script>alert("x")</script> & <b>'


def test_empty_content_has_no_blocks() -> None:
    assert parse_markdown("") == []
