from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin

from render import ExportDocument, RenderOptions, render_markdown
from render._markdown import shift_headings
from tests.unit.render.readback import markdown_headings, skipped_levels
from tests.unit.render.sample import ARABIC, CJK, CYRILLIC, GREEK, PHASES, WRITTEN


@pytest.fixture(scope="module")
def markdown(plan: ExportDocument) -> str:
    return render_markdown(plan)


@pytest.fixture(scope="module")
def html(markdown: str) -> str:
    parser = MarkdownIt("commonmark").enable("table").use(anchors_plugin, max_level=2)
    return parser.render(markdown)


def test_title_and_phase_headings(markdown: str) -> None:
    assert markdown.startswith("# Ledgerly — Business Plan 2026\n")
    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    assert headings == ["Contents"] + [f"{n}. {PHASES[n - 1][0]}" for n in WRITTEN]


def test_contents_links_resolve_to_heading_anchors(markdown: str, html: str) -> None:
    targets = re.findall(r"\]\(#([^)]+)\)", markdown)
    assert len(targets) == len(WRITTEN)
    for target in targets:
        assert f'id="{target}"' in html


def test_heading_levels_never_skip(plan: ExportDocument) -> None:
    for options in (RenderOptions(), RenderOptions(mode="draft")):
        headings = markdown_headings(render_markdown(plan, options))
        assert headings[0] == (1, "Ledgerly — Business Plan 2026")
        assert (3, "Why now") in headings
        assert skipped_levels(headings) == []
        operations = headings.index((2, "9. Operations"))
        assert headings[operations + 1 : operations + 3] == [(3, "Support"), (3, "Infrastructure")]


def test_unwritten_phases_are_listed_once(markdown: str) -> None:
    assert "*Not yet written: Phase 13 Risks.*" in markdown
    assert markdown.count("Risks") == 1


def test_final_mode_has_no_status_or_version_lines(markdown: str) -> None:
    for internal in ("Completed", "version 2", "In progress", "Needs review", "needs review"):
        assert internal not in markdown, internal


def test_draft_mode_shows_status_and_version_per_phase(plan: ExportDocument) -> None:
    markdown = render_markdown(plan, RenderOptions(mode="draft"))
    assert "- [5. Market](#5-market) *(needs review)*" in markdown
    assert "> **Needs review:" in markdown
    assert markdown.count("· version 2 · updated") == len(WRITTEN)
    assert "Draft · generated 2026-03-14 09:30 UTC" in markdown


def test_cited_sources_follow_their_phase(markdown: str, html: str) -> None:
    market = markdown[markdown.index("## 5. Market") : markdown.index("## 6. Competition")]
    assert market.rstrip().endswith(
        "**Sources**\n\n"
        "- \\[S1\\] eu-e-invoicing-directive.pdf, p. 4, Timeline\n"
        "- \\[S2\\] sme-survey-2025.pdf, p. 12, Market \\> Size"
    )
    assert "<li>[S1] eu-e-invoicing-directive.pdf, p. 4, Timeline</li>" in html


def test_content(markdown: str, html: str) -> None:
    assert "<table>" in html
    assert "<li>The re-typing costs <em>time</em> and <strong>money</strong></li>" in html
    for sample in (CYRILLIC, GREEK, CJK, ARABIC):
        assert sample in markdown


def test_shift_headings_keeps_other_text() -> None:
    source = "Intro\n\nTitle\n=====\n\n## Sub\n\n```\n# not a heading\n```"
    assert shift_headings(source, 2) == (
        "Intro\n\n### Title\n\n#### Sub\n\n```\n# not a heading\n```"
    )


def test_shift_headings_closes_gaps_and_drops_a_repeated_title() -> None:
    source = "## 2. Market\n\n### Size\n\n##### Deep\n\n# Back out\n\n###### Under"
    assert shift_headings(source, 2, title="Market") == (
        "### Size\n\n#### Deep\n\n### Back out\n\n#### Under"
    )


def test_headings_in_quotes_and_lists_become_bold_lines() -> None:
    source = "> # quoted\n> body\n\n- ## listed\n  text\n\n> Setext\n> ---\n> after"
    shifted = shift_headings(source, 2)
    assert shifted == (
        "> **quoted**\n>\n> body\n\n- **listed**\n\n  text\n\n> **Setext**\n>\n> after"
    )
    assert markdown_headings(shifted) == []
