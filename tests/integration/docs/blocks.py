"""Fenced code blocks of README.md and docs/*.md, with what the docs test needs to know of each.

How a page tells the docs test what to do (see docs/README-tests in README.md, "Documentation"):

- a ```` ```sh ```` block is run; the ```` ```text ```` block right after it (only blank lines
  between) is its expected output, where ``…`` stands for any text;
- ``<!-- docs-test: skip (why) -->`` on the line before a block: not run, listed as skipped;
- ``<!-- docs-test: exit N -->``: the block is expected to end with exit status N;
- a ```` ```json ```` block must parse (one document, or one per line); a config.json example
  (an object with ``providers`` or ``workflows``) must also pass the real config loader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([^\s`]*)")
_DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(.*?)\s*-->$")
_SKIP = re.compile(r"^skip\s*\((.+)\)$")
_EXIT = re.compile(r"^exit\s+(\d+)$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text and its docs-test directive."""

    path: Path
    line: int
    """1-based line of the opening fence."""
    language: str
    code: str
    directive: str | None
    closing_line: int
    """1-based line of the closing fence."""
    expected: Block | None = None
    """For a shell block: the ``text`` block after it, its expected output."""

    @property
    def where(self) -> str:
        """``docs/chat.md:12 (sh block)``: what a person needs to find the block."""
        page = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{page}:{self.line} ({self.language or 'plain'} block)"

    @property
    def skip_reason(self) -> str | None:
        """The reason given in ``<!-- docs-test: skip (reason) -->``, if any."""
        match = _SKIP.match(self.directive or "")
        return match.group(1) if match else None

    @property
    def expected_exit(self) -> int:
        """The exit status the block must end with (0 unless ``docs-test: exit N``)."""
        match = _EXIT.match(self.directive or "")
        return int(match.group(1)) if match else 0

    def directive_problem(self) -> str | None:
        """Why the directive cannot be understood, or None."""
        if self.directive is None or self.skip_reason or _EXIT.match(self.directive):
            return None
        return f"{self.where}: unknown directive {self.directive!r}; use 'skip (why)' or 'exit N'"


def documentation_pages() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of the page, shell blocks paired with their expected output."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, language = opening.groups()
        end = index + 1
        while end < len(lines) and not lines[end].startswith(fence):
            end += 1
        found.append(
            Block(
                path=path,
                line=index + 1,
                language=language.lower(),
                code="\n".join(lines[index + 1 : end]),
                directive=_directive_before(lines, index),
                closing_line=end + 1,
            )
        )
        index = end + 1
    return _paired(found, lines)


def _directive_before(lines: list[str], index: int) -> str | None:
    before = index - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    if before < 0:
        return None
    match = _DIRECTIVE.match(lines[before].strip())
    return match.group(1) if match else None


def _paired(found: list[Block], lines: list[str]) -> list[Block]:
    """Attach each ``text`` block that directly follows a shell block to it as its output."""
    paired: list[Block] = []
    for block in found:
        previous = paired[-1] if paired else None
        if (
            block.language == "text"
            and previous is not None
            and previous.language == "sh"
            and previous.expected is None
            and all(not line.strip() for line in lines[previous.closing_line : block.line - 1])
        ):
            paired[-1] = replace(previous, expected=block)
            continue
        paired.append(block)
    return paired


def output_matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is ``expected`` with each ``…`` standing for any text (even lines).

    Trailing spaces and surrounding blank lines are ignored on both sides.
    """
    pattern = ".*?".join(re.escape(part) for part in _normalised(expected).split("…"))
    return re.fullmatch(pattern, _normalised(actual), flags=re.DOTALL) is not None


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip("\n")
