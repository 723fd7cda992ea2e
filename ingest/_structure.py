"""Helpers shared by the parsers: the heading path and the text form of tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["HeadingStack", "render_table", "render_table_rows"]


class HeadingStack:
    """The chain of enclosing headings; a heading closes every open heading of its level or
    deeper, so skipped levels (H1 then H3) nest as written."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    @property
    def path(self) -> tuple[str, ...]:
        """Titles from the outermost heading in force to the innermost."""
        return tuple(title for _, title in self._stack)

    def push(self, level: int, title: str) -> tuple[str, ...]:
        """Open a heading; return the new path (ending with this heading)."""
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))
        return self.path


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_table_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A table as Markdown pipe-table lines: header, separator, then one line per row."""
    width = max([len(header), *(len(row) for row in rows)]) or 1
    padded_header = [*header, *[""] * (width - len(header))]
    lines = [
        "| " + " | ".join(_cell(c) for c in padded_header) + " |",
        "|" + " --- |" * width,
    ]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return lines


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table as a Markdown pipe table."""
    return "\n".join(render_table_rows(header, rows))
