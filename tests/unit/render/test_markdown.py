from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin

from render import ExportDocument, render_markdown
from render._markdown import shift_headings
from tests.unit.render.sample import ARABIC, CJK, CYRILLIC, GREEK, PHASES


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
    assert headings == ["Contents"] + [
        f"{n}. {title}" for n, (title, _, _) in enumerate(PHASES, start=1)
    ]


def test_contents_links_resolve_to_heading_anchors(markdown: str, html: str) -> None:
    targets = re.findall(r"\]\(#([^)]+)\)", markdown)
    assert len(targets) == len(PHASES)
    for target in targets:
        assert f'id="{target}"' in html


def test_content_headings_are_nested_under_phases(markdown: str) -> None:
    assert "\n#### Why now\n" in markdown
    assert "\n#### Size\n" in markdown


def test_stale_flag_empty_phase_and_content(markdown: str, html: str) -> None:
    assert "- [5. Market](#5-market) *(needs review)*" in markdown
    assert "> **Needs review:" in markdown
    assert "*Not written yet.*" in markdown
    assert "<table>" in html
    assert "<li>The re-typing costs <em>time</em> and <strong>money</strong></li>" in html
    for sample in (CYRILLIC, GREEK, CJK, ARABIC):
        assert sample in markdown


def test_shift_headings_keeps_other_text() -> None:
    source = "Intro\n\nTitle\n=====\n\n## Sub\n\n> # quoted\n\n```\n# not a heading\n```"
    assert shift_headings(source, 2) == (
        "Intro\n\n### Title\n\n#### Sub\n\n> # quoted\n\n```\n# not a heading\n```"
    )
